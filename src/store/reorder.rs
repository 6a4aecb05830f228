//! Setting a level's reorder point: below it, the level is low (see
//! `crossings` for how the feed hears of it).

use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use super::levels::{find_level, location_for_stock, lock_product};
use crate::db::schema::stock_levels;
use crate::db::{write_transaction, DbConnection};
use crate::domain::level::Level;
use crate::domain::product::Product;

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
        super::crossings::note(conn, [product_id])?;
        Ok((find_level(conn, product_id, &place)?, product))
    })
}
