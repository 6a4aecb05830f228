//! Locations: made, renamed and deleted by compare-and-swap, like products.

use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use super::sql::lower;
use crate::db::schema::{locations, products, stock_levels};
use crate::db::{write_transaction, DbConnection, DbError};
use crate::domain::events::Notice;
use crate::domain::location::{
    Location, LocationChange, LocationOperation, StaleLocation, MAIN_ID,
};
use crate::domain::precondition::Precondition;
use crate::domain::timestamp::{self, from_micros, to_micros};

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = locations)]
struct LocationRow {
    id: String,
    code: String,
    name: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
}

impl LocationRow {
    fn into_location(self) -> Result<Location, StoreError> {
        Ok(Location {
            id: Uuid::parse_str(&self.id).map_err(StoreError::internal)?,
            code: self.code,
            name: self.name,
            version: self.version,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

/// The live location with this code (ignoring case).
#[diesel::dsl::auto_type]
fn live(code: String) -> _ {
    locations::table
        .filter(lower(locations::code).eq(lower(code)))
        .filter(locations::deleted_at.is_null())
}

/// Up to `limit` live locations, MAIN first and then oldest first, made
/// after `after` when given.
pub fn list(
    conn: &mut DbConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Location>, StoreError> {
    let mut query = locations::table
        .filter(locations::deleted_at.is_null())
        .order(locations::id.asc())
        .limit(limit)
        .select(LocationRow::as_select())
        .into_boxed();
    // MAIN's id sorts before every UUID v7, and v7 ids sort by creation.
    if let Some(after) = after {
        query = query.filter(locations::id.gt(after.to_string()));
    }
    query
        .load(conn)?
        .into_iter()
        .map(LocationRow::into_location)
        .collect()
}

/// The live location with this code, if any.
pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<Location>, StoreError> {
    live(code.to_owned())
        .select(LocationRow::as_select())
        .first(conn)
        .optional()?
        .map(LocationRow::into_location)
        .transpose()
}

/// The live location with this code, for a write of stock there: on
/// PostgreSQL its row is share-locked until the transaction ends, so that
/// a DELETE of the location waits for the write and then sees its stock.
pub(super) fn lock_for_stock(conn: &mut DbConnection, code: &str) -> Result<Location, StoreError> {
    let query = || live(code.to_owned());
    let row = match conn {
        DbConnection::Pg(pg) => query()
            .select(LocationRow::as_select())
            .for_share()
            .first(pg)
            .optional()?,
        DbConnection::Sqlite(sqlite) => query()
            .select(LocationRow::as_select())
            .first(sqlite)
            .optional()?,
    };
    row.ok_or_else(|| StoreError::LocationNotFound(code.to_owned()))?
        .into_location()
}

/// Makes a location at version 1. `code` has passed `fields::sku`.
pub fn create(conn: &mut DbConnection, code: &str, name: &str) -> Result<Location, StoreError> {
    let now = to_micros(timestamp::now());
    let row = LocationRow {
        id: Uuid::now_v7().to_string(),
        code: code.to_owned(),
        name: name.to_owned(),
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    let location = row.clone().into_location()?;
    let inserted = write_transaction(conn, |conn| {
        diesel::insert_into(locations::table)
            .values(&row)
            .execute(conn)?;
        tell(conn, &location, LocationOperation::Create)
    });
    match inserted {
        Ok(()) => Ok(location),
        Err(StoreError::Database(DbError::UniqueViolation { .. })) => {
            Err(StoreError::DuplicateLocation(code.to_owned()))
        }
        Err(error) => Err(error),
    }
}

/// Renames the location if it is still at the expected version; a name
/// that changes nothing answers the location as it is.
pub fn rename(
    conn: &mut DbConnection,
    code: &str,
    expected: Option<Precondition>,
    name: &str,
) -> Result<Location, StoreError> {
    write_transaction(conn, |conn| {
        let current = at_expected(conn, code, expected, Some(name))?;
        if current.name == name {
            return Ok(current);
        }
        let now = timestamp::now();
        diesel::update(locations::table.filter(locations::id.eq(current.id.to_string())))
            .set((
                locations::name.eq(name),
                locations::version.eq(current.version + 1),
                locations::updated_at.eq(to_micros(now)),
            ))
            .execute(conn)?;
        let renamed = Location {
            name: name.to_owned(),
            version: current.version + 1,
            updated_at: now,
            ..current
        };
        tell(conn, &renamed, LocationOperation::Rename)?;
        Ok(renamed)
    })
}

/// Records the change of a location in the feed, inside its transaction.
fn tell(
    conn: &mut DbConnection,
    location: &Location,
    operation: LocationOperation,
) -> Result<(), StoreError> {
    let change = LocationChange {
        location: location.clone(),
        operation,
    };
    super::events::record_notices(conn, &[Notice::location(&change)])
}

/// Deletes the location if it is still at the expected version and holds
/// no stock of a live product. Its code stays taken.
pub fn delete(
    conn: &mut DbConnection,
    code: &str,
    expected: Option<Precondition>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let current = at_expected(conn, code, expected, None)?;
        if current.id == MAIN_ID {
            return Err(StoreError::DefaultLocation);
        }
        // Writers of stock here hold the row share-locked (`lock_for_stock`),
        // and `at_expected` locked it for update: this read sees every
        // write of stock here that committed, and none can start.
        let products_held: i64 = stock_levels::table
            .inner_join(products::table)
            .filter(stock_levels::location_id.eq(current.id.to_string()))
            .filter(stock_levels::on_hand.gt(0))
            .filter(products::deleted_at.is_null())
            .count()
            .get_result(conn)?;
        if products_held > 0 {
            return Err(StoreError::LocationNotEmpty {
                code: current.code,
                products_held,
            });
        }
        let now = timestamp::now();
        diesel::update(locations::table.filter(locations::id.eq(current.id.to_string())))
            .set((
                locations::deleted_at.eq(to_micros(now)),
                locations::version.eq(current.version + 1),
                locations::updated_at.eq(to_micros(now)),
            ))
            .execute(conn)?;
        let deleted = Location {
            version: current.version + 1,
            updated_at: now,
            ..current
        };
        tell(conn, &deleted, LocationOperation::Delete)
    })
}

/// The live location, locked for update on PostgreSQL, provided the write
/// names its current version. `wanted_name` is what a PATCH would set.
fn at_expected(
    conn: &mut DbConnection,
    code: &str,
    expected: Option<Precondition>,
    wanted_name: Option<&str>,
) -> Result<Location, StoreError> {
    let query = || live(code.to_owned());
    let row = match conn {
        DbConnection::Pg(pg) => query()
            .select(LocationRow::as_select())
            .for_update()
            .first(pg)
            .optional()?,
        DbConnection::Sqlite(sqlite) => query()
            .select(LocationRow::as_select())
            .first(sqlite)
            .optional()?,
    };
    let current = row
        .ok_or_else(|| StoreError::LocationNotFound(code.to_owned()))?
        .into_location()?;
    let expected = expected.ok_or(StoreError::VersionRequired)?;
    if expected.version != current.version {
        return Err(StoreError::StaleLocation(Box::new(StaleLocation::new(
            expected,
            current,
            wanted_name,
        ))));
    }
    Ok(current)
}
