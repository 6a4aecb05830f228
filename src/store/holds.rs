//! Holds: made, changed, committed and released under the product's row
//! lock, the lock every writer of the product's levels takes first. So the
//! check of `available` and the write of the hold see the same stock and
//! the same holds, however many checkouts race for the last units: no
//! counter to keep in step, and no hold that slips in between.
//!
//! A hold never writes its level or product; only a commit does, as a sale.
//! What only gives stock back (a release, an expiry) or keeps it (an
//! extension) needs no lock of the product: an expired hold already
//! stopped counting at its `expires_at` (see `reserved`); the sweep only
//! says so.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use super::hold_rows::{find, hold_of, joined, HoldRow, HoldView};
use super::levels::{self, find_level, location_for_stock, lock_product, Written};
use crate::db::schema::holds;
use crate::db::{write_transaction, DbConnection};
use crate::domain::events::Notice;
use crate::domain::history::Operation;
use crate::domain::hold::{
    Hold, HoldChange, HoldEnd, HoldLine, HoldStatus, NewHolds, Shortfall, StaleHold,
};
use crate::domain::ledger::StockKind;
use crate::domain::level::{Amount, Guard, LevelChange, LevelWrite};
use crate::domain::precondition::Precondition;
use crate::domain::product::{Product, ProductRef};
use crate::domain::timestamp::{self, to_micros};

/// A hold that ended by request, and the sale a commit made.
#[derive(Debug, Clone)]
pub struct Ended {
    pub hold: Hold,
    pub sale: Option<Written>,
}

/// Holds every line, or none: each product and location's lines summed
/// must fit in its `available`. Answers the holds in the lines' order.
pub fn create(
    conn: &mut DbConnection,
    new: &NewHolds,
    actor: &str,
) -> Result<Vec<Hold>, StoreError> {
    // Named before the transaction, so that its first statement takes the
    // first lock (see `lock_active`).
    let named = named_products(conn, &new.lines)?;
    write_transaction(conn, |conn| {
        let products = lock_products(conn, &named)?;
        let now = timestamp::now();
        let mut places = BTreeMap::new();
        for line in &new.lines {
            let code = line.location.to_ascii_lowercase();
            if !places.contains_key(&code) {
                places.insert(code.clone(), location_for_stock(conn, &line.location)?);
            }
        }
        let mut wanted: BTreeMap<(Uuid, String), i64> = BTreeMap::new();
        for line in &new.lines {
            let product = product_of(&products, &line.product)?;
            *wanted
                .entry((product.id, line.location.to_ascii_lowercase()))
                .or_default() += line.quantity;
        }
        for ((product_id, code), requested) in &wanted {
            let place = &places[code];
            let level = find_level(conn, product_id, place)?;
            if level.available < *requested {
                let product = products.iter().find(|p| p.id == *product_id);
                return Err(StoreError::InsufficientAvailable(Box::new(Shortfall {
                    product_id: *product_id,
                    sku: product.map(|p| p.fields.sku.clone()).unwrap_or_default(),
                    requested: *requested,
                    level,
                })));
            }
        }
        let mut made = Vec::with_capacity(new.lines.len());
        for line in &new.lines {
            let product = product_of(&products, &line.product)?;
            let place = &places[&line.location.to_ascii_lowercase()];
            let row = HoldRow {
                id: Uuid::now_v7().to_string(),
                version: 1,
                product_id: product.id.to_string(),
                location_id: place.id.to_string(),
                quantity: line.quantity,
                status: HoldStatus::Active.as_str().to_owned(),
                expires_at: to_micros(new.expires_at),
                reference: new.reference.clone(),
                actor: actor.to_owned(),
                created_at: to_micros(now),
                updated_at: to_micros(now),
            };
            diesel::insert_into(holds::table)
                .values(&row)
                .execute(conn)?;
            made.push(hold_of(row, &product.fields.sku, &place.code)?);
        }
        let notices: Vec<Notice> = made.iter().map(Notice::hold).collect();
        super::events::record_notices(conn, &notices)?;
        super::crossings::note(conn, wanted.keys().map(|(product_id, _)| product_id))?;
        Ok(made)
    })
}

