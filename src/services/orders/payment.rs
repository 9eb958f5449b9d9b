//! An order's payment: asked of the provider, confirmed, failed or expired, and reconciled with what the provider says.

use super::*;

/// Asks the provider about a pending order and applies the answer: paid, failed or still pending.
///
/// Without a reference, the charge is made again under the order's key, which the provider
/// answers with the charge it already made, if any: a member is never charged twice.
pub(super) async fn ask_provider(state: &AppState, order: &orders::Model) -> AppResult<Asked> {
    if OrderStatus::parse(&order.status) != Some(OrderStatus::PendingPayment) || state.test_mode() {
        return Ok(Asked::Skipped);
    }
    let Some(payment) = payments::Entity::find()
        .filter(payments::Column::OrderId.eq(order.id))
        .one(&state.db)
        .await?
    else {
        return Ok(Asked::Skipped);
    };
    let answer = match &payment.provider_ref {
        Some(r) => state.payments.status(r).await.map(|s| (r.clone(), s)),
        None => {
            let d = distributions::get(&state.db, DistributionId(order.distribution_id)).await?;
            let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
            state
                .payments
                .charge(ChargeRequest {
                    order_id: order.id,
                    amount: Cents(order.total_cents),
                    idempotency_key: charge_key(order.id),
                    description: charge_description(&hive, order.id),
                    test_card: None,
                })
                .await
                .map(|c| (c.provider_ref, c.status))
        }
    };
    match answer {
        Ok((reference, ChargeStatus::Succeeded)) => {
            mark_paid_with_ref(state, OrderId(order.id), &reference).await?;
            Ok(Asked::Paid)
        }
        Ok((_, ChargeStatus::Failed { .. })) | Err(PaymentError::Declined(_)) => {
            fail(state, OrderId(order.id)).await?;
            Ok(Asked::Failed)
        }
        Ok((reference, ChargeStatus::Pending { client_secret })) => {
            if payment.provider_ref.is_none() {
                set_payment_ref(&state.db, order.id, &reference).await?;
            }
            Ok(Asked::Pending { client_secret })
        }
        Err(PaymentError::Unavailable(why)) => {
            tracing::warn!(order_id = order.id, %why, "payment provider unavailable");
            Ok(Asked::Unreachable)
        }
    }
}

/// Orders still waiting for their payment after `PENDING_CHECK_AFTER` are checked with the provider,
/// so a lost webhook or an unanswered charge never leaves a paid order unpaid. Returns how many changed.
pub async fn reconcile_pending(state: &AppState) -> AppResult<usize> {
    if state.test_mode() {
        return Ok(0);
    }
    let now = state.now();
    let waiting = orders::Entity::find()
        .filter(orders::Column::Status.eq(OrderStatus::PendingPayment.as_str()))
        .filter(orders::Column::CreatedAt.lte(now - PENDING_CHECK_AFTER))
        .order_by_asc(orders::Column::Id)
        .all(&state.db)
        .await?;
    let mut changed = 0;
    for o in waiting {
        match ask_provider(state, &o).await? {
            Asked::Paid | Asked::Failed => changed += 1,
            // One unreachable answer means the rest would wait on the same outage.
            Asked::Unreachable => break,
            Asked::Skipped | Asked::Pending { .. } => {}
        }
    }
    Ok(changed)
}

/// Cancels at the provider the charges of orders that expired unpaid, so their payment forms can
/// no longer take money; a charge paid meanwhile is recorded, and refunded as a late payment.
/// Returns how many charges were settled one way or the other.
pub async fn cancel_abandoned_charges(state: &AppState) -> AppResult<usize> {
    if state.test_mode() {
        return Ok(0);
    }
    let abandoned = payments::Entity::find()
        .filter(payments::Column::Status.eq(PaymentStatus::Expired.as_str()))
        .filter(payments::Column::ProviderRef.is_not_null())
        .order_by_asc(payments::Column::Id)
        .limit(100)
        .all(&state.db)
        .await?;
    let mut settled = 0;
    for p in abandoned {
        let Some(reference) = p.provider_ref.as_deref() else {
            continue;
        };
        let cancelled = state.payments.cancel(reference).await;
        // A refusal may mean the member paid at the last moment: the charge itself says.
        let answer = match cancelled {
            Ok(()) => Ok(ChargeStatus::Failed {
                reason: "canceled".to_owned(),
            }),
            Err(_) => state.payments.status(reference).await,
        };
        match answer {
            Ok(ChargeStatus::Failed { .. }) => {
                payments::Entity::update_many()
                    .col_expr(
                        payments::Column::Status,
                        Expr::value(PaymentStatus::ChargeCanceled.as_str()),
                    )
                    .col_expr(payments::Column::UpdatedAt, Expr::value(state.now()))
                    .filter(payments::Column::Id.eq(p.id))
                    .filter(
                        payments::Column::Status
                            .is_in(PaymentStatus::ChargeCanceled.reached_from_text()),
                    )
                    .exec(&state.db)
                    .await?;
                settled += 1;
            }
            Ok(ChargeStatus::Succeeded) => {
                mark_paid_with_ref(state, OrderId(p.order_id), reference).await?;
                settled += 1;
            }
            Ok(ChargeStatus::Pending { .. }) => {}
            Err(why) => {
                tracing::warn!(order_id = p.order_id, %why, "payment provider unavailable");
                break;
            }
        }
    }
    Ok(settled)
}

