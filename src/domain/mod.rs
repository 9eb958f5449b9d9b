//! Pure rules of the marketplace: money, places, catalogue, approvals and accounts; no I/O.

pub mod account;
pub mod approval;
pub mod catalogue;
pub mod geo;
pub mod ids;
pub mod money;

pub use account::{Email, Locale, Password};
pub use approval::ApprovalStatus;
pub use catalogue::{Category, VatRate};
pub use geo::Coordinates;
pub use ids::{HiveId, ProducerId, ProductId, UserId};
pub use money::Cents;
