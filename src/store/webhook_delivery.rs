//! What delivery does to a subscription: takes its lease, so that one
//! instance at a time delivers it; moves `delivered_through` after each
//! event it delivered or passed over; counts failed attempts and when the
//! next is due; disables it after failing too long; and logs every
//! attempt. Every change is conditional on still holding the lease, so an
//! instance that lost it (it stalled past its lease) changes nothing.

use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use super::webhooks::{event_types, WebhookRow};
use crate::db::schema::{product_events, webhook_deliveries, webhooks};
use crate::db::{write_transaction, DbConnection};
use crate::domain::timestamp::{self, from_micros, to_micros};
use crate::domain::webhook::{Attempt, Delivery, EventType};

/// A subscription an instance holds the lease of, with what it needs to
/// deliver: where, what, from where, and the secrets that sign.
#[derive(Debug, Clone)]
pub struct Lease {
    pub id: Uuid,
    pub owner: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub delivered_through: i64,
    /// Failed attempts at the event after `delivered_through`.
    pub attempts: i32,
    /// The current secret, then the one before it during its grace.
    pub secrets: Vec<String>,
}

/// The enabled subscriptions whose retry time has come and whose lease
/// has lapsed (or was given up), at `now`.
#[diesel::dsl::auto_type]
fn due(now: i64) -> _ {
    webhooks::table
        .filter(webhooks::enabled.eq(true))
        .filter(webhooks::next_attempt_at.le(now))
        .filter(webhooks::lease_until.lt(now))
}

/// Whether any subscription is due and has events to deliver (or events
/// may be waiting for their number, on PostgreSQL): a read, so that idle
/// delivery threads never queue behind writes (or, on SQLite, hold up the
/// one writer).
pub fn any_due(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let now = to_micros(timestamp::now());
    let newest = product_events::table
        .select(diesel::dsl::max(product_events::number))
        .single_value();
    let unnumbered = product_events::table.filter(product_events::number.is_null());
    let behind = due(now).filter(
        webhooks::delivered_through
            .nullable()
            .lt(newest)
            .or(diesel::dsl::exists(unnumbered)),
    );
    Ok(diesel::select(diesel::dsl::exists(behind)).get_result::<bool>(conn)?)
}

/// Takes the lease of one due subscription that has events after its
/// `delivered_through`, for `lease_micros`. The lease is a compare-and-swap
/// on `lease_until`: of several instances trying at once, one gets it.
pub fn lease_next(
    conn: &mut DbConnection,
    owner: &str,
    lease_micros: i64,
) -> Result<Option<Lease>, StoreError> {
    // On PostgreSQL, numbers the events committed meanwhile.
    super::events::newest(conn)?;
    let now = to_micros(timestamp::now());
    let newest = product_events::table
        .select(diesel::dsl::max(product_events::number))
        .single_value();
    let candidates: Vec<String> = due(now)
        .filter(webhooks::delivered_through.nullable().lt(newest))
        .order(webhooks::next_attempt_at.asc())
        .limit(8)
        .select(webhooks::id)
        .load(conn)?;
    for id in candidates {
        let taken = diesel::update(
            webhooks::table
                .find(&id)
                .filter(webhooks::enabled.eq(true))
                .filter(webhooks::lease_until.lt(now)),
        )
        .set((
            webhooks::lease_owner.eq(owner),
            webhooks::lease_until.eq(now + lease_micros),
        ))
        .execute(conn)?;
        if taken == 1 {
            let row: WebhookRow = webhooks::table
                .find(&id)
                .select(WebhookRow::as_select())
                .first(conn)?;
            return Ok(Some(lease_of(row, owner, now)?));
        }
    }
    Ok(None)
}

fn lease_of(row: WebhookRow, owner: &str, now: i64) -> Result<Lease, StoreError> {
    let mut secrets = vec![row.secret];
    if let (Some(previous), Some(until)) = (row.previous_secret, row.previous_secret_until) {
        if until > now {
            secrets.push(previous);
        }
    }
    Ok(Lease {
        id: super::rows::parse_id(&row.id)?,
        owner: owner.to_owned(),
        url: row.url,
        events: event_types(&row.events)?,
        delivered_through: row.delivered_through,
        attempts: row.attempts,
        secrets,
    })
}

/// Extends the lease by `lease_micros` from now; false when it was lost
/// (or the subscription disabled or deleted meanwhile).
pub fn renew(
    conn: &mut DbConnection,
    lease: &Lease,
    lease_micros: i64,
) -> Result<bool, StoreError> {
    let now = to_micros(timestamp::now());
    Ok(diesel::update(held(lease))
        .filter(webhooks::enabled.eq(true))
        .set(webhooks::lease_until.eq(now + lease_micros))
        .execute(conn)?
        == 1)
}

/// The subscription's row, while `lease` still holds it.
#[diesel::dsl::auto_type]
fn held(lease: &Lease) -> _ {
    let id: String = lease.id.to_string();
    let owner: String = lease.owner.clone();
    webhooks::table
        .find(id)
        .filter(webhooks::lease_owner.eq(owner))
}

