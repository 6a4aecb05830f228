//! Holds as they are stored, and the reads of them: one hold, a filtered
//! page, or the active holds of one level. Each reads as it is now: an
//! active hold past its `expires_at` is `expired` (see `Hold::as_of`).

use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use crate::db::schema::{holds, locations, products};
use crate::db::DbConnection;
use crate::domain::hold::{Hold, HoldStatus};
use crate::domain::timestamp::{self, from_micros, to_micros};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = holds)]
#[diesel(treat_none_as_default_value = false)]
pub(super) struct HoldRow {
    pub id: String,
    pub version: i64,
    pub product_id: String,
    pub location_id: String,
    pub quantity: i64,
    pub status: String,
    pub expires_at: i64,
    pub reference: Option<String>,
    pub actor: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A hold's row with its product's SKU and its location's code.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = holds)]
pub(super) struct HoldView {
    #[diesel(embed)]
    row: HoldRow,
    #[diesel(select_expression = products::sku)]
    sku: String,
    #[diesel(select_expression = locations::code)]
    code: String,
}

impl HoldView {
    pub fn into_hold(self) -> Result<Hold, StoreError> {
        hold_of(self.row, &self.sku, &self.code)
    }
}

/// Narrows a list of holds; every field given must match.
#[derive(Debug, Default, Clone)]
pub struct HoldFilter {
    pub product: Option<Uuid>,
    pub location: Option<String>,
    /// As holds read now: `active` leaves out the expired, `expired`
    /// takes in the active ones past their time.
    pub status: Option<HoldStatus>,
    pub reference: Option<String>,
}

/// The hold as it reads now, if it exists.
pub fn find(conn: &mut DbConnection, id: &Uuid) -> Result<Option<Hold>, StoreError> {
    let view: Option<HoldView> = joined()
        .filter(holds::id.eq(id.to_string()))
        .select(HoldView::as_select())
        .first(conn)
        .optional()?;
    let now = timestamp::now();
    view.map(|view| Ok(view.into_hold()?.as_of(now)))
        .transpose()
}

/// Up to `limit` holds matching the filter, oldest first, after `after`
/// when given, as they read now.
pub fn list(
    conn: &mut DbConnection,
    filter: &HoldFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Hold>, StoreError> {
    let now = to_micros(timestamp::now());
    let mut query = joined()
        .order(holds::id.asc())
        .limit(limit)
        .select(HoldView::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(holds::id.gt(after.to_string()));
    }
    if let Some(product) = filter.product {
        query = query.filter(holds::product_id.eq(product.to_string()));
    }
    if let Some(code) = &filter.location {
        let code = code.to_ascii_lowercase();
        query = query.filter(super::sql::lower(locations::code).eq(code));
    }
    if let Some(reference) = &filter.reference {
        query = query.filter(holds::reference.eq(reference.clone()));
    }
    let active = HoldStatus::Active.as_str();
    query = match filter.status {
        None => query,
        Some(HoldStatus::Active) => query
            .filter(holds::status.eq(active))
            .filter(holds::expires_at.gt(now)),
        Some(HoldStatus::Expired) => query.filter(
            holds::status
                .eq(HoldStatus::Expired.as_str())
                .or(holds::status.eq(active).and(holds::expires_at.le(now))),
        ),
        Some(status) => query.filter(holds::status.eq(status.as_str())),
    };
    let views: Vec<HoldView> = query.load(conn)?;
    let now = from_micros(now);
    views
        .into_iter()
        .map(|view| Ok(view.into_hold()?.as_of(now)))
        .collect()
}

/// The active holds of one level that have not expired, oldest first.
pub(super) fn active_at(
    conn: &mut DbConnection,
    product_id: &Uuid,
    location_id: &str,
) -> Result<Vec<Hold>, StoreError> {
    let now = to_micros(timestamp::now());
    let views: Vec<HoldView> = joined()
        .filter(holds::product_id.eq(product_id.to_string()))
        .filter(holds::location_id.eq(location_id))
        .filter(holds::status.eq(HoldStatus::Active.as_str()))
        .filter(holds::expires_at.gt(now))
        .order(holds::id.asc())
        .select(HoldView::as_select())
        .load(conn)?;
    views.into_iter().map(HoldView::into_hold).collect()
}

/// Holds with their product's SKU and their location's code.
#[diesel::dsl::auto_type]
pub(super) fn joined() -> _ {
    holds::table
        .inner_join(products::table)
        .inner_join(locations::table)
}

pub(super) fn hold_of(row: HoldRow, sku: &str, code: &str) -> Result<Hold, StoreError> {
    let parse = |id: &str| {
        Uuid::parse_str(id)
            .map_err(|error| StoreError::internal(format!("stored hold id {id:?}: {error}")))
    };
    let status = HoldStatus::parse(&row.status)
        .ok_or_else(|| StoreError::internal(format!("unknown hold status {:?}", row.status)))?;
    Ok(Hold {
        id: parse(&row.id)?,
        version: row.version,
        product_id: parse(&row.product_id)?,
        sku: sku.to_owned(),
        location: code.to_owned(),
        quantity: row.quantity,
        status,
        expires_at: from_micros(row.expires_at),
        reference: row.reference,
        actor: row.actor,
        created_at: from_micros(row.created_at),
        updated_at: from_micros(row.updated_at),
    })
}
