//! Idempotency keys: who holds a key, and the response recorded under it.
//! A key is claimed in a transaction of its own (so that a concurrent retry
//! sees it), and completed in the transaction of the write it describes.

use diesel::prelude::*;

use super::error::StoreError;
use crate::db::schema::idempotency_keys::dsl;
use crate::db::{run_again, write_transaction, DbConnection, DbError, Unavailable, WorkError};
use crate::domain::idempotency::{RecordedResponse, RETENTION_HOURS};
use crate::domain::timestamp;

/// A key this request holds, identified by when it was claimed so that a
/// request whose claim was taken over cannot complete it.
#[derive(Debug, Clone)]
struct Claim {
    scope: String,
    key: String,
    claimed_at: i64,
}

/// What a request sent with a key may do.
enum Claimed {
    /// Go ahead: the key is this request's.
    Run(Claim),
    /// The request was answered before: answer the same.
    Replay(RecordedResponse),
}

/// Runs `write` once for this key: claims the key, then runs the write
/// and records its response in one transaction. A retry of a request
/// already answered gets the recorded response, with `true` (replayed).
///
/// A refusal (what `refusal` turns into a response to record: a 4xx)
/// applied nothing, and is recorded as the answer. After any other
/// failure (a 5xx) the key is given back, so that a retry runs the
/// request again. Claim and write run in one call, so once the claim is
/// made the write runs to its end even if the client goes away, and no
/// key is left claimed with nothing running.
pub fn run_once<E>(
    conn: &mut DbConnection,
    key: &Key<'_>,
    mut write: impl FnMut(&mut DbConnection) -> Result<RecordedResponse, E>,
    refusal: impl FnOnce(&E) -> Option<RecordedResponse>,
) -> Result<(RecordedResponse, bool), E>
where
    E: From<StoreError> + WorkError,
{
    let claim = match claim(conn, key)? {
        Claimed::Replay(recorded) => return Ok((recorded, true)),
        Claimed::Run(claim) => claim,
    };
    let outcome = write_transaction(conn, |conn| {
        hold(conn, &claim)?;
        let response = write(conn)?;
        complete(conn, &claim, &response)?;
        Ok(response)
    });
    let Err(error) = outcome else {
        return outcome.map(|recorded| (recorded, false));
    };
    let recorded = refusal(&error)
        .is_some_and(|refused| run_again(|| complete(conn, &claim, &refused)).is_ok());
    if !recorded {
        // Best effort: a key left behind is taken over by the next retry,
        // since no running request holds it.
        let _ = run_again(|| release(conn, &claim));
    }
    Err(error)
}

/// A request's idempotency key: whose it is (keys are per token, so two
/// callers never see each other's responses), the key, and the request's
/// fingerprint.
pub struct Key<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub fingerprint: &'a str,
    /// Most keys the scope may hold at once (they are kept 24 hours).
    pub quota: i64,
}

#[derive(Insertable)]
#[diesel(table_name = crate::db::schema::idempotency_keys)]
struct NewKey<'a> {
    scope: &'a str,
    key: &'a str,
    fingerprint: &'a str,
    created_at: i64,
    claimed_at: i64,
}

#[derive(Queryable)]
struct KeyRow {
    fingerprint: String,
    claimed_at: i64,
    status: Option<i32>,
    headers: Option<String>,
    body: Option<String>,
    is_problem: bool,
}

