//! The ledger: what each version that changed a level did to it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a level changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StockKind {
    /// Set to a value (a product created or PATCHed, a level PATCHed).
    Set,
    /// A signed delta (a sale, a delivery).
    Adjust,
    /// A count from the stock sync.
    Count,
    /// Moved to another location.
    TransferOut,
    /// Moved from another location.
    TransferIn,
    /// A hold turned into a sale.
    Commit,
}

impl StockKind {
    const ALL: [StockKind; 6] = [
        StockKind::Set,
        StockKind::Adjust,
        StockKind::Count,
        StockKind::TransferOut,
        StockKind::TransferIn,
        StockKind::Commit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StockKind::Set => "set",
            StockKind::Adjust => "adjust",
            StockKind::Count => "count",
            StockKind::TransferOut => "transfer-out",
            StockKind::TransferIn => "transfer-in",
            StockKind::Commit => "commit",
        }
    }

    pub fn parse(value: &str) -> Option<StockKind> {
        StockKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// What a version did to one level: the ledger's line.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LedgerEntry {
    /// The location's code.
    #[schema(example = "MAIN")]
    pub location: String,
    /// The level's version this change made; null for changes made before
    /// levels existed.
    #[schema(required = true, example = 5)]
    pub level_version: Option<i64>,
    /// What the change added to `on_hand` (negative: taken away).
    #[schema(example = -2)]
    pub delta: i64,
    /// `on_hand` after the change.
    #[schema(schema_with = crate::domain::number_schemas::on_hand)]
    pub on_hand: i64,
    pub kind: StockKind,
    /// A receipt, delivery note or other document the change answers to.
    #[schema(required = true, example = "DN-2041")]
    pub reference: Option<String>,
}