/// How long a member has to confirm a payment on the page before the provider is asked about it.
const PENDING_CHECK_AFTER: Duration = Duration::minutes(2);

pub(super) async fn set_payment_ref(
    db: &DatabaseConnection,
    order: i64,
    provider_ref: &str,
) -> AppResult<()> {
    payments::Entity::update_many()
        .col_expr(
            payments::Column::ProviderRef,
            Expr::value(Some(provider_ref.to_owned())),
        )
        .filter(payments::Column::OrderId.eq(order))
        .exec(db)
        .await?;
    Ok(())
}

/// The provider's reference of an order's payment, once one was asked for.
async fn payment_ref(state: &AppState, id: OrderId) -> AppResult<Option<String>> {
    Ok(payments::Entity::find()
        .filter(payments::Column::OrderId.eq(id.0))
        .one(&state.db)
        .await?
        .and_then(|p| p.provider_ref))
}

/// The secret with which the order's page mounts the provider's payment form, while the payment
/// still waits for the member.
pub async fn pending_client_secret(state: &AppState, id: OrderId) -> AppResult<Option<String>> {
    let Some(reference) = payment_ref(state, id).await? else {
        return Ok(None);
    };
    Ok(match state.payments.status(&reference).await {
        Ok(ChargeStatus::Pending {
            client_secret: Some(secret),
        }) => Some(secret),
        _ => None,
    })
}

/// The member came back from the payment page: the provider is asked, and whichever of this and
/// the webhook comes first records the outcome.
pub async fn returned_from_payment(
    state: &AppState,
    user: &CurrentUser,
    id: OrderId,
) -> AppResult<()> {
    let o = owned(&state.db, user, id).await?;
    if let Some(reference) = payment_ref(state, OrderId(o.id)).await? {
        match state.payments.status(&reference).await {
            Ok(ChargeStatus::Succeeded) => mark_paid(state, OrderId(o.id)).await?,
            Ok(ChargeStatus::Failed { .. }) => fail(state, OrderId(o.id)).await?,
            _ => {}
        }
    }
    Ok(())
}

/// Records a payment reported by the provider with its reference, however many times it is reported.
pub async fn mark_paid_with_ref(
    state: &AppState,
    id: OrderId,
    provider_ref: &str,
) -> AppResult<()> {
    let reference = Some(provider_ref).filter(|r| !r.is_empty());
    mark_paid_with(state, id, reference, None).await.map(|_| ())
}

/// Records a successful payment once, however many times it is reported; mails the confirmation.
pub async fn mark_paid(state: &AppState, id: OrderId) -> AppResult<()> {
    mark_paid_with(state, id, None, None).await.map(|_| ())
}

