//! Places that hold stock: a warehouse, a shop, a van.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::{uuid, Uuid};

use super::precondition::{Precondition, VersionSource};

/// The location every database has, where writes that name none act.
pub const MAIN_CODE: &str = "MAIN";
/// MAIN's fixed id, written by the migration that made locations.
pub const MAIN_ID: Uuid = uuid!("00000000-0000-7000-8000-000000000000");
/// `MAIN_ID` as the database keeps it.
pub const MAIN_ID_TEXT: &str = "00000000-0000-7000-8000-000000000000";

/// A location as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Location {
    pub id: Uuid,
    /// Unique ignoring case among all locations ever made; fixed at
    /// creation. Same rules as a SKU.
    #[schema(example = "SHOP-1")]
    pub code: String,
    #[schema(example = "High Street shop")]
    pub name: String,
    #[schema(schema_with = crate::domain::number_schemas::made_version)]
    pub version: i64,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl Location {
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    pub fn is_main(&self) -> bool {
        self.id == MAIN_ID
    }
}

/// A refused write to a location based on an old version. Locations keep
/// no history, so unlike a product's 409 it carries no `changes_since`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaleLocation {
    pub your_version: i64,
    pub current_version: i64,
    pub current: Location,
    /// Fields this request would set that now hold another value.
    pub conflicting_fields: Vec<String>,
    /// True when `conflicting_fields` is empty.
    pub rebase_safe: bool,
    #[serde(skip)]
    pub source: VersionSource,
}

impl StaleLocation {
    /// `wanted_name` is the name a PATCH would set (None for a DELETE,
    /// which conflicts with any change).
    pub fn new(
        expected: Precondition,
        current: Location,
        wanted_name: Option<&str>,
    ) -> StaleLocation {
        let conflicting_fields: Vec<String> = match wanted_name {
            Some(name) if name == current.name => Vec::new(),
            _ => vec!["name".to_owned()],
        };
        StaleLocation {
            your_version: expected.version,
            current_version: current.version,
            rebase_safe: conflicting_fields.is_empty(),
            conflicting_fields,
            current,
            source: expected.source,
        }
    }

    pub fn detail(&self) -> String {
        format!(
            "You sent version {}, but location {} is at version {}. Refresh it and apply your change again.",
            self.your_version, self.current.code, self.current_version
        )
    }
}

/// What happened to a location, for the feed's `location` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationOperation {
    Create,
    Rename,
    Delete,
}

/// The `data` of a `location` event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationChange {
    /// The location as the change left it (for a delete, as it was).
    pub location: Location,
    pub operation: LocationOperation,
}
