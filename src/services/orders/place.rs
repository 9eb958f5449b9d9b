//! Placing an order: the basket priced, stock reserved and the charge asked for, once per idempotency key.

use super::*;

fn request_hash(lines: &[(i64, i64)], test_card: Option<&str>) -> String {
    let mut h = Sha256::new();
    for (o, q) in lines {
        h.update(format!("{o}x{q};"));
    }
    h.update(test_card.unwrap_or(""));
    hex::encode(h.finalize())
}

/// Places an order: checks, reserves stock in one transaction, then charges outside it.
pub async fn place(
    state: &AppState,
    user: &CurrentUser,
    distribution: DistributionId,
    new: NewOrder,
) -> AppResult<OrderView> {
    let db = &state.db;
    let (d, hive) = distributions::for_member(db, distribution, user.id).await?;
    let lines = merge_lines(&new.lines).map_err(|k| AppError::field("lines", k))?;
    let hash = request_hash(&lines, new.test_card.as_deref());
    if let Some(key) = &new.idempotency_key
        && (key.is_empty() || key.len() > 100)
    {
        return Err(AppError::field("idempotency_key", "error.idempotency_key"));
    }
    let now = state.now();
    if !accepts_orders(
        distributions::status_of(&d),
        &distributions::window(&d),
        now,
    ) {
        return replay_or(
            state,
            user,
            &new,
            &hash,
            AppError::Conflict(Conflict::OrderingClosed),
        )
        .await;
    }
    let listed = crate::services::offers::fixed(db, &state.offer_cache, &d).await?;
    let wanted: std::collections::HashSet<i64> = lines.iter().map(|l| l.0).collect();
    let found: Vec<FixedOffer> = listed
        .iter()
        .filter(|o| wanted.contains(&o.id))
        .cloned()
        .collect();
    if found.len() != lines.len() {
        return Err(AppError::field("lines", "error.unknown_offer"));
    }
    let offer = |id: i64| found.iter().find(|o| o.id == id);
    let rows: Vec<LineRow> = lines
        .iter()
        .filter_map(|&(id, quantity)| {
            offer(id).map(|o| LineRow {
                offer_id: id,
                producer_id: o.producer_id,
                quantity,
                unit_price_cents: o.price_cents,
                vat_rate_bps: o.vat_rate_bps,
            })
        })
        .collect();
    let priced: Vec<PricedLine> = rows
        .iter()
        .map(|l| PricedLine {
            producer_id: l.producer_id,
            unit_price: Cents(l.unit_price_cents),
            quantity: l.quantity,
            vat_rate_bps: l.vat_rate_bps,
        })
        .collect();
    let total = totals(&priced).total;
    let key = new
        .idempotency_key
        .clone()
        .unwrap_or_else(crate::services::random_key);
    let pickup =
        distributions::local_span(&hive, d.pickup_starts_at, d.pickup_ends_at, user.locale);
    let facts = Arc::new(Facts {
        lines,
        offers: found,
        d,
        hive,
        provider: state.payments.name(),
        test_mode: state.test_mode(),
        now,
        to: user.email.clone(),
        name: user.name.clone(),
        lang: user.locale,
        pickup,
    });
    // Test mode's accepted card needs no call: the order is written paid, with its confirmation.
    // A replacement is paid through the charge below, whose success swaps the two orders.
    let settled = (new.replaces.is_none()
        && state.payments.settles_at_once(new.test_card.as_deref()))
    .then(|| {
        let f = facts.clone();
        Settled {
            reference: |id| crate::payments::test_mode::reference(&charge_key(id)),
            confirmation: Box::new(move |order, farms| f.confirmation(order, farms)),
        }
    });
    let paid_at_once = settled.is_some();
    let written = state
        .order_writer
        .write(OrderRow {
            distribution_id: facts.d.id,
            user_id: user.id.0,
            key: key.clone(),
            hash: hash.clone(),
            total_cents: total.0,
            lines: rows,
            provider: state.payments.name(),
            test_mode: state.test_mode(),
            now,
            expires_at: now + PAYMENT_WINDOW,
            settled,
            replaces: new.replaces.map(|o| o.0),
        })
        .await;
    let (order, farms) = match written {
        Ok(Written::Placed(order, farms)) => (order, farms),
        Ok(Written::Closed) => {
            return replay_or(
                state,
                user,
                &new,
                &hash,
                AppError::Conflict(Conflict::OrderingClosed),
            )
            .await;
        }
        Ok(Written::SoldOut { offer, remaining }) => {
            return Err(AppError::OutOfStock {
                offer_id: offer,
                name: facts
                    .offers
                    .iter()
                    .find(|o| o.id == offer)
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                remaining,
            });
        }
        // The same key won a race or came back: give back that order.
        Ok(Written::KeyTaken) => {
            return earlier(state, user, &key, &hash)
                .await?
                .ok_or(AppError::Conflict(Conflict::Other));
        }
        Err(AppError::Db(e)) if crate::services::is_unique_violation(&e) => {
            return earlier(state, user, &key, &hash)
                .await?
                .ok_or(AppError::Conflict(Conflict::Other));
        }
        Err(e) => return Err(e),
    };
    if paid_at_once {
        return Ok(facts.prepared(&order, &farms).view(
            OrderStatus::Paid,
            PaymentStatus::Succeeded,
            now,
        ));
    }

    let charge = state
        .payments
        .charge(ChargeRequest {
            order_id: order.id,
            amount: total,
            idempotency_key: charge_key(order.id),
            description: charge_description(&facts.hive, order.id),
            test_card: new.test_card.clone(),
        })
        .await;
    let mut client_secret = None;
    match charge {
        Ok(c) => {
            if c.status != ChargeStatus::Succeeded {
                set_payment_ref(db, order.id, &c.provider_ref).await?;
            }
            match c.status {
                ChargeStatus::Succeeded => {
                    // The confirmation is written from what this request already knows.
                    let mail = facts.confirmation(&order, &farms);
                    let mail = OrderMail {
                        to: mail.to,
                        lang: mail.lang,
                        payload: mail.payload,
                    };
                    if mark_paid_with(state, OrderId(order.id), Some(&c.provider_ref), Some(mail))
                        .await?
                    {
                        return Ok(facts.prepared(&order, &farms).view(
                            OrderStatus::Paid,
                            PaymentStatus::Succeeded,
                            now,
                        ));
                    }
                }
                ChargeStatus::Pending { client_secret: s } => client_secret = s,
                ChargeStatus::Failed { .. } => {
                    fail(state, OrderId(order.id)).await?;
                    return Err(AppError::PaymentDeclined);
                }
            }
        }
        Err(PaymentError::Declined(_)) => {
            fail(state, OrderId(order.id)).await?;
            return Err(AppError::PaymentDeclined);
        }
        Err(PaymentError::Unavailable(why)) => {
            // The order keeps its stock until it expires; the same key may be retried.
            tracing::warn!(order_id = order.id, %why, "payment provider unavailable");
            return Err(AppError::PaymentUnavailable);
        }
    }
    let mut view = view(db, OrderId(order.id), now).await?;
    if let Some(p) = view.payment.as_mut() {
        p.client_secret = client_secret;
    }
    Ok(view)
}

