//! The feed of product changes: each version written is recorded with its
//! history entry, and numbered in the order it became visible.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::error::StoreError;
use super::rows::{HistoryRow, ProductRow};
use crate::db::schema::{product_events, product_history, products};
use crate::db::DbConnection;
use crate::domain::events::{FeedChange, FeedEvent, Notice, ProductChange};
use crate::domain::timestamp::{self, to_micros};

/// Any fixed number: the advisory lock that readers of the feed take to
/// number committed events. Writers never take it.
pub const NUMBERING_LOCK: i64 = 0x1_4E_7E_47;

/// At most this many events are numbered in one transaction, so that a long
/// backlog (no stream was open while writes went on) is numbered in short
/// steps.
const NUMBERING_STEP: usize = 10_000;

/// Records these new versions in the feed, inside the transaction that
/// wrote them.
pub fn record(conn: &mut DbConnection, versions: &[(String, i64)]) -> Result<(), StoreError> {
    if versions.is_empty() {
        return Ok(());
    }
    // Left unnumbered on PostgreSQL: `number_committed` numbers them once
    // committed. Numbering here would need a lock held until commit, which
    // would queue every write behind every other.
    if let [(product_id, version)] = versions {
        // One row (every write but a stock sync): diesel keeps this
        // statement prepared, where a batch INSERT is parsed every time.
        diesel::insert_into(product_events::table)
            .values(feed_row(product_id, version))
            .execute(conn)?;
    } else {
        match conn {
            DbConnection::Pg(pg) => super::pg_arrays::insert_events(pg, versions)?,
            DbConnection::Sqlite(sqlite) => {
                let rows: Vec<_> = versions
                    .iter()
                    .map(|(product_id, version)| feed_row(product_id, version))
                    .collect();
                // Batch INSERT is backend-specific in diesel.
                diesel::insert_into(product_events::table)
                    .values(&rows)
                    .execute(sqlite)?
            }
        };
    }
    number_on_sqlite(conn)
}

/// Records notices in the feed, inside the transaction of the change they
/// tell of, in their order.
pub fn record_notices(conn: &mut DbConnection, notices: &[Notice]) -> Result<(), StoreError> {
    if notices.is_empty() {
        return Ok(());
    }
    let at = to_micros(timestamp::now());
    let ids: Vec<String> = notices.iter().map(|n| n.subject.to_string()).collect();
    for (notice, product_id) in notices.iter().zip(&ids) {
        diesel::insert_into(product_events::table)
            .values((
                feed_row(product_id, &notice.version),
                product_events::kind.eq(notice.name),
                product_events::payload.eq(&notice.data),
                product_events::at.eq(at),
            ))
            .execute(conn)?;
    }
    number_on_sqlite(conn)
}

/// Numbers new events at once on SQLite, whose one writer at a time
/// already commits in id order (PostgreSQL numbers them once committed).
fn number_on_sqlite(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Sqlite(sqlite) = conn {
        diesel::update(product_events::table.filter(product_events::number.is_null()))
            .set(product_events::number.eq(product_events::id.nullable()))
            .execute(sqlite)?;
    }
    Ok(())
}

/// The values of one feed row.
#[diesel::dsl::auto_type]
fn feed_row<'a>(product_id: &'a String, version: &'a i64) -> _ {
    (
        product_events::product_id.eq(product_id),
        product_events::version.eq(version),
    )
}

/// The number of the newest change, or 0 when there is none. On PostgreSQL
/// it first numbers the changes committed since the last look, all of them,
/// so that a stream starting here starts after every change before it.
pub fn newest(conn: &mut DbConnection) -> Result<i64, StoreError> {
    if let DbConnection::Pg(pg) = conn {
        while number_committed(pg)? == NUMBERING_STEP {}
    }
    let newest: Option<i64> = product_events::table
        .select(diesel::dsl::max(product_events::number))
        .first(conn)?;
    Ok(newest.unwrap_or(0))
}

