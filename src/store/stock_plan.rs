//! The writes of a planned change of stock, set-based: one upsert for every
//! level it changes, one UPDATE for every product total, one INSERT for
//! their history and one for the feed, however many levels and products
//! it touches. The plan is made under the products' row locks, so it
//! writes final values and needs no guard of its own.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel::{PgConnection, SqliteConnection};

use super::error::StoreError;
use super::rows::HistoryRow;
use crate::db::schema::{product_history, stock_levels};
use crate::db::DbConnection;
use crate::domain::events::Notice;
use crate::domain::hold::Oversold;
use crate::domain::level::Level;
use crate::domain::product::Product;

/// A level as it is stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stock_levels)]
// A missing count time is NULL, never DEFAULT, which SQLite also accepts.
#[diesel(treat_none_as_default_value = false)]
pub(super) struct LevelRow {
    pub product_id: String,
    pub location_id: String,
    pub on_hand: i64,
    pub version: i64,
    pub updated_at: i64,
    pub last_counted_at: Option<i64>,
    /// A setting of its own (see `reorder`): never written with the stock.
    #[diesel(skip_insertion)]
    pub reorder_point: Option<i64>,
}

/// A product's stock total and version after the plan.
#[derive(Debug, Clone)]
pub(super) struct ProductTotal {
    pub id: String,
    pub stock: i64,
    pub version: i64,
}

/// A level a change of stock took further below its holds: on hand is a
/// physical fact, so the change applies, and the feed says which holds
/// are at risk.
#[derive(Debug, Clone)]
pub(super) struct OversoldLevel {
    product_id: uuid::Uuid,
    sku: String,
    location_id: String,
    level: Level,
}

impl OversoldLevel {
    /// The level `after` a change from `before`, if it left less available
    /// than 0 and less than before (a commit, which takes a hold and its
    /// stock together, leaves it as it was).
    pub fn after(
        product: &Product,
        location_id: &uuid::Uuid,
        before: &Level,
        after: &Level,
    ) -> Option<OversoldLevel> {
        (after.is_oversold() && after.available < before.available).then(|| OversoldLevel {
            product_id: product.id,
            sku: product.fields.sku.clone(),
            location_id: location_id.to_string(),
            level: after.clone(),
        })
    }
}

/// Everything one write of stock changes: each level and product once, in
/// its final state, and one history row for every version made.
#[derive(Default)]
pub(super) struct StockPlan {
    pub levels: Vec<LevelRow>,
    pub totals: Vec<ProductTotal>,
    pub history: Vec<HistoryRow>,
    pub oversold: Vec<OversoldLevel>,
}

impl StockPlan {
    /// Writes it, inside the caller's transaction: on PostgreSQL as one
    /// statement, so that the product rows the caller locked are held for
    /// one round trip of writes, not four; on SQLite, which has no round
    /// trips, statement by statement.
    pub fn write(&self, conn: &mut DbConnection, updated_at: i64) -> Result<(), StoreError> {
        if self.history.is_empty() {
            return Ok(());
        }
        match conn {
            DbConnection::Pg(pg) => self.write_at_once(pg, updated_at)?,
            DbConnection::Sqlite(sqlite) => {
                write_levels(sqlite, &self.levels)?;
                write_totals(sqlite, &self.totals, updated_at)?;
                // Batch INSERT is backend-specific in diesel.
                diesel::insert_into(product_history::table)
                    .values(&self.history)
                    .execute(sqlite)?;
                let versions: Vec<(String, i64)> = self
                    .history
                    .iter()
                    .map(|row| (row.product_id.clone(), row.version))
                    .collect();
                super::events::record(conn, &versions)?;
            }
        }
        self.tell_oversold(conn)?;
        // Only a level with a reorder point can cross one (clearing a
        // point tells its crossing at once): most writes ask nothing more.
        let watched: BTreeSet<&String> = self
            .levels
            .iter()
            .filter(|level| level.reorder_point.is_some())
            .map(|level| &level.product_id)
            .collect();
        super::crossings::note(conn, watched)
    }

    /// Records an `oversold` notice for each level the plan left further
    /// below its holds, naming the holds at risk, oldest first.
    fn tell_oversold(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        let mut notices = Vec::new();
        for oversold in &self.oversold {
            let holds =
                super::hold_rows::active_at(conn, &oversold.product_id, &oversold.location_id)?;
            notices.push(Notice::oversold(&Oversold {
                product_id: oversold.product_id,
                sku: oversold.sku.clone(),
                level: oversold.level.clone(),
                holds,
            }));
        }
        super::events::record_notices(conn, &notices)
    }

