//! Pages for members: the shop of an open distribution, the basket, checkout, and their orders.

use super::confirm::{self, Ask, Confirm};
use super::ctx::{Ctx, redirect_with_flash};
use super::forms::PageQuery;
use super::render::render;
use crate::AppState;
use crate::domain::order::{AddRefusal, check_addition, parse_quantity};
use crate::domain::search::{Needle, fold};
use crate::domain::{Category, DistributionId, DistributionStatus, HiveId, OrderId};
use crate::error::{AppError, AppResult, Conflict};
use crate::payments::test_mode::ACCEPTED_CARD;
use crate::services::accounts::CurrentUser;
use crate::services::approvals;
use crate::services::distributions::{self, DistributionView};
use crate::services::hives::{self, HiveView};
use crate::services::offers::{self, OfferView};
use crate::services::{basket, order_edit, orders};
use crate::web::extract::AuthUser;
use crate::web::extract::{Form, Path, Query};
use crate::web::routes::{Routes, get, post};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub fn routes() -> Routes {
    Routes::new()
        .route("/distributions/{id}", get(shop))
        .route("/distributions/{id}/order", get(order_chosen).post(choose))
        .route(
            "/distributions/{id}/basket",
            get(basket_page).post(add_to_basket),
        )
        .route("/distributions/{id}/basket/update", post(update_basket))
        .route("/distributions/{id}/basket/keep", post(keep_order))
        .route("/distributions/{id}/checkout", post(checkout))
        .route("/orders", get(my_orders))
        .route("/orders/{id}", get(order_page))
        .route("/orders/{id}/cancel", post(cancel_order))
        .route("/orders/{id}/edit", post(edit_order))
        .route("/orders/{id}/return", get(payment_return))
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct ShopQuery {
    q: String,
    category: String,
}

/// Who may look at a distribution's shop: members, the manager, the hive's producers.
async fn may_view(
    state: &AppState,
    user: &CurrentUser,
    hive: &crate::services::hives::Hive,
) -> AppResult<(bool, bool)> {
    let member = hives::is_member(&state.db, user.id, HiveId(hive.id)).await?;
    let staff = hives::can_manage(user, hive)
        || approvals::sells_in(&state.db, user, HiveId(hive.id)).await?;
    Ok((member, member || staff))
}

async fn shop(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<DistributionId>,
    Query(q): Query<ShopQuery>,
) -> AppResult<Response> {
    shop_view(&state, &ctx, id, &q, &Kept::default(), StatusCode::OK).await
}

/// Where a visitor's "order" button leads once logged in: the shop again, with what they chose
/// typed in, to add to the basket (or, not yet a member, to join the hive first).
async fn order_chosen(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(_user): AuthUser,
    Path(id): Path<DistributionId>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let kept = Kept {
        typed: chosen_quantities(url::form_urlencoded::parse(
            query.unwrap_or_default().as_bytes(),
        )),
        ..Kept::default()
    };
    shop_view(
        &state,
        &ctx,
        id,
        &ShopQuery::default(),
        &kept,
        StatusCode::OK,
    )
    .await
}

/// A visitor's "order" button: the quantities typed go on to the log-in (or straight back to
/// the shop, typed in, for someone logged in), in an address that names only those typed.
async fn choose(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<DistributionId>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    distributions::visible(&state.db, ctx.user.as_ref(), id).await?;
    let chosen = chosen_address(id, &chosen_quantities(form));
    let to = match ctx.user {
        Some(_) => chosen,
        None => format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(chosen.as_bytes()).collect::<String>()
        ),
    };
    Ok(axum::response::Redirect::to(&to).into_response())
}

/// The `qty_<offer id>` fields a visitor filled in, by offer; empty and zero ones left out.
fn chosen_quantities<K: AsRef<str>, V: AsRef<str>>(
    fields: impl IntoIterator<Item = (K, V)>,
) -> HashMap<i64, String> {
    fields
        .into_iter()
        .filter_map(|(k, v)| {
            let offer = k.as_ref().strip_prefix("qty_")?.parse::<i64>().ok()?;
            let v = v.as_ref().trim();
            (!v.is_empty() && v != "0").then(|| (offer, v.to_owned()))
        })
        .collect()
}

/// The address that brings a visitor's choice back after logging in or joining.
fn chosen_address(id: DistributionId, typed: &HashMap<i64, String>) -> String {
    if typed.is_empty() {
        return format!("/distributions/{id}");
    }
    let mut pairs: Vec<(&i64, &String)> = typed.iter().collect();
    pairs.sort();
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (format!("qty_{k}"), v.as_str())))
        .finish();
    format!("/distributions/{id}/order?{query}")
}

