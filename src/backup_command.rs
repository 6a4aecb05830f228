//! `inventory-api backup --to FILE`: an online backup of an SQLite
//! database, safe to take while the server runs.

use std::path::Path;

use crate::db::{open_connection, Backend};
use crate::store;
use crate::token_commands::CommandError;

const PG_DUMP: &str =
    "this is a PostgreSQL database: back it up with pg_dump (see docs/operations.md)";

/// Copies the URL's database to `to`, a new file. Unlike the other
/// commands it applies no migrations: the copy is of the database as it is.
pub fn run(database_url: &str, to: &Path) -> Result<(), CommandError> {
    if Backend::of_url(database_url) == Backend::Postgres {
        return Err(PG_DUMP.into());
    }
    if to.exists() {
        return Err(format!("{} already exists; name a new file", to.display()).into());
    }
    let target = to.to_str().ok_or("--to must be a path in UTF-8")?;
    let mut conn = open_connection(database_url)?;
    store::backup::copy_sqlite_to(&mut conn, target).ok_or(PG_DUMP)??;
    eprintln!("Backed up to {}.", to.display());
    Ok(())
}
