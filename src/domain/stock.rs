//! Stock changes for the sync job: single signed adjustments and batches
//! that set stock by SKU.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::precondition::Precondition;
use super::product::Product;

/// Add `delta` to a product's stock, optionally only at an expected version.
#[derive(Debug, Clone)]
pub struct StockAdjustment {
    pub delta: i64,
    pub reason: String,
    pub expected: Option<Precondition>,
}

/// How a batch treats items that cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Apply every item that can be applied.
    BestEffort,
    /// Apply all items or none.
    Atomic,
}

/// What an item requires of the product before its stock is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPrecondition {
    Version(i64),
    /// An explicit blind overwrite.
    Force,
}

#[derive(Debug, Clone)]
pub struct SyncItem {
    pub sku: String,
    pub stock: i64,
    pub precondition: SyncPrecondition,
}

#[derive(Debug, Clone)]
pub struct StockSync {
    pub items: Vec<SyncItem>,
    pub mode: SyncMode,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// The stock was set; the product has a new version.
    Updated,
    /// The stock already had this value; no new version.
    Unchanged,
    /// `expected_version` is stale; `current_version` and `current` say what it is now.
    Conflict,
    /// No live product has this SKU.
    NotFound,
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
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SyncSummary {
    pub updated: usize,
    pub unchanged: usize,
    pub conflict: usize,
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
            unchanged: count(SyncStatus::Unchanged),
            conflict: count(SyncStatus::Conflict),
            not_found: count(SyncStatus::NotFound),
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
                SyncStatus::Conflict | SyncStatus::NotFound => result,
                _ => SyncItemResult {
                    status: SyncStatus::NotApplied,
                    version: None,
                    stock: None,
                    ..result
                },
            })
            .collect();
        SyncOutcome::new(results)
    }
}
