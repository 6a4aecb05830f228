//! Products and their compare-and-swap writes. Every write to an existing
//! product is one conditional `UPDATE ... WHERE id = ? AND version = ?`,
//! never read-then-write: the read before it only builds the answer, and
//! zero rows affected means someone else got there first.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel::query_dsl::methods::ExecuteDsl;
use uuid::Uuid;

use super::current_since::{self, at_expected, moved_on, unversioned};
use super::error::StoreError;
use super::history;
use super::levels::{self, Place};
use super::live_product::live;
use super::pg_swap::SwapAndRecord;
use super::prepared_swap::SetEveryField;
use super::rows::{HistoryRow, ProductRow};
use super::sql::{contains_pattern, lower};
use crate::db::schema::products::dsl;
use crate::db::schema::stock_levels;
use crate::db::{load_natively, single_statement_write, write_transaction, DbConnection, DbError};
use crate::domain::changes::{self, Changes};
use crate::domain::conflict::Intent;
use crate::domain::history::{HistoryEntry, Operation};
use crate::domain::ledger::{LedgerEntry, StockKind};
use crate::domain::level::Level;
use crate::domain::location::{MAIN_CODE, MAIN_ID_TEXT};
use crate::domain::patch::ProductPatch;
use crate::domain::precondition::Precondition;
use crate::domain::product::{Product, ProductFields};
use crate::domain::timestamp;

/// How to narrow a product listing.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Exact SKU, ignoring case.
    pub sku: Option<String>,
    /// Substring of the name or SKU, ignoring case.
    pub text: Option<String>,
    /// Only products with a level below its reorder point.
    pub below_reorder_point: bool,
}

