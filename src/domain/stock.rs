//! Stock changes for the sync job: single signed adjustments and batches
//! that set stock by SKU.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ledger::StockKind;
use super::level::Level;
use super::precondition::Precondition;
use super::product::Product;

/// Add `delta` to a product's stock at a location, optionally only at an
/// expected version: the product's when no location is named (the write
/// then acts at MAIN), else the level's.
#[derive(Debug, Clone)]
pub struct StockAdjustment {
    pub delta: i64,
    pub reason: String,
    pub reference: Option<String>,
    pub location: Option<String>,
    pub expected: Option<Precondition>,
}

/// The oldest count the stock sync rebases: the movements it replays must
/// still be few and fresh in the ledger.
pub const COUNT_MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// How far ahead of the server's clock a count's time may be.
pub const COUNT_CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// When a count was taken: RFC 3339, at most 7 days before `now` and not
/// after it (beyond a minute of clock skew).
pub fn counted_at(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(value)
        .map_err(|_| "must be an RFC 3339 date-time, such as 2026-12-07T09:30:00Z".to_owned())?
        .with_timezone(&Utc);
    if at < now - COUNT_MAX_AGE {
        return Err("must be at most 7 days old; send an older count with expected_version".into());
    }
    if at > now + COUNT_CLOCK_SKEW {
        return Err("must not be in the future".into());
    }
    Ok(at)
}

/// How a batch treats items that cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Apply every item that can be applied.
    BestEffort,
    /// Apply all items or none.
    Atomic,
}

/// What an item requires before its count is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPrecondition {
    /// The product's version (no location named) or the level's.
    Version(i64),
    /// An explicit blind overwrite.
    Force,
    /// When the count was taken: it is rebased on every movement of stock
    /// recorded at the level since, and superseded by a later count.
    CountedAt(DateTime<Utc>),
}

#[derive(Debug, Clone)]
pub struct SyncItem {
    pub sku: String,
    /// The location's code; MAIN when the item names none.
    pub location: Option<String>,
    pub stock: i64,
    pub precondition: SyncPrecondition,
}

#[derive(Debug, Clone)]
pub struct StockSync {
    pub items: Vec<SyncItem>,
    pub mode: SyncMode,
    pub reason: Option<String>,
    /// Answer every item's outcome as if applied, and apply nothing.
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// The stock was set; the product has a new version.
    Updated,
    /// A count with `counted_at`: set to the count plus every movement
    /// recorded at the level after it (`replayed`); the product has a new
    /// version, unless the level already held that.
    Rebased,
    /// The level already held this count; no new version.
    Unchanged,
    /// A count with `counted_at` older than the level's last count: nothing applied.
    Superseded,
    /// `expected_version` is stale; `current_version` and `current` say what it is now.
    Conflict,
    /// No live product has this SKU.
    NotFound,
    /// No live location has the item's `location` code.
    LocationNotFound,
    /// The item could have been applied, but another item of an atomic batch failed.
    NotApplied,
}

/// One item's outcome, in the request's order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncItemResult {
    pub sku: String,
    pub status: SyncStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub product_id: Option<Uuid>,
    /// The product's version after this batch (updated, unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub version: Option<i64>,
    /// The product's stock after this batch (updated, unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub stock: Option<i64>,
    /// The version the product is at (conflict).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub current_version: Option<i64>,
    /// The whole current product (conflict).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub current: Option<Product>,
    /// The level after this batch (updated, rebased, unchanged,
    /// superseded), or as it is (a conflict on the level's version).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub level: Option<Level>,
    /// The movements a rebased count added to the counted quantity, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub replayed: Option<Vec<ReplayedMove>>,
}

/// A movement of stock recorded at a level after a count was taken.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayedMove {
    /// The product version that recorded it.
    pub version: i64,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub at: DateTime<Utc>,
    pub delta: i64,
    pub kind: StockKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SyncSummary {
    pub updated: usize,
    pub rebased: usize,
    pub unchanged: usize,
    pub superseded: usize,
    pub conflict: usize,
    /// Items naming an unknown SKU or location.
    pub not_found: usize,
}

/// The answer to a batch: every item's outcome and their counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncOutcome {
    pub results: Vec<SyncItemResult>,
    pub summary: SyncSummary,
}

impl SyncItemResult {
    pub fn new(sku: &str, status: SyncStatus) -> SyncItemResult {
        SyncItemResult {
            sku: sku.to_owned(),
            status,
            product_id: None,
            version: None,
            stock: None,
            current_version: None,
            current: None,
            level: None,
            replayed: None,
        }
    }
}

impl SyncOutcome {
    pub fn new(results: Vec<SyncItemResult>) -> SyncOutcome {
        let count = |status| {
            results
                .iter()
                .filter(|result| result.status == status)
                .count()
        };
        let summary = SyncSummary {
            updated: count(SyncStatus::Updated),
            rebased: count(SyncStatus::Rebased),
            unchanged: count(SyncStatus::Unchanged),
            superseded: count(SyncStatus::Superseded),
            conflict: count(SyncStatus::Conflict),
            not_found: count(SyncStatus::NotFound) + count(SyncStatus::LocationNotFound),
        };
        SyncOutcome { results, summary }
    }

    pub fn has_failures(&self) -> bool {
        self.summary.conflict + self.summary.not_found > 0
    }

    /// The outcome of an atomic batch that failed: failing items keep their
    /// status, the others were not applied.
    pub fn not_applied(self) -> SyncOutcome {
        let results = self
            .results
            .into_iter()
            .map(|result| match result.status {
                SyncStatus::Conflict | SyncStatus::NotFound | SyncStatus::LocationNotFound => {
                    result
                }
                _ => SyncItemResult {
                    status: SyncStatus::NotApplied,
                    version: None,
                    stock: None,
                    level: None,
                    replayed: None,
                    ..result
                },
            })
            .collect();
        SyncOutcome::new(results)
    }
}
