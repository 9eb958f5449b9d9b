//! sea-orm entities, one module per table; the schema itself lives in the migration crate.

pub mod basket_items;
pub mod basket_numbers;
pub mod distribution_producers;
pub mod distributions;
pub mod hive_members;
pub mod hive_producers;
pub mod hives;
pub mod invoices;
pub mod jobs;
pub mod mail_preferences;
pub mod news;
pub mod offers;
pub mod order_lines;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod payouts;
pub mod pick_lists;
pub mod processed_webhook_events;
pub mod producers;
pub mod products;
pub mod refunds;
pub mod sessions;
pub mod settings;
pub mod users;
