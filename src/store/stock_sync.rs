//! A batch of stock counts by SKU and location, applied in one transaction
//! with set-based SQL: one SELECT each for the products, the locations,
//! their levels and the movements counts are rebased on, then one write of
//! every changed level, product and history row (`StockPlan`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::error::StoreError;
use super::levels::{level_of, level_row, levels_of, location_for_stock, Place};
use super::rows::{HistoryRow, ProductRow};
use super::sql::lower;
use super::stock_plan::{LevelRow, OversoldLevel, ProductTotal, StockPlan};
use crate::db::schema::{product_history, products::dsl};
use crate::db::{write_transaction, DbConnection};
use crate::domain::changes;
use crate::domain::fields::STOCK_MAX;
use crate::domain::history::{HistoryEntry, Operation};
use crate::domain::ledger::{LedgerEntry, StockKind};
use crate::domain::level::Level;
use crate::domain::location::MAIN_CODE;
use crate::domain::product::Product;
use crate::domain::stock::{
    ReplayedMove, StockSync, SyncItem, SyncItemResult, SyncMode, SyncOutcome, SyncPrecondition,
    SyncStatus,
};
use crate::domain::timestamp::{self, from_micros, to_micros};

/// Applies the batch: every applicable item in best-effort mode, all or
/// nothing in atomic mode (a failed atomic batch is a `StockSyncConflict`
/// and its transaction is rolled back). A dry run decides every item the
/// same way, under the same locks, and writes nothing.
pub fn sync(
    conn: &mut DbConnection,
    batch: &StockSync,
    actor: &str,
) -> Result<SyncOutcome, StoreError> {
    write_transaction(conn, |conn| {
        let products = lock_products(conn, &batch.items)?;
        let locations = lock_locations(conn, &batch.items)?;
        let ids: Vec<String> = products.values().map(|p| p.id.to_string()).collect();
        let (levels, reserved) = levels_of(conn, ids.clone())?
            .into_iter()
            .map(|(key, (row, reserved))| ((key.clone(), row), (key, reserved)))
            .unzip();
        let moves = moves_since(conn, ids, &batch.items)?;
        let mut counting = Counting {
            products,
            locations,
            levels,
            reserved,
            oversold: Vec::new(),
            moves,
            now: timestamp::now(),
            actor,
            reason: batch.reason.clone(),
            history: Vec::new(),
            counted: HashSet::new(),
        };
        let results: Vec<SyncItemResult> = batch
            .items
            .iter()
            .map(|item| counting.apply(item))
            .collect::<Result<_, _>>()?;
        let outcome = SyncOutcome::new(results);
        if batch.mode == SyncMode::Atomic && outcome.has_failures() {
            return Err(StoreError::StockSyncConflict(Box::new(
                outcome.not_applied(),
            )));
        }
        if !batch.dry_run {
            let plan = counting.into_plan();
            plan.write(conn, to_micros(timestamp::now()))?;
        }
        Ok(outcome)
    })
}

/// The batch's state as its items apply one by one, in memory: the
/// products and levels as the earlier items left them.
struct Counting<'a> {
    /// By lower-case SKU.
    products: HashMap<String, Product>,
    /// By lower-case code; only live ones.
    locations: HashMap<String, Place>,
    /// By product id and location id.
    levels: HashMap<(String, String), LevelRow>,
    /// What the holds of each level reserve, by product id and location id.
    reserved: HashMap<(String, String), i64>,
    /// Levels the batch left below their holds.
    oversold: Vec<OversoldLevel>,
    moves: Vec<Move>,
    now: DateTime<Utc>,
    actor: &'a str,
    reason: Option<String>,
    history: Vec<HistoryRow>,
    /// The levels the batch changed, by product id and location id.
    counted: HashSet<(String, String)>,
}