/// Records that every event up to `through` was delivered or passed over,
/// with the attempt that delivered the last one, if one did; false when
/// the lease was lost.
pub fn delivered(
    conn: &mut DbConnection,
    lease: &Lease,
    through: i64,
    attempt: Option<&Attempt>,
) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        let now = to_micros(timestamp::now());
        let moved = diesel::update(held(lease))
            .set((
                webhooks::delivered_through.eq(through),
                webhooks::attempts.eq(0),
                webhooks::failing_since.eq(None::<i64>),
            ))
            .execute(conn)?;
        if moved == 1 {
            if let Some(attempt) = attempt {
                log(conn, lease, attempt, now)?;
            }
        }
        Ok(moved == 1)
    })
}

/// Records a failed attempt at the event after `through` (everything up to
/// it delivered or passed over), when the next is due, and gives up the
/// lease so that any instance may retry then. After failing for
/// `give_up_micros`, the subscription is disabled, saying why.
pub fn failed(
    conn: &mut DbConnection,
    lease: &Lease,
    through: i64,
    attempt: &Attempt,
    retry_in_micros: i64,
    give_up_micros: i64,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let now = to_micros(timestamp::now());
        let current: Option<(Option<i64>, i64)> = held(lease)
            .select((webhooks::failing_since, webhooks::version))
            .first(conn)
            .optional()?;
        let Some((failing_since, version)) = current else {
            return Ok(());
        };
        let failing_since = failing_since.unwrap_or(now);
        diesel::update(held(lease))
            .set((
                webhooks::delivered_through.eq(through),
                webhooks::attempts.eq(webhooks::attempts + 1),
                webhooks::failing_since.eq(failing_since),
                webhooks::next_attempt_at.eq(now + retry_in_micros),
                webhooks::lease_until.eq(0),
            ))
            .execute(conn)?;
        if now - failing_since >= give_up_micros {
            let reason = format!(
                "Deliveries failed from {} to {}; the last attempt: {}. Fix the receiver, then \
                 enable the webhook again: delivery goes on from event {}.",
                from_micros(failing_since).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                from_micros(now).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                attempt.outcome(),
                through + 1,
            );
            diesel::update(held(lease))
                .set((
                    webhooks::enabled.eq(false),
                    webhooks::disabled_reason.eq(reason),
                    webhooks::version.eq(version + 1),
                    webhooks::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        log(conn, lease, attempt, now)
    })
}

/// Gives up the lease after a round of delivery, so that the next round,
/// on any instance, may take it at once.
pub fn release(conn: &mut DbConnection, lease: &Lease) -> Result<(), StoreError> {
    diesel::update(held(lease))
        .set(webhooks::lease_until.eq(0))
        .execute(conn)?;
    Ok(())
}

/// One line of the delivery log.
fn log(
    conn: &mut DbConnection,
    lease: &Lease,
    attempt: &Attempt,
    at: i64,
) -> Result<(), StoreError> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_id.eq(lease.id.to_string()),
            webhook_deliveries::event_number.eq(attempt.event_number),
            webhook_deliveries::event_type.eq(&attempt.event_type),
            webhook_deliveries::attempt.eq(attempt.number),
            webhook_deliveries::at.eq(at),
            webhook_deliveries::succeeded.eq(attempt.succeeded),
            webhook_deliveries::status.eq(attempt.status),
            webhook_deliveries::latency_ms.eq(attempt.latency_ms),
            webhook_deliveries::response.eq(&attempt.response),
            webhook_deliveries::error.eq(&attempt.error),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    id: i64,
    event_number: i64,
    event_type: String,
    attempt: i32,
    at: i64,
    succeeded: bool,
    status: Option<i32>,
    latency_ms: i64,
    response: Option<String>,
    error: Option<String>,
}

/// Up to `limit` lines of the subscription's delivery log, newest first,
/// before the line `before` when given.
pub fn log_page(
    conn: &mut DbConnection,
    webhook: &Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook.to_string()))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    Ok(query
        .load(conn)?
        .into_iter()
        .map(|row| Delivery {
            id: row.id,
            event_number: row.event_number,
            event_type: row.event_type,
            attempt: row.attempt,
            at: from_micros(row.at),
            succeeded: row.succeeded,
            status: row.status,
            latency_ms: row.latency_ms,
            response: row.response,
            error: row.error,
        })
        .collect())
}

/// At most this many log lines are purged by one statement.
pub const PURGE_BATCH: i64 = 1_000;

/// Deletes up to `PURGE_BATCH` log lines older than `cutoff` (microseconds
/// since the epoch), and says how many.
pub fn purge_log_batch(conn: &mut DbConnection, cutoff: i64) -> Result<usize, StoreError> {
    let old = webhook_deliveries::table
        .filter(webhook_deliveries::at.lt(cutoff))
        .order(webhook_deliveries::id.asc())
        .limit(PURGE_BATCH)
        .select(webhook_deliveries::id);
    let ids: Vec<i64> = old.load(conn)?;
    Ok(
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(ids)))
            .execute(conn)?,
    )
}
