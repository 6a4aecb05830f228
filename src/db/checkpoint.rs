//! SQLite's write-ahead log is copied back into the database file by a
//! checkpoint. Left to itself, SQLite runs one inside whichever commit
//! takes the log past 1000 pages: every write queued behind that one then
//! waits while it copies megabytes and syncs the file (measured at
//! 100-440 ms). Pooled connections therefore never checkpoint
//! (`wal_autocheckpoint = 0` in their pragmas); the server's upkeep does
//! (`upkeep::checkpoint_sqlite_log`).

use diesel::sql_types::Integer;
use diesel::{QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};

use super::DbConnection;

/// Copies SQLite's write-ahead log into the database file as far as no
/// reader still needs it, without waiting for, or blocking, readers or
/// writers. Returns the log's size in bytes when the copying began; on
/// PostgreSQL there is nothing to do, and 0.
pub fn checkpoint_sqlite_log(conn: &mut DbConnection) -> QueryResult<u64> {
    match conn {
        DbConnection::Pg(_) => Ok(0),
        DbConnection::Sqlite(sqlite) => {
            let checkpoint: Checkpoint =
                diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(sqlite)?;
            let frame_bytes = page_size(sqlite)?;
            Ok(u64::try_from(checkpoint.log_frames).unwrap_or(0) * frame_bytes)
        }
    }
}

/// Of `PRAGMA wal_checkpoint`'s answer, the part used here: the frames
/// (one page each) the log held when the checkpoint began.
#[derive(QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = Integer, column_name = log)]
    log_frames: i32,
}

/// `PRAGMA page_size`'s answer: the bytes in a page, and so in a frame.
#[derive(QueryableByName)]
struct PageSize {
    #[diesel(sql_type = Integer)]
    page_size: i32,
}

fn page_size(sqlite: &mut SqliteConnection) -> QueryResult<u64> {
    let size: PageSize = diesel::sql_query("PRAGMA page_size").get_result(sqlite)?;
    Ok(u64::try_from(size.page_size).unwrap_or(0))
}
