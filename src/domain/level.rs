//! Stock levels: how much of a product one location holds, each with its
//! own version; the writes that change them; and the 409 of a stale one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::history::{HistoryEntry, Operation};
use super::ledger::StockKind;
use super::precondition::{Precondition, VersionSource};

/// One product's stock at one location. A location where the product was
/// never stocked holds 0 at version 0: the level is made by its first write.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Level {
    /// The location's code.
    #[schema(example = "MAIN")]
    pub location: String,
    #[schema(schema_with = crate::domain::number_schemas::on_hand)]
    pub on_hand: i64,
    /// The sum of the level's active holds that have not expired. Holds do
    /// not change the level's version.
    #[schema(minimum = 0, example = 2)]
    pub reserved: i64,
    /// `on_hand - reserved`: what new holds may take. Negative when a count
    /// or a sale left less on hand than is held (oversold).
    #[schema(example = 7)]
    pub available: i64,
    /// 0 until the level's first write; then grows by one on every change.
    #[schema(minimum = 0, example = 4)]
    pub version: i64,
    /// When the level last changed; null before its first write.
    #[serde(serialize_with = "super::timestamp::serialize_optional")]
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The `counted_at` of the last count applied here; null if none.
    #[serde(serialize_with = "super::timestamp::serialize_optional")]
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    pub last_counted_at: Option<DateTime<Utc>>,
    /// Below this `available`, the level is low: the feed says
    /// `stock.low` when it crosses down, `stock.ok` when back. Null: none.
    /// A setting, not stock: it never moves the version.
    #[schema(required = true, minimum = 0, maximum = 1_000_000_000, example = 5)]
    pub reorder_point: Option<i64>,
}

impl Level {
    /// A level never written: nothing there yet.
    pub fn empty(location: &str) -> Level {
        Level {
            location: location.to_owned(),
            on_hand: 0,
            reserved: 0,
            available: 0,
            version: 0,
            updated_at: None,
            last_counted_at: None,
            reorder_point: None,
        }
    }

    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    /// Whether more is held here than is on hand.
    pub fn is_oversold(&self) -> bool {
        self.available < 0
    }
}

/// The `data` of a `stock.low` or `stock.ok` event: a level whose
/// `available` crossed its reorder point, down (`low`) or back up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockAlert {
    pub product_id: uuid::Uuid,
    #[schema(example = "MUG-BLUE-01")]
    pub sku: String,
    /// Whether it is now below its reorder point.
    pub low: bool,
    /// The level as the crossing left it, with its `reorder_point`.
    pub level: Level,
}

/// What a change does to a level's `on_hand`.
#[derive(Debug, Clone, Copy)]
pub enum Amount {
    Add(i64),
    SetTo(i64),
}

/// What a change requires before it applies.
#[derive(Debug, Clone, Copy)]
pub enum Guard {
    /// Nothing: deltas commute.
    None,
    /// The product is at this version (the writes that name no location).
    Product(Precondition),
    /// The level is at this version.
    Level(Precondition),
}

/// One change of one level.
#[derive(Debug, Clone)]
pub struct LevelChange {
    /// The location's code; MAIN's when the write named none.
    pub location: String,
    pub amount: Amount,
    pub kind: StockKind,
    pub guard: Guard,
}

/// A write of one product's levels: its changes apply together or not at
/// all, each as a version of the product.
#[derive(Debug, Clone)]
pub struct LevelWrite {
    pub changes: Vec<LevelChange>,
    pub operation: Operation,
    pub reason: Option<String>,
    pub reference: Option<String>,
}

/// A refused write to a level based on an old level version, with what a
/// client needs to refresh: the level now and the ledger since.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaleLevel {
    pub your_version: i64,
    pub current_version: i64,
    /// The level as it is now.
    pub current: Level,
    /// Every change of this level after `your_version`, oldest first.
    pub changes_since: Vec<HistoryEntry>,
    /// `on_hand` when someone else changed it since `your_version` and it
    /// now holds another value than the one sent.
    pub conflicting_fields: Vec<String>,
    /// True when `conflicting_fields` is empty.
    pub rebase_safe: bool,
    #[serde(skip)]
    pub source: VersionSource,
}

impl StaleLevel {
    /// `wanted` is the `on_hand` the write would set, if it sets one (a
    /// delta conflicts with any change since).
    pub fn new(
        expected: Precondition,
        current: Level,
        changes_since: Vec<HistoryEntry>,
        wanted: Option<i64>,
    ) -> StaleLevel {
        let changed = !changes_since.is_empty() && wanted != Some(current.on_hand);
        let conflicting_fields = if changed {
            vec!["on_hand".to_owned()]
        } else {
            Vec::new()
        };
        StaleLevel {
            your_version: expected.version,
            current_version: current.version,
            rebase_safe: conflicting_fields.is_empty(),
            conflicting_fields,
            changes_since,
            current,
            source: expected.source,
        }
    }

    pub fn detail(&self) -> String {
        format!(
            "You sent version {} of the level at {}, but it is at version {}. Refresh it and apply your change again.",
            self.your_version, self.current.location, self.current_version
        )
    }
}