impl Counting<'_> {
    fn apply(&mut self, item: &SyncItem) -> Result<SyncItemResult, StoreError> {
        let Some(product) = self.products.get(&item.sku.to_ascii_lowercase()) else {
            return Ok(SyncItemResult::new(&item.sku, SyncStatus::NotFound));
        };
        let mut result = SyncItemResult::new(&item.sku, SyncStatus::Unchanged);
        result.product_id = Some(product.id);
        let code = item.location.as_deref().unwrap_or(MAIN_CODE);
        let Some(location) = self.locations.get(&code.to_ascii_lowercase()) else {
            result.status = SyncStatus::LocationNotFound;
            return Ok(result);
        };
        let key = (product.id.to_string(), location.id.to_string());
        let reserved = self.reserved.get(&key).copied().unwrap_or(0);
        let level = level_of(&location.code, self.levels.get(&key).cloned(), reserved);
        let mut replayed = None;
        let on_hand = match item.precondition {
            SyncPrecondition::Version(version) if item.location.is_none() => {
                if version != product.version {
                    result.status = SyncStatus::Conflict;
                    result.current_version = Some(product.version);
                    result.current = Some(product.clone());
                    return Ok(result);
                }
                item.stock
            }
            SyncPrecondition::Version(version) => {
                if version != level.version {
                    result.status = SyncStatus::Conflict;
                    result.current_version = Some(level.version);
                    result.level = Some(level);
                    return Ok(result);
                }
                item.stock
            }
            SyncPrecondition::Force => item.stock,
            SyncPrecondition::CountedAt(counted_at) => {
                if level.last_counted_at.is_some_and(|last| counted_at < last) {
                    result.status = SyncStatus::Superseded;
                    result.version = Some(product.version);
                    result.stock = Some(product.fields.stock);
                    result.level = Some(level);
                    return Ok(result);
                }
                let moves = self.moves_after(&product.id.to_string(), code, counted_at);
                // Movements after a count cannot have taken more than was
                // there; if they seem to, the count was short, and the level
                // stops at 0 rather than below.
                let on_hand = (item.stock + moves.iter().map(|m| m.delta).sum::<i64>()).max(0);
                replayed = Some(moves);
                on_hand
            }
        };
        if on_hand == level.on_hand {
            // Nothing to write. A rebased count that found what the books
            // say still reports the movements it replayed.
            if replayed.as_ref().is_some_and(|moves| !moves.is_empty()) {
                result.status = SyncStatus::Rebased;
                result.replayed = replayed;
            }
            result.version = Some(product.version);
            result.stock = Some(product.fields.stock);
            result.level = Some(level);
            return Ok(result);
        }
        let counted_at = match item.precondition {
            SyncPrecondition::CountedAt(at) => Some(at),
            _ => level.last_counted_at,
        };
        let (product, level) = self.count(item, location.clone(), level, on_hand, counted_at)?;
        result.status = if replayed.is_some() {
            SyncStatus::Rebased
        } else {
            SyncStatus::Updated
        };
        result.version = Some(product.version);
        result.stock = Some(product.fields.stock);
        result.level = Some(level);
        result.replayed = replayed;
        Ok(result)
    }

    /// Sets the level to `on_hand`: a new version of it and of its product.
    fn count(
        &mut self,
        item: &SyncItem,
        location: Place,
        level: Level,
        on_hand: i64,
        counted_at: Option<DateTime<Utc>>,
    ) -> Result<(Product, Level), StoreError> {
        let product = self
            .products
            .get_mut(&item.sku.to_ascii_lowercase())
            .ok_or_else(|| StoreError::internal("a counted product left the batch"))?;
        let delta = on_hand - level.on_hand;
        let stock = product.fields.stock + delta;
        if stock > STOCK_MAX {
            return Err(StoreError::StockAboveMaximum {
                current_stock: product.fields.stock,
                wanted: stock,
            });
        }
        let before = level;
        let level = Level {
            on_hand,
            available: on_hand - before.reserved,
            version: before.version + 1,
            updated_at: Some(self.now),
            last_counted_at: counted_at,
            ..before.clone()
        };
        let entry = HistoryEntry::new(
            product.version + 1,
            self.now,
            self.actor,
            Operation::StockSync,
            changes::stock(product.fields.stock, stock),
        )
        .with_reason(self.reason.clone())
        .with_ledger(LedgerEntry {
            location: location.code.clone(),
            level_version: Some(level.version),
            delta,
            on_hand,
            kind: StockKind::Count,
            reference: None,
        });
        self.history
            .push(HistoryRow::from_entry(&product.id, &entry)?);
        product.set_stock(stock);
        product.version += 1;
        product.updated_at = self.now;
        if let Some(oversold) = OversoldLevel::after(product, &location.id, &before, &level) {
            self.oversold.push(oversold);
        }
        let row = level_row(&product.id, &location, &level);
        let key = (row.product_id.clone(), row.location_id.clone());
        self.counted.insert(key.clone());
        self.levels.insert(key, row);
        Ok((product.clone(), level))
    }

    /// The movements recorded at this level after `counted_at`, oldest first.
    fn moves_after(
        &self,
        product_id: &str,
        code: &str,
        counted_at: DateTime<Utc>,
    ) -> Vec<ReplayedMove> {
        let after = to_micros(counted_at);
        self.moves
            .iter()
            .filter(|m| m.product_id == product_id && m.at > after)
            .filter(|m| m.location.eq_ignore_ascii_case(code))
            .map(|m| ReplayedMove {
                version: m.version,
                at: from_micros(m.at),
                delta: m.delta,
                kind: m.kind,
            })
            .collect()
    }

    /// The writes: each changed level and product once, in its final state.
    fn into_plan(self) -> StockPlan {
        let changed: HashSet<&str> = self.counted.iter().map(|(id, _)| id.as_str()).collect();
        let totals = self
            .products
            .values()
            .map(|product| (product.id.to_string(), product))
            .filter(|(id, _)| changed.contains(id.as_str()))
            .map(|(id, product)| ProductTotal {
                id,
                stock: product.fields.stock,
                version: product.version,
            })
            .collect();
        let levels = self
            .levels
            .into_iter()
            .filter(|(key, _)| self.counted.contains(key))
            .map(|(_, level)| level)
            .collect();
        StockPlan {
            levels,
            totals,
            history: self.history,
            oversold: self.oversold,
        }
    }
}