/// Creates a product at version 1 with its first history entry.
pub fn create(
    conn: &mut DbConnection,
    fields: ProductFields,
    actor: &str,
) -> Result<Product, StoreError> {
    let now = timestamp::now();
    let product = Product {
        id: Uuid::now_v7(),
        reserved: 0,
        available: fields.stock,
        fields,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    // Its stock starts at MAIN, as the first version of that level.
    let main = Level {
        on_hand: product.fields.stock,
        available: product.fields.stock,
        version: 1,
        updated_at: Some(now),
        ..Level::empty(MAIN_CODE)
    };
    let entry = HistoryEntry::new(
        1,
        now,
        actor,
        Operation::Create,
        changes::created(&product.fields),
    )
    .with_ledger(LedgerEntry {
        location: MAIN_CODE.to_owned(),
        level_version: Some(1),
        delta: product.fields.stock,
        on_hand: product.fields.stock,
        kind: StockKind::Set,
        reference: None,
    });
    let written = write_transaction(conn, |conn| {
        diesel::insert_into(dsl::products)
            .values(ProductRow::from_product(&product))
            .execute(conn)?;
        // A new product has no level yet: a plain INSERT.
        diesel::insert_into(stock_levels::table)
            .values(levels::level_row(&product.id, &Place::main(), &main))
            .execute(conn)?;
        history::insert(conn, &product.id, &entry)
    });
    match written {
        Ok(()) => Ok(product),
        Err(error) => Err(duplicate_sku_or(conn, error, &product.fields.sku)),
    }
}

/// The live product with this id, if any.
pub fn find_live(conn: &mut DbConnection, id: &Uuid) -> Result<Option<Product>, StoreError> {
    // Every read and write of a product runs this: natively, so that it
    // costs only its binds (see `load_natively`). The id is the primary
    // key, so there is at most one row.
    load_natively::<_, ProductRow>(conn, live(id.to_string()))?
        .pop()
        .map(ProductRow::into_product)
        .transpose()
}

/// The live product with this SKU (ignoring case), if any.
pub fn find_by_sku(conn: &mut DbConnection, sku: &str) -> Result<Option<Product>, StoreError> {
    dsl::products
        .filter(dsl::deleted_at.is_null())
        .filter(lower(dsl::sku).eq(lower(sku.to_owned())))
        .select(ProductRow::as_select())
        .first(conn)
        .optional()?
        .map(ProductRow::into_product)
        .transpose()
}

/// Whether a product with this id was ever created (deleted or not).
pub fn ever_existed(conn: &mut DbConnection, id: &Uuid) -> Result<bool, StoreError> {
    let found = dsl::products
        .filter(dsl::id.eq(id.to_string()))
        .select(dsl::id)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Up to `limit` live products, oldest first, created after `after` when given.
pub fn list(
    conn: &mut DbConnection,
    filter: &ListFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Product>, StoreError> {
    let mut query = dsl::products
        .filter(dsl::deleted_at.is_null())
        .order(dsl::id.asc())
        .limit(limit)
        .select(ProductRow::as_select())
        .into_boxed();
    // UUID v7 strings sort by creation time, so the id is the keyset.
    if let Some(after) = after {
        query = query.filter(dsl::id.gt(after.to_string()));
    }
    if let Some(sku) = &filter.sku {
        query = query.filter(lower(dsl::sku).eq(lower(sku.clone())));
    }
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        query = query.filter(
            lower(dsl::name)
                .like(lower(pattern.clone()))
                .escape('\\')
                .or(lower(dsl::sku).like(lower(pattern)).escape('\\')),
        );
    }
    if filter.below_reorder_point {
        // `low` as the last change or expiry left it (see `reorder`).
        query = query.filter(diesel::dsl::exists(
            stock_levels::table
                .filter(stock_levels::product_id.eq(dsl::id))
                .filter(stock_levels::low),
        ));
    }
    let rows = query.load(conn)?;
    rows.into_iter().map(ProductRow::into_product).collect()
}

/// Applies `patch` if the product is still at the expected version. A patch
/// that changes nothing is answered with the product as it is, at the same
/// version.
pub fn update(
    conn: &mut DbConnection,
    id: &Uuid,
    expected: Option<Precondition>,
    patch: &ProductPatch,
    actor: &str,
) -> Result<Product, StoreError> {
    let intent = Intent::Update(patch);
    let (current, expected) = current_at(conn, id, expected, intent)?;
    let Some(planned) = PlannedUpdate::new(&current, expected, patch, actor) else {
        return Ok(current);
    };
    let id_text = id.to_string();
    match swap(conn, id, &planned.entry, planned.statement(&id_text)) {
        Ok(true) => Ok(planned.into_product(current)),
        Ok(false) => Err(refused_update(conn, id, expected, intent, &planned)),
        Err(error) => Err(duplicate_sku_or(conn, error, &planned.wanted.sku)),
    }
}

/// Why a PATCH's swap matched no row: the product moved on (409), went
/// away (404), or, still at the version sent, has stock elsewhere than MAIN
/// while the PATCH sets `stock`.
fn refused_update(
    conn: &mut DbConnection,
    id: &Uuid,
    expected: Precondition,
    intent: Intent<'_>,
    planned: &PlannedUpdate,
) -> StoreError {
    let found = match current_since::find(conn, id, expected.version) {
        Ok(found) => found,
        Err(error) => return error,
    };
    let unmoved = found
        .as_ref()
        .is_some_and(|found| found.current.version == expected.version);
    if planned.sets_stock() && unmoved {
        return match levels::of_product(conn, id) {
            Ok(levels) => StoreError::StockAtSeveralLocations { levels },
            Err(error) => error,
        };
    }
    moved_on(id, expected, found, intent)
}

/// What a PATCH of the product at its current, expected version makes.
pub(super) struct PlannedUpdate {
    pub wanted: ProductFields,
    pub entry: HistoryEntry,
    expected_version: i64,
}

impl PlannedUpdate {
    /// `None` when the patch changes nothing.
    pub fn new(
        current: &Product,
        expected: Precondition,
        patch: &ProductPatch,
        actor: &str,
    ) -> Option<PlannedUpdate> {
        let wanted = patch.apply_to(&current.fields);
        let changes = changes::between(&current.fields, &wanted);
        if changes.is_empty() {
            return None;
        }
        let mut entry = HistoryEntry::new(
            expected.version + 1,
            timestamp::now(),
            actor,
            Operation::Update,
            changes,
        );
        if wanted.stock != current.fields.stock {
            // Setting the stock sets MAIN's level; the swap records the
            // level's version it makes.
            entry = entry.with_ledger(LedgerEntry {
                location: MAIN_CODE.to_owned(),
                level_version: None,
                delta: wanted.stock - current.fields.stock,
                on_hand: wanted.stock,
                kind: StockKind::Set,
                reference: None,
            });
        }
        Some(PlannedUpdate {
            wanted,
            entry,
            expected_version: expected.version,
        })
    }

    /// The compare-and-swap that makes it (see `swap`).
    pub fn statement<'a>(&'a self, id_text: &'a str) -> SetEveryField<'a> {
        SetEveryField {
            id: id_text,
            expected_version: self.expected_version,
            fields: &self.wanted,
            version: self.entry.version,
            updated_at: timestamp::to_micros(self.entry.at),
            only_at_main: self.sets_stock(),
        }
    }

    /// Whether it changes `stock`, and so MAIN's level.
    pub fn sets_stock(&self) -> bool {
        self.entry.ledger.is_some()
    }

    /// The product once it is made.
    pub fn into_product(self, current: Product) -> Product {
        Product {
            // Holds are not versions of the product: they stay as read.
            available: self.wanted.stock - current.reserved,
            fields: self.wanted,
            version: self.entry.version,
            updated_at: self.entry.at,
            ..current
        }
    }
}

/// Deletes the product if it is still at the expected version. The delete
/// is a version of its own, so the history shows who deleted it and when.
pub fn delete(
    conn: &mut DbConnection,
    id: &Uuid,
    expected: Option<Precondition>,
    actor: &str,
) -> Result<(), StoreError> {
    let (_, expected) = current_at(conn, id, expected, Intent::Delete)?;
    let now = timestamp::now();
    let entry = HistoryEntry::new(
        expected.version + 1,
        now,
        actor,
        Operation::Delete,
        Changes::new(),
    );
    let micros = timestamp::to_micros(now);
    let update = diesel::update(live_at_version(id.to_string(), expected.version)).set((
        dsl::deleted_at.eq(micros),
        dsl::version.eq(entry.version),
        dsl::updated_at.eq(micros),
    ));
    let swapped = swap(conn, id, &entry, update)?;
    if swapped {
        Ok(())
    } else {
        Err(lost_race(conn, id, expected, Intent::Delete))
    }
}

/// The live product with this id, provided the write names its current
/// version. Existence is checked first: a deleted product answers 404 to
/// every write, with or without a version.
fn current_at(
    conn: &mut DbConnection,
    id: &Uuid,
    expected: Option<Precondition>,
    intent: Intent<'_>,
) -> Result<(Product, Precondition), StoreError> {
    let Some(expected) = expected else {
        return Err(unversioned(id, find_live(conn, id)?));
    };
    let found = current_since::find(conn, id, expected.version)?;
    Ok((at_expected(id, expected, found, intent)?, expected))
}

/// The row a compare-and-swap may change: this product, live, at this version.
#[diesel::dsl::auto_type]
fn live_at_version(id: String, version: i64) -> _ {
    dsl::products
        .filter(dsl::id.eq(id))
        .filter(dsl::version.eq(version))
        .filter(dsl::deleted_at.is_null())
}

/// Runs a compare-and-swap `update` (which must target `live_at_version`)
/// and records the version it made, atomically: on PostgreSQL as one
/// statement, on SQLite in one transaction. An entry with a ledger (a
/// PATCH of `stock`) also sets MAIN's level to the new stock. `Ok(false)`
/// when no row matched: someone else changed or deleted the product first.
fn swap<U>(
    conn: &mut DbConnection,
    id: &Uuid,
    entry: &HistoryEntry,
    update: U,
) -> Result<bool, StoreError>
where
    // Cloned for each attempt: the database may ask for the swap again.
    U: QueryFragment<Pg> + ExecuteDsl<SqliteConnection> + Clone,
{
    single_statement_write(conn, |conn| match conn {
        DbConnection::Pg(pg) => {
            let history = HistoryRow::from_entry(id, entry)?;
            let recorded = SwapAndRecord {
                update: update.clone(),
                history: &history,
            };
            Ok(recorded.execute(pg)? == 1)
        }
        DbConnection::Sqlite(sqlite) => {
            let swapped = ExecuteDsl::execute(update.clone(), sqlite)? == 1;
            if !swapped {
                return Ok(false);
            }
            let mut entry = entry.clone();
            if let Some(ledger) = entry.ledger.as_mut() {
                let level = set_main_level(sqlite, id, ledger.on_hand, entry.at)?;
                ledger.level_version = Some(level);
            }
            history::insert(conn, id, &entry)?;
            Ok(true)
        }
    })
}

/// Sets the product's level at MAIN (made at version 1 if it has none) on
/// SQLite; the level's new version. PostgreSQL does the same inside the
/// swap's statement (`SwapAndRecord`).
fn set_main_level(
    sqlite: &mut SqliteConnection,
    id: &Uuid,
    on_hand: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<i64, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Written {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        version: i64,
    }
    let written: Written = diesel::sql_query(
        "INSERT INTO stock_levels (product_id, location_id, on_hand, version, updated_at) \
         VALUES (?, ?, ?, 1, ?) ON CONFLICT (product_id, location_id) DO UPDATE SET \
         on_hand = excluded.on_hand, version = stock_levels.version + 1, \
         updated_at = excluded.updated_at RETURNING version",
    )
    .bind::<diesel::sql_types::Text, _>(id.to_string())
    .bind::<diesel::sql_types::Text, _>(MAIN_ID_TEXT)
    .bind::<diesel::sql_types::BigInt, _>(on_hand)
    .bind::<diesel::sql_types::BigInt, _>(timestamp::to_micros(at))
    .get_result(sqlite)?;
    Ok(written.version)
}

/// The answer to a write whose compare-and-swap matched no row: the
/// product moved on (stale) or went away (404) since it was read.
fn lost_race(
    conn: &mut DbConnection,
    id: &Uuid,
    expected: Precondition,
    intent: Intent<'_>,
) -> StoreError {
    match current_since::find(conn, id, expected.version) {
        Ok(found) => moved_on(id, expected, found, intent),
        Err(error) => error,
    }
}

/// Turns a unique violation into a 409 naming the product that holds the
/// SKU: of a product's unique indexes, only the live-SKU one can refuse a
/// write (ids are new UUIDs). Every other error passes through.
fn duplicate_sku_or(conn: &mut DbConnection, error: StoreError, sku: &str) -> StoreError {
    if !matches!(error, StoreError::Database(DbError::UniqueViolation { .. })) {
        return error;
    }
    match sku_holder(sku.to_owned()).first::<String>(conn).optional() {
        Ok(holder) => duplicate_sku(sku, holder),
        Err(error) => error.into(),
    }
}

/// The id of the live product that holds this SKU (there is at most one).
#[diesel::dsl::auto_type]
pub(super) fn sku_holder(sku: String) -> _ {
    dsl::products
        .filter(dsl::deleted_at.is_null())
        .filter(lower(dsl::sku).eq(lower(sku)))
        .select(dsl::id)
}

/// The 409 for a new SKU that `holder` has.
pub(super) fn duplicate_sku(sku: &str, holder: Option<String>) -> StoreError {
    match holder {
        Some(id) => match Uuid::parse_str(&id) {
            Ok(existing_id) => StoreError::DuplicateSku {
                sku: sku.to_owned(),
                existing_id,
            },
            Err(error) => StoreError::internal(error),
        },
        // The holder was deleted since the clash: the SKU is free again.
        None => StoreError::Contended("The SKU was just freed; retry the request."),
    }
}