/// The idempotency key of an order's charge at the payment provider.
pub(super) fn charge_key(order_id: i64) -> String {
    format!("order-{order_id}")
}

/// What the charge says on the member's statement; the same on every try, as the key requires.
pub(super) fn charge_description(hive: &hive_rows::Model, order_id: i64) -> String {
    format!("{} — {order_id}", hive.name)
}

/// `err`, unless the request repeats an earlier one by its key: then that order.
async fn replay_or(
    state: &AppState,
    user: &CurrentUser,
    new: &NewOrder,
    hash: &str,
    err: AppError,
) -> AppResult<OrderView> {
    if let Some(key) = &new.idempotency_key
        && let Some(view) = earlier(state, user, key, hash).await?
    {
        return Ok(view);
    }
    Err(err)
}

/// The answer to an earlier request under `key`, if there was one.
async fn earlier(
    state: &AppState,
    user: &CurrentUser,
    key: &str,
    hash: &str,
) -> AppResult<Option<OrderView>> {
    match find_by_key(&state.db, user, key).await? {
        Some(existing) => replay(state, existing, hash).await.map(Some),
        None => Ok(None),
    }
}

/// Everything `place` read, owned, so the order writer can build the confirmation from it.
struct Facts {
    lines: Vec<(i64, i64)>,
    offers: Vec<FixedOffer>,
    d: distribution_rows::Model,
    hive: hive_rows::Model,
    provider: &'static str,
    test_mode: bool,
    now: DateTime<Utc>,
    to: String,
    name: String,
    lang: Locale,
    /// The pickup, from its start to its end.
    pickup: String,
}

