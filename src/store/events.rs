//! The feed of product changes: each version written gets a number, in
//! commit order, in the same transaction as its history entry.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::rows::{HistoryRow, ProductRow};
use crate::db::schema::{product_events, product_history, products};
use crate::db::DbConnection;
use crate::domain::events::{ProductChange, ProductEvent};
use crate::error::ApiError;

/// The PostgreSQL channel that tells every server a change was committed.
pub const CHANNEL: &str = "product_events";

/// Any fixed number: the advisory lock writers take to number events.
const NUMBERING_LOCK: i64 = 0x1_4E_7E_47;

/// Numbers these new versions, inside the transaction that wrote them.
pub fn record(conn: &mut DbConnection, versions: &[(String, i64)]) -> Result<(), ApiError> {
    if versions.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = versions
        .iter()
        .map(|(product_id, version)| {
            (
                product_events::product_id.eq(product_id),
                product_events::version.eq(version),
            )
        })
        .collect();
    let insert = diesel::insert_into(product_events::table).values(&rows);
    match conn {
        DbConnection::Pg(pg) => {
            // Sequence numbers are handed out at insert, not at commit: held
            // until commit, this lock makes the two orders the same, so a
            // reader that has seen number n has seen every number below it.
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(NUMBERING_LOCK)
                .execute(pg)?;
            insert.execute(pg)?;
            // Delivered to every listening server when the transaction commits.
            diesel::sql_query(format!("NOTIFY {CHANNEL}")).execute(pg)?;
        }
        // SQLite's one writer at a time already numbers in commit order.
        DbConnection::Sqlite(sqlite) => {
            insert.execute(sqlite)?;
        }
    }
    Ok(())
}

/// The number of the newest change, or 0 when there is none.
pub fn newest(conn: &mut DbConnection) -> Result<i64, ApiError> {
    let newest: Option<i64> = product_events::table
        .select(diesel::dsl::max(product_events::id))
        .first(conn)?;
    Ok(newest.unwrap_or(0))
}

/// Up to `limit` changes numbered after `after`, oldest first.
pub fn after(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<ProductEvent>, ApiError> {
    let rows: Vec<(i64, HistoryRow, ProductRow)> = product_events::table
        .inner_join(
            product_history::table.on(product_history::product_id
                .eq(product_events::product_id)
                .and(product_history::version.eq(product_events::version))),
        )
        .inner_join(products::table)
        .filter(product_events::id.gt(after))
        .order(product_events::id.asc())
        .limit(limit)
        .select((
            product_events::id,
            HistoryRow::as_select(),
            ProductRow::as_select(),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(number, history, product)| {
            let product = product.into_product()?;
            Ok(ProductEvent {
                number,
                change: ProductChange {
                    id: product.id,
                    entry: history.into_entry()?,
                    product,
                },
            })
        })
        .collect()
}
