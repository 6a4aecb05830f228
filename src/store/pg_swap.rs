//! On PostgreSQL, a compare-and-swap and the record of the version it made
//! (history and feed) as one statement.
//!
//! As a transaction (BEGIN, the UPDATE, two INSERTs, COMMIT) the swap
//! holds the product's row lock across three round trips to the database
//! after the UPDATE's own, and every other writer of that product waits on
//! them. Chained by data-modifying CTEs, each INSERT takes its row from the
//! one before, so nothing is recorded unless the swap matched; and one
//! statement is atomic by itself, so it needs no BEGIN or COMMIT of its own.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

use super::rows::HistoryRow;
use crate::domain::location::MAIN_ID_TEXT;

/// `WITH swapped AS (<update> RETURNING 1), recorded AS (INSERT INTO
/// product_history ... FROM swapped RETURNING ...) INSERT INTO
/// product_events ... FROM recorded`. Executed, it changes one feed row when
/// the swap matched and none when it did not. When the history row is a
/// ledger entry (a PATCH of `stock`), MAIN's level is written between the
/// swap and the history (`levelled`), which records the level's version.
pub struct SwapAndRecord<'a, U> {
    /// `UPDATE products ... WHERE` the product is live at the expected
    /// version (`products::live_at_version`), without RETURNING.
    pub update: U,
    /// The version the update makes, as history records it.
    pub history: &'a HistoryRow,
}

impl<U: QueryFragment<Pg>> QueryFragment<Pg> for SwapAndRecord<'_, U> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let history = self.history;
        out.push_sql("WITH swapped AS (");
        self.update.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING 1), ");
        let level = match (
            &history.on_hand,
            &history.delta,
            &history.location,
            &history.kind,
        ) {
            (Some(on_hand), Some(delta), Some(location), Some(kind)) => {
                Some((on_hand, delta, location, kind))
            }
            _ => None,
        };
        if let Some((on_hand, _, _, _)) = level {
            // MAIN's level: made at version 1 if the product has none yet.
            out.push_sql(
                "levelled AS (INSERT INTO stock_levels \
                 (product_id, location_id, on_hand, version, updated_at) SELECT ",
            );
            out.push_bind_param::<Text, str>(&history.product_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(MAIN_ID_TEXT)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, i64>(on_hand)?;
            out.push_sql(", 1, ");
            out.push_bind_param::<BigInt, i64>(&history.at)?;
            out.push_sql(
                " FROM swapped ON CONFLICT (product_id, location_id) DO UPDATE SET \
                 on_hand = excluded.on_hand, version = stock_levels.version + 1, \
                 updated_at = excluded.updated_at RETURNING version), ",
            );
        }
        out.push_sql(
            "recorded AS (INSERT INTO product_history \
             (product_id, version, at, actor, operation, reason, changes",
        );
        if level.is_some() {
            out.push_sql(", location, delta, on_hand, kind, level_version");
        }
        out.push_sql(") SELECT ");
        out.push_bind_param::<Text, str>(&history.product_id)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, i64>(&history.version)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, i64>(&history.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(&history.actor)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(&history.operation)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, Option<String>>(&history.reason)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(&history.changes)?;
        match level {
            Some((on_hand, delta, location, kind)) => {
                out.push_sql(", ");
                out.push_bind_param::<Text, str>(location)?;
                out.push_sql(", ");
                out.push_bind_param::<BigInt, i64>(delta)?;
                out.push_sql(", ");
                out.push_bind_param::<BigInt, i64>(on_hand)?;
                out.push_sql(", ");
                out.push_bind_param::<Text, str>(kind)?;
                out.push_sql(", version FROM levelled");
            }
            None => out.push_sql(" FROM swapped"),
        }
        // Left unnumbered, as `events::record` leaves every feed row on
        // PostgreSQL: readers number them once committed.
        out.push_sql(
            " RETURNING product_id, version) \
             INSERT INTO product_events (product_id, version) \
             SELECT product_id, version FROM recorded",
        );
        Ok(())
    }
}

/// No static id: diesel then keys its cache of prepared statements by the
/// SQL text, which for a PATCH (`SetEveryField`) is always the same.
impl<U> QueryId for SwapAndRecord<'_, U> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<U, Conn> RunQueryDsl<Conn> for SwapAndRecord<'_, U> {}