impl Facts {
    fn prepared<'a>(&'a self, order: &'a orders::Model, farms: &'a FarmNames) -> Prepared<'a> {
        Prepared {
            order,
            lines: &self.lines,
            offers: &self.offers,
            farm_names: farms,
            d: &self.d,
            hive: &self.hive,
            provider: self.provider,
            test_mode: self.test_mode,
        }
    }

    fn confirmation(&self, order: &orders::Model, farms: &FarmNames) -> Outgoing {
        let paid =
            self.prepared(order, farms)
                .view(OrderStatus::Paid, PaymentStatus::Succeeded, self.now);
        Outgoing {
            to: self.to.clone(),
            lang: self.lang,
            template: Template::OrderConfirmed,
            payload: serde_json::json!({
                "name": self.name,
                "order": paid,
                "pickup": self.pickup,
            }),
        }
    }
}

/// What `place` knows of a new order, enough to show it and to confirm it without reading it back.
struct Prepared<'a> {
    order: &'a orders::Model,
    lines: &'a [(i64, i64)],
    offers: &'a [FixedOffer],
    farm_names: &'a FarmNames,
    d: &'a distribution_rows::Model,
    hive: &'a hive_rows::Model,
    provider: &'static str,
    test_mode: bool,
}

impl Prepared<'_> {
    fn view(
        &self,
        status: OrderStatus,
        payment_status: PaymentStatus,
        now: DateTime<Utc>,
    ) -> OrderView {
        let name = |id: i64| self.farm_names.get(&id).cloned().unwrap_or_default();
        let mut lines: Vec<LineView> = self
            .lines
            .iter()
            .filter_map(|&(offer_id, quantity)| {
                let o = self.offers.iter().find(|o| o.id == offer_id)?;
                Some(LineView {
                    offer_id: OfferId(o.id),
                    product_id: ProductId(o.product_id),
                    producer_id: ProducerId(o.producer_id),
                    producer_name: name(o.producer_id),
                    name: o.name.clone(),
                    unit: o.unit.clone(),
                    quantity,
                    unit_price_cents: o.price_cents,
                    vat_rate_bps: o.vat_rate_bps,
                    amount_cents: o.price_cents * quantity,
                    status: LineStatus::Ordered.as_str().to_owned(),
                    delivered_quantity: None,
                    weighed_grams: None,
                    weighed_cents: None,
                })
            })
            .collect();
        lines.sort_by_key(|l| (l.producer_id.0, l.offer_id.0));
        let payment = PaymentView {
            provider: self.provider.to_owned(),
            status: payment_status.as_str().to_owned(),
            amount_cents: self.order.total_cents,
            client_secret: None,
            test_mode: self.test_mode,
        };
        assemble(
            self.order,
            status,
            lines,
            Some(payment),
            self.d,
            self.hive,
            now,
        )
    }
}

pub async fn find_by_key(
    db: &DatabaseConnection,
    user: &CurrentUser,
    key: &str,
) -> AppResult<Option<orders::Model>> {
    Ok(orders::Entity::find()
        .filter(orders::Column::UserId.eq(user.id.0))
        .filter(orders::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// The answer to a repeated request: the first order for the same body, 422 for another body.
async fn replay(state: &AppState, existing: orders::Model, hash: &str) -> AppResult<OrderView> {
    if existing.request_hash.as_deref() != Some(hash) {
        return Err(AppError::field(
            "idempotency_key",
            "error.idempotency_mismatch",
        ));
    }
    // A charge the provider never answered is asked for again under the same key, so the member
    // can pay now; the provider gives back the first charge if it made one.
    let client_secret = match ask_provider(state, &existing).await? {
        Asked::Pending { client_secret } => client_secret,
        _ => None,
    };
    let mut view = view(&state.db, OrderId(existing.id), state.now()).await?;
    if let Some(p) = view.payment.as_mut()
        && client_secret.is_some()
    {
        p.client_secret = client_secret;
    }
    Ok(view)
}

/// Where an unpaid order's charge stands at the provider, once applied to the order.
#[derive(Debug, PartialEq)]
pub(super) enum Asked {
    /// Not a pending order of a provider that can be asked.
    Skipped,
    Paid,
    Failed,
    Pending {
        client_secret: Option<String>,
    },
    /// The provider could not be reached; nothing changed.
    Unreachable,
}
