//! The demo: a hive in Tours with its producers, catalogue and members, loaded from the files in `seed/`.
//!
//! Loading is idempotent: each record is found by its natural key before it is created.

use crate::AppState;
use crate::domain::distribution::local;
use crate::domain::{ApprovalStatus, Category, Locale, VatRate};
use crate::error::{AppError, AppResult};
use crate::services::accounts::hash_password;
use crate::services::hives::DEFAULT_HOST_FEE_BPS;
use chrono::Utc;
use entity::{
    distributions, hive_members, hive_producers, hives, offers, order_lines, orders, outbox,
    payments, producers, products, users,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::Deserialize;
use weeks::{WeeksFile, weekly_history};

mod photos;
mod weeks;

const ACCOUNTS: &str = include_str!("../../seed/accounts.toml");
const HIVE: &str = include_str!("../../seed/hive.toml");
const PRODUCERS: &str = include_str!("../../seed/producers.toml");
const PRODUCTS: &str = include_str!("../../seed/products.toml");
const MEMBERS: &str = include_str!("../../seed/members.toml");
const WEEKS: &str = include_str!("../../seed/weeks.toml");

#[derive(Deserialize)]
struct AccountsFile {
    demo_password: String,
    admin: Person,
}

#[derive(Deserialize)]
struct Person {
    email: String,
    name: String,
    #[serde(default)]
    locale: Option<String>,
    /// `wallet` for a member who keeps refunds as credit.
    #[serde(default)]
    refunds_to: Option<String>,
}

/// A seeded commune, which must be one the place search knows.
fn place_of(text: &str) -> AppResult<crate::domain::places::Place> {
    crate::domain::places::find(text)
        .map(|f| f.place)
        .ok_or_else(|| AppError::Internal(format!("seed: unknown place {text}")))
}

#[derive(Deserialize)]
struct HiveFile {
    hive: HiveSeed,
}

#[derive(Deserialize)]
struct HiveSeed {
    name: String,
    description: String,
    address: String,
    place: String,
    lat: f64,
    lng: f64,
    timezone: String,
    radius_km: i32,
    manager_email: String,
    manager_name: String,
}

#[derive(Deserialize)]
struct ProducersFile {
    producer: Vec<ProducerSeed>,
}

#[derive(Deserialize)]
struct ProducerSeed {
    key: String,
    name: String,
    trade: String,
    description: String,
    address: String,
    place: String,
    lat: f64,
    lng: f64,
    owner_email: String,
    owner_name: String,
}

#[derive(Deserialize)]
struct ProductsFile {
    product: Vec<ProductSeed>,
}

#[derive(Deserialize)]
struct ProductSeed {
    producer: String,
    name: String,
    description: String,
    category: String,
    unit: String,
    price_cents: i64,
    vat_rate_bps: i32,
    /// What is left to sell across every hive, for a product with one shared stock.
    #[serde(default)]
    stock: Option<i64>,
    /// `weight` for a product priced per kilogram, with the most a piece weighs.
    #[serde(default)]
    sold_by: Option<String>,
    #[serde(default)]
    piece_grams: Option<i32>,
}

#[derive(Deserialize)]
struct MembersFile {
    member: Vec<Person>,
}

/// Who can sign in to the demo, printed at start-up and in the README.
pub struct DemoLogins {
    pub password: String,
    pub admin: String,
    pub manager: String,
    pub producer: String,
    pub member: String,
}

fn parse<T: serde::de::DeserializeOwned>(src: &str, name: &str) -> AppResult<T> {
    toml::from_str(src).map_err(|e| AppError::Internal(format!("seed/{name}: {e}")))
}

pub fn demo_logins() -> AppResult<DemoLogins> {
    let accounts: AccountsFile = parse(ACCOUNTS, "accounts.toml")?;
    let hive: HiveFile = parse(HIVE, "hive.toml")?;
    let producers: ProducersFile = parse(PRODUCERS, "producers.toml")?;
    let members: MembersFile = parse(MEMBERS, "members.toml")?;
    Ok(DemoLogins {
        password: accounts.demo_password,
        admin: accounts.admin.email,
        manager: hive.hive.manager_email,
        producer: producers
            .producer
            .first()
            .map(|p| p.owner_email.clone())
            .unwrap_or_default(),
        member: members
            .member
            .first()
            .map(|m| m.email.clone())
            .unwrap_or_default(),
    })
}

/// What one run of the seed created.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users: usize,
    pub hives: usize,
    pub producers: usize,
    pub products: usize,
    pub memberships: usize,
    pub distributions: usize,
    pub orders: usize,
    pub photos: usize,
}

/// True when the database holds no account yet, the signal to load the demo at first start.
pub async fn is_empty(db: &DatabaseConnection) -> AppResult<bool> {
    Ok(users::Entity::find().count(db).await? == 0)
}

