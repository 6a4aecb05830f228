//! The one row every read and write of a product starts from.

use diesel::prelude::*;

use crate::db::schema::products::dsl;

/// The product with this id, unless deleted.
#[diesel::dsl::auto_type]
pub(super) fn live(id: String) -> _ {
    dsl::products
        .filter(dsl::id.eq(id))
        .filter(dsl::deleted_at.is_null())
}
