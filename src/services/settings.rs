//! Instance settings kept in the database, such as the secret generated on first start.

use entity::settings;
use rand::RngCore;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, Set};

const SECRET_KEY: &str = "secret";

/// The stored secret, created on first start; concurrent first starts agree on one value.
pub async fn secret(db: &DatabaseConnection) -> Result<String, DbErr> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let candidate = settings::ActiveModel {
        key: Set(SECRET_KEY.to_owned()),
        value: Set(hex::encode(bytes)),
    };
    settings::Entity::insert(candidate)
        .on_conflict_do_nothing_on([settings::Column::Key])
        .exec_without_returning(db)
        .await?;
    let row = settings::Entity::find_by_id(SECRET_KEY.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("settings.secret".into()))?;
    Ok(row.value)
}
