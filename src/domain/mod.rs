//! Pure rules of the marketplace: money, places, catalogue, approvals, accounts, orders and their settlement; no I/O.

pub mod account;
pub mod approval;
pub mod catalogue;
pub mod distribution;
pub mod forecast;
pub mod geo;
pub mod ids;
pub mod job;
pub mod mail;
pub mod money;
pub mod order;
pub mod payment;
pub mod photo;
pub mod places;
pub mod refund;
pub mod search;
pub mod settlement;
pub mod spreadsheet;
pub mod state;
pub mod wallet;
pub mod weight;

pub use account::{Email, Locale, Password};
pub use approval::ApprovalStatus;
pub use catalogue::{Category, VatRate};
pub use distribution::{DistributionStatus, OrderWindow};
pub use geo::Coordinates;
pub use ids::{DistributionId, HiveId, OfferId, OrderId, PhotoId, ProducerId, ProductId, UserId};
pub use money::Cents;
pub use order::OrderStatus;
