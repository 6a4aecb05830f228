//! diesel's `sql_query` marks itself unsafe to cache, so every run would
//! be planned again, where the API's statements are prepared once per
//! connection. This is raw SQL that diesel caches by its text.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text, Untyped};
use diesel::{QueryResult, RunQueryDsl};

pub enum Bind<'a> {
    Text(&'a str),
    BigInt(i64),
}

/// `sql` with its `$n` placeholders bound to `binds[n - 1]`: each
/// occurrence becomes a parameter of its own, numbered in order.
pub struct PreparedSql<'a> {
    pub sql: &'static str,
    pub binds: &'a [Bind<'a>],
}

impl QueryFragment<Pg> for PreparedSql<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut rest = self.sql;
        while let Some(at) = rest.find('$') {
            out.push_sql(&rest[..at]);
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - at - 1);
            let n: usize = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
            match self.binds.get(n.wrapping_sub(1)) {
                Some(Bind::Text(text)) => out.push_bind_param::<Text, str>(text)?,
                Some(Bind::BigInt(number)) => out.push_bind_param::<BigInt, i64>(number)?,
                None => {
                    return Err(diesel::result::Error::QueryBuilderError(
                        format!("no bind for ${n}").into(),
                    ))
                }
            }
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

impl QueryId for PreparedSql<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for PreparedSql<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for PreparedSql<'_> {}
