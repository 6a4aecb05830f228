//! A copy of an SQLite database, taken while servers use it.

use diesel::sql_types::Text;
use diesel::RunQueryDsl;

use super::error::StoreError;
use crate::db::DbConnection;

/// Writes a consistent copy of the database to the new file `to`, as of
/// one moment: `VACUUM INTO` reads one snapshot, so writers go on
/// meanwhile and nothing half-committed is copied. `None` on PostgreSQL,
/// which has its own tools (`pg_dump`).
pub fn copy_sqlite_to(conn: &mut DbConnection, to: &str) -> Option<Result<(), StoreError>> {
    let DbConnection::Sqlite(sqlite) = conn else {
        return None;
    };
    Some(
        diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(to)
            .execute(sqlite)
            .map(drop)
            .map_err(StoreError::from),
    )
}
