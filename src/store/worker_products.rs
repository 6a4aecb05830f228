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
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;
use uuid::Uuid;

use super::history::versions_between;
use super::pg_swap::SwapAndRecord;
use super::prepared_swap::SetEveryField;
use super::products::{
    duplicate_sku, is_sku_clash, live, sku_holder, stale_version, PlannedUpdate,
};
use super::rows::{HistoryRow, ProductRow};
use crate::db::WorkerConnection;
use crate::domain::conflict::Intent;
use crate::domain::history::HistoryEntry;
use crate::domain::patch::ProductPatch;
use crate::domain::precondition::Precondition;
use crate::domain::product::{Product, ProductFields};
use crate::error::ApiError;

/// A statement's SQL text, written by diesel on first use.
type SqlText = LazyLock<Result<String, String>>;

static FIND_LIVE: SqlText = LazyLock::new(|| {
    pg_sql(&live(String::new()).select(<ProductRow as SelectableHelper<Pg>>::as_select()))
});

static VERSIONS_BETWEEN: SqlText = LazyLock::new(|| {
    pg_sql(
        &versions_between(String::new(), 0, 0)
            .select(<HistoryRow as SelectableHelper<Pg>>::as_select()),
    )
});

static SKU_HOLDER: SqlText = LazyLock::new(|| pg_sql(&sku_holder(String::new())));

/// `products::swap`'s statement for a PATCH.
static SWAP: SqlText = LazyLock::new(|| with_blank_swap(|swap| pg_sql(swap)));

/// Calls `work` with a PATCH's swap whose values are blank: they only
/// fill binds, and the statement's text does not depend on them.
fn with_blank_swap<T>(work: impl FnOnce(&SwapAndRecord<'_, SetEveryField<'_>>) -> T) -> T {
    let fields = ProductFields {
        sku: String::new(),
        name: String::new(),
        description: String::new(),
        price_minor: 0,
        currency: String::new(),
        stock: 0,
    };
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

fn text(sql: &'static SqlText) -> Result<&'static str, ApiError> {
    sql.as_deref()
        .map_err(|error| ApiError::internal(error.clone()))
}

/// The live product with this id, if any.
pub async fn find_live(conn: &WorkerConnection, id: &Uuid) -> Result<Option<Product>, ApiError> {
    let row = conn
        .query_opt(text(&FIND_LIVE)?, &[&id.to_string()])
        .await?;
    row.map(|row| product_row(&row)?.into_product()).transpose()
}

/// `products::update`: applies `patch` if the product is still at the
/// expected version.
pub async fn update(
    conn: &WorkerConnection,
    id: &Uuid,
    expected: Option<Precondition>,
    patch: &ProductPatch,
    actor: &str,
) -> Result<Product, ApiError> {
    let intent = Intent::Update(patch);
    let current = find_live(conn, id)
        .await?
        .ok_or_else(|| ApiError::product_not_found(id))?;
    let expected = expected.ok_or_else(ApiError::version_required)?;
    if current.version != expected.version {
        return Err(stale(conn, expected, current, intent).await);
    }
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
        Err(error) => Err(duplicate_sku_or(conn, error, &planned.wanted.sku).await),
    }
}

/// `products::lost_race`: the product moved on (stale) or went away (404).
async fn lost_race(
    conn: &WorkerConnection,
    id: &Uuid,
    expected: Precondition,
    intent: Intent<'_>,
) -> ApiError {
    match find_live(conn, id).await {
        Ok(Some(current)) => stale(conn, expected, current, intent).await,
        Ok(None) => ApiError::product_not_found(id),
        Err(error) => error,
    }
}

/// `products::stale`: the 409 (or 412), with the history since `expected`.
async fn stale(
    conn: &WorkerConnection,
    expected: Precondition,
    current: Product,
    intent: Intent<'_>,
) -> ApiError {
    let changes_since = between(conn, &current.id, expected.version, current.version).await;
    stale_version(expected, current, changes_since, intent)
}

/// `history::between`.
async fn between(
    conn: &WorkerConnection,
    product_id: &Uuid,
    after: i64,
    through: i64,
) -> Result<Vec<HistoryEntry>, ApiError> {
    let rows = conn
        .query(
            text(&VERSIONS_BETWEEN)?,
            &[&product_id.to_string(), &after, &through],
        )
        .await?;
    rows.iter()
        .map(|row| history_row(row)?.into_entry())
        .collect()
}

/// `products::duplicate_sku_or`.
async fn duplicate_sku_or(
    conn: &WorkerConnection,
    error: tokio_postgres::Error,
    sku: &str,
) -> ApiError {
    let clashed = error.as_db_error().is_some_and(|cause| {
        *cause.code() == SqlState::UNIQUE_VIOLATION
            && is_sku_clash(cause.constraint(), cause.message())
    });
    if !clashed {
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

fn product_row(row: &Row) -> Result<ProductRow, tokio_postgres::Error> {
    Ok(ProductRow {
        id: row.try_get("id")?,
        sku: row.try_get("sku")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        price_minor: row.try_get("price_minor")?,
        currency: row.try_get("currency")?,
        stock: row.try_get("stock")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}

fn history_row(row: &Row) -> Result<HistoryRow, tokio_postgres::Error> {
    Ok(HistoryRow {
        product_id: row.try_get("product_id")?,
        version: row.try_get("version")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        operation: row.try_get("operation")?,
        reason: row.try_get("reason")?,
        changes: row.try_get("changes")?,
    })
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

    #[test]
    fn reads_take_the_binds_they_are_sent() {
        assert_eq!(placeholders(text(&FIND_LIVE).unwrap()), 1);
        assert_eq!(placeholders(text(&VERSIONS_BETWEEN).unwrap()), 3);
        assert_eq!(placeholders(text(&SKU_HOLDER).unwrap()), 1);
    }
}