/// Claims `key` for the request with this fingerprint, or says why not.
fn claim(conn: &mut DbConnection, wanted: &Key<'_>) -> Result<Claimed, StoreError> {
    let Key {
        scope,
        key,
        fingerprint,
        quota,
    } = *wanted;
    let now = timestamp::to_micros(timestamp::now());
    let new_key = NewKey {
        scope,
        key,
        fingerprint,
        created_at: now,
        claimed_at: now,
    };
    // Each statement here is a transaction of its own, run again alone
    // when the database asks (see `db::run_again`): the claim as a whole
    // cannot be, since a second try would find its own first one.
    let inserted = run_again(|| {
        diesel::insert_into(dsl::idempotency_keys)
            .values(&new_key)
            .execute(conn)
            .map_err(DbError::from)
    });
    match inserted {
        Ok(_) => {
            let claim = Claim {
                scope: scope.to_owned(),
                key: key.to_owned(),
                claimed_at: now,
            };
            // Counted once the new key is in, so that only new keys pay
            // for the count and racing ones cannot both slip under it.
            let held = run_again(|| {
                dsl::idempotency_keys
                    .filter(dsl::scope.eq(scope))
                    .count()
                    .get_result::<i64>(conn)
                    .map_err(DbError::from)
            });
            return match held {
                Ok(held) if held <= quota => Ok(Claimed::Run(claim)),
                Ok(_) => {
                    run_again(|| release(conn, &claim))?;
                    Err(StoreError::IdempotencyQuotaExceeded { quota })
                }
                Err(error) => {
                    let _ = run_again(|| release(conn, &claim));
                    Err(error.into())
                }
            };
        }
        Err(DbError::UniqueViolation { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    let row: KeyRow = run_again(|| {
        dsl::idempotency_keys
            .filter(dsl::scope.eq(scope))
            .filter(dsl::key.eq(key))
            .select((
                dsl::fingerprint,
                dsl::claimed_at,
                dsl::status,
                dsl::headers,
                dsl::body,
                dsl::is_problem,
            ))
            .first(conn)
            .optional()
            .map_err(DbError::from)
    })?
    // Purged between our insert and this read: the caller may retry.
    .ok_or(StoreError::IdempotencyKeyInUse)?;
    if row.fingerprint != fingerprint {
        return Err(StoreError::IdempotencyKeyReused);
    }
    if let Some(status) = row.status {
        return Ok(Claimed::Replay(recorded(
            status,
            row.headers,
            row.body,
            row.is_problem,
        )?));
    }
    // Claimed, not answered: take the key over if its holder has stopped
    // (its process died), unless another retry just did.
    let taken = write_transaction(conn, |conn| {
        if holder_is_running(conn, scope, key)? {
            return Ok(0);
        }
        diesel::update(held_row(scope.to_owned(), key.to_owned(), row.claimed_at))
            // Renewing created_at keeps the purge away from a running request.
            .set((dsl::claimed_at.eq(now), dsl::created_at.eq(now)))
            .execute(conn)
            .map_err(StoreError::from)
    })?;
    if taken == 1 {
        Ok(Claimed::Run(Claim {
            scope: scope.to_owned(),
            key: key.to_owned(),
            claimed_at: now,
        }))
    } else {
        Err(StoreError::IdempotencyKeyInUse)
    }
}

/// Whether the request holding the key is still running. On PostgreSQL
/// the holder keeps its key's row locked while its write runs (`hold`), and
/// a session's locks end with it, so a lock that can be taken means the
/// holder has stopped. On SQLite the claim and the write run in one turn of
/// this process's writers (`Database::write`), so a key found unanswered
/// was claimed by another process; taking it over is safe even if that
/// process still runs, since `complete` lets only one of the two commit.
fn holder_is_running(conn: &mut DbConnection, scope: &str, key: &str) -> Result<bool, StoreError> {
    let DbConnection::Pg(pg) = conn else {
        return Ok(false);
    };
    let locked = dsl::idempotency_keys
        .filter(dsl::scope.eq(scope))
        .filter(dsl::key.eq(key))
        .select(dsl::claimed_at)
        .for_update()
        .no_wait()
        .first::<i64>(pg);
    match locked.map_err(DbError::from) {
        Ok(_) => Ok(false),
        // NOWAIT found the row locked: its holder's transaction is open.
        Err(DbError::Unavailable(Unavailable::Busy)) => Ok(true),
        Err(error) => Err(error.into()),
    }
}

/// Locks the key's row until the transaction ends, as the running holder
/// of `claim` (see `holder_is_running`); fails with `IdempotencyKeyInUse`
/// if the claim was taken over. Call it first in the write's transaction.
fn hold(conn: &mut DbConnection, claim: &Claim) -> Result<(), StoreError> {
    let DbConnection::Pg(pg) = conn else {
        return Ok(());
    };
    held(claim)
        .select(dsl::claimed_at)
        .for_update()
        .first::<i64>(pg)
        .optional()?
        .map(drop)
        .ok_or(StoreError::IdempotencyKeyInUse)
}

/// Records the response under the claimed key. Run it in the transaction
/// of the write the response describes: both commit, or neither. Fails when
/// the claim was taken over meanwhile, which rolls the write back, so that
/// only one of the two requests applies it.
fn complete(
    conn: &mut DbConnection,
    claim: &Claim,
    response: &RecordedResponse,
) -> Result<(), StoreError> {
    let headers = serde_json::to_string(&response.headers).map_err(StoreError::internal)?;
    let recorded = diesel::update(held(claim))
        .set((
            dsl::status.eq(i32::from(response.status)),
            dsl::headers.eq(headers),
            dsl::body.eq(&response.body),
            dsl::is_problem.eq(response.is_problem),
        ))
        .execute(conn)?;
    if recorded == 1 {
        Ok(())
    } else {
        Err(StoreError::IdempotencyKeyInUse)
    }
}

/// Gives the key back after a failure that applied nothing (a 5xx), so
/// that a retry runs the request again.
fn release(conn: &mut DbConnection, claim: &Claim) -> Result<(), StoreError> {
    diesel::delete(held(claim)).execute(conn)?;
    Ok(())
}

/// Deletes keys older than the retention period; returns how many.
pub fn purge_expired(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let cutoff = timestamp::to_micros(timestamp::now()) - RETENTION_HOURS * 3600 * 1_000_000;
    Ok(diesel::delete(dsl::idempotency_keys.filter(dsl::created_at.lt(cutoff))).execute(conn)?)
}

/// The key's row while this claim still holds it (not taken over, not completed).
#[diesel::dsl::auto_type]
fn held_row(scope: String, key: String, claimed_at: i64) -> _ {
    dsl::idempotency_keys
        .filter(dsl::scope.eq(scope))
        .filter(dsl::key.eq(key))
        .filter(dsl::claimed_at.eq(claimed_at))
        .filter(dsl::status.is_null())
}

fn held(claim: &Claim) -> held_row {
    held_row(claim.scope.clone(), claim.key.clone(), claim.claimed_at)
}

fn recorded(
    status: i32,
    headers: Option<String>,
    body: Option<String>,
    is_problem: bool,
) -> Result<RecordedResponse, StoreError> {
    let headers: Vec<(String, String)> = match headers {
        Some(text) => serde_json::from_str(&text).map_err(StoreError::internal)?,
        None => Vec::new(),
    };
    Ok(RecordedResponse {
        status: u16::try_from(status).map_err(StoreError::internal)?,
        headers,
        body: body.unwrap_or_default(),
        is_problem,
    })
}
