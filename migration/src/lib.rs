//! Schema migrations, run on start and by `alveole migrate`; schema only, never demo data.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_schema;
mod m20261124_000001_add_baskets_and_order_expiry;
mod m20261125_000001_close_and_settle;
mod m20261125_000002_completion;
mod m20261125_000003_invoices;
mod m20261125_000004_hive_stripe_account;
mod m20261126_000001_storage_tuning;
mod m20261126_000002_basket_numbers;
mod m20261126_000003_producer_photos;
mod m20261126_000004_news_and_mail_preferences;
mod m20261201_000001_refunded_per_line;
mod m20261201_000002_account_tokens_and_limits;
mod m20261202_000001_order_edits;
mod m20261203_000001_places;
mod m20261203_000002_offers_version;
mod m20261207_000001_reminders;
mod m20261208_000001_product_stock;
mod m20261208_000002_standing_offers;
mod m20261208_000003_photos;
mod m20261208_000004_sold_by_weight;
mod m20261208_000005_weighing;
mod m20261208_000006_wallets;
mod m20261208_000007_wallet_withdrawals;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_schema::Migration),
            Box::new(m20261124_000001_add_baskets_and_order_expiry::Migration),
            Box::new(m20261125_000001_close_and_settle::Migration),
            Box::new(m20261125_000002_completion::Migration),
            Box::new(m20261125_000003_invoices::Migration),
            Box::new(m20261125_000004_hive_stripe_account::Migration),
            Box::new(m20261126_000001_storage_tuning::Migration),
            Box::new(m20261126_000002_basket_numbers::Migration),
            Box::new(m20261126_000003_producer_photos::Migration),
            Box::new(m20261126_000004_news_and_mail_preferences::Migration),
            Box::new(m20261201_000001_refunded_per_line::Migration),
            Box::new(m20261201_000002_account_tokens_and_limits::Migration),
            Box::new(m20261202_000001_order_edits::Migration),
            Box::new(m20261203_000001_places::Migration),
            Box::new(m20261203_000002_offers_version::Migration),
            Box::new(m20261207_000001_reminders::Migration),
            Box::new(m20261208_000001_product_stock::Migration),
            Box::new(m20261208_000002_standing_offers::Migration),
            Box::new(m20261208_000003_photos::Migration),
            Box::new(m20261208_000004_sold_by_weight::Migration),
            Box::new(m20261208_000005_weighing::Migration),
            Box::new(m20261208_000006_wallets::Migration),
            Box::new(m20261208_000007_wallet_withdrawals::Migration),
        ]
    }
}
