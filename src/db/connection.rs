use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};

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
/// not to, and libpq does not say; an HTTP worker's PostgreSQL connection
/// still reading at that moment (its server ending the session, say)
/// would then crash the process. rust-openssl's `init` says not to.
pub fn keep_openssl_until_exit() {
    openssl::init();
}
