//! Stock adjustments: a signed delta applied by one guarded UPDATE, so
//! concurrent adjustments commute and none is lost, and stock never leaves
//! 0 ..= 1,000,000,000.

use diesel::prelude::*;
use uuid::Uuid;

use super::current_since::{self, at_expected};
use super::error::StoreError;
use super::history;
use super::products::find_live;
use super::rows::ProductRow;
use crate::db::schema::products::{self, dsl};
use crate::db::{write_transaction, DbConnection};
use crate::domain::changes;
use crate::domain::conflict::Intent;
use crate::domain::fields::STOCK_MAX;
use crate::domain::history::{HistoryEntry, Operation};
use crate::domain::product::Product;
use crate::domain::stock::StockAdjustment;
use crate::domain::timestamp;

/// Adds the adjustment's delta to the product's stock.
///
/// `UPDATE products SET stock = stock + d, version = version + 1 WHERE id = ?
/// AND stock + d BETWEEN 0 AND max [AND version = ?]`: the database checks the
/// bounds on the row as it is at that instant. When no row matched, the row
/// is read to tell which rule refused it; if none did (the stock moved into
/// range meanwhile), the UPDATE is tried again.
pub fn adjust(
    conn: &mut DbConnection,
    id: &Uuid,
    adjustment: &StockAdjustment,
    actor: &str,
) -> Result<Product, StoreError> {
    const ATTEMPTS: usize = 3;
    for _ in 0..ATTEMPTS {
        if let Some(product) = try_adjust(conn, id, adjustment, actor)? {
            return Ok(product);
        }
        refusal(conn, id, adjustment)?;
    }
    Err(StoreError::Contended(
        "The product's stock is changing too fast. Retry shortly.",
    ))
}

/// The adjusted product, or `None` when the guarded UPDATE matched no row.
fn try_adjust(
    conn: &mut DbConnection,
    id: &Uuid,
    adjustment: &StockAdjustment,
    actor: &str,
) -> Result<Option<Product>, StoreError> {
    let delta = adjustment.delta;
    let now = timestamp::now();
    write_transaction(conn, |conn| {
        let target = dsl::products
            .filter(dsl::id.eq(id.to_string()))
            .filter(dsl::deleted_at.is_null())
            .filter((dsl::stock + delta).between(0, STOCK_MAX));
        let changes = (
            dsl::stock.eq(dsl::stock + delta),
            dsl::version.eq(dsl::version + 1),
            dsl::updated_at.eq(timestamp::to_micros(now)),
        );
        // The row as this UPDATE wrote it, returned by the UPDATE itself:
        // no second statement to read it back. diesel's connection over both
        // backends returns columns, not a `Selectable`, so `ProductRow` is
        // read by position: its fields are in the table's order.
        let written = products::all_columns;
        let updated = match adjustment.expected.map(|expected| expected.version) {
            Some(version) => diesel::update(target.filter(dsl::version.eq(version)))
                .set(changes)
                .returning(written)
                .get_result::<ProductRow>(conn),
            None => diesel::update(target)
                .set(changes)
                .returning(written)
                .get_result::<ProductRow>(conn),
        };
        let Some(product) = updated
            .optional()?
            .map(ProductRow::into_product)
            .transpose()?
        else {
            return Ok(None);
        };
        let changes = changes::stock(product.fields.stock - delta, product.fields.stock);
        let entry = HistoryEntry::new(
            product.version,
            now,
            actor,
            Operation::StockAdjustment,
            changes,
        )
        .with_reason(Some(adjustment.reason.clone()));
        history::insert(conn, id, &entry)?;
        Ok(Some(product))
    })
}

/// Why the guarded UPDATE matched no row, as the error to answer; `Ok`
/// when the product now passes every rule (it changed meanwhile).
fn refusal(
    conn: &mut DbConnection,
    id: &Uuid,
    adjustment: &StockAdjustment,
) -> Result<(), StoreError> {
    let current = match adjustment.expected {
        Some(expected) => {
            let found = current_since::find(conn, id, expected.version)?;
            at_expected(id, expected, found, Intent::AdjustStock)?
        }
        None => find_live(conn, id)?.ok_or_else(|| StoreError::ProductNotFound(*id))?,
    };
    let wanted = current.fields.stock + adjustment.delta;
    if wanted < 0 {
        return Err(StoreError::InsufficientStock {
            delta: adjustment.delta,
            current: Box::new(current),
        });
    }
    if wanted > STOCK_MAX {
        return Err(StoreError::StockAboveMaximum {
            current_stock: current.fields.stock,
            wanted,
        });
    }
    Ok(())
}