/// Changes an active hold's quantity or end at its version. A larger
/// quantity must fit in `available`, as a new hold must.
pub fn change(conn: &mut DbConnection, id: &Uuid, change: &HoldChange) -> Result<Hold, StoreError> {
    let product_id = product_of_hold(conn, id)?;
    write_transaction(conn, |conn| {
        let locking = match change.quantity {
            Some(_) => Locking::ProductFirst(product_id),
            None => Locking::HoldOnly,
        };
        let (_product, mut hold) = lock_active(conn, id, change.expected, locking)?;
        let now = timestamp::now();
        if let Some(quantity) = change.quantity {
            let more = quantity - hold.quantity;
            if more > 0 {
                let place = location_for_stock(conn, &hold.location)?;
                let level = find_level(conn, &hold.product_id, &place)?;
                if level.available < more {
                    return Err(StoreError::InsufficientAvailable(Box::new(Shortfall {
                        product_id: hold.product_id,
                        sku: hold.sku.clone(),
                        requested: more,
                        level,
                    })));
                }
            }
            hold.quantity = quantity;
        }
        if let Some(expires_at) = change.expires_at {
            hold.expires_at = expires_at;
        }
        hold.version += 1;
        hold.updated_at = now;
        diesel::update(holds::table.find(id.to_string()))
            .set((
                holds::quantity.eq(hold.quantity),
                holds::expires_at.eq(to_micros(hold.expires_at)),
                holds::version.eq(hold.version),
                holds::updated_at.eq(to_micros(now)),
            ))
            .execute(conn)?;
        super::events::record_notices(conn, &[Notice::hold(&hold)])?;
        super::crossings::note(conn, [hold.product_id])?;
        Ok(hold)
    })
}

/// Ends an active hold at its version. A release gives its stock back to
/// `available`; a commit sells it: `on_hand` and `reserved` drop by the
/// quantity together, with a `commit` entry in the ledger.
pub fn end(
    conn: &mut DbConnection,
    id: &Uuid,
    expected: Precondition,
    how: HoldEnd,
    actor: &str,
) -> Result<Ended, StoreError> {
    let product_id = product_of_hold(conn, id)?;
    write_transaction(conn, |conn| {
        let locking = match how {
            HoldEnd::Commit => Locking::ProductFirst(product_id),
            HoldEnd::Release => Locking::HoldOnly,
        };
        let (product, mut hold) = lock_active(conn, id, expected, locking)?;
        let now = timestamp::now();
        hold.status = match how {
            HoldEnd::Commit => HoldStatus::Committed,
            HoldEnd::Release => HoldStatus::Released,
        };
        hold.version += 1;
        hold.updated_at = now;
        diesel::update(holds::table.find(id.to_string()))
            .set((
                holds::status.eq(hold.status.as_str()),
                holds::version.eq(hold.version),
                holds::updated_at.eq(to_micros(now)),
            ))
            .execute(conn)?;
        // The hold is no longer active, so the sale below reads the
        // level's `reserved` without it.
        super::events::record_notices(conn, &[Notice::hold(&hold)])?;
        let sale = match how {
            HoldEnd::Release => {
                super::crossings::note(conn, [product_id])?;
                None
            }
            HoldEnd::Commit => {
                let sale = LevelWrite {
                    changes: vec![LevelChange {
                        location: hold.location.clone(),
                        amount: Amount::Add(-hold.quantity),
                        kind: StockKind::Commit,
                        guard: Guard::None,
                    }],
                    operation: Operation::HoldCommit,
                    reason: None,
                    reference: hold.reference.clone(),
                };
                // Read again (still locked) for its `reserved` without the hold.
                let locked =
                    product.ok_or_else(|| StoreError::internal("a commit locked no product"))?;
                let product = lock_product(conn, &locked.id)?;
                Some(levels::apply(conn, product, &sale, actor)?)
            }
        };
        Ok(Ended { hold, sale })
    })
}

/// At most this many holds are marked expired by one sweep, so that a
/// sweep never holds its locks (or SQLite's writer) for long.
pub const EXPIRY_BATCH: i64 = 100;

