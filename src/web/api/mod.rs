//! The JSON API of `shared/API.md`: the same operations as the pages, for scripts and integrations.

mod accounts;
mod catalogue;
mod hives;
mod pickup;
mod planning;
pub use pickup::pick_list_csv;
mod distributions;
mod wallet;
mod webhooks;

use crate::web::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .merge(accounts::routes())
        .merge(hives::routes())
        .merge(catalogue::routes())
        .merge(distributions::routes())
        .merge(pickup::routes())
        .merge(planning::routes())
        .merge(wallet::routes())
        .merge(webhooks::routes())
}
