//! A PATCH's compare-and-swap as a statement the database keeps prepared.
//!
//! diesel never reuses an UPDATE it built: its changesets may leave columns
//! out, so it marks every UPDATE unsafe to cache, and PostgreSQL parses and
//! plans each one anew. This statement always sets every field, so its text
//! never changes, and each connection prepares it once for every PATCH.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text};
use diesel::{QueryResult, RunQueryDsl};

use crate::domain::location::MAIN_ID_TEXT;
use crate::domain::product::ProductFields;

/// `UPDATE products SET <every field> WHERE id = ? AND version = ? AND
/// deleted_at IS NULL`: the same row `products::live_at_version` targets;
/// when it sets `stock`, also only while no level but MAIN holds any.
#[derive(Clone, Copy)]
pub struct SetEveryField<'a> {
    pub id: &'a str,
    pub expected_version: i64,
    pub fields: &'a ProductFields,
    pub version: i64,
    pub updated_at: i64,
    /// The PATCH sets `stock`, which sets MAIN's level: only while the
    /// product has stock nowhere else.
    pub only_at_main: bool,
}

impl<DB> QueryFragment<DB> for SetEveryField<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let fields = self.fields;
        out.push_sql("UPDATE products SET sku = ");
        out.push_bind_param::<Text, str>(&fields.sku)?;
        for (column, value) in [
            ("name", &fields.name),
            ("description", &fields.description),
            ("currency", &fields.currency),
        ] {
            out.push_sql(", ");
            out.push_sql(column);
            out.push_sql(" = ");
            out.push_bind_param::<Text, str>(value)?;
        }
        for (column, value) in [
            ("price_minor", &fields.price_minor),
            ("stock", &fields.stock),
            ("version", &self.version),
            ("updated_at", &self.updated_at),
        ] {
            out.push_sql(", ");
            out.push_sql(column);
            out.push_sql(" = ");
            out.push_bind_param::<BigInt, i64>(value)?;
        }
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, str>(self.id)?;
        out.push_sql(" AND version = ");
        out.push_bind_param::<BigInt, i64>(&self.expected_version)?;
        out.push_sql(" AND deleted_at IS NULL");
        if self.only_at_main {
            out.push_sql(
                " AND NOT EXISTS (SELECT 1 FROM stock_levels \
                 WHERE stock_levels.product_id = products.id AND stock_levels.on_hand > 0 \
                 AND stock_levels.location_id <> ",
            );
            out.push_bind_param::<Text, str>(MAIN_ID_TEXT)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

/// No static id: diesel then keys its cache of prepared statements by the
/// SQL text, which is the same for every PATCH.
impl QueryId for SetEveryField<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Conn> RunQueryDsl<Conn> for SetEveryField<'_> {}
