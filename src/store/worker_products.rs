//! `products::find_live` and `products::update` on an HTTP worker's own
//! PostgreSQL connection (see `db::WorkerConnections`), with the same
//! answers: a read, a compare-and-swap, and on a lost race the 409 with
//! the history since the client's version. The statements are the same
//! diesel queries; only the connection that runs them differs.

use diesel::{OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::current_since::{
    at_expected, live_with_versions_after, moved_on, unversioned, CurrentSince, CurrentSinceRow,
};
use super::error::StoreError;
use super::levels::{every_location_level, level_of};
use super::live_product::live;
use super::pg_swap::SwapAndRecord;
use super::products::{duplicate_sku, sku_holder, PlannedUpdate};
use super::reserved::{OfLevel, Reserved};
use super::rows::{HistoryRow, ProductRow};
use super::stock_plan::LevelRow;
use crate::db::schema::locations;
use crate::db::{run_again_awaiting, Database, DbError, WorkerConnections};
use crate::domain::conflict::Intent;
use crate::domain::level::Level;
use crate::domain::patch::ProductPatch;
use crate::domain::precondition::Precondition;
use crate::domain::product::Product;

/// The live product with this id, if any: `products::find_live`, on this
/// HTTP worker's own connection on PostgreSQL.
pub async fn find_live(
    db: &Database,
    workers: &WorkerConnections,
    id: Uuid,
) -> Result<Option<Product>, StoreError> {
    match workers.take().await? {
        // Run again as `Database::read` does.
        Some(conn) => run_again_awaiting(|| find_live_on(&conn, &id)).await,
        None => {
            db.read(move |conn| super::products::find_live(conn, &id))
                .await
        }
    }
}

/// `products::update`, on this HTTP worker's own connection on PostgreSQL.
pub async fn update(
    db: &Database,
    workers: &WorkerConnections,
    id: Uuid,
    expected: Option<Precondition>,
    patch: ProductPatch,
    actor: String,
) -> Result<Product, StoreError> {
    match workers.take().await? {
        // Its swap is one statement, a transaction of its own: run again
        // as `single_statement_write` does.
        Some(conn) => run_again_awaiting(|| update_on(&conn, &id, expected, &patch, &actor)).await,
        None => {
            db.write(move |conn| super::products::update(conn, &id, expected, &patch, &actor))
                .await
        }
    }
}

async fn find_live_on(
    mut conn: &AsyncPgConnection,
    id: &Uuid,
) -> Result<Option<Product>, StoreError> {
    live(id.to_string())
        .select(ProductRow::as_select())
        .get_result::<ProductRow>(&mut conn)
        .await
        .optional()?
        .map(ProductRow::into_product)
        .transpose()
}

/// `current_since::find`.
async fn find_current_since(
    mut conn: &AsyncPgConnection,
    id: &Uuid,
    after: i64,
) -> Result<Option<CurrentSince>, StoreError> {
    let rows = live_with_versions_after(id.to_string(), after)
        .select(CurrentSinceRow::as_select())
        .load(&mut conn)
        .await?;
    CurrentSince::from_rows(rows)
}

async fn update_on(
    mut conn: &AsyncPgConnection,
    id: &Uuid,
    expected: Option<Precondition>,
    patch: &ProductPatch,
    actor: &str,
) -> Result<Product, StoreError> {
    let intent = Intent::Update(patch);
    let Some(expected) = expected else {
        return Err(unversioned(id, find_live_on(conn, id).await?));
    };
    let found = find_current_since(conn, id, expected.version).await?;
    let current = at_expected(id, expected, found, intent)?;
    let Some(planned) = PlannedUpdate::new(&current, expected, patch, actor) else {
        return Ok(current);
    };
    let id_text = id.to_string();
    let history = HistoryRow::from_entry(id, &planned.entry)?;
    let swap = SwapAndRecord {
        update: planned.statement(&id_text),
        history: &history,
    };
    match swap.execute(&mut conn).await {
        Ok(1) => Ok(planned.into_product(current)),
        Ok(_) => Err(refused_update(conn, id, expected, intent, planned.sets_stock()).await),
        Err(error) => Err(duplicate_sku_or(conn, error.into(), &planned.wanted.sku).await),
    }
}

/// `products::refused_update`: the product moved on (stale), went away
/// (404), or has stock elsewhere than MAIN while the PATCH sets `stock`.
async fn refused_update(
    conn: &AsyncPgConnection,
    id: &Uuid,
    expected: Precondition,
    intent: Intent<'_>,
    sets_stock: bool,
) -> StoreError {
    let found = match find_current_since(conn, id, expected.version).await {
        Ok(found) => found,
        Err(error) => return error,
    };
    let unmoved = found
        .as_ref()
        .is_some_and(|found| found.current.version == expected.version);
    if sets_stock && unmoved {
        return match levels_of_product(conn, id).await {
            Ok(levels) => StoreError::StockAtSeveralLocations { levels },
            Err(error) => error,
        };
    }
    moved_on(id, expected, found, intent)
}

/// `levels::of_product`, for a product known to be live.
async fn levels_of_product(
    mut conn: &AsyncPgConnection,
    id: &Uuid,
) -> Result<Vec<Level>, StoreError> {
    let rows: Vec<(String, Option<LevelRow>, i64)> = every_location_level(id.to_string())
        .select((
            locations::code,
            Option::<LevelRow>::as_select(),
            Reserved::<OfLevel>::now(),
        ))
        .load(&mut conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(code, row, reserved)| level_of(&code, row, reserved))
        .collect())
}

/// `products::duplicate_sku_or`.
async fn duplicate_sku_or(mut conn: &AsyncPgConnection, error: DbError, sku: &str) -> StoreError {
    if !matches!(error, DbError::UniqueViolation { .. }) {
        return error.into();
    }
    let holder = sku_holder(sku.to_owned())
        .get_result::<String>(&mut conn)
        .await
        .optional();
    match holder {
        Ok(holder) => duplicate_sku(sku, holder),
        Err(error) => error.into(),
    }
}
