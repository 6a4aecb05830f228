//! Background upkeep: work no request asks for.

use std::time::Duration;

use crate::background::Background;
use crate::db::{self, Database, DbConnection, DbError};
use crate::domain::timestamp;
use crate::store;

/// Purges idempotency keys past their retention, now and then every
/// `interval`, on a thread of its own until the server stops.
pub fn purge_idempotency_keys(
    background: &mut Background,
    database: Database,
    interval: Duration,
) -> std::io::Result<()> {
    background.spawn("idempotency-purge", move |pause| loop {
        match database.write_now(store::idempotency::purge_expired) {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged expired idempotency keys"),
            // The database may be away for a while; the next round retries.
            Err(error) => tracing::warn!(%error, "could not purge idempotency keys"),
        }
        if !pause.wait(interval) {
            return;
        }
    })
}

/// Purges feed events older than `retention`, now and then every
/// `interval`, in batches (see `store::events::purge_batch`), on a thread
/// of its own until the server stops.
pub fn purge_feed(
    background: &mut Background,
    database: Database,
    interval: Duration,
    retention: Duration,
) -> std::io::Result<()> {
    background.spawn("feed-purge", move |pause| loop {
        let retention_micros = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
        let cutoff = timestamp::to_micros(timestamp::now()).saturating_sub(retention_micros);
        let mut purged = 0;
        // Batch after batch, each its own write, so that requests' writes
        // go between them; a stopping server does not wait for the rest.
        let outcome = loop {
            let purged_batch = database.write_now(|conn| {
                // The delivery log goes with the events it tells of.
                store::webhook_delivery::purge_log_batch(conn, cutoff)?;
                store::events::purge_batch(conn, cutoff)
            });
            match purged_batch {
                Ok(batch) => {
                    purged += batch;
                    if batch < store::events::PURGE_BATCH || !pause.wait(Duration::ZERO) {
                        break Ok(());
                    }
                }
                Err(error) => break Err(error),
            }
        };
        if purged > 0 {
            tracing::info!(purged, "purged feed events past their retention");
        }
        if let Err(error) = outcome {
            // The database may be away for a while; the next round retries.
            tracing::warn!(%error, "could not purge the feed");
        }
        if !pause.wait(interval) {
            return;
        }
    })
}

/// How often expired holds are looked for. A hold stops counting at its
/// `expires_at` whatever the sweep does; the sweep marks it `expired` and
/// tells the feed, within about this long.
const HOLD_EXPIRY_INTERVAL: Duration = Duration::from_secs(1);

/// Marks holds past their `expires_at` expired, each with a `hold` event,
/// in batches (see `store::holds::expire_batch`), then notes the reorder
/// points crossed that no write noted (see `store::crossings::reconcile`),
/// every `HOLD_EXPIRY_INTERVAL`, on a thread of its own until the server
/// stops.
pub fn expire_holds(background: &mut Background, database: Database) -> std::io::Result<()> {
    background.spawn("hold-expiry", move |pause| loop {
        let mut expired = 0;
        // Batch after batch, each its own write, so that requests' writes
        // go between them; a stopping server does not wait for the rest.
        let outcome = loop {
            match database.write_now(store::holds::expire_batch) {
                Ok(batch) => {
                    expired += batch;
                    if batch < store::holds::EXPIRY_BATCH as usize || !pause.wait(Duration::ZERO) {
                        break Ok(());
                    }
                }
                Err(error) => break Err(error),
            }
        };
        if expired > 0 {
            tracing::info!(expired, "marked holds expired");
        }
        if let Err(error) = outcome {
            // The database may be away for a while; the next round retries.
            tracing::warn!(%error, "could not mark expired holds");
        }
        // Then the crossings of reorder points no write told of.
        if let Err(error) = database.write_now(store::crossings::reconcile) {
            tracing::warn!(%error, "could not check reorder points");
        }
        if !pause.wait(HOLD_EXPIRY_INTERVAL) {
            return;
        }
    })
}

/// How often SQLite's write-ahead log is checkpointed. Between two rounds
/// the log grows by what was written meanwhile; each round copies only the
/// newest version of each page changed.
const SQLITE_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// On SQLite, checkpoints the write-ahead log every
/// `SQLITE_CHECKPOINT_INTERVAL`, on a thread of its own until the server
/// stops, so that no write has to (see `db::checkpoint_sqlite_log`), and
/// keeps the log from growing much past `log_limit_bytes`.
pub fn checkpoint_sqlite_log(
    background: &mut Background,
    database: Database,
    log_limit_bytes: u64,
) -> std::io::Result<()> {
    if !database.is_sqlite() {
        return Ok(());
    }
    background.spawn("sqlite-checkpoint", move |pause| loop {
        // Each round copies the log while writes go on. The log starts
        // over from its beginning only once it is copied to its end,
        // at the first write after that (when no read is still reading
        // from it); under steady writes, pages land meanwhile and that
        // never happens. So once the log has grown past its limit, a
        // second step copies, with writes held, the few pages written
        // during the first. Holding writes at every round instead would
        // keep the log smaller, but each hold delays the writes queued
        // behind it (measured on a slow disk: about 2 ms of their p99).
        let checkpoint =
            |conn: &mut DbConnection| db::checkpoint_sqlite_log(conn).map_err(DbError::from);
        let checkpointed = database.read_now(checkpoint).and_then(|log_bytes| {
            if log_bytes >= log_limit_bytes {
                database.write_now(checkpoint)?;
            }
            Ok(())
        });
        if let Err(error) = checkpointed {
            tracing::warn!(%error, "could not checkpoint the SQLite log");
        }
        if !pause.wait(SQLITE_CHECKPOINT_INTERVAL) {
            return;
        }
    })
}
