//! `reserved`: how much of a product, or of one level, active holds set
//! aside. It is not stored. Every read sums the active holds whose
//! `expires_at` is still ahead (on the partial index of active holds), so
//! it is exact to the second, needs no sweep to drop an expired hold, and
//! has no counter that could drift from the holds it counts.
//!
//! Writes that check it (new holds, larger holds) read it under the
//! product's row lock, which every writer of a product's levels and holds
//! takes first, so no hold can slip in between the check and the write.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::ValidGrouping;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType};
use diesel::QueryResult;

use crate::domain::timestamp::{self, to_micros};

/// Which holds a `Reserved` sums: those matching the row being read.
pub trait Scope {
    /// The condition on `h` (the holds) and the outer query's row.
    const MATCHING: &'static str;
}

/// The product's holds at every location (the query reads `products`).
#[derive(Debug, Clone, Copy)]
pub struct OfProduct;

impl Scope for OfProduct {
    const MATCHING: &'static str = "h.product_id = products.id";
}

/// One level's holds (the query reads `stock_levels`; a level a left join
/// did not find sums to 0).
#[derive(Debug, Clone, Copy)]
pub struct OfLevel;

impl Scope for OfLevel {
    const MATCHING: &'static str =
        "h.product_id = stock_levels.product_id AND h.location_id = stock_levels.location_id";
}

/// The sum, as a column of the outer query. Each scope is its own type,
/// so each keeps its own prepared statement.
#[derive(Debug, Clone, Copy)]
pub struct Reserved<S> {
    now: i64,
    scope: PhantomData<S>,
}

impl<S> Reserved<S> {
    /// Counting the holds that have not expired now.
    pub fn now() -> Reserved<S> {
        Reserved::at(to_micros(timestamp::now()))
    }

    pub fn at(now: i64) -> Reserved<S> {
        Reserved {
            now,
            scope: PhantomData,
        }
    }
}

impl<S> Expression for Reserved<S> {
    type SqlType = BigInt;
}

impl<S, QS> AppearsOnTable<QS> for Reserved<S> {}

impl<S, QS> SelectableExpression<QS> for Reserved<S> {}

impl<S> ValidGrouping<()> for Reserved<S> {
    type IsAggregate = is_aggregate::Never;
}

impl<S: 'static> QueryId for Reserved<S> {
    type QueryId = Self;
    // The SQL is the same for every `now`, which is bound.
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<S: Scope, DB> QueryFragment<DB> for Reserved<S>
where
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // PostgreSQL sums bigints as numeric; the cast keeps it a bigint.
        out.push_sql("(SELECT CAST(COALESCE(SUM(h.quantity), 0) AS BIGINT) FROM holds h WHERE ");
        out.push_sql(S::MATCHING);
        out.push_sql(" AND h.status = 'active' AND h.expires_at > ");
        out.push_bind_param::<BigInt, i64>(&self.now)?;
        out.push_sql(")");
        Ok(())
    }
}