/// The same, also recording the charge's reference, with the confirmation already prepared when the caller has it.
/// Returns whether this call moved the order to paid.
pub(super) async fn mark_paid_with(
    state: &AppState,
    id: OrderId,
    provider_ref: Option<&str>,
    prepared: Option<OrderMail>,
) -> AppResult<bool> {
    let now = state.now();
    let order = orders::Entity::find_by_id(id.0)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if OrderStatus::parse(&order.status) == Some(OrderStatus::PendingPayment) {
        // Everything the confirmation says is read first, so the write transaction only writes.
        let confirmation = match prepared {
            Some(m) => m,
            None => order_mail(&state.db, &order, Some(OrderStatus::Paid), now).await?,
        };
        let mut confirmation = confirmation;
        let txn = state.writer.begin().await?;
        if move_status(&txn, id.0, OrderStatus::Paid, now).await? {
            // A replacement, paid: the order it replaces goes, refunded, in the same transaction.
            let mut swapped = None;
            if let Some(replaced) = order.replaces_order_id {
                swapped =
                    crate::services::order_edit::take_place_of(&txn, &order, replaced, now).await?;
                if let Some((old, refund)) = &swapped {
                    confirmation.payload["replaced"] = serde_json::json!({
                        "id": old.id.to_string(),
                        "refund_cents": refund.as_ref().map_or(0, |r| r.amount_cents),
                    });
                }
            }
            let mut update = payments::Entity::update_many()
                .col_expr(
                    payments::Column::Status,
                    Expr::value(PaymentStatus::Succeeded.as_str()),
                )
                .col_expr(payments::Column::UpdatedAt, Expr::value(now));
            if let Some(r) = provider_ref {
                update = update.col_expr(
                    payments::Column::ProviderRef,
                    Expr::value(Some(r.to_owned())),
                );
            }
            update
                .filter(payments::Column::OrderId.eq(id.0))
                .filter(
                    payments::Column::Status.is_in(PaymentStatus::Succeeded.reached_from_text()),
                )
                .exec(&txn)
                .await?;
            basket_items::Entity::delete_many()
                .filter(basket_items::Column::UserId.eq(order.user_id))
                .filter(basket_items::Column::DistributionId.eq(order.distribution_id))
                .exec(&txn)
                .await?;
            entity::basket_edits::Entity::delete_many()
                .filter(entity::basket_edits::Column::UserId.eq(order.user_id))
                .filter(entity::basket_edits::Column::DistributionId.eq(order.distribution_id))
                .exec(&txn)
                .await?;
            outbox::enqueue(
                &txn,
                now,
                &confirmation.to,
                confirmation.lang,
                Template::OrderConfirmed,
                &confirmation.payload,
            )
            .await?;
            txn.commit().await?;
            state.mail_wakeup.notify_one();
            if let Some((_, Some(refund))) = swapped {
                refunds::send(state, refund).await?;
            }
            return Ok(true);
        }
        txn.rollback().await?;
    }
    if let Some(r) = provider_ref {
        set_payment_ref(&state.db, id.0, r).await?;
    }
    let order = orders::Entity::find_by_id(id.0)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    // Paid after it expired or was cancelled: the money goes back, the stock is not taken again.
    if matches!(
        OrderStatus::parse(&order.status),
        Some(OrderStatus::Expired | OrderStatus::Cancelled | OrderStatus::PaymentFailed)
    ) && payments::Entity::find()
        .filter(payments::Column::OrderId.eq(order.id))
        // A declined payment took nothing: there is nothing late to give back.
        .filter(payments::Column::Status.is_in([
            PaymentStatus::Succeeded.as_str(),
            PaymentStatus::Failed.as_str(),
        ]))
        .one(&state.db)
        .await?
        .is_none()
    {
        let txn = state.db.begin().await?;
        set_payment_status(&txn, id.0, PaymentStatus::Succeeded, now).await?;
        let refund = refunds::record_whole(&txn, &order, RefundReason::LatePayment, now).await?;
        txn.commit().await?;
        if let Some(r) = refund {
            refunds::send(state, r).await?;
        }
    }
    Ok(false)
}

/// A declined payment: the order fails and its stock is released.
pub async fn fail(state: &AppState, id: OrderId) -> AppResult<()> {
    let now = state.now();
    let txn = state.db.begin().await?;
    if move_status(&txn, id.0, OrderStatus::PaymentFailed, now).await? {
        release(&txn, id.0).await?;
        set_payment_status(&txn, id.0, PaymentStatus::Failed, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Orders whose payment never came: expired, stock released. Returns how many.
pub async fn expire_due(state: &AppState) -> AppResult<usize> {
    let now = state.now();
    let due = orders::Entity::find()
        .filter(orders::Column::Status.eq(OrderStatus::PendingPayment.as_str()))
        .filter(orders::Column::ExpiresAt.lte(now))
        .all(&state.db)
        .await?;
    let mut n = 0;
    for o in due {
        let txn = state.writer.begin().await?;
        if expire_one(&txn, o.id, now).await? {
            n += 1;
        }
        txn.commit().await?;
    }
    Ok(n)
}

/// Inside the caller's transaction: an unpaid order expired and its stock released, if it was still waiting.
pub(crate) async fn expire_one<C: ConnectionTrait>(
    db: &C,
    order: i64,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if !move_status(db, order, OrderStatus::Expired, now).await? {
        return Ok(false);
    }
    release(db, order).await?;
    set_payment_status(db, order, PaymentStatus::Expired, now).await?;
    Ok(true)
}
