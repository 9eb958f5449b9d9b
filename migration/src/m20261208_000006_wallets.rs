//! Members' wallets: a balance row per member beside an append-only ledger, and refunds kept as credit.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let to_user = |name: &'static str, table: &'static str| {
            ForeignKey::create()
                .name(name)
                .from(table, "user_id")
                .to("users", "id")
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        // The balance row is what a debit takes under a guard, so two checkouts never overdraw it.
        manager
            .create_table(
                Table::create()
                    .table("wallets")
                    .col(
                        ColumnDef::new("user_id")
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new("balance_cents")
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new("refunds_to")
                            .string_len(10)
                            .not_null()
                            .default("card"),
                    )
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col("balance_cents").gte(0))
                    .foreign_key(&mut to_user("fk_wallets_user_id", "wallets"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("wallet_entries")
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("user_id").big_integer().not_null())
                    .col(ColumnDef::new("amount_cents").big_integer().not_null())
                    .col(ColumnDef::new("kind").string_len(20).not_null())
                    .col(ColumnDef::new("order_id").big_integer())
                    .col(ColumnDef::new("refund_id").big_integer())
                    .col(ColumnDef::new("unique_key").string_len(120).not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(&mut to_user("fk_wallet_entries_user_id", "wallet_entries"))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            ("ux_wallet_entries_unique_key", vec!["unique_key"], true),
            ("ix_wallet_entries_user_id", vec!["user_id", "id"], false),
        ] {
            let mut index = Index::create();
            index.name(name).table("wallet_entries");
            for c in cols {
                index.col(c);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        // A refund kept as credit is done at once, with no card refund behind it.
        manager
            .alter_table(
                Table::alter()
                    .table("refunds")
                    .add_column(
                        ColumnDef::new("to_wallet")
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("refunds")
                    .drop_column("to_wallet")
                    .to_owned(),
            )
            .await?;
        for table in ["wallet_entries", "wallets"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