/// The live products the items name, by lower-case SKU. On PostgreSQL the
/// rows are locked (in id order, so concurrent batches cannot deadlock) until
/// the transaction ends; SQLite's write transaction already excludes every
/// other writer. Every write of a product's levels takes this lock first,
/// so the levels read after it hold still.
fn lock_products(
    conn: &mut DbConnection,
    items: &[SyncItem],
) -> Result<HashMap<String, Product>, StoreError> {
    // SKUs are ASCII, so Rust's and SQL's lower() agree on them.
    let skus: Vec<String> = items
        .iter()
        .map(|item| item.sku.to_ascii_lowercase())
        .collect();
    let rows = match conn {
        DbConnection::Pg(pg) => live_with_skus(skus)
            .select(ProductRow::as_select())
            .for_update()
            .load(pg)?,
        DbConnection::Sqlite(sqlite) => live_with_skus(skus)
            .select(ProductRow::as_select())
            .load(sqlite)?,
    };
    rows.into_iter()
        .map(|row| {
            let product = row.into_product()?;
            Ok((product.fields.sku.to_ascii_lowercase(), product))
        })
        .collect()
}

#[diesel::dsl::auto_type]
fn live_with_skus(lower_case_skus: Vec<String>) -> _ {
    dsl::products
        .filter(dsl::deleted_at.is_null())
        .filter(lower(dsl::sku).eq_any(lower_case_skus))
        .order(dsl::id)
}

/// The live locations the items name, by lower-case code, each locked for
/// its stock (see `locations::lock_for_stock`); unknown codes are left out.
fn lock_locations(
    conn: &mut DbConnection,
    items: &[SyncItem],
) -> Result<HashMap<String, Place>, StoreError> {
    let mut codes: Vec<String> = items
        .iter()
        .map(|item| {
            item.location
                .as_deref()
                .unwrap_or(MAIN_CODE)
                .to_ascii_lowercase()
        })
        .collect();
    codes.sort();
    codes.dedup();
    let mut found = HashMap::new();
    for code in codes {
        match location_for_stock(conn, &code) {
            Ok(location) => {
                found.insert(code, location);
            }
            Err(StoreError::LocationNotFound(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(found)
}

/// A movement of stock in the ledger: what a count taken before it did
/// not see.
struct Move {
    product_id: String,
    location: String,
    version: i64,
    at: i64,
    delta: i64,
    kind: StockKind,
}

/// The kinds of ledger entry that move goods. Sets and counts only correct
/// the books, so a count taken earlier is not rebased on them.
const MOVEMENTS: [StockKind; 4] = [
    StockKind::Adjust,
    StockKind::TransferOut,
    StockKind::TransferIn,
    StockKind::Commit,
];

/// The movements of these products recorded after the earliest
/// `counted_at` of the items, oldest first.
fn moves_since(
    conn: &mut DbConnection,
    product_ids: Vec<String>,
    items: &[SyncItem],
) -> Result<Vec<Move>, StoreError> {
    let earliest = items
        .iter()
        .filter_map(|item| match item.precondition {
            SyncPrecondition::CountedAt(at) => Some(at),
            _ => None,
        })
        .min();
    let Some(earliest) = earliest else {
        return Ok(Vec::new());
    };
    let kinds: Vec<&str> = MOVEMENTS.iter().map(|kind| kind.as_str()).collect();
    let rows: Vec<HistoryRow> = product_history::table
        .filter(product_history::product_id.eq_any(product_ids))
        .filter(product_history::at.gt(to_micros(earliest)))
        .filter(product_history::kind.eq_any(kinds))
        .order((product_history::product_id, product_history::version))
        .select(HistoryRow::as_select())
        .load(conn)?;
    let mut moves = Vec::with_capacity(rows.len());
    for row in rows {
        let product_id = row.product_id.clone();
        let entry = row.into_entry()?;
        if let Some(ledger) = entry.ledger {
            moves.push(Move {
                product_id,
                location: ledger.location,
                version: entry.version,
                at: to_micros(entry.at),
                delta: ledger.delta,
                kind: ledger.kind,
            });
        }
    }
    Ok(moves)
}
