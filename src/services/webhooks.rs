//! Stripe's events: each applied at most once, in any order, unknown ones acknowledged and ignored.

use super::orders;
use crate::AppState;
use crate::domain::OrderId;
use crate::error::{AppError, AppResult};
use entity::{payments, processed_webhook_events};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

/// Applies one event whose signature was checked; an event seen before changes nothing.
pub async fn apply_stripe_event(state: &AppState, event: &serde_json::Value) -> AppResult<()> {
    let Some(id) = event["id"].as_str() else {
        return Err(AppError::BadRequest("error.bad_json"));
    };
    let kind = event["type"].as_str().unwrap_or("");
    if processed_webhook_events::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let object_id = event["data"]["object"]["id"].as_str().unwrap_or("");
    let metadata_order = event["data"]["object"]["metadata"]["order_id"]
        .as_str()
        .and_then(|v| v.parse::<i64>().ok());
    // Handlers are idempotent, so an event applied just before a crash and delivered again does no harm.
    match kind {
        "payment_intent.succeeded" => {
            // The charge's reference may not have been stored if the request that made it failed;
            // the order id the charge carries finds the order all the same.
            if let Some(order) = order_of(state, object_id)
                .await?
                .or(metadata_order.map(OrderId))
            {
                orders::mark_paid_with_ref(state, order, object_id).await?
            }
        }
        "payment_intent.canceled" => {
            if let Some(order) = order_of(state, object_id).await? {
                orders::fail(state, order).await?;
            }
        }
        _ => {}
    }
    processed_webhook_events::Entity::insert(processed_webhook_events::ActiveModel {
        id: Set(id.chars().take(255).collect()),
        kind: Set(kind.chars().take(100).collect()),
        received_at: Set(state.now()),
    })
    .on_conflict_do_nothing_on([processed_webhook_events::Column::Id])
    .exec_without_returning(&state.db)
    .await?;
    Ok(())
}

async fn order_of(state: &AppState, provider_ref: &str) -> AppResult<Option<OrderId>> {
    if provider_ref.is_empty() {
        return Ok(None);
    }
    Ok(payments::Entity::find()
        .filter(payments::Column::ProviderRef.eq(provider_ref))
        .one(&state.db)
        .await?
        .map(|p| OrderId(p.order_id)))
}
