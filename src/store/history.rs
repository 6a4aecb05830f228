use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use super::rows::HistoryRow;
use crate::db::schema::product_history::dsl;
use crate::db::DbConnection;
use crate::domain::history::HistoryEntry;

/// Records one version, and numbers it in the feed of changes. Called
/// inside the transaction of the write that made the version, so history,
/// feed and product never disagree.
pub fn insert(
    conn: &mut DbConnection,
    product_id: &Uuid,
    entry: &HistoryEntry,
) -> Result<(), StoreError> {
    let row = HistoryRow::from_entry(product_id, entry)?;
    diesel::insert_into(dsl::product_history)
        .values(&row)
        .execute(conn)?;
    super::events::record(conn, &[(row.product_id, row.version)])
}

/// Up to `limit` versions, newest first, older than `before_version` when given.
pub fn page(
    conn: &mut DbConnection,
    product_id: &Uuid,
    before_version: Option<i64>,
    limit: i64,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let mut query = dsl::product_history
        .filter(dsl::product_id.eq(product_id.to_string()))
        .order(dsl::version.desc())
        .limit(limit)
        .select(HistoryRow::as_select())
        .into_boxed();
    if let Some(before) = before_version {
        query = query.filter(dsl::version.lt(before));
    }
    query
        .load(conn)?
        .into_iter()
        .map(HistoryRow::into_entry)
        .collect()
}
