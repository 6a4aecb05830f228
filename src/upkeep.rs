//! Background upkeep: work no request asks for.

use std::time::Duration;

use crate::db::{self, Database, DbConnection};
use crate::store;

/// Purges idempotency keys past their retention, now and then every
/// `interval`, on a thread of its own for the life of the process.
pub fn purge_idempotency_keys(database: Database, interval: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("idempotency-purge".into())
        .spawn(move || loop {
            match database.write_here(store::idempotency::purge_expired) {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged expired idempotency keys"),
                // The database may be away for a while; the next round retries.
                Err(error) => tracing::warn!(%error, "could not purge idempotency keys"),
            }
            std::thread::sleep(interval);
        })?;
    Ok(())
}

/// How often SQLite's write-ahead log is checkpointed. Between two rounds
/// the log grows by what was written meanwhile; each round copies only the
/// newest version of each page changed.
const SQLITE_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// On SQLite, checkpoints the write-ahead log every
/// `SQLITE_CHECKPOINT_INTERVAL`, on a thread of its own for the life of the
/// process, so that no write has to (see `db::checkpoint_sqlite_log`).
pub fn checkpoint_sqlite_log(database: Database) -> std::io::Result<()> {
    if !database.is_sqlite() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || loop {
            // The bulk of the copying while writes go on; then, with
            // writes held, the few pages written meanwhile, so that the
            // log is copied to its end and the next write can start it
            // over from its beginning (it does when no read is still
            // reading from the log). Checkpointed only while writes go
            // on, the log would never be copied to its end (writes land
            // meanwhile), never start over, and grow without end.
            let checkpoint = |conn: &mut DbConnection| Ok(db::checkpoint_sqlite_log(conn)?);
            let checkpointed = database
                .run_here(checkpoint)
                .and_then(|()| database.write_here(checkpoint));
            if let Err(error) = checkpointed {
                tracing::warn!(%error, "could not checkpoint the SQLite log");
            }
            std::thread::sleep(SQLITE_CHECKPOINT_INTERVAL);
        })?;
    Ok(())
}
