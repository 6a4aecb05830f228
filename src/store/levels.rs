//! Stock levels: how much of a product each location holds. Every change
//! of a level is a guarded write made under the product's row lock (taken
//! first, so writers of one product's levels queue in one order and never
//! deadlock), is also a new version of the product, whose `stock` stays
//! the sum of its levels, and leaves a ledger entry in its history.

use std::collections::HashMap;

use diesel::prelude::*;
use uuid::Uuid;

use super::current_since;
use super::error::StoreError;
use super::live_product::live;
use super::locations;
use super::reserved::{OfLevel, Reserved};
use super::rows::{HistoryRow, ProductRow};
use super::sql::{contains_pattern, lower};
use super::stock_plan::{LevelRow, OversoldLevel, ProductTotal, StockPlan};
use crate::db::schema::{locations as location_table, product_history, products, stock_levels};
use crate::db::{write_transaction, DbConnection};
use crate::domain::changes;
use crate::domain::conflict::Intent;
use crate::domain::fields::STOCK_MAX;
use crate::domain::history::HistoryEntry;
use crate::domain::ledger::LedgerEntry;
use crate::domain::level::{Amount, Guard, Level, LevelChange, LevelWrite, StaleLevel};
use crate::domain::location::{MAIN_CODE, MAIN_ID};
use crate::domain::product::Product;
use crate::domain::timestamp::{self, from_micros, to_micros};

/// The product and the levels a write left.
#[derive(Debug, Clone)]
pub struct Written {
    pub product: Product,
    pub levels: Vec<Level>,
}

/// A product, and its level at one location.
#[derive(Debug, Clone)]
pub struct ProductLevel {
    pub product: Product,
    pub level: Level,
}

/// Narrows the levels of a location by product.
#[derive(Debug, Default, Clone)]
pub struct LevelFilter {
    pub sku: Option<String>,
    pub text: Option<String>,
    /// Only levels below their reorder point.
    pub below_reorder_point: bool,
}

/// Every live location's level of the product, MAIN first; locations it
/// was never stocked at show an empty level.
pub fn of_product(conn: &mut DbConnection, product_id: &Uuid) -> Result<Vec<Level>, StoreError> {
    let id = product_id.to_string();
    if live(id.clone()).count().get_result::<i64>(conn)? == 0 {
        return Err(StoreError::ProductNotFound(*product_id));
    }
    let rows: Vec<(String, Option<LevelRow>, i64)> = every_location_level(id)
        .select((
            location_table::code,
            Option::<LevelRow>::as_select(),
            Reserved::<OfLevel>::now(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(code, row, reserved)| level_of(&code, row, reserved))
        .collect())
}

/// Each live location, MAIN first, with the product's level there if it
/// has one (callers select the code and `Option<LevelRow>`, for their
/// backend).
#[diesel::dsl::auto_type]
pub(super) fn every_location_level(product_id: String) -> _ {
    location_table::table
        .left_join(
            stock_levels::table.on(stock_levels::location_id
                .eq(location_table::id)
                .and(stock_levels::product_id.eq(product_id))),
        )
        .filter(location_table::deleted_at.is_null())
        .order(location_table::id)
}

/// Up to `limit` live products' levels at the location, oldest product
/// first, after `after` when given; products never stocked there show an
/// empty level.
pub fn at_location(
    conn: &mut DbConnection,
    code: &str,
    filter: &LevelFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ProductLevel>, StoreError> {
    let location = locations::find(conn, code)?
        .ok_or_else(|| StoreError::LocationNotFound(code.to_owned()))?;
    let mut query = products::table
        .left_join(
            stock_levels::table.on(stock_levels::product_id
                .eq(products::id)
                .and(stock_levels::location_id.eq(location.id.to_string()))),
        )
        .filter(products::deleted_at.is_null())
        .order(products::id.asc())
        .limit(limit)
        .select((
            ProductRow::as_select(),
            Option::<LevelRow>::as_select(),
            Reserved::<OfLevel>::now(),
        ))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(products::id.gt(after.to_string()));
    }
    if let Some(sku) = &filter.sku {
        query = query.filter(lower(products::sku).eq(lower(sku.clone())));
    }
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        query = query.filter(
            lower(products::name)
                .like(lower(pattern.clone()))
                .escape('\\')
                .or(lower(products::sku).like(lower(pattern)).escape('\\')),
        );
    }
    if filter.below_reorder_point {
        // `low` as the last change or expiry left it (see `reorder`).
        query = query.filter(stock_levels::low.nullable().eq(true));
    }
    let rows: Vec<(ProductRow, Option<LevelRow>, i64)> = query.load(conn)?;
    rows.into_iter()
        .map(|(product, level, reserved)| {
            Ok(ProductLevel {
                product: product.into_product()?,
                level: level_of(&location.code, level, reserved),
            })
        })
        .collect()
}

