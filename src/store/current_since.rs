//! The read before a versioned write: the live product together with every
//! version it made after the one the write is based on, in one statement.
//! The same rows answer the write that may go ahead (none are newer) and
//! the 409 that carries `changes_since`, so a stale write costs no second
//! read.

use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use super::rows::{HistoryRow, ProductRow};
use crate::db::schema::{product_history, products};
use crate::db::{load_natively, DbConnection};
use crate::domain::conflict::{Intent, StaleVersion};
use crate::domain::history::HistoryEntry;
use crate::domain::precondition::Precondition;
use crate::domain::product::Product;

/// One row of `live_with_versions_after`: the product, and one newer
/// version of it (`None` when it made none).
pub(super) type CurrentSinceRow = (ProductRow, Option<HistoryRow>);

/// The product with this id, unless deleted, joined to each of its
/// versions after `after`, oldest first. The versions are bounded by the
/// product's own, which the same snapshot read: none is missing from
/// `current` that `changes_since` shows.
#[diesel::dsl::auto_type]
pub(super) fn live_with_versions_after(id: String, after: i64) -> _ {
    products::table
        .left_join(
            product_history::table.on(product_history::product_id
                .eq(products::id)
                .and(product_history::version.gt(after))
                .and(product_history::version.le(products::version))),
        )
        .filter(products::id.eq(id))
        .filter(products::deleted_at.is_null())
        .order(product_history::version.asc())
}

/// The live product, and what changed since a write's expected version.
pub(super) struct CurrentSince {
    pub current: Product,
    pub changes_since: Vec<HistoryEntry>,
}

/// The live product with this id and its versions after `after`, if it is live.
pub(super) fn find(
    conn: &mut DbConnection,
    id: &Uuid,
    after: i64,
) -> Result<Option<CurrentSince>, StoreError> {
    let rows =
        load_natively::<_, CurrentSinceRow>(conn, live_with_versions_after(id.to_string(), after))?;
    CurrentSince::from_rows(rows)
}

impl CurrentSince {
    /// `None` when there are no rows: no live product has the id.
    pub fn from_rows(rows: Vec<CurrentSinceRow>) -> Result<Option<CurrentSince>, StoreError> {
        let mut rows = rows.into_iter();
        let Some((product, first)) = rows.next() else {
            return Ok(None);
        };
        let changes_since = first
            .into_iter()
            .chain(rows.filter_map(|(_, newer)| newer))
            .map(HistoryRow::into_entry)
            .collect::<Result<_, _>>()?;
        Ok(Some(CurrentSince {
            current: product.into_product()?,
            changes_since,
        }))
    }

    /// The 409 (or 412) for a write based on `expected`.
    pub fn stale(self, expected: Precondition, intent: Intent<'_>) -> StoreError {
        StoreError::Stale(Box::new(StaleVersion::new(
            expected,
            self.current,
            self.changes_since,
            intent,
        )))
    }
}

/// The product a write based on `expected` may change: it must be live
/// (404) and still at that version (409 or 412).
pub(super) fn at_expected(
    id: &Uuid,
    expected: Precondition,
    found: Option<CurrentSince>,
    intent: Intent<'_>,
) -> Result<Product, StoreError> {
    let found = found.ok_or_else(|| StoreError::ProductNotFound(*id))?;
    if found.current.version != expected.version {
        return Err(found.stale(expected, intent));
    }
    Ok(found.current)
}

/// The answer to a write whose compare-and-swap matched no row, from a
/// read after it: the product moved on (stale) or went away (404).
pub(super) fn moved_on(
    id: &Uuid,
    expected: Precondition,
    found: Option<CurrentSince>,
    intent: Intent<'_>,
) -> StoreError {
    match found {
        Some(found) => found.stale(expected, intent),
        None => StoreError::ProductNotFound(*id),
    }
}

/// The answer to a write that names no version: a deleted product is 404
/// with or without one, so existence is checked first.
pub(super) fn unversioned(id: &Uuid, found: Option<Product>) -> StoreError {
    match found {
        Some(_) => StoreError::VersionRequired,
        None => StoreError::ProductNotFound(*id),
    }
}
