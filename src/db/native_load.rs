//! Loading on the backend's own connection instead of through
//! `DbConnection`, for the queries every request runs.
//!
//! diesel's multi-backend connection writes a query's SQL text anew on
//! every run, even when the connection underneath has the statement
//! prepared already, and copies each bind through a collector of its own.
//! The backend's own connection finds a prepared statement by the query's
//! type and only collects its binds.

use diesel::dsl::{AsSelect, Select};
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::QueryId;
use diesel::query_dsl::methods::SelectDsl;
use diesel::query_dsl::LoadQuery;
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl, Selectable, SelectableHelper};

use super::DbConnection;

/// The rows of `query`, each selected as a `U`, loaded on the connection's
/// own backend. A selection names its backend, so it is made here, once
/// for each.
pub fn load_natively<'query, Q, U>(conn: &mut DbConnection, query: Q) -> QueryResult<Vec<U>>
where
    U: SelectableHelper<Pg> + SelectableHelper<Sqlite>,
    <U as Selectable<Pg>>::SelectExpression: QueryId,
    <U as Selectable<Sqlite>>::SelectExpression: QueryId,
    Q: SelectDsl<AsSelect<U, Pg>> + SelectDsl<AsSelect<U, Sqlite>>,
    Select<Q, AsSelect<U, Pg>>: LoadQuery<'query, PgConnection, U>,
    Select<Q, AsSelect<U, Sqlite>>: LoadQuery<'query, SqliteConnection, U>,
{
    match conn {
        DbConnection::Pg(pg) => {
            SelectDsl::select(query, <U as SelectableHelper<Pg>>::as_select()).load(pg)
        }
        DbConnection::Sqlite(sqlite) => {
            SelectDsl::select(query, <U as SelectableHelper<Sqlite>>::as_select()).load(sqlite)
        }
    }
}