/// Loads the demo; records already present are left as they are.
pub async fn run(state: &AppState) -> AppResult<SeedReport> {
    let db = &state.db;
    let now = state.now();
    let accounts: AccountsFile = parse(ACCOUNTS, "accounts.toml")?;
    let hive_file: HiveFile = parse(HIVE, "hive.toml")?;
    let producer_file: ProducersFile = parse(PRODUCERS, "producers.toml")?;
    let product_file: ProductsFile = parse(PRODUCTS, "products.toml")?;
    let member_file: MembersFile = parse(MEMBERS, "members.toml")?;
    check_products(&product_file, &producer_file)?;

    // Every demo account shares the documented password, so one hash serves them all.
    let hash = hash_password(accounts.demo_password.clone()).await?;
    let mut report = SeedReport::default();
    let txn = db.begin().await?;

    user(&txn, &accounts.admin, &hash, true, &mut report, now).await?;
    let manager = Person {
        email: hive_file.hive.manager_email.clone(),
        name: hive_file.hive.manager_name.clone(),
        locale: Some("fr".into()),
        refunds_to: None,
    };
    let manager_id = user(&txn, &manager, &hash, false, &mut report, now).await?;

    let h = &hive_file.hive;
    let hive_id = match hives::Entity::find()
        .filter(hives::Column::Name.eq(&h.name))
        .filter(hives::Column::ManagerId.eq(manager_id))
        .one(&txn)
        .await?
    {
        Some(existing) => existing.id,
        None => {
            report.hives += 1;
            hives::ActiveModel {
                name: Set(h.name.clone()),
                description: Set(h.description.clone()),
                address: Set(h.address.clone()),
                postcode: Set(Some(place_of(&h.place)?.postcode.to_owned())),
                place: Set(Some(place_of(&h.place)?.label())),
                lat: Set(h.lat),
                lng: Set(h.lng),
                timezone: Set(h.timezone.clone()),
                radius_km: Set(h.radius_km),
                host_fee_bps: Set(DEFAULT_HOST_FEE_BPS),
                manager_id: Set(manager_id),
                stripe_account_id: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?
            .id
        }
    };

    for p in &producer_file.producer {
        let owner = Person {
            email: p.owner_email.clone(),
            name: p.owner_name.clone(),
            locale: Some("fr".into()),
            refunds_to: None,
        };
        let owner_id = user(&txn, &owner, &hash, false, &mut report, now).await?;
        let producer_id = match producers::Entity::find()
            .filter(producers::Column::OwnerId.eq(owner_id))
            .filter(producers::Column::Name.eq(&p.name))
            .one(&txn)
            .await?
        {
            Some(existing) => existing.id,
            None => {
                report.producers += 1;
                producers::ActiveModel {
                    owner_id: Set(owner_id),
                    name: Set(p.name.clone()),
                    trade: Set(Some(p.trade.clone())),
                    description: Set(p.description.clone()),
                    address: Set(p.address.clone()),
                    place: Set(Some(place_of(&p.place)?.label())),
                    lat: Set(p.lat),
                    lng: Set(p.lng),
                    photo_url: Set(None),
                    photos: Set(String::new()),
                    stripe_account_id: Set(None),
                    created_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?
                .id
            }
        };
        let linked = hive_producers::Entity::find()
            .filter(hive_producers::Column::HiveId.eq(hive_id))
            .filter(hive_producers::Column::ProducerId.eq(producer_id))
            .count(&txn)
            .await?;
        if linked == 0 {
            hive_producers::ActiveModel {
                hive_id: Set(hive_id),
                producer_id: Set(producer_id),
                status: Set(ApprovalStatus::Approved.as_str().to_owned()),
                requested_at: Set(now),
                decided_at: Set(Some(now)),
                decided_by: Set(Some(manager_id)),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        for item in product_file.product.iter().filter(|i| i.producer == p.key) {
            let exists = products::Entity::find()
                .filter(products::Column::ProducerId.eq(producer_id))
                .filter(products::Column::Name.eq(&item.name))
                .count(&txn)
                .await?;
            if exists == 0 {
                report.products += 1;
                products::ActiveModel {
                    producer_id: Set(producer_id),
                    name: Set(item.name.clone()),
                    description: Set(item.description.clone()),
                    category: Set(item.category.clone()),
                    unit: Set(item.unit.clone()),
                    price_cents: Set(item.price_cents),
                    vat_rate_bps: Set(item.vat_rate_bps),
                    stock: Set(item.stock),
                    sold_by: Set(item.sold_by.clone().unwrap_or_else(|| "unit".into())),
                    piece_grams: Set(item.piece_grams),
                    active: Set(true),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
    }

    for m in &member_file.member {
        let id = user(&txn, m, &hash, false, &mut report, now).await?;
        if let Some(to) = m.refunds_to.as_deref() {
            let to = crate::domain::wallet::RefundsTo::parse(to)
                .ok_or_else(|| AppError::Internal(format!("members.toml: refunds_to {to}")))?;
            crate::services::wallet::choose(&txn, id, to, now).await?;
        }
        let joined = hive_members::Entity::find()
            .filter(hive_members::Column::HiveId.eq(hive_id))
            .filter(hive_members::Column::UserId.eq(id))
            .count(&txn)
            .await?;
        if joined == 0 {
            report.memberships += 1;
            hive_members::ActiveModel {
                hive_id: Set(hive_id),
                user_id: Set(id),
                joined_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    if distributions::Entity::find()
        .filter(distributions::Column::HiveId.eq(hive_id))
        .count(&state.db)
        .await?
        == 0
    {
        let weeks: WeeksFile = parse(WEEKS, "weeks.toml")?;
        weekly_history(state, hive_id, &weeks, &mut report).await?;
    }
    report.photos = photos::add(db, now).await?;
    Ok(report)
}

/// The seed files are data typed by people: refuse them whole rather than load a wrong price.
fn check_products(products: &ProductsFile, producers: &ProducersFile) -> AppResult<()> {
    for p in &products.product {
        let known = producers.producer.iter().any(|f| f.key == p.producer);
        let ok = known
            && Category::parse(&p.category).is_some()
            && VatRate::from_bps(p.vat_rate_bps).is_ok()
            && crate::domain::Cents::price(p.price_cents).is_ok();
        if !ok {
            return Err(AppError::Internal(format!(
                "seed/products.toml: invalid product '{}'",
                p.name
            )));
        }
    }
    Ok(())
}

async fn user(
    db: &impl ConnectionTrait,
    p: &Person,
    hash: &str,
    admin: bool,
    report: &mut SeedReport,
    now: chrono::DateTime<Utc>,
) -> AppResult<i64> {
    if let Some(u) = users::Entity::find()
        .filter(users::Column::Email.eq(&p.email))
        .one(db)
        .await?
    {
        return Ok(u.id);
    }
    report.users += 1;
    let locale = p
        .locale
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or(Locale::Fr);
    let row = users::ActiveModel {
        email: Set(p.email.clone()),
        password_hash: Set(hash.to_owned()),
        name: Set(p.name.clone()),
        locale: Set(locale.code().to_owned()),
        is_admin: Set(admin),
        created_at: Set(now),
        // The demo's addresses are ours: confirmed, so every kind of mail reaches their log.
        email_confirmed_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(row.id)
}

/// What `serve` was told about the demo.
#[derive(Clone, Copy, Debug, Default)]
pub struct DemoFlags {
    pub no_demo: bool,
    pub demo: bool,
}

/// Whether `serve` loads the demo into an empty database: its admin's password is public, so only
/// on a loopback address unless asked with `--demo`; never with real payments.
pub fn demo_wanted(addr: &std::net::SocketAddr, flags: DemoFlags, stripe: bool) -> bool {
    !stripe && !flags.no_demo && (flags.demo || addr.ip().is_loopback())
}

/// Deletes every row, children first, so `seed --reset` starts over on either backend.
pub async fn reset(db: &DatabaseConnection) -> AppResult<()> {
    let txn = db.begin().await?;
    for table in [
        "basket_items",
        "processed_webhook_events",
        "jobs",
        "outbox",
        "news",
        "mail_preferences",
        "invoices",
        "basket_numbers",
        "pick_lists",
        "payouts",
        "refunds",
        "payments",
        "order_lines",
        "orders",
        "offers",
        "standing_offers",
        "photo_sizes",
        "photo_blobs",
        "photos",
        "distribution_producers",
        "distributions",
        "products",
        "hive_producers",
        "producers",
        "hive_members",
        "hives",
        "sessions",
        "account_tokens",
        "rate_limits",
        "users",
    ] {
        txn.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod demo_rule {
    use super::*;

    #[test]
    fn the_demo_loads_by_itself_only_on_a_loopback_address() {
        let here: std::net::SocketAddr = "127.0.0.1:3000".parse().expect("addr");
        let v6: std::net::SocketAddr = "[::1]:3000".parse().expect("addr");
        let public: std::net::SocketAddr = "0.0.0.0:3000".parse().expect("addr");
        let none = DemoFlags::default();
        assert!(demo_wanted(&here, none, false));
        assert!(demo_wanted(&v6, none, false));
        assert!(!demo_wanted(&public, none, false));
        let asked = DemoFlags {
            demo: true,
            no_demo: false,
        };
        assert!(demo_wanted(&public, asked, false));
        let refused = DemoFlags {
            demo: false,
            no_demo: true,
        };
        assert!(!demo_wanted(&here, refused, false));
        assert!(
            !demo_wanted(&here, none, true),
            "never beside real payments"
        );
    }
}