/// Applies the write to the product's levels, all its changes or none.
pub fn write(
    conn: &mut DbConnection,
    product_id: &Uuid,
    write: &LevelWrite,
    actor: &str,
) -> Result<Written, StoreError> {
    write_transaction(conn, |conn| {
        let product = lock_product(conn, product_id)?;
        apply(conn, product, write, actor)
    })
}

/// Applies the write inside the caller's transaction, to the product the
/// caller locked (see `lock_product`).
pub(super) fn apply(
    conn: &mut DbConnection,
    mut product: Product,
    write: &LevelWrite,
    actor: &str,
) -> Result<Written, StoreError> {
    let product_id = product.id;
    let now = timestamp::now();
    let mut plan = StockPlan::default();
    let mut written: Vec<Level> = Vec::new();
    for change in &write.changes {
        let location = location_for_stock(conn, &change.location)?;
        let mut level = find_level(conn, &product_id, &location)?;
        if let Some(earlier) = planned_level(&plan, &location, level.reserved) {
            level = earlier;
        }
        check_guard(conn, &product, &level, change)?;
        let on_hand = match change.amount {
            Amount::Add(delta) => level.on_hand + delta,
            Amount::SetTo(on_hand) => on_hand,
        };
        if on_hand == level.on_hand {
            written.push(level);
            continue;
        }
        let delta = on_hand - level.on_hand;
        let stock_before = product.fields.stock;
        let changed = next_version(&mut product, level.clone(), on_hand, now)?;
        let ledger = LedgerEntry {
            location: location.code.clone(),
            level_version: Some(changed.version),
            delta,
            on_hand,
            kind: change.kind,
            reference: write.reference.clone(),
        };
        let entry = HistoryEntry::new(
            product.version,
            now,
            actor,
            write.operation,
            changes::stock(stock_before, product.fields.stock),
        )
        .with_reason(write.reason.clone())
        .with_ledger(ledger);
        plan.history
            .push(HistoryRow::from_entry(&product_id, &entry)?);
        upsert(
            &mut plan.levels,
            level_row(&product_id, &location, &changed),
        );
        if let Some(oversold) = OversoldLevel::after(&product, &location.id, &level, &changed) {
            plan.oversold.push(oversold);
        }
        written.push(changed);
    }
    if !plan.history.is_empty() {
        plan.totals.push(ProductTotal {
            id: product_id.to_string(),
            stock: product.fields.stock,
            version: product.version,
        });
        plan.write(conn, to_micros(now))?;
    }
    Ok(Written {
        product,
        levels: written,
    })
}

/// The level as an earlier change of the same write left it, if one did.
fn planned_level(plan: &StockPlan, location: &Place, reserved: i64) -> Option<Level> {
    let id = location.id.to_string();
    plan.levels
        .iter()
        .find(|row| row.location_id == id)
        .map(|row| level_of(&location.code, Some(row.clone()), reserved))
}

/// The level set to `on_hand` as its next version, and the product moved
/// with it (stock by the difference, one version on); refused below 0 at
/// the level or above the maximum in all.
fn next_version(
    product: &mut Product,
    level: Level,
    on_hand: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Level, StoreError> {
    let delta = on_hand - level.on_hand;
    if on_hand < 0 {
        return Err(StoreError::InsufficientStock {
            delta,
            current: Box::new(product.clone()),
            level,
        });
    }
    let stock = product.fields.stock + delta;
    if stock > STOCK_MAX {
        return Err(StoreError::StockAboveMaximum {
            current_stock: product.fields.stock,
            wanted: stock,
        });
    }
    product.set_stock(stock);
    product.version += 1;
    product.updated_at = now;
    Ok(Level {
        on_hand,
        available: on_hand - level.reserved,
        version: level.version + 1,
        updated_at: Some(now),
        ..level
    })
}

/// Keeps one row per level in the plan: the last change of it wins, as
/// each change starts from the one before.
fn upsert(levels: &mut Vec<LevelRow>, row: LevelRow) {
    match levels
        .iter_mut()
        .find(|level| level.location_id == row.location_id)
    {
        Some(level) => *level = row,
        None => levels.push(row),
    }
}

/// The live product, locked until the transaction ends on PostgreSQL
/// (SQLite's write transaction already excludes every other writer).
/// Every writer of a product's levels or holds takes this lock first.
pub(super) fn lock_product(conn: &mut DbConnection, id: &Uuid) -> Result<Product, StoreError> {
    let query = || live(id.to_string());
    let row = match conn {
        DbConnection::Pg(pg) => query()
            .select(ProductRow::as_select())
            .for_update()
            .first(pg)
            .optional()?,
        DbConnection::Sqlite(sqlite) => query()
            .select(ProductRow::as_select())
            .first(sqlite)
            .optional()?,
    };
    row.ok_or(StoreError::ProductNotFound(*id))?.into_product()
}

/// Where a write of stock acts: a live location's id, and its code as
/// written at its creation (as the ledger names it).
#[derive(Debug, Clone)]
pub(super) struct Place {
    pub id: Uuid,
    pub code: String,
}

impl Place {
    /// MAIN, whose id is fixed.
    pub fn main() -> Place {
        Place {
            id: MAIN_ID,
            code: MAIN_CODE.to_owned(),
        }
    }
}

/// The location a write of stock acts at. MAIN cannot be deleted, so it
/// needs no lock, and its id is known.
pub(super) fn location_for_stock(conn: &mut DbConnection, code: &str) -> Result<Place, StoreError> {
    if code.eq_ignore_ascii_case(MAIN_CODE) {
        return Ok(Place::main());
    }
    let location = locations::lock_for_stock(conn, code)?;
    Ok(Place {
        id: location.id,
        code: location.code,
    })
}

/// The product's level at the location, empty if never written, with
/// what its holds reserve now.
pub(super) fn find_level(
    conn: &mut DbConnection,
    product_id: &Uuid,
    location: &Place,
) -> Result<Level, StoreError> {
    let row: Option<(LevelRow, i64)> = stock_levels::table
        .find((product_id.to_string(), location.id.to_string()))
        .select((LevelRow::as_select(), Reserved::<OfLevel>::now()))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((row, reserved)) => level_of(&location.code, Some(row), reserved),
        None => Level::empty(&location.code),
    })
}

