//! `products::find_live` and `products::update` on an HTTP worker's own
//! PostgreSQL connection (see `db::WorkerConnections`), with the same
//! answers: a read, a compare-and-swap, and on a lost race the 409 with
//! the history since the client's version.
//!
//! The statements are diesel's own, written out once as SQL text, so both
//! clients send PostgreSQL exactly the same SQL.

use std::sync::LazyLock;

use diesel::pg::{Pg, PgQueryBuilder};
use diesel::query_builder::{QueryBuilder, QueryFragment};
use diesel::{QueryDsl, SelectableHelper};
use tokio_postgres::Row;
use uuid::Uuid;

use super::current_since::{
    at_expected, live_with_versions_after, moved_on, unversioned, CurrentSince, CurrentSinceRow,
};
use super::error::StoreError;
use super::pg_swap::SwapAndRecord;
use super::prepared_swap::SetEveryField;
use super::products::{duplicate_sku, live, sku_holder, PlannedUpdate};
use super::rows::{HistoryRow, ProductRow};
use crate::db::{Database, DbError, WorkerConnection, WorkerConnections};
use crate::domain::conflict::Intent;
use crate::domain::patch::ProductPatch;
use crate::domain::precondition::Precondition;
use crate::domain::product::{Product, ProductFields};

/// A statement's SQL text, written by diesel on first use.
type SqlText = LazyLock<Result<String, String>>;

static FIND_LIVE: SqlText = LazyLock::new(|| {
    pg_sql(&live(String::new()).select(<ProductRow as SelectableHelper<Pg>>::as_select()))
});

static CURRENT_SINCE: SqlText = LazyLock::new(|| {
    pg_sql(
        &live_with_versions_after(String::new(), 0)
            .select(<CurrentSinceRow as SelectableHelper<Pg>>::as_select()),
    )
});

static SKU_HOLDER: SqlText = LazyLock::new(|| pg_sql(&sku_holder(String::new())));

/// `products::swap`'s statement for a PATCH.
static SWAP: SqlText = LazyLock::new(|| with_blank_swap(|swap| pg_sql(swap)));

/// Calls `work` with a PATCH's swap whose values are blank: they only
/// fill binds, and the statement's text does not depend on them.
fn with_blank_swap<T>(work: impl FnOnce(&SwapAndRecord<'_, SetEveryField<'_>>) -> T) -> T {
    let fields = ProductFields::example();
    let history = HistoryRow {
        product_id: String::new(),
        version: 0,
        at: 0,
        actor: String::new(),
        operation: String::new(),
        reason: None,
        changes: String::new(),
    };
    work(&SwapAndRecord {
        update: SetEveryField {
            id: "",
            expected_version: 0,
            fields: &fields,
            version: 0,
            updated_at: 0,
        },
        history: &history,
    })
}

fn pg_sql(query: &impl QueryFragment<Pg>) -> Result<String, String> {
    let mut sql = PgQueryBuilder::default();
    query
        .to_sql(&mut sql, &Pg)
        .map_err(|error| format!("writing a statement's SQL: {error}"))?;
    Ok(sql.finish())
}

