use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConnection;

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Applies every pending migration of the connection's backend.
pub fn run_migrations(
    conn: &mut DbConnection,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match conn {
        DbConnection::Pg(conn) => {
            // Instances started together would otherwise both find a
            // migration pending and both apply it; the second would fail.
            // A session lock, so it spans the migrations' own transactions.
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATIONS_LOCK})"))?;
            let applied = conn.run_pending_migrations(POSTGRES).map(drop);
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATIONS_LOCK})"))?;
            applied
        }
        // SQLite's migrations take the file's write lock, so a second
        // instance waits and then finds nothing pending.
        DbConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE).map(drop),
    }
}

/// The advisory lock key that serializes PostgreSQL migrations
/// (distinct from the feed numbering's `NUMBERING_LOCK`).
const MIGRATIONS_LOCK: i64 = 0x1_4E_7E_48;
