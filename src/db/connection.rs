use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2;
use diesel::sqlite::SqliteConnection;
use std::time::Duration;

use diesel::{Connection, ConnectionError};

/// Why the database could not be opened at start.
pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// One connection type for both backends; queries written against it run on
/// either. Where the SQL must differ, the store matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// `postgres://` and `postgresql://` name PostgreSQL; anything else is
    /// taken as an SQLite file (`sqlite://path`, `sqlite:path` or a bare path).
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// How long a request waits for a pooled connection before it is answered
/// 503: long enough to ride out a burst, short enough to fail fast while
/// the database is down.
pub(super) const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// PostgreSQL's settings, applied to every new connection: a write that
/// waits this long for a row lock, or any statement that runs this long,
/// gives up with a 503 instead of hanging.
pub(super) const POSTGRES_SETTINGS: &str =
    "SET lock_timeout = '5s'; SET statement_timeout = '15s';";

/// SQLite's settings, applied to every new connection. `busy_timeout` comes
/// first so that switching to WAL waits for a concurrent opener instead of
/// failing; `synchronous=FULL` makes an acknowledged write survive power
/// loss, as PostgreSQL's defaults do. No commit checkpoints the log: a
/// background thread does (see `checkpoint_sqlite_log`), and SQLite does
/// when the last connection to the file closes.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA wal_autocheckpoint = 0;";

/// A connection to the URL's database with the settings every pooled
/// connection has (timeouts; SQLite's durability and locking pragmas).
pub fn open_connection(url: &str) -> Result<DbConnection, r2d2::Error> {
    let mut conn = connect(url).map_err(r2d2::Error::ConnectionError)?;
    let settings = match conn {
        DbConnection::Pg(_) => POSTGRES_SETTINGS,
        DbConnection::Sqlite(_) => SQLITE_PRAGMAS,
    };
    conn.batch_execute(settings)
        .map_err(r2d2::Error::QueryError)?;
    Ok(conn)
}

/// Opens one connection of the backend the URL names. Deliberately not
/// `DbConnection::establish`, which tries every backend in turn and could
/// open a PostgreSQL URL as an SQLite file name.
pub fn connect(url: &str) -> Result<DbConnection, ConnectionError> {
    match Backend::of_url(url) {
        Backend::Postgres => {
            keep_openssl_until_exit();
            PgConnection::establish(url).map(DbConnection::Pg)
        }
        Backend::Sqlite => SqliteConnection::establish(sqlite_path(url)).map(DbConnection::Sqlite),
    }
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Call before anything in the process uses OpenSSL (libpq does, for TLS).
/// OpenSSL frees itself as the process exits unless its first user says
/// not to, and libpq does not say; a PostgreSQL connection still in use
/// on another thread at that moment (background upkeep's, say) would then
/// crash the process. rust-openssl's `init` says not to.
pub fn keep_openssl_until_exit() {
    openssl::init();
}