/// A basket form that came back: what was typed, and the message beside each offer refused.
#[derive(Default)]
struct Kept {
    typed: HashMap<i64, String>,
    errors: HashMap<i64, String>,
    /// The first offer in error, in the page's order.
    focus: Option<i64>,
}

async fn shop_view(
    state: &AppState,
    ctx: &Ctx,
    id: DistributionId,
    q: &ShopQuery,
    kept: &Kept,
    status: StatusCode,
) -> AppResult<Response> {
    let d = distributions::visible(&state.db, ctx.user.as_ref(), id).await?;
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    let (member, inside) = match &ctx.user {
        Some(u) => may_view(state, u, &hive).await?,
        None => (false, false),
    };
    let open = distributions::status_of(&d) == DistributionStatus::Open;
    // While ordering is open the shop is a window anyone may look in.
    let window = !inside && open;
    let can_view = inside || window;
    let mut c = tera::Context::new();
    c.insert("d", &DistributionView::from_model(&d, state.now()));
    c.insert("member", &member);
    let accepting = crate::domain::distribution::accepts_orders(
        distributions::status_of(&d),
        &distributions::window(&d),
        state.now(),
    );
    let can_order = member && accepting;
    // A visitor chooses quantities too; ordering them asks to log in, or to join, first.
    let can_choose = window && accepting;
    c.insert("can_order", &can_order);
    c.insert("can_choose", &can_choose);
    c.insert("can_view", &can_view);
    c.insert("window", &window);
    c.insert(
        "kept",
        &(can_order && !kept.typed.is_empty() && kept.errors.is_empty()),
    );
    c.insert("chosen", &chosen_address(id, &kept.typed));
    c.insert("query", q);
    c.insert("refused", &!kept.errors.is_empty());
    c.insert(
        "categories",
        &Category::ALL.iter().map(|c| c.key()).collect::<Vec<_>>(),
    );
    let mut basket_summary = basket::Basket::default();
    if can_view {
        let mut all = offers::list(&state.db, &state.offer_cache, &d, &hive).await?;
        if window {
            all = all.into_iter().map(OfferView::in_window).collect();
        }
        let mut in_basket = HashMap::new();
        let mut extra = HashMap::new();
        if let Some(u) = &ctx.user {
            let lines = basket::lines(&state.db, u, &d).await?;
            basket_summary = basket::build(&lines, &all);
            in_basket.extend(lines);
            if let Some(e) = order_edit::current(&state.db, u, DistributionId(d.id)).await? {
                extra = e.units;
            }
        }
        let needle = Needle::new(&q.q);
        let filtered: Vec<&OfferView> = all
            .iter()
            .filter(|o| q.category.is_empty() || o.category == q.category)
            .filter(|o| {
                needle.is_empty() || needle.matches(&[&fold(&o.name), &fold(&o.producer_name)])
            })
            .collect();
        c.insert("count", &filtered.len());
        let page = super::shelves::ShelfPage {
            can_order: can_order || can_choose,
            lang: ctx.lang,
            typed: &kept.typed,
            errors: &kept.errors,
            in_basket: &in_basket,
            extra: &extra,
            focus: kept.focus,
        };
        c.insert("shelves_html", &super::shelves::render(&filtered, &page));
    } else {
        c.insert("count", &0);
        c.insert("shelves_html", "");
    }
    c.insert("basket", &basket_summary);
    if open {
        let tz = hive.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
        let when = crate::i18n::format::span(d.pickup_starts_at, d.pickup_ends_at, tz, ctx.lang);
        c.insert(
            "preview",
            &super::preview::Preview::new(
                state,
                &format!("/distributions/{id}"),
                &format!("{} · {}", crate::i18n::t(ctx.lang, "shop.title"), hive.name),
                &crate::i18n::t_args(
                    ctx.lang,
                    "shop.preview",
                    &[("at", when), ("place", hives::postal_address(&hive))],
                ),
            ),
        );
    }
    c.insert("hive", &HiveView::from_model(hive, None));
    Ok((status, render(state, ctx, "consumer/shop.html", c)?).into_response())
}

async fn member_distribution(
    state: &AppState,
    user: &CurrentUser,
    id: DistributionId,
) -> AppResult<(
    crate::services::distributions::Distribution,
    crate::services::hives::Hive,
)> {
    let d = distributions::get(&state.db, id).await?;
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    if !hives::is_member(&state.db, user.id, HiveId(hive.id)).await? {
        return Err(AppError::Forbidden);
    }
    Ok((d, hive))
}

