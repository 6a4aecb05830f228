//! API tokens: made with a random secret, of which only the hash is kept.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use crate::db::schema::tokens::dsl;
use crate::db::DbConnection;
use crate::domain::access::{new_secret, secret_hash, Caller, Role};
use crate::domain::timestamp;

/// A token as listed: never its secret.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Codes (lower case) of the locations whose stock it may write; `None`
    /// for all.
    pub locations: Option<Vec<String>>,
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = crate::db::schema::tokens)]
struct TokenRow {
    id: String,
    name: String,
    role: String,
    secret_hash: String,
    created_at: i64,
    revoked_at: Option<i64>,
    /// A JSON array of lower-case codes, or NULL for every location.
    locations: Option<String>,
}

impl TokenRow {
    fn into_info(self) -> Result<TokenInfo, StoreError> {
        Ok(TokenInfo {
            id: Uuid::parse_str(&self.id).map_err(StoreError::internal)?,
            role: Role::parse(&self.role)
                .ok_or_else(|| StoreError::internal(format!("stored role {:?}", self.role)))?,
            name: self.name,
            created_at: timestamp::from_micros(self.created_at),
            revoked_at: self.revoked_at.map(timestamp::from_micros),
            locations: self
                .locations
                .map(|codes| serde_json::from_str(&codes))
                .transpose()
                .map_err(StoreError::internal)?,
        })
    }
}

/// Makes a token; returns it and its secret, which is not kept.
/// `locations`, when given, limits its stock writes to those codes.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    role: Role,
    locations: Option<&[String]>,
) -> Result<(TokenInfo, String), StoreError> {
    let locations = locations
        .map(|codes| {
            let lower: Vec<String> = codes.iter().map(|code| code.to_ascii_lowercase()).collect();
            serde_json::to_string(&lower)
        })
        .transpose()
        .map_err(StoreError::internal)?;
    let secret = new_secret().map_err(|error| StoreError::internal(error.to_string()))?;
    let row = TokenRow {
        id: Uuid::now_v7().to_string(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        secret_hash: secret_hash(&secret),
        created_at: timestamp::to_micros(timestamp::now()),
        revoked_at: None,
        locations,
    };
    diesel::insert_into(dsl::tokens)
        .values(&row)
        .execute(conn)?;
    Ok((row.into_info()?, secret))
}

/// Every token, oldest first.
pub fn list(conn: &mut DbConnection) -> Result<Vec<TokenInfo>, StoreError> {
    dsl::tokens
        .order(dsl::id)
        .load::<TokenRow>(conn)?
        .into_iter()
        .map(TokenRow::into_info)
        .collect()
}

/// Whether any token exists, revoked or not.
pub fn any(conn: &mut DbConnection) -> Result<bool, StoreError> {
    Ok(dsl::tokens
        .select(dsl::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Revokes the token; false when no live token has this id.
pub fn revoke(conn: &mut DbConnection, id: &Uuid) -> Result<bool, StoreError> {
    let revoked = diesel::update(
        dsl::tokens
            .filter(dsl::id.eq(id.to_string()))
            .filter(dsl::revoked_at.is_null()),
    )
    .set(dsl::revoked_at.eq(timestamp::to_micros(timestamp::now())))
    .execute(conn)?;
    Ok(revoked == 1)
}

/// The caller whose live token has this secret.
pub fn caller(conn: &mut DbConnection, secret_hash: &str) -> Result<Option<Caller>, StoreError> {
    let row = dsl::tokens
        .filter(dsl::secret_hash.eq(secret_hash))
        .filter(dsl::revoked_at.is_null())
        .first::<TokenRow>(conn)
        .optional()?;
    row.map(|row| {
        let info = row.into_info()?;
        Ok(Caller {
            token_id: info.id,
            name: info.name,
            role: info.role,
            locations: info.locations,
        })
    })
    .transpose()
}