/// A level's product id and location id, as stored.
pub(super) type LevelKey = (String, String);

/// Every level of these products, with what its holds reserve now, by
/// product id and location id.
pub(super) fn levels_of(
    conn: &mut DbConnection,
    product_ids: Vec<String>,
) -> Result<HashMap<LevelKey, (LevelRow, i64)>, StoreError> {
    let rows: Vec<(LevelRow, i64)> = stock_levels::table
        .filter(stock_levels::product_id.eq_any(product_ids))
        .select((LevelRow::as_select(), Reserved::<OfLevel>::now()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, reserved)| {
            let key = (row.product_id.clone(), row.location_id.clone());
            (key, (row, reserved))
        })
        .collect())
}

/// Refuses the change when its guard fails: a stale product version (409
/// with the product's changes since) or a stale level version (409 with the
/// level's).
fn check_guard(
    conn: &mut DbConnection,
    product: &Product,
    level: &Level,
    change: &LevelChange,
) -> Result<(), StoreError> {
    match change.guard {
        Guard::None => Ok(()),
        Guard::Product(expected) if expected.version == product.version => Ok(()),
        Guard::Product(expected) => {
            let found = current_since::find(conn, &product.id, expected.version)?
                .ok_or(StoreError::ProductNotFound(product.id))?;
            Err(found.stale(expected, Intent::AdjustStock))
        }
        Guard::Level(expected) if expected.version == level.version => Ok(()),
        Guard::Level(expected) => {
            let wanted = match change.amount {
                Amount::SetTo(on_hand) => Some(on_hand),
                Amount::Add(_) => None,
            };
            let since = changes_since(conn, &product.id, &level.location, expected.version)?;
            Err(StoreError::StaleLevel(Box::new(StaleLevel::new(
                expected,
                level.clone(),
                since,
                wanted,
            ))))
        }
    }
}

/// The ledger of one level after `after`, oldest first.
fn changes_since(
    conn: &mut DbConnection,
    product_id: &Uuid,
    code: &str,
    after: i64,
) -> Result<Vec<HistoryEntry>, StoreError> {
    product_history::table
        .filter(product_history::product_id.eq(product_id.to_string()))
        .filter(lower(product_history::location.assume_not_null()).eq(lower(code.to_owned())))
        .filter(product_history::level_version.gt(after))
        .order(product_history::version.asc())
        .select(HistoryRow::as_select())
        .load(conn)?
        .into_iter()
        .map(HistoryRow::into_entry)
        .collect()
}

/// A level as clients see it, from its row (or none: never written) and
/// what its holds reserve.
pub(super) fn level_of(code: &str, row: Option<LevelRow>, reserved: i64) -> Level {
    match row {
        Some(row) => Level {
            location: code.to_owned(),
            on_hand: row.on_hand,
            reserved,
            available: row.on_hand - reserved,
            version: row.version,
            updated_at: Some(from_micros(row.updated_at)),
            last_counted_at: row.last_counted_at.map(from_micros),
            reorder_point: row.reorder_point,
        },
        None => Level::empty(code),
    }
}

pub(super) fn level_row(product_id: &Uuid, location: &Place, level: &Level) -> LevelRow {
    LevelRow {
        product_id: product_id.to_string(),
        location_id: location.id.to_string(),
        on_hand: level.on_hand,
        version: level.version,
        updated_at: level.updated_at.map_or(0, to_micros),
        last_counted_at: level.last_counted_at.map(to_micros),
        reorder_point: level.reorder_point,
    }
}
