use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::changes::Changes;
use super::ledger::LedgerEntry;

/// What kind of write made a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Create,
    Update,
    StockAdjustment,
    StockSync,
    /// A level PATCHed at its version.
    LevelUpdate,
    /// One side of a transfer between locations.
    Transfer,
    /// A hold turned into a sale.
    HoldCommit,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::StockAdjustment => "stock_adjustment",
            Operation::StockSync => "stock_sync",
            Operation::LevelUpdate => "level_update",
            Operation::Transfer => "transfer",
            Operation::HoldCommit => "hold_commit",
            Operation::Delete => "delete",
        }
    }

    pub fn parse(value: &str) -> Option<Operation> {
        [
            Operation::Create,
            Operation::Update,
            Operation::StockAdjustment,
            Operation::StockSync,
            Operation::LevelUpdate,
            Operation::Transfer,
            Operation::HoldCommit,
            Operation::Delete,
        ]
        .into_iter()
        .find(|operation| operation.as_str() == value)
    }
}

/// One version of a product: who made it, when, how, and what it changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    #[schema(schema_with = crate::domain::number_schemas::made_version)]
    pub version: i64,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub at: DateTime<Utc>,
    /// Who made the change.
    pub actor: String,
    pub operation: Operation,
    /// Why, when the writer said (stock adjustments and syncs).
    #[schema(required = true)]
    pub reason: Option<String>,
    /// The fields this version changed, by name; empty for a delete.
    #[schema(schema_with = super::changes::schema)]
    pub changes: Changes,
    /// The level this version changed, for a change of stock.
    #[schema(required = true)]
    pub ledger: Option<LedgerEntry>,
}

impl HistoryEntry {
    /// The entry of a version `actor` made now-ish (`at`), without a reason.
    pub fn new(
        version: i64,
        at: DateTime<Utc>,
        actor: &str,
        operation: Operation,
        changes: Changes,
    ) -> HistoryEntry {
        HistoryEntry {
            version,
            at,
            actor: actor.to_owned(),
            operation,
            reason: None,
            changes,
            ledger: None,
        }
    }

    pub fn with_reason(self, reason: Option<String>) -> HistoryEntry {
        HistoryEntry { reason, ..self }
    }

    pub fn with_ledger(self, ledger: LedgerEntry) -> HistoryEntry {
        HistoryEntry {
            ledger: Some(ledger),
            ..self
        }
    }
}