    /// The four writes as data-modifying CTEs of one statement, each fed
    /// its rows as arrays (see `pg_arrays`). The feed's rows keep the
    /// history's order, as `events::record` does.
    fn write_at_once(&self, pg: &mut PgConnection, updated_at: i64) -> Result<(), StoreError> {
        #[derive(QueryableByName)]
        struct Written {
            #[diesel(sql_type = BigInt)]
            totals: i64,
        }
        let levels = &self.levels;
        let history = &self.history;
        let level_column =
            |value: fn(&LevelRow) -> i64| levels.iter().map(value).collect::<Vec<_>>();
        let text = |value: fn(&HistoryRow) -> &str| history.iter().map(value).collect::<Vec<_>>();
        let optional_text =
            |value: fn(&HistoryRow) -> Option<&str>| history.iter().map(value).collect::<Vec<_>>();
        let number = |value: fn(&HistoryRow) -> i64| history.iter().map(value).collect::<Vec<_>>();
        let optional_number =
            |value: fn(&HistoryRow) -> Option<i64>| history.iter().map(value).collect::<Vec<_>>();
        let written: Written = diesel::sql_query(
            "WITH levelled AS (
                 INSERT INTO stock_levels
                     (product_id, location_id, on_hand, version, updated_at, last_counted_at)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[],
                                      $5::bigint[], $6::bigint[])
                 ON CONFLICT (product_id, location_id) DO UPDATE SET
                     on_hand = excluded.on_hand, version = excluded.version,
                     updated_at = excluded.updated_at, last_counted_at = excluded.last_counted_at
                 RETURNING 1),
             totalled AS (
                 UPDATE products SET stock = batch.stock, version = batch.version, updated_at = $10
                 FROM unnest($7::text[], $8::bigint[], $9::bigint[]) AS batch (id, stock, version)
                 WHERE products.id = batch.id AND products.deleted_at IS NULL
                 RETURNING 1),
             recorded AS (
                 INSERT INTO product_history (product_id, version, at, actor, operation, reason,
                     changes, location, level_version, delta, on_hand, kind, reference)
                 SELECT * FROM unnest($11::text[], $12::bigint[], $13::bigint[], $14::text[],
                     $15::text[], $16::text[], $17::text[], $18::text[], $19::bigint[],
                     $20::bigint[], $21::bigint[], $22::text[], $23::text[])
                 RETURNING 1),
             fed AS (
                 INSERT INTO product_events (product_id, version)
                 SELECT id, version FROM unnest($11::text[], $12::bigint[])
                     WITH ORDINALITY AS change (id, version, position)
                 ORDER BY position
                 RETURNING 1)
             SELECT (SELECT count(*) FROM totalled) AS totals",
        )
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
        .bind::<Array<BigInt>, _>(level_column(|level| level.on_hand))
        .bind::<Array<BigInt>, _>(level_column(|level| level.version))
        .bind::<Array<BigInt>, _>(level_column(|level| level.updated_at))
        .bind::<Array<Nullable<BigInt>>, _>(
            levels.iter().map(|l| l.last_counted_at).collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(
            self.totals
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<BigInt>, _>(self.totals.iter().map(|t| t.stock).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(self.totals.iter().map(|t| t.version).collect::<Vec<_>>())
        .bind::<BigInt, _>(updated_at)
        .bind::<Array<Text>, _>(text(|row| &row.product_id))
        .bind::<Array<BigInt>, _>(number(|row| row.version))
        .bind::<Array<BigInt>, _>(number(|row| row.at))
        .bind::<Array<Text>, _>(text(|row| &row.actor))
        .bind::<Array<Text>, _>(text(|row| &row.operation))
        .bind::<Array<Nullable<Text>>, _>(optional_text(|row| row.reason.as_deref()))
        .bind::<Array<Text>, _>(text(|row| &row.changes))
        .bind::<Array<Nullable<Text>>, _>(optional_text(|row| row.location.as_deref()))
        .bind::<Array<Nullable<BigInt>>, _>(optional_number(|row| row.level_version))
        .bind::<Array<Nullable<BigInt>>, _>(optional_number(|row| row.delta))
        .bind::<Array<Nullable<BigInt>>, _>(optional_number(|row| row.on_hand))
        .bind::<Array<Nullable<Text>>, _>(optional_text(|row| row.kind.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(optional_text(|row| row.reference.as_deref()))
        .get_result(pg)?;
        check_totals(written.totals as usize, self.totals.len())
    }
}

/// Every product total must have been written: the rows were locked when
/// read, so anything else is a bug.
fn check_totals(updated: usize, planned: usize) -> Result<(), StoreError> {
    if updated != planned {
        return Err(StoreError::internal(format!(
            "a write of stock updated {updated} of {planned} products"
        )));
    }
    Ok(())
}

/// Inserts or overwrites the levels, on SQLite. It has no arrays: the
/// values are written into the SQL text rather than bound, because the
/// number of binds would vary with the batch; that is safe only because
/// every value is a server-made UUID or an integer.
fn write_levels(sqlite: &mut SqliteConnection, levels: &[LevelRow]) -> Result<(), StoreError> {
    if levels.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = levels
        .iter()
        .map(|level| {
            let counted = level
                .last_counted_at
                .map_or("NULL".to_owned(), |at| at.to_string());
            format!(
                "('{}', '{}', {}, {}, {}, {counted})",
                level.product_id, level.location_id, level.on_hand, level.version, level.updated_at
            )
        })
        .collect();
    diesel::sql_query(format!(
        "INSERT INTO stock_levels \
         (product_id, location_id, on_hand, version, updated_at, last_counted_at) \
         VALUES {} ON CONFLICT (product_id, location_id) DO UPDATE SET \
         on_hand = excluded.on_hand, version = excluded.version, \
         updated_at = excluded.updated_at, last_counted_at = excluded.last_counted_at",
        values.join(", ")
    ))
    .execute(sqlite)?;
    Ok(())
}

/// Sets each product's stock and version, on SQLite. It has no arrays:
/// the values are written into the SQL text, as in `write_levels`, for the
/// same reason.
fn write_totals(
    sqlite: &mut SqliteConnection,
    totals: &[ProductTotal],
    updated_at: i64,
) -> Result<(), StoreError> {
    if totals.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = totals
        .iter()
        .map(|total| format!("('{}', {}, {})", total.id, total.stock, total.version))
        .collect();
    let updated = diesel::sql_query(format!(
        "UPDATE products SET stock = batch.stock, version = batch.version, \
         updated_at = {updated_at} \
         FROM (SELECT column1 AS id, column2 AS stock, column3 AS version \
               FROM (VALUES {}) AS v) AS batch \
         WHERE products.id = batch.id AND products.deleted_at IS NULL",
        values.join(", ")
    ))
    .execute(sqlite)?;
    check_totals(updated, totals.len())
}
