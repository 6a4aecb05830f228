//! Background upkeep: work no request asks for.

use std::time::Duration;

use crate::db::Database;
use crate::store;

/// Purges idempotency keys past their retention, now and then every
/// `interval`, on a thread of its own for the life of the process.
pub fn purge_idempotency_keys(database: Database, interval: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("idempotency-purge".into())
        .spawn(move || loop {
            match database.run_here(store::idempotency::purge_expired) {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged expired idempotency keys"),
                // The database may be away for a while; the next round retries.
                Err(error) => tracing::warn!(%error, "could not purge idempotency keys"),
            }
            std::thread::sleep(interval);
        })?;
    Ok(())
}
