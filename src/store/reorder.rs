//! Reorder points: a level is low while its `available` is below its
//! reorder point. Each level stores whether it was low at its last
//! change, so the feed says `stock.low` and `stock.ok` once per crossing,
//! not on every change: every write of levels or holds ends by noting the
//! crossings of its products, in its transaction. A PATCH of a product's
//! `stock` is one statement, kept so; the sweep (`reconcile`, every
//! second) notes what it and anything else left untold.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use uuid::Uuid;

use super::error::StoreError;
use super::levels::{find_level, location_for_stock, lock_product, Place};
use crate::db::schema::{locations, stock_levels};
use crate::db::{write_transaction, DbConnection};
use crate::domain::events::Notice;
use crate::domain::level::{Level, StockAlert};
use crate::domain::product::Product;
use crate::domain::timestamp::{self, to_micros};

/// Sets (or with `None` clears) the level's reorder point, under the
/// product's lock as every write of its levels, and says at once if that
/// makes it low (or no longer low). A setting, not stock: no version moves.
pub fn set(
    conn: &mut DbConnection,
    product_id: &Uuid,
    code: &str,
    reorder_point: Option<i64>,
) -> Result<(Level, Product), StoreError> {
    write_transaction(conn, |conn| {
        let product = lock_product(conn, product_id)?;
        let place = location_for_stock(conn, code)?;
        let set = diesel::update(
            stock_levels::table
                .filter(stock_levels::product_id.eq(product_id.to_string()))
                .filter(stock_levels::location_id.eq(place.id.to_string())),
        )
        .set(stock_levels::reorder_point.eq(reorder_point))
        .execute(conn)?;
        if set == 0 {
            // A level's first write of stock makes it; until then there is
            // nothing to watch.
            return Err(StoreError::LevelNeverStocked {
                sku: product.fields.sku.clone(),
                location: place.code,
            });
        }
        note_crossings(conn, [product_id])?;
        Ok((find_level(conn, product_id, &place)?, product))
    })
}

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
pub fn note_crossings<I>(conn: &mut DbConnection, products: I) -> Result<(), StoreError>
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
    let product_id = super::rows::parse_id(&crossed.product_id)?;
    let code: String = locations::table
        .find(&crossed.location_id)
        .select(locations::code)
        .first(conn)?;
    let place = Place {
        id: super::rows::parse_id(&crossed.location_id)?,
        code,
    };
    let sku: String = crate::db::schema::products::table
        .find(&crossed.product_id)
        .select(crate::db::schema::products::sku)
        .first(conn)?;
    Ok(StockAlert {
        product_id,
        sku,
        low: crossed.low,
        level: find_level(conn, &product_id, &place)?,
    })
}
