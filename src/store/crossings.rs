//! Crossings of reorder points: a level is low while its `available` is
//! below its reorder point. Each level stores whether it was low at its
//! last change, so the feed says `stock.low` and `stock.ok` once per
//! crossing, not on every change: every write of levels or holds ends by
//! noting the crossings of its products, in its transaction. A PATCH of a
//! product's `stock` is one statement, kept so; the sweep (`reconcile`,
//! every second) notes what it and anything else left untold.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use super::error::StoreError;
use super::reserved::{OfLevel, Reserved};
use crate::db::schema::{locations, products, stock_levels};
use crate::db::{write_transaction, DbConnection};
use crate::domain::events::Notice;
use crate::domain::level::{Level, StockAlert};
use crate::domain::timestamp::{self, from_micros, to_micros};

/// A level whose `low` the crossing check turned over.
#[derive(QueryableByName)]
struct Crossed {
    #[diesel(sql_type = Text)]
    product_id: String,
    #[diesel(sql_type = Text)]
    location_id: String,
    #[diesel(sql_type = Bool)]
    low: bool,
}

/// Turns over `low` on every level of these products whose `available`
/// crossed its reorder point since it was last set, and records a
/// `stock.low` or `stock.ok` for each, inside the caller's transaction
/// (after its writes). One statement per product; a product with no
/// reorder point costs that statement's index lookup.
pub fn note<I>(conn: &mut DbConnection, products: I) -> Result<(), StoreError>
where
    I: IntoIterator,
    I::Item: ToString,
{
    let now = to_micros(timestamp::now());
    let mut crossed = Vec::new();
    for product_id in products {
        crossed.extend(match conn {
            DbConnection::Pg(pg) => diesel::sql_query(crossing_sql("product_id = $1", "$2"))
                .bind::<Text, _>(product_id.to_string())
                .bind::<BigInt, _>(now)
                .load(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::sql_query(crossing_sql("product_id = ?", "?"))
                .bind::<Text, _>(product_id.to_string())
                .bind::<BigInt, _>(now)
                .load(sqlite)?,
        });
    }
    tell(conn, crossed)
}

/// Notes the crossings of every level with a reorder point (or still
/// marked low) that no write noted: after a PATCH of `stock`, a crash
/// between a PATCH and its noting, or holds that expired. Says how many.
pub fn reconcile(conn: &mut DbConnection) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let now = to_micros(timestamp::now());
        let watched = "(reorder_point IS NOT NULL OR low)";
        let crossed: Vec<Crossed> = match conn {
            DbConnection::Pg(pg) => diesel::sql_query(crossing_sql(watched, "$1"))
                .bind::<BigInt, _>(now)
                .load(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::sql_query(crossing_sql(watched, "?"))
                .bind::<BigInt, _>(now)
                .load(sqlite)?,
        };
        let count = crossed.len();
        tell(conn, crossed)?;
        Ok(count)
    })
}

/// Records a `stock.low` or `stock.ok` for each crossing.
fn tell(conn: &mut DbConnection, crossed: Vec<Crossed>) -> Result<(), StoreError> {
    let mut notices = Vec::with_capacity(crossed.len());
    for crossed in crossed {
        notices.push(Notice::stock_alert(&alert(conn, crossed)?));
    }
    super::events::record_notices(conn, &notices)
}

/// The statement that turns `low` over where it no longer tells the truth,
/// among the levels `which` selects, with the backend's placeholder for
/// the time holds are counted at (as `reserved` counts them).
fn crossing_sql(which: &str, now: &str) -> String {
    format!(
        "UPDATE stock_levels SET low = NOT low \
         WHERE {which} \
         AND low <> (reorder_point IS NOT NULL AND on_hand - ( \
             SELECT coalesce(sum(h.quantity), 0) FROM holds h \
             WHERE h.product_id = stock_levels.product_id \
             AND h.location_id = stock_levels.location_id \
             AND h.status = 'active' AND h.expires_at > {now}) < reorder_point) \
         RETURNING product_id, location_id, low"
    )
}

/// The event of one crossing: the level as it is now, named by its code.
fn alert(conn: &mut DbConnection, crossed: Crossed) -> Result<StockAlert, StoreError> {
    type Stored = (String, String, i64, i64, i64, Option<i64>, Option<i64>, i64);
    let (sku, code, on_hand, version, updated_at, last_counted_at, reorder_point, reserved): Stored =
        stock_levels::table
            .inner_join(products::table)
            .inner_join(locations::table)
            .filter(stock_levels::product_id.eq(&crossed.product_id))
            .filter(stock_levels::location_id.eq(&crossed.location_id))
            .select((
                products::sku,
                locations::code,
                stock_levels::on_hand,
                stock_levels::version,
                stock_levels::updated_at,
                stock_levels::last_counted_at,
                stock_levels::reorder_point,
                Reserved::<OfLevel>::now(),
            ))
            .first(conn)?;
    Ok(StockAlert {
        product_id: super::rows::parse_id(&crossed.product_id)?,
        sku,
        low: crossed.low,
        level: Level {
            location: code,
            on_hand,
            reserved,
            available: on_hand - reserved,
            version,
            updated_at: Some(from_micros(updated_at)),
            last_counted_at: last_counted_at.map(from_micros),
            reorder_point,
        },
    })
}
