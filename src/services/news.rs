//! News from a hive's manager and producers to its members: posted, listed newest first, mailed on request.

use super::outbox;
use crate::AppState;
use crate::domain::{HiveId, ProducerId};
use crate::error::{AppError, AppResult};
use crate::mail::{Outgoing, Template};
use crate::services::accounts::CurrentUser;
use chrono::{DateTime, Utc};
use entity::{hive_members, news, producers, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use serde_json::json;

/// What an author writes.
#[derive(Clone, Debug)]
pub struct NewsInput {
    pub title: String,
    pub body: String,
    /// The producer it is posted as; None for the manager.
    pub producer: Option<ProducerId>,
    pub email: bool,
}

/// A news item as members read it.
#[derive(Clone, Debug, Serialize)]
pub struct NewsView {
    pub id: i64,
    pub title: String,
    pub body: String,
    /// The producer's name, or the manager's.
    pub author: String,
    pub producer_id: Option<ProducerId>,
    pub created_at: DateTime<Utc>,
}

/// Who may post to a hive, and as whom: (is the manager, producers approved there that `actor` owns).
pub async fn voices(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    hive: HiveId,
) -> AppResult<(bool, Vec<(ProducerId, String)>)> {
    let h = super::hives::get(db, hive).await?;
    let manager = super::hives::can_manage(actor, &h);
    let owned: Vec<producers::Model> = producers::Entity::find()
        .filter(producers::Column::OwnerId.eq(actor.id.0))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for p in owned {
        let approved = super::approvals::approved_hives(db, &p)
            .await?
            .iter()
            .any(|r| r.hive_id == hive);
        if approved {
            out.push((ProducerId(p.id), p.name));
        }
    }
    Ok((manager, out))
}

/// Forbidden unless `actor` manages the hive or owns one of its producers, checked before the form is read.
pub async fn may_post(db: &DatabaseConnection, actor: &CurrentUser, hive: HiveId) -> AppResult<()> {
    let (manager, producers) = voices(db, actor, hive).await?;
    if manager || !producers.is_empty() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Whether `actor` may read the hive's news: its members, manager and producers, and admins.
pub async fn may_read(
    db: &DatabaseConnection,
    actor: Option<&CurrentUser>,
    hive: HiveId,
) -> AppResult<bool> {
    let Some(a) = actor else { return Ok(false) };
    if a.is_admin || super::hives::is_member(db, a.id, hive).await? {
        return Ok(true);
    }
    let (manager, producers) = voices(db, a, hive).await?;
    Ok(manager || !producers.is_empty())
}

/// Posts a news item, and queues it to the members who asked for news when the author wants it mailed.
pub async fn post(
    state: &AppState,
    actor: &CurrentUser,
    hive: HiveId,
    input: NewsInput,
) -> AppResult<news::Model> {
    let (manager, producers) = voices(&state.db, actor, hive).await?;
    let author = match input.producer {
        Some(p) => producers
            .iter()
            .find(|(id, _)| *id == p)
            .map(|(_, name)| name.clone())
            .ok_or_else(|| AppError::field("producer_id", "error.invalid"))?,
        None if manager => actor.name.clone(),
        None if producers.is_empty() => return Err(AppError::Forbidden),
        None => return Err(AppError::field("producer_id", "error.required")),
    };
    let h = super::hives::get(&state.db, hive).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    let row = news::ActiveModel {
        hive_id: Set(hive.0),
        author_id: Set(actor.id.0),
        producer_id: Set(input.producer.map(|p| p.0)),
        title: Set(input.title.clone()),
        body: Set(input.body.clone()),
        emailed: Set(input.email),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if input.email {
        let members: Vec<i64> = hive_members::Entity::find()
            .filter(hive_members::Column::HiveId.eq(hive.0))
            .select_only()
            .column(hive_members::Column::UserId)
            .into_tuple()
            .all(&txn)
            .await?;
        let readers = users::Entity::find()
            .filter(users::Column::Id.is_in(members))
            .filter(users::Column::Id.ne(actor.id.0))
            .all(&txn)
            .await?;
        let mut mails = Vec::new();
        for u in readers {
            // News goes only to those who asked for it.
            if !super::preferences::wants(&txn, &u.email, Template::News).await? {
                continue;
            }
            let lang = crate::domain::Locale::parse(&u.locale).unwrap_or_default();
            mails.push(Outgoing {
                to: u.email,
                lang,
                template: Template::News,
                payload: json!({
                    "name": u.name,
                    "hive": h.name,
                    "hive_id": h.id,
                    "author": author,
                    "title": input.title,
                    "body": input.body,
                }),
            });
        }
        outbox::enqueue_all(&txn, now, &mails).await?;
    }
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(row)
}

/// A hive's news, newest first: no ranking, no promotion.
pub async fn of_hive(
    db: &DatabaseConnection,
    hive: HiveId,
    limit: u64,
) -> AppResult<Vec<NewsView>> {
    let rows = news::Entity::find()
        .filter(news::Column::HiveId.eq(hive.0))
        .order_by_desc(news::Column::CreatedAt)
        .order_by_desc(news::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let author = match r.producer_id {
            Some(p) => producers::Entity::find_by_id(p)
                .one(db)
                .await?
                .map(|p| p.name)
                .unwrap_or_default(),
            None => users::Entity::find_by_id(r.author_id)
                .one(db)
                .await?
                .map(|u| u.name)
                .unwrap_or_default(),
        };
        out.push(NewsView {
            id: r.id,
            title: r.title,
            body: r.body,
            author,
            producer_id: r.producer_id.map(ProducerId),
            created_at: r.created_at,
        });
    }
    Ok(out)
}
