//! Each order line keeps what has been refunded for it, so no path can give back more than was paid.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("order_lines")
                    .add_column(
                        ColumnDef::new("refunded_cents")
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        // Lines refunded before the column existed: whole orders given back, producers under their
        // minimum, and missing units; capped at what each line cost.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE order_lines SET refunded_cents = CASE \
                   WHEN EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = order_lines.order_id \
                     AND r.reason IN ('cancelled', 'distribution_cancelled', 'late_payment')) \
                     THEN quantity * unit_price_cents \
                   WHEN status = 'below_minimum' AND EXISTS (SELECT 1 FROM refunds r \
                     WHERE r.order_id = order_lines.order_id AND r.reason = 'below_minimum') \
                     THEN quantity * unit_price_cents \
                   WHEN delivered_quantity IS NOT NULL AND EXISTS (SELECT 1 FROM refunds r \
                     WHERE r.order_id = order_lines.order_id AND r.reason = 'shortage') \
                     THEN (quantity - delivered_quantity) * unit_price_cents \
                   ELSE 0 END \
                 WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = order_lines.order_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("order_lines")
                    .drop_column("refunded_cents")
                    .to_owned(),
            )
            .await
    }
}