/// Numbers up to `NUMBERING_STEP` committed, unnumbered events after the
/// newest number, oldest insert first (so one product's versions stay in
/// order), and returns how many. One reader at a time does it, so numbers
/// become visible in increasing order and a reader that has seen number n
/// has seen every number below it. The others wait for it rather than
/// skip: one that skipped would not yet see what it is numbering, and a
/// stream opened just after a write would start before it.
fn number_committed(pg: &mut PgConnection) -> Result<usize, StoreError> {
    pg.transaction(|pg| {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(NUMBERING_LOCK)
            .execute(pg)?;
        diesel::sql_query(
            "WITH pending AS ( \
                 SELECT id, row_number() OVER (ORDER BY id) AS position \
                 FROM product_events WHERE number IS NULL ORDER BY id LIMIT $1), \
             newest AS (SELECT coalesce(max(number), 0) AS number FROM product_events) \
             UPDATE product_events SET number = newest.number + pending.position \
             FROM pending, newest WHERE product_events.id = pending.id",
        )
        .bind::<BigInt, _>(NUMBERING_STEP as i64)
        .execute(pg)
        .map_err(StoreError::from)
    })
}

/// Up to `limit` events numbered after `after`, oldest first.
pub fn after(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<FeedEvent>, StoreError> {
    type EventRow = (
        i64,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<HistoryRow>,
        Option<ProductRow>,
    );
    let rows: Vec<EventRow> = product_events::table
        // A notice has no version of its own in the history.
        .left_join(
            product_history::table.on(product_history::product_id
                .eq(product_events::product_id)
                .and(product_history::version.eq(product_events::version))
                .and(product_events::kind.is_null())),
        )
        // A location's notice names no product.
        .left_join(products::table)
        .filter(product_events::number.gt(after))
        .order(product_events::number.asc())
        .limit(limit)
        .select((
            product_events::number.assume_not_null(),
            product_events::product_id,
            product_events::version,
            product_events::kind,
            product_events::payload,
            Option::<HistoryRow>::as_select(),
            Option::<ProductRow>::as_select(),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(number, subject, version, kind, payload, history, product)| {
                let subject = super::rows::parse_id(&subject)?;
                let change = match (kind, payload, history, product) {
                    (Some(name), Some(data), _, _) => FeedChange::Notice { name, data },
                    (None, _, Some(history), Some(product)) => {
                        let product = product.into_product()?;
                        FeedChange::Product(Box::new(ProductChange {
                            id: product.id,
                            entry: history.into_entry()?,
                            product,
                        }))
                    }
                    _ => {
                        return Err(StoreError::internal(format!(
                            "feed event {number} has neither a version nor a notice"
                        )))
                    }
                };
                Ok(FeedEvent {
                    number,
                    subject,
                    version,
                    change,
                })
            },
        )
        .collect()
}

/// At most this many events are purged by one statement, so that a purge
/// never holds its locks (or SQLite's writer) for long.
pub const PURGE_BATCH: usize = 1_000;

/// Deletes up to `PURGE_BATCH` numbered events whose version was made
/// before `cutoff` (microseconds since the epoch), oldest first, and says
/// how many. The newest numbered event is kept whatever its age, so that a
/// stream resumed from it is told apart from one resumed from a purged one
/// (see `oldest_kept`), and so is every event an enabled webhook has yet
/// to deliver. The history the events point at stays.
pub fn purge_batch(conn: &mut DbConnection, cutoff: i64) -> Result<usize, StoreError> {
    let purged = match conn {
        DbConnection::Pg(pg) => diesel::sql_query(purge_sql("$1"))
            .bind::<BigInt, _>(cutoff)
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::sql_query(purge_sql("?"))
            .bind::<BigInt, _>(cutoff)
            .execute(sqlite)?,
    };
    Ok(purged)
}

/// The purge's statement, with the backend's placeholder for the cutoff.
fn purge_sql(cutoff: &str) -> String {
    format!(
        "DELETE FROM product_events WHERE id IN ( \
             SELECT e.id FROM product_events e \
             LEFT JOIN product_history h \
                 ON h.product_id = e.product_id AND h.version = e.version AND e.kind IS NULL \
             WHERE coalesce(h.at, e.at) < {cutoff} AND e.number IS NOT NULL \
             AND e.number < (SELECT max(number) FROM product_events) \
             AND e.number <= coalesce( \
                 (SELECT min(delivered_through) FROM webhooks WHERE enabled), e.number) \
             ORDER BY e.id LIMIT {PURGE_BATCH})"
    )
}

/// The number of the oldest change the feed still holds, if any.
pub fn oldest_kept(conn: &mut DbConnection) -> Result<Option<i64>, StoreError> {
    Ok(product_events::table
        .select(diesel::dsl::min(product_events::number))
        .first(conn)?)
}