fn text(sql: &'static SqlText) -> Result<&'static str, StoreError> {
    sql.as_deref()
        .map_err(|error| StoreError::internal(error.clone()))
}

/// The live product with this id, if any: `products::find_live`, on this
/// HTTP worker's own connection on PostgreSQL.
pub async fn find_live(
    db: &Database,
    workers: &WorkerConnections,
    id: Uuid,
) -> Result<Option<Product>, StoreError> {
    match workers.take().await? {
        Some(conn) => find_live_on(&conn, &id).await,
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
        Some(conn) => update_on(&conn, &id, expected, &patch, &actor).await,
        None => {
            db.write(move |conn| super::products::update(conn, &id, expected, &patch, &actor))
                .await
        }
    }
}

async fn find_live_on(conn: &WorkerConnection, id: &Uuid) -> Result<Option<Product>, StoreError> {
    let row = conn
        .query_opt(text(&FIND_LIVE)?, &[&id.to_string()])
        .await?;
    row.map(|row| ProductRow::from_async_row(&row)?.into_product())
        .transpose()
}

/// `current_since::find`.
async fn find_current_since(
    conn: &WorkerConnection,
    id: &Uuid,
    after: i64,
) -> Result<Option<CurrentSince>, StoreError> {
    // The join's condition comes before the WHERE, so `after` is `$1`.
    let rows = conn
        .query(text(&CURRENT_SINCE)?, &[&after, &id.to_string()])
        .await?;
    let rows = rows
        .iter()
        .map(current_since_row)
        .collect::<Result<Vec<_>, _>>()?;
    CurrentSince::from_rows(rows)
}

async fn update_on(
    conn: &WorkerConnection,
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
    match conn.execute(text(&SWAP)?, &swap.binds()).await {
        Ok(1) => Ok(planned.into_product(current)),
        Ok(_) => Err(lost_race(conn, id, expected, intent).await),
        Err(error) => Err(duplicate_sku_or(conn, error.into(), &planned.wanted.sku).await),
    }
}

/// `products::lost_race`: the product moved on (stale) or went away (404).
async fn lost_race(
    conn: &WorkerConnection,
    id: &Uuid,
    expected: Precondition,
    intent: Intent<'_>,
) -> StoreError {
    match find_current_since(conn, id, expected.version).await {
        Ok(found) => moved_on(id, expected, found, intent),
        Err(error) => error,
    }
}

/// `products::duplicate_sku_or`.
async fn duplicate_sku_or(conn: &WorkerConnection, error: DbError, sku: &str) -> StoreError {
    if !matches!(error, DbError::UniqueViolation { .. }) {
        return error.into();
    }
    let sql = match text(&SKU_HOLDER) {
        Ok(sql) => sql,
        Err(error) => return error,
    };
    let holder = conn
        .query_opt(sql, &[&sku])
        .await
        .and_then(|row| row.map(|row| row.try_get::<_, String>(0)).transpose());
    match holder {
        Ok(holder) => duplicate_sku(sku, holder),
        Err(error) => error.into(),
    }
}

/// A `CURRENT_SINCE` row: the product's columns, then the history's.
fn current_since_row(row: &Row) -> Result<CurrentSinceRow, tokio_postgres::Error> {
    let column = |n: usize| ProductRow::COLUMNS + n;
    // NULL when the product made no version since: the LEFT JOIN found none.
    let history = match row.try_get::<_, Option<String>>(column(0))? {
        None => None,
        Some(product_id) => Some(HistoryRow {
            product_id,
            version: row.try_get(column(1))?,
            at: row.try_get(column(2))?,
            actor: row.try_get(column(3))?,
            operation: row.try_get(column(4))?,
            reason: row.try_get(column(5))?,
            changes: row.try_get(column(6))?,
        }),
    };
    Ok((ProductRow::from_async_row(row)?, history))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `$1` to `$n`, each at least once, and no `$n+1`.
    fn placeholders(sql: &str) -> usize {
        (1..).take_while(|n| sql.contains(&format!("${n}"))).count()
    }

    #[test]
    fn a_patch_sends_one_bind_for_each_placeholder_of_its_statement() {
        let sql = text(&SWAP).unwrap();
        assert!(
            sql.starts_with("WITH swapped AS (UPDATE products SET sku = $1"),
            "{sql}"
        );
        assert_eq!(
            placeholders(sql),
            with_blank_swap(|swap| swap.binds().len())
        );
    }

    /// The columns a statement selects, as diesel writes them.
    fn selected(sql: &str) -> Vec<&str> {
        sql["SELECT ".len()..sql.find(" FROM ").unwrap()]
            .split(", ")
            .collect()
    }

    #[test]
    fn both_reads_select_the_products_columns_first_in_the_order_product_row_takes_them() {
        let in_order = [
            "id",
            "sku",
            "name",
            "description",
            "price_minor",
            "currency",
            "stock",
            "version",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        .map(|column| format!(r#""products"."{column}""#));
        assert_eq!(in_order.len(), ProductRow::COLUMNS);
        for sql in [text(&FIND_LIVE).unwrap(), text(&CURRENT_SINCE).unwrap()] {
            assert_eq!(selected(sql)[..ProductRow::COLUMNS], in_order, "{sql}");
        }
    }

    #[test]
    fn the_read_before_a_patch_selects_the_history_columns_after_the_products() {
        let sql = text(&CURRENT_SINCE).unwrap();
        let columns = selected(sql);
        assert_eq!(columns.len(), ProductRow::COLUMNS + 7, "{sql}");
        assert_eq!(
            columns[ProductRow::COLUMNS],
            r#""product_history"."product_id""#
        );
        assert_eq!(
            columns[ProductRow::COLUMNS + 6],
            r#""product_history"."changes""#
        );
        // `find_current_since` binds `after`, then the id.
        assert!(sql.contains(r#""product_history"."version" > $1"#), "{sql}");
        assert!(sql.contains(r#""products"."id" = $2"#), "{sql}");
    }

    #[test]
    fn reads_take_the_binds_they_are_sent() {
        assert_eq!(placeholders(text(&FIND_LIVE).unwrap()), 1);
        assert_eq!(placeholders(text(&CURRENT_SINCE).unwrap()), 2);
        assert_eq!(placeholders(text(&SKU_HOLDER).unwrap()), 1);
    }
}