/// Marks up to `EXPIRY_BATCH` active holds past their time `expired`,
/// longest expired first, each a new version with a `hold` event, and says
/// how many. Holds a request is ending right now are left for the next
/// sweep (PostgreSQL skips their locked rows).
pub fn expire_batch(conn: &mut DbConnection) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let now = to_micros(timestamp::now());
        let due = || {
            holds::table
                .filter(holds::status.eq(HoldStatus::Active.as_str()))
                .filter(holds::expires_at.le(now))
                .order(holds::expires_at.asc())
                .limit(EXPIRY_BATCH)
                .select(holds::id)
        };
        let ids: Vec<String> = match conn {
            DbConnection::Pg(pg) => due().for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => due().load(sqlite)?,
        };
        if ids.is_empty() {
            return Ok(0);
        }
        diesel::update(holds::table.filter(holds::id.eq_any(&ids)))
            .set((
                holds::status.eq(HoldStatus::Expired.as_str()),
                holds::version.eq(holds::version + 1),
                holds::updated_at.eq(now),
            ))
            .execute(conn)?;
        let views: Vec<HoldView> = joined()
            .filter(holds::id.eq_any(&ids))
            .order(holds::expires_at.asc())
            .select(HoldView::as_select())
            .load(conn)?;
        let expired = views
            .into_iter()
            .map(HoldView::into_hold)
            .collect::<Result<Vec<_>, StoreError>>()?;
        let notices: Vec<Notice> = expired.iter().map(Notice::hold).collect();
        super::events::record_notices(conn, &notices)?;
        let products: BTreeSet<Uuid> = expired.iter().map(|hold| hold.product_id).collect();
        super::crossings::note(conn, products)?;
        Ok(ids.len())
    })
}

/// What a write of a hold locks besides the hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Locking {
    /// The hold alone: a release or an extension only gives stock back or
    /// keeps it, so it needs no check of `available`, and does not queue
    /// behind the product's sales.
    HoldOnly,
    /// This product first (as every writer of its stock locks it), then
    /// the hold: a new quantity is checked against `available`, and a
    /// commit is a sale.
    ProductFirst(Uuid),
}

/// The product a hold is of (which never changes), read before the
/// transaction that writes the hold.
fn product_of_hold(conn: &mut DbConnection, id: &Uuid) -> Result<Uuid, StoreError> {
    let found = find(conn, id)?.ok_or(StoreError::HoldNotFound(*id))?;
    Ok(found.product_id)
}

/// The hold locked, which must be at `expected` and active now, and its
/// product when `locking` says so.
///
/// The first lock is the transaction's first statement. At `serializable`
/// a transaction sees the database as of its first statement, and one that
/// then waits for a lock on a row another commits a change to is refused;
/// a read before the lock would widen that window for every hold of a
/// busy product.
fn lock_active(
    conn: &mut DbConnection,
    id: &Uuid,
    expected: Precondition,
    locking: Locking,
) -> Result<(Option<Product>, Hold), StoreError> {
    let product = match locking {
        Locking::ProductFirst(product_id) => Some(lock_product(conn, &product_id)?),
        Locking::HoldOnly => None,
    };
    // A request or the sweep may have ended it since it was read.
    let locked = match conn {
        DbConnection::Pg(pg) => holds::table
            .find(id.to_string())
            .select(holds::id)
            .for_update()
            .first::<String>(pg)
            .optional()?,
        DbConnection::Sqlite(_) => Some(id.to_string()),
    };
    let hold = match locked {
        Some(_) => find(conn, id)?.ok_or(StoreError::HoldNotFound(*id))?,
        None => return Err(StoreError::HoldNotFound(*id)),
    };
    // An ended hold says so whatever version was sent: no version of it
    // could be changed now.
    if hold.status != HoldStatus::Active {
        return Err(StoreError::HoldNotActive(Box::new(hold)));
    }
    if hold.version != expected.version {
        return Err(StoreError::StaleHold(Box::new(StaleHold::new(
            expected, hold,
        ))));
    }
    Ok((product, hold))
}

/// The id of the product each line names, by id or by SKU.
fn named_products(conn: &mut DbConnection, lines: &[HoldLine]) -> Result<Vec<Uuid>, StoreError> {
    lines
        .iter()
        .map(|line| match &line.product {
            ProductRef::Id(id) => Ok(*id),
            ProductRef::Sku(sku) => Ok(super::products::find_by_sku(conn, sku)?
                .ok_or_else(|| StoreError::SkuNotFound(sku.clone()))?
                .id),
        })
        .collect()
}

/// The live products, each locked, in id order so that concurrent
/// requests lock them in one order and never deadlock.
fn lock_products(conn: &mut DbConnection, ids: &[Uuid]) -> Result<Vec<Product>, StoreError> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    ids.iter().map(|id| lock_product(conn, id)).collect()
}

/// The locked product a line names.
fn product_of<'a>(products: &'a [Product], named: &ProductRef) -> Result<&'a Product, StoreError> {
    products
        .iter()
        .find(|product| match named {
            ProductRef::Id(id) => product.id == *id,
            ProductRef::Sku(sku) => product.fields.sku.eq_ignore_ascii_case(sku),
        })
        .ok_or_else(|| match named {
            ProductRef::Id(id) => StoreError::ProductNotFound(*id),
            ProductRef::Sku(sku) => StoreError::SkuNotFound(sku.clone()),
        })
}
