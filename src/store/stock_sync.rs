//! A batch of stock counts by SKU, applied in one transaction with
//! set-based SQL: one SELECT for the products, one UPDATE for every changed
//! stock, one INSERT for their history.

use std::collections::HashMap;

use diesel::prelude::*;

use super::error::StoreError;
use super::pg_arrays;
use super::rows::{HistoryRow, ProductRow};
use super::sql::lower;
use crate::db::schema::{product_history, products::dsl};
use crate::db::{write_transaction, DbConnection};
use crate::domain::changes;
use crate::domain::history::{HistoryEntry, Operation};
use crate::domain::product::Product;
use crate::domain::stock::{
    StockSync, SyncItem, SyncItemResult, SyncMode, SyncOutcome, SyncPrecondition, SyncStatus,
};
use crate::domain::timestamp;

/// Applies the batch: every applicable item in best-effort mode, all or
/// nothing in atomic mode (a failed atomic batch is a `StockSyncConflict`
/// and its transaction is rolled back).
pub fn sync(
    conn: &mut DbConnection,
    batch: &StockSync,
    actor: &str,
) -> Result<SyncOutcome, StoreError> {
    write_transaction(conn, |conn| {
        let products = lock_products(conn, &batch.items)?;
        let now = timestamp::now();
        let mut results = Vec::with_capacity(batch.items.len());
        let mut updates = Vec::new();
        for item in &batch.items {
            let product = products.get(&item.sku.to_ascii_lowercase());
            let (result, update) = decide(item, product);
            results.push(result);
            updates.extend(update);
        }
        let outcome = SyncOutcome::new(results);
        if batch.mode == SyncMode::Atomic && outcome.has_failures() {
            return Err(StoreError::StockSyncConflict(Box::new(
                outcome.not_applied(),
            )));
        }
        write_stock(conn, &updates, now)?;
        let history: Vec<HistoryRow> = updates
            .iter()
            .map(|(product, stock)| history_row(product, *stock, now, actor, batch.reason.clone()))
            .collect::<Result<_, _>>()?;
        if !history.is_empty() {
            match conn {
                DbConnection::Pg(pg) => pg_arrays::insert_history(pg, &history)?,
                // Batch INSERT is backend-specific in diesel.
                DbConnection::Sqlite(sqlite) => diesel::insert_into(product_history::table)
                    .values(&history)
                    .execute(sqlite)?,
            };
            let versions: Vec<(String, i64)> = history
                .into_iter()
                .map(|row| (row.product_id, row.version))
                .collect();
            super::events::record(conn, &versions)?;
        }
        Ok(outcome)
    })
}

/// The live products the items name, by lower-case SKU. On PostgreSQL the
/// rows are locked (in id order, so concurrent batches cannot deadlock) until
/// the transaction ends; SQLite's write transaction already excludes every
/// other writer.
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

/// The item's result, and the stock to write when it changes anything.
fn decide(item: &SyncItem, product: Option<&Product>) -> (SyncItemResult, Option<(Product, i64)>) {
    let Some(product) = product else {
        return (SyncItemResult::new(&item.sku, SyncStatus::NotFound), None);
    };
    let mut result = SyncItemResult::new(&item.sku, SyncStatus::Unchanged);
    result.product_id = Some(product.id);
    if let SyncPrecondition::Version(version) = item.precondition {
        if version != product.version {
            result.status = SyncStatus::Conflict;
            result.current_version = Some(product.version);
            result.current = Some(product.clone());
            return (result, None);
        }
    }
    if product.fields.stock == item.stock {
        result.version = Some(product.version);
        result.stock = Some(product.fields.stock);
        return (result, None);
    }
    result.status = SyncStatus::Updated;
    result.version = Some(product.version + 1);
    result.stock = Some(item.stock);
    (result, Some((product.clone(), item.stock)))
}

/// One UPDATE for every changed stock, joined to the batch on the primary
/// key (a `CASE id WHEN ..` would compare every row with every item).
fn write_stock(
    conn: &mut DbConnection,
    updates: &[(Product, i64)],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    if updates.is_empty() {
        return Ok(());
    }
    let updated_at = timestamp::to_micros(now);
    let updated = match conn {
        DbConnection::Pg(pg) => {
            let ids: Vec<String> = updates
                .iter()
                .map(|(product, _)| product.id.to_string())
                .collect();
            let stocks: Vec<i64> = updates.iter().map(|(_, stock)| *stock).collect();
            pg_arrays::update_stocks(pg, &ids, &stocks, updated_at)?
        }
        // SQLite has no arrays. The values are written into the SQL text
        // rather than bound, because the number of binds would vary with
        // the batch; that is safe only because every value is a
        // server-formatted UUID or an integer.
        DbConnection::Sqlite(sqlite) => {
            let values: Vec<String> = updates
                .iter()
                .map(|(product, stock)| format!("('{}', {stock})", product.id))
                .collect();
            let sql = format!(
                "UPDATE products SET stock = batch.stock, version = version + 1, updated_at = {updated_at} \
                 FROM (SELECT column1 AS id, column2 AS stock FROM (VALUES {}) AS v) AS batch \
                 WHERE products.id = batch.id AND products.deleted_at IS NULL",
                values.join(", ")
            );
            diesel::sql_query(sql).execute(sqlite)?
        }
    };
    if updated != updates.len() {
        // The rows were locked when read; anything else is a bug.
        return Err(StoreError::internal(format!(
            "stock sync updated {updated} of {} rows",
            updates.len()
        )));
    }
    Ok(())
}

fn history_row(
    product: &Product,
    stock: i64,
    at: chrono::DateTime<chrono::Utc>,
    actor: &str,
    reason: Option<String>,
) -> Result<HistoryRow, StoreError> {
    let changes = changes::stock(product.fields.stock, stock);
    let entry = HistoryEntry::new(
        product.version + 1,
        at,
        actor,
        Operation::StockSync,
        changes,
    )
    .with_reason(reason);
    HistoryRow::from_entry(&product.id, &entry)
}
