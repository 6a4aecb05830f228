//! Waiting for a PostgreSQL server that is not up yet. A server started
//! beside its database (at boot, or by an orchestrator) often comes up
//! first; it waits, saying so in the log, rather than exit and be
//! restarted in a loop.

use std::time::Duration;

use diesel::r2d2;
use diesel::ConnectionError;

use super::connection::{open_connection, Backend, DbConnection};

const FIRST_WAIT: Duration = Duration::from_millis(250);
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// A connection to the URL's database. PostgreSQL is retried until it
/// answers, waiting twice as long after each refusal (up to 10 s); a bad
/// URL or an SQLite file that cannot be opened fails at once, since
/// waiting would not change it.
pub fn connect_when_reachable(url: &str) -> Result<DbConnection, r2d2::Error> {
    let mut wait = FIRST_WAIT;
    let mut attempt = 1_u32;
    loop {
        match open_connection(url) {
            Err(r2d2::Error::ConnectionError(ConnectionError::BadConnection(reason)))
                if Backend::of_url(url) == Backend::Postgres =>
            {
                tracing::warn!(
                    attempt,
                    retry_in_ms = wait.as_millis() as u64,
                    reason = reason.trim(),
                    "the database is unreachable; waiting for it"
                );
                std::thread::sleep(wait);
                wait = (wait * 2).min(LONGEST_WAIT);
                attempt += 1;
            }
            result => return result,
        }
    }
}
