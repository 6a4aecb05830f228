//! The writes of a planned change of stock, set-based: one upsert for every
//! level it changes, one UPDATE for every product total, one INSERT for
//! their history and one for the feed, however many levels and products
//! it touches. The plan is made under the products' row locks, so it
//! writes final values and needs no guard of its own.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};

use super::error::StoreError;
use super::rows::HistoryRow;
use crate::db::schema::{product_history, stock_levels};
use crate::db::DbConnection;

/// A level as it is stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stock_levels)]
pub(super) struct LevelRow {
    pub product_id: String,
    pub location_id: String,
    pub on_hand: i64,
    pub version: i64,
    pub updated_at: i64,
    pub last_counted_at: Option<i64>,
}

/// A product's stock total and version after the plan.
#[derive(Debug, Clone)]
pub(super) struct ProductTotal {
    pub id: String,
    pub stock: i64,
    pub version: i64,
}

/// Everything one write of stock changes: each level and product once, in
/// its final state, and one history row for every version made.
#[derive(Default)]
pub(super) struct StockPlan {
    pub levels: Vec<LevelRow>,
    pub totals: Vec<ProductTotal>,
    pub history: Vec<HistoryRow>,
}

impl StockPlan {
    /// Writes it, inside the caller's transaction.
    pub fn write(&self, conn: &mut DbConnection, updated_at: i64) -> Result<(), StoreError> {
        write_levels(conn, &self.levels)?;
        write_totals(conn, &self.totals, updated_at)?;
        record(conn, &self.history)
    }
}

/// Inserts or overwrites the levels.
pub(super) fn write_levels(conn: &mut DbConnection, levels: &[LevelRow]) -> Result<(), StoreError> {
    if levels.is_empty() {
        return Ok(());
    }
    const ON_CONFLICT: &str = " ON CONFLICT (product_id, location_id) DO UPDATE SET \
        on_hand = excluded.on_hand, version = excluded.version, \
        updated_at = excluded.updated_at, last_counted_at = excluded.last_counted_at";
    match conn {
        DbConnection::Pg(pg) => {
            let column = |value: fn(&LevelRow) -> i64| levels.iter().map(value).collect::<Vec<_>>();
            let counted: Vec<Option<i64>> =
                levels.iter().map(|level| level.last_counted_at).collect();
            diesel::sql_query(format!(
                "INSERT INTO stock_levels \
                 (product_id, location_id, on_hand, version, updated_at, last_counted_at) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], \
                                      $5::bigint[], $6::bigint[]){ON_CONFLICT}"
            ))
            .bind::<Array<Text>, _>(
                levels
                    .iter()
                    .map(|l| l.product_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Text>, _>(
                levels
                    .iter()
                    .map(|l| l.location_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<BigInt>, _>(column(|level| level.on_hand))
            .bind::<Array<BigInt>, _>(column(|level| level.version))
            .bind::<Array<BigInt>, _>(column(|level| level.updated_at))
            .bind::<Array<Nullable<BigInt>>, _>(counted)
            .execute(pg)?;
        }
        // SQLite has no arrays. The values are written into the SQL text
        // rather than bound, because the number of binds would vary with
        // the batch; that is safe only because every value is a
        // server-made UUID or an integer.
        DbConnection::Sqlite(sqlite) => {
            let values: Vec<String> = levels
                .iter()
                .map(|level| {
                    let counted = level
                        .last_counted_at
                        .map_or("NULL".to_owned(), |at| at.to_string());
                    format!(
                        "('{}', '{}', {}, {}, {}, {counted})",
                        level.product_id,
                        level.location_id,
                        level.on_hand,
                        level.version,
                        level.updated_at
                    )
                })
                .collect();
            diesel::sql_query(format!(
                "INSERT INTO stock_levels \
                 (product_id, location_id, on_hand, version, updated_at, last_counted_at) \
                 VALUES {}{ON_CONFLICT}",
                values.join(", ")
            ))
            .execute(sqlite)?;
        }
    }
    Ok(())
}

/// Sets each product's stock and version.
fn write_totals(
    conn: &mut DbConnection,
    totals: &[ProductTotal],
    updated_at: i64,
) -> Result<(), StoreError> {
    if totals.is_empty() {
        return Ok(());
    }
    let updated = match conn {
        DbConnection::Pg(pg) => diesel::sql_query(
            "UPDATE products SET stock = batch.stock, version = batch.version, updated_at = $4 \
             FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS batch (id, stock, version) \
             WHERE products.id = batch.id AND products.deleted_at IS NULL",
        )
        .bind::<Array<Text>, _>(totals.iter().map(|t| t.id.as_str()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(totals.iter().map(|t| t.stock).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(totals.iter().map(|t| t.version).collect::<Vec<_>>())
        .bind::<BigInt, _>(updated_at)
        .execute(pg)?,
        // Values in the text, as in `write_levels`, for the same reason.
        DbConnection::Sqlite(sqlite) => {
            let values: Vec<String> = totals
                .iter()
                .map(|total| format!("('{}', {}, {})", total.id, total.stock, total.version))
                .collect();
            diesel::sql_query(format!(
                "UPDATE products SET stock = batch.stock, version = batch.version, \
                 updated_at = {updated_at} \
                 FROM (SELECT column1 AS id, column2 AS stock, column3 AS version \
                       FROM (VALUES {}) AS v) AS batch \
                 WHERE products.id = batch.id AND products.deleted_at IS NULL",
                values.join(", ")
            ))
            .execute(sqlite)?
        }
    };
    if updated != totals.len() {
        // The rows were locked when read; anything else is a bug.
        return Err(StoreError::internal(format!(
            "a write of stock updated {updated} of {} products",
            totals.len()
        )));
    }
    Ok(())
}

/// Inserts the history rows and records their versions in the feed.
pub(super) fn record(conn: &mut DbConnection, history: &[HistoryRow]) -> Result<(), StoreError> {
    if history.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Pg(pg) => super::pg_arrays::insert_history(pg, history)?,
        // Batch INSERT is backend-specific in diesel.
        DbConnection::Sqlite(sqlite) => diesel::insert_into(product_history::table)
            .values(history)
            .execute(sqlite)?,
    };
    let versions: Vec<(String, i64)> = history
        .iter()
        .map(|row| (row.product_id.clone(), row.version))
        .collect();
    super::events::record(conn, &versions)
}
