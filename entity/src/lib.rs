//! sea-orm entities, one module per table; the schema itself lives in the migration crate.

pub mod users;
pub mod sessions;
pub mod settings;
pub mod hives;
pub mod hive_members;
pub mod producers;
pub mod hive_producers;
pub mod products;
pub mod distributions;
pub mod distribution_producers;
pub mod offers;
pub mod orders;
pub mod order_lines;
pub mod payments;
pub mod refunds;
pub mod payouts;
pub mod outbox;
pub mod jobs;
pub mod processed_webhook_events;
