//! `StoreError`: every way a store operation fails, in the store's own
//! terms. `http` turns each into a problem; nothing here knows HTTP.

use diesel::result::Error as DieselError;
use uuid::Uuid;

use crate::db::{DbError, RetryReason, Unavailable, WorkError};
use crate::domain::conflict::StaleVersion;
use crate::domain::product::Product;
use crate::domain::stock::SyncOutcome;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no live product has id {0}")]
    ProductNotFound(Uuid),
    /// The write named no version, and the product exists.
    #[error("the write names no version")]
    VersionRequired,
    /// The write's version is not the product's current one.
    #[error("{}", .0.detail())]
    Stale(Box<StaleVersion>),
    #[error("SKU {sku} is already used by another live product")]
    DuplicateSku { sku: String, existing_id: Uuid },
    #[error("stock {} cannot go below 0 by {delta}", .current.fields.stock)]
    InsufficientStock { delta: i64, current: Box<Product> },
    /// The delta would take the stock above the maximum.
    #[error("stock {current_stock} cannot go to {wanted}")]
    StockAboveMaximum { current_stock: i64, wanted: i64 },
    /// An item of an atomic stock sync failed, so none was applied.
    #[error("an item of the atomic stock sync failed")]
    StockSyncConflict(Box<SyncOutcome>),
    #[error("a request with this idempotency key is still running")]
    IdempotencyKeyInUse,
    #[error("this idempotency key was used for another request")]
    IdempotencyKeyReused,
    /// The token already holds its most idempotency keys.
    #[error("the token holds {quota} idempotency keys, its most")]
    IdempotencyQuotaExceeded { quota: i64 },
    /// A race this operation lost in a way a retry shortly will win: the
    /// text says which.
    #[error("{0}")]
    Contended(&'static str),
    /// The database could not do the work: busy, unavailable, a
    /// serialization failure, or internal.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl StoreError {
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError::Database(DbError::internal(cause))
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> StoreError {
        StoreError::Database(error.into())
    }
}

impl From<Unavailable> for StoreError {
    fn from(why: Unavailable) -> StoreError {
        StoreError::Database(DbError::Unavailable(why))
    }
}

impl WorkError for StoreError {
    fn may_be_the_connection(&self) -> bool {
        matches!(self, StoreError::Database(error) if error.may_be_the_connection())
    }

    fn retry_reason(&self) -> Option<RetryReason> {
        match self {
            StoreError::Database(error) => error.retry_reason(),
            _ => None,
        }
    }
}