/// Adds to the basket: `qty_<offer id>` fields from the shop's one form, or one `offer_id` and
/// `quantity`. All or nothing: a quantity refused comes back beside its offer, the rest kept.
async fn add_to_basket(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (d, hive) = member_distribution(&state, &user, id).await?;
    let field = |k: &str| {
        form.iter()
            .find(|(name, _)| name == k)
            .map_or("", |(_, v)| v.as_str())
    };
    let q = ShopQuery {
        q: field("q").to_owned(),
        category: field("category").to_owned(),
    };
    let back = shop_address(id, &q);
    // In the page's order, so the first refusal is the one nearest the top.
    let mut wanted: Vec<(String, String)> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("qty_")
                .map(|o| (o.to_owned(), v.trim().to_owned()))
        })
        .filter(|(_, v)| !v.is_empty() && v != "0")
        .collect();
    if !field("offer_id").is_empty() {
        wanted.push((
            field("offer_id").to_owned(),
            field("quantity").trim().to_owned(),
        ));
    }
    if wanted.is_empty() {
        return Ok(redirect_with_flash(&state, &back, "error.nothing_typed"));
    }
    let all = offers::list(&state.db, &state.offer_cache, &d, &hive).await?;
    let current = basket::lines(&state.db, &user, &d).await?;
    // The units of an order being edited are this member's to order again.
    let extra = order_edit::current(&state.db, &user, DistributionId(d.id))
        .await?
        .map(|e| e.units)
        .unwrap_or_default();
    let mut kept = Kept::default();
    let mut adding: Vec<(i64, i64)> = Vec::with_capacity(wanted.len());
    for (offer, typed) in &wanted {
        let Some(o) = offer
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|offer| all.iter().find(|o| o.id.0 == offer))
        else {
            return Ok(redirect_with_flash(&state, &back, "error.unknown_offer"));
        };
        let offer = o.id.0;
        let held = current.iter().find(|l| l.0 == offer).map_or(0, |l| l.1)
            + adding.iter().find(|l| l.0 == offer).map_or(0, |l| l.1);
        kept.typed.insert(offer, typed.clone());
        let left = o
            .quantity_remaining
            .map(|n| n + extra.get(&offer).copied().unwrap_or(0));
        match check_addition(typed, held, left) {
            Ok(quantity) => match adding.iter_mut().find(|l| l.0 == offer) {
                Some(line) => line.1 += quantity,
                None => adding.push((offer, quantity)),
            },
            Err(refusal) => {
                kept.errors.insert(offer, refusal_message(&ctx, o, refusal));
                kept.focus.get_or_insert(offer);
            }
        }
    }
    if !kept.errors.is_empty() {
        return shop_view(
            &state,
            &ctx,
            id,
            &q,
            &kept,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    basket::add_many(&state.db, &user, &d, &adding, &current, state.now()).await?;
    // Back where the member was: at the last offer they filled in.
    let at = adding
        .last()
        .map_or(String::new(), |l| format!("#o-{}", l.0));
    Ok(redirect_with_flash(
        &state,
        &format!("{back}{at}"),
        "flash.added_to_basket",
    ))
}

/// The shop's address with the member's search kept.
fn shop_address(id: DistributionId, q: &ShopQuery) -> String {
    let filters: Vec<String> = [("q", &q.q), ("category", &q.category)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect();
    if filters.is_empty() {
        format!("/distributions/{id}")
    } else {
        format!("/distributions/{id}?{}", filters.join("&"))
    }
}

/// What the member reads beside a quantity the basket refused, naming the product.
fn refusal_message(ctx: &Ctx, o: &OfferView, refusal: AddRefusal) -> String {
    match refusal {
        AddRefusal::Quantity(key) => ctx.t(key),
        AddRefusal::TooMany { left, in_basket } => {
            super::shelves::too_many(ctx.lang, &o.name, left, in_basket)
        }
    }
}

fn checkout_token() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    hex::encode(b)
}

/// The basket page: its lines by producer, subtotals, total, and the checkout form with a one-time token.
async fn basket_view(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    id: DistributionId,
    message: Option<String>,
    test_card: &str,
    status: StatusCode,
) -> AppResult<Response> {
    let (d, hive) = member_distribution(state, user, id).await?;
    let all = offers::list(&state.db, &state.offer_cache, &d, &hive).await?;
    let b = basket::build(&basket::lines(&state.db, user, &d).await?, &all);
    let editing = order_edit::current(&state.db, user, DistributionId(d.id)).await?;
    let mut c = tera::Context::new();
    c.insert("editing", &editing);
    c.insert("d", &DistributionView::from_model(&d, state.now()));
    c.insert("hive", &HiveView::from_model(hive, None));
    c.insert("basket", &b);
    c.insert("token", &checkout_token());
    c.insert("message", &message);
    c.insert("test_card", test_card);
    Ok((status, render(state, ctx, "consumer/basket.html", c)?).into_response())
}

async fn basket_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<Response> {
    basket_view(&state, &ctx, &user, id, None, ACCEPTED_CARD, StatusCode::OK).await
}

/// Quantities typed on the basket page, as `qty_<offer id>` fields; 0 removes a line.
async fn update_basket(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
    Form(fields): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let (d, _) = member_distribution(&state, &user, id).await?;
    let now = state.now();
    for (k, v) in &fields {
        let Some(offer) = k.strip_prefix("qty_").and_then(|s| s.parse::<i64>().ok()) else {
            continue;
        };
        let qty = match v.trim() {
            "" | "0" => 0,
            other => match parse_quantity(other) {
                Ok(q) => q,
                Err(key) => {
                    let msg = ctx.t(key);
                    return basket_view(
                        &state,
                        &ctx,
                        &user,
                        id,
                        Some(msg),
                        ACCEPTED_CARD,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
            },
        };
        basket::set(&state.db, &user, &d, offer, qty, now).await?;
    }
    Ok(redirect_with_flash(
        &state,
        &format!("/distributions/{id}/basket"),
        "flash.basket_updated",
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckoutForm {
    token: String,
    test_card: String,
}

async fn checkout(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
    Form(form): Form<CheckoutForm>,
) -> AppResult<Response> {
    let (d, _) = member_distribution(&state, &user, id).await?;
    let lines = basket::lines(&state.db, &user, &d).await?;
    if form.token.len() != 32 || !form.token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::BadRequest("error.bad_form"));
    }
    let again = |key: &str, status: StatusCode| {
        let msg = ctx.t(key);
        let card = form.test_card.clone();
        let (state, ctx, user) = (state.clone(), ctx.clone(), user.clone());
        async move { basket_view(&state, &ctx, &user, id, Some(msg), &card, status).await }
    };
    // The same form sent twice: the first submission's order is the answer.
    let key = format!("web-{}", form.token);
    if let Some(existing) = orders::find_by_key(&state.db, &user, &key).await? {
        return Ok(redirect_with_flash(
            &state,
            &format!("/orders/{}", existing.id),
            "flash.order_placed",
        ));
    }
    if lines.is_empty() {
        return again("error.empty_basket", StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let test_card = Some(form.test_card.trim().to_owned()).filter(|c| !c.is_empty());
    let replaces = order_edit::current(&state.db, &user, id)
        .await?
        .map(|e| e.order_id);
    let new = orders::NewOrder {
        lines,
        idempotency_key: Some(key),
        test_card,
        replaces,
    };
    match orders::place(&state, &user, id, new).await {
        Ok(order) => Ok(redirect_with_flash(
            &state,
            &format!("/orders/{}", order.id),
            "flash.order_placed",
        )),
        Err(e @ AppError::OutOfStock { .. }) => {
            let msg = crate::i18n::t_args(ctx.lang, e.message_key(), &e.message_args());
            basket_view(
                &state,
                &ctx,
                &user,
                id,
                Some(msg),
                &form.test_card,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(AppError::PaymentDeclined) => {
            again("error.payment_declined", StatusCode::PAYMENT_REQUIRED).await
        }
        Err(AppError::PaymentUnavailable) => {
            again("error.payment_unavailable", StatusCode::SERVICE_UNAVAILABLE).await
        }
        Err(AppError::Conflict(Conflict::OrderingClosed)) => {
            again("error.ordering_closed", StatusCode::CONFLICT).await
        }
        Err(AppError::Invalid(f)) => {
            let msg = f
                .translated(ctx.lang)
                .into_values()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            basket_view(
                &state,
                &ctx,
                &user,
                id,
                Some(msg),
                &form.test_card,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn my_orders(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Query(q): Query<PageQuery>,
) -> AppResult<Html<String>> {
    // A page number typed badly in the address bar shows the first page.
    let (page, per_page) = q
        .parse(orders::ORDERS_PER_PAGE)
        .unwrap_or((1, orders::ORDERS_PER_PAGE));
    let (rows, total) = orders::of_user(&state.db, &user, page, per_page, state.now()).await?;
    let mut c = tera::Context::new();
    c.insert("orders", &rows);
    c.insert("page", &page);
    c.insert("pages", &total.div_ceil(per_page).max(1));
    c.insert("total", &total);
    render(&state, &ctx, "consumer/orders.html", c)
}

async fn order_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<OrderId>,
) -> AppResult<Html<String>> {
    let o = orders::visible(&state.db, &user, id).await?;
    let view = orders::view(&state.db, OrderId(o.id), state.now()).await?;
    let hive = hives::get(&state.db, view.hive_id).await?;
    let mut c = tera::Context::new();
    c.insert("own", &(o.user_id == user.id.0));
    // A Stripe payment still to confirm: the page mounts Stripe's payment form with the intent's secret.
    let mut stripe = None;
    if o.user_id == user.id.0
        && view.status == crate::domain::OrderStatus::PendingPayment
        && let Some(key) = state.config.stripe_publishable_key.clone()
        && let Some(secret) = orders::pending_client_secret(&state, OrderId(o.id)).await?
    {
        stripe = Some(serde_json::json!({
            "key": key,
            "secret": secret,
            "return_url": format!("{}/orders/{}/return", state.config.base_url, o.id),
        }));
    }
    c.insert("stripe", &stripe);
    let editing = order_edit::current(&state.db, &user, view.distribution_id)
        .await?
        .is_some_and(|e| e.order_id.0 == o.id);
    c.insert("editing", &editing);
    c.insert("order", &view);
    c.insert("timezone", &hive.timezone);
    c.insert(
        "invoices",
        &crate::services::invoices::of_order(&state.db, &user, o.id).await?,
    );
    render(&state, &ctx, "consumer/order.html", c)
}

async fn cancel_order(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<OrderId>,
    Form(confirm): Form<Confirm>,
) -> AppResult<Response> {
    let back = format!("/orders/{id}");
    if !confirm.given() {
        let o = orders::owned(&state.db, &user, id).await?;
        let view = orders::view(&state.db, OrderId(o.id), state.now()).await?;
        if !view.cancellable {
            return Ok(redirect_with_flash(&state, &back, "error.order_final"));
        }
        let total = ctx.money(view.total_cents);
        let first = if view.status == crate::domain::OrderStatus::Paid {
            ctx.t_with(
                "ask.order_refund",
                &[
                    ("total", total),
                    ("refund", ctx.money(view.total_cents - view.refunded_cents)),
                ],
            )
        } else {
            ctx.t_with("ask.order_unpaid", &[("total", total)])
        };
        return confirm::page(
            &state,
            &ctx,
            Ask {
                title: "ask.order_title",
                consequences: vec![first, ctx.t("ask.order_told")],
                action: format!("/orders/{id}/cancel"),
                fields: Vec::new(),
                button: "ask.order_button",
                back,
            },
        );
    }
    match orders::cancel(&state, &user, id).await {
        Ok(_) => Ok(redirect_with_flash(&state, &back, "flash.order_cancelled")),
        Err(AppError::Conflict(code)) => Ok(redirect_with_flash(
            &state,
            &back,
            if code == Conflict::OrderingClosed {
                "error.ordering_closed"
            } else {
                "error.order_final"
            },
        )),
        Err(e) => Err(e),
    }
}

/// The order's lines go back into the basket; the order stands until the new one is paid.
async fn edit_order(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<OrderId>,
) -> AppResult<Response> {
    match order_edit::start(&state, &user, id).await {
        Ok(d) => Ok(redirect_with_flash(
            &state,
            &format!("/distributions/{d}/basket"),
            "flash.order_editing",
        )),
        Err(AppError::Conflict(code)) => Ok(redirect_with_flash(
            &state,
            &format!("/orders/{id}"),
            if code == Conflict::OrderingClosed {
                "error.ordering_closed"
            } else {
                "error.order_final"
            },
        )),
        Err(e) => Err(e),
    }
}

/// The member keeps the order being edited as it was: the basket is emptied.
async fn keep_order(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<Response> {
    member_distribution(&state, &user, id).await?;
    Ok(match order_edit::abandon(&state, &user, id).await? {
        Some(order) => redirect_with_flash(&state, &format!("/orders/{order}"), "flash.order_kept"),
        None => redirect_with_flash(
            &state,
            &format!("/distributions/{id}/basket"),
            "flash.basket_updated",
        ),
    })
}

/// Where the payment page sends the member back: the provider is asked, whichever of this and the webhook comes first wins.
async fn payment_return(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<OrderId>,
) -> AppResult<Response> {
    orders::returned_from_payment(&state, &user, id).await?;
    Ok(axum::response::Redirect::to(&format!("/orders/{id}")).into_response())
}
