//! Webhook subscriptions as admins make and change them: each change at
//! the version it was based on, as every write here. What delivery does to
//! a subscription is in `webhook_delivery`.

use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use crate::db::schema::webhooks;
use crate::db::{write_transaction, DbConnection};
use crate::domain::precondition::Precondition;
use crate::domain::timestamp::{self, from_micros, to_micros};
use crate::domain::webhook::{EventType, NewWebhook, StaleWebhook, Webhook, WebhookChange};

/// A subscription as it is stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
#[diesel(treat_none_as_default_value = false)]
pub(super) struct WebhookRow {
    pub id: String,
    pub version: i64,
    pub url: String,
    pub events: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub delivered_through: i64,
    pub attempts: i32,
    pub failing_since: Option<i64>,
    pub next_attempt_at: i64,
    pub lease_owner: Option<String>,
    pub lease_until: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl WebhookRow {
    pub fn into_webhook(self) -> Result<Webhook, StoreError> {
        let now = to_micros(timestamp::now());
        Ok(Webhook {
            id: super::rows::parse_id(&self.id)?,
            version: self.version,
            events: event_types(&self.events)?,
            url: self.url,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            delivered_through: self.delivered_through,
            failing_since: self.failing_since.map(from_micros),
            next_attempt_at: self
                .failing_since
                .map(|_| from_micros(self.next_attempt_at)),
            previous_secret_expires_at: self
                .previous_secret_until
                .filter(|until| *until > now)
                .map(from_micros),
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

/// The stored list of event types, as JSON.
fn events_text(events: &[EventType]) -> String {
    serde_json::to_string(events).unwrap_or_default()
}

pub(super) fn event_types(text: &str) -> Result<Vec<EventType>, StoreError> {
    let names: Vec<String> = serde_json::from_str(text).map_err(|error| {
        StoreError::internal(format!("stored webhook events {text:?}: {error}"))
    })?;
    names
        .iter()
        .map(|name| {
            EventType::parse(name)
                .ok_or_else(|| StoreError::internal(format!("stored webhook event {name:?}")))
        })
        .collect()
}

/// Makes a subscription at version 1 that starts after the newest event:
/// it receives what happens from now on.
pub fn create(
    conn: &mut DbConnection,
    new: &NewWebhook,
    secret: &str,
) -> Result<Webhook, StoreError> {
    let newest = super::events::newest(conn)?;
    let now = to_micros(timestamp::now());
    let row = WebhookRow {
        id: Uuid::now_v7().to_string(),
        version: 1,
        url: new.url.clone(),
        events: events_text(&new.events),
        enabled: new.enabled,
        disabled_reason: None,
        secret: secret.to_owned(),
        previous_secret: None,
        previous_secret_until: None,
        delivered_through: newest,
        attempts: 0,
        failing_since: None,
        next_attempt_at: now,
        lease_owner: None,
        lease_until: 0,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(webhooks::table)
        .values(&row)
        .execute(conn)?;
    row.into_webhook()
}

/// Every subscription, oldest first.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Webhook>, StoreError> {
    webhooks::table
        .order(webhooks::id.asc())
        .select(WebhookRow::as_select())
        .load(conn)?
        .into_iter()
        .map(WebhookRow::into_webhook)
        .collect()
}

pub fn find(conn: &mut DbConnection, id: &Uuid) -> Result<Option<Webhook>, StoreError> {
    webhooks::table
        .find(id.to_string())
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?
        .map(WebhookRow::into_webhook)
        .transpose()
}

/// Applies an admin's change at the version it was based on. Enabling
/// clears the failure that disabled it, and delivery goes on at once from
/// where it stopped. A change that changes nothing answers it as it is.
pub fn change(
    conn: &mut DbConnection,
    id: &Uuid,
    change: &WebhookChange,
) -> Result<Webhook, StoreError> {
    write_transaction(conn, |conn| {
        let current = locked_at(conn, id, change.expected)?;
        let webhook = current.clone().into_webhook()?;
        let url = change.url.clone().unwrap_or(current.url.clone());
        let events = change.events.clone().unwrap_or(webhook.events.clone());
        let enabled = change.enabled.unwrap_or(current.enabled);
        if url == current.url && events == webhook.events && enabled == current.enabled {
            return Ok(webhook);
        }
        let now = to_micros(timestamp::now());
        let enabling = enabled && !current.enabled;
        diesel::update(webhooks::table.find(id.to_string()))
            .set((
                webhooks::url.eq(&url),
                webhooks::events.eq(events_text(&events)),
                webhooks::enabled.eq(enabled),
                webhooks::version.eq(current.version + 1),
                webhooks::updated_at.eq(now),
            ))
            .execute(conn)?;
        if enabling {
            diesel::update(webhooks::table.find(id.to_string()))
                .set((
                    webhooks::disabled_reason.eq(None::<String>),
                    webhooks::failing_since.eq(None::<i64>),
                    webhooks::attempts.eq(0),
                    webhooks::next_attempt_at.eq(now),
                ))
                .execute(conn)?;
        }
        reread(conn, id)
    })
}

/// Deletes the subscription, and its delivery log, at its version.
pub fn delete(
    conn: &mut DbConnection,
    id: &Uuid,
    expected: Precondition,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        locked_at(conn, id, expected)?;
        diesel::delete(webhooks::table.find(id.to_string())).execute(conn)?;
        Ok(())
    })
}

/// Replaces the secret; the one before it goes on signing for
/// `grace_seconds` (none when 0), so that receivers can switch over.
pub fn rotate(
    conn: &mut DbConnection,
    id: &Uuid,
    secret: &str,
    grace_seconds: i64,
) -> Result<Webhook, StoreError> {
    write_transaction(conn, |conn| {
        let current = locked(conn, id)?;
        let now = to_micros(timestamp::now());
        let grace = (grace_seconds > 0).then(|| now + grace_seconds * 1_000_000);
        diesel::update(webhooks::table.find(id.to_string()))
            .set((
                webhooks::secret.eq(secret),
                webhooks::previous_secret.eq(grace.map(|_| current.secret.clone())),
                webhooks::previous_secret_until.eq(grace),
                webhooks::version.eq(current.version + 1),
                webhooks::updated_at.eq(now),
            ))
            .execute(conn)?;
        reread(conn, id)
    })
}

/// Delivers again every wanted event numbered `from` and after, in order,
/// and retries at once. `from` may not skip events not yet delivered.
pub fn redeliver(conn: &mut DbConnection, id: &Uuid, from: i64) -> Result<Webhook, StoreError> {
    super::events::newest(conn)?;
    write_transaction(conn, |conn| {
        let current = locked(conn, id)?;
        if from > current.delivered_through + 1 {
            return Err(StoreError::RedeliverAhead {
                delivered_through: current.delivered_through,
            });
        }
        if let Some(oldest_kept) = super::events::oldest_kept(conn)? {
            if from < oldest_kept {
                return Err(StoreError::EventsPurged {
                    after: from - 1,
                    oldest_kept,
                });
            }
        }
        diesel::update(webhooks::table.find(id.to_string()))
            .set((
                webhooks::delivered_through.eq(from - 1),
                webhooks::attempts.eq(0),
                webhooks::failing_since.eq(None::<i64>),
                webhooks::next_attempt_at.eq(to_micros(timestamp::now())),
            ))
            .execute(conn)?;
        reread(conn, id)
    })
}

/// The subscription's row, locked until the transaction ends on PostgreSQL
/// (SQLite's write transaction already excludes every other writer).
fn locked(conn: &mut DbConnection, id: &Uuid) -> Result<WebhookRow, StoreError> {
    let query = || webhooks::table.find(id.to_string());
    let row = match conn {
        DbConnection::Pg(pg) => query()
            .select(WebhookRow::as_select())
            .for_update()
            .first(pg)
            .optional()?,
        DbConnection::Sqlite(sqlite) => query()
            .select(WebhookRow::as_select())
            .first(sqlite)
            .optional()?,
    };
    row.ok_or(StoreError::WebhookNotFound(*id))
}

/// `locked`, provided it is at the expected version.
fn locked_at(
    conn: &mut DbConnection,
    id: &Uuid,
    expected: Precondition,
) -> Result<WebhookRow, StoreError> {
    let current = locked(conn, id)?;
    if current.version != expected.version {
        return Err(StoreError::StaleWebhook(Box::new(StaleWebhook::new(
            expected,
            current.into_webhook()?,
        ))));
    }
    Ok(current)
}

fn reread(conn: &mut DbConnection, id: &Uuid) -> Result<Webhook, StoreError> {
    find(conn, id)?.ok_or(StoreError::WebhookNotFound(*id))
}
