//! `StoreError`: every way a store operation fails, in the store's own
//! terms. `http` turns each into a problem; nothing here knows HTTP.

use diesel::result::Error as DieselError;
use uuid::Uuid;

use crate::db::{DbError, RetryReason, Unavailable, WorkError};
use crate::domain::conflict::StaleVersion;
use crate::domain::hold::{Hold, Shortfall, StaleHold};
use crate::domain::level::{Level, StaleLevel};
use crate::domain::location::StaleLocation;
use crate::domain::product::Product;
use crate::domain::stock::SyncOutcome;
use crate::domain::webhook::StaleWebhook;

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
    /// The change would take the level below 0; `level` is as it is.
    #[error("stock {} at {} cannot go below 0 by {delta}", .level.on_hand, .level.location)]
    InsufficientStock {
        delta: i64,
        current: Box<Product>,
        level: Level,
    },
    #[error("no live product has SKU {0}")]
    SkuNotFound(String),
    #[error("no live location has code {0}")]
    LocationNotFound(String),
    #[error("no hold has id {0}")]
    HoldNotFound(Uuid),
    /// A hold would take more than the level has available.
    #[error("{} available at {}, {} asked", .0.level.available, .0.level.location, .0.requested)]
    InsufficientAvailable(Box<Shortfall>),
    #[error("{}", .0.detail())]
    StaleHold(Box<StaleHold>),
    /// The hold was committed, released or has expired.
    #[error("hold {} is {}", .0.id, .0.status.as_str())]
    HoldNotActive(Box<Hold>),
    /// A reorder point for a level no write of stock has made yet.
    #[error("product {sku} was never stocked at {location}")]
    LevelNeverStocked { sku: String, location: String },
    /// A redelivery from after the first event not yet delivered.
    #[error("redelivery may start at most after event {delivered_through}")]
    RedeliverAhead { delivered_through: i64 },
    /// The feed no longer holds the events after `after`.
    #[error("the feed keeps events from {oldest_kept}")]
    EventsPurged { after: i64, oldest_kept: i64 },
    #[error("no webhook has id {0}")]
    WebhookNotFound(Uuid),
    #[error("{}", .0.detail())]
    StaleWebhook(Box<StaleWebhook>),
    #[error("location code {0} is already taken")]
    DuplicateLocation(String),
    #[error("{}", .0.detail())]
    StaleLocation(Box<StaleLocation>),
    #[error("{}", .0.detail())]
    StaleLevel(Box<StaleLevel>),
    /// A location that still holds stock of live products cannot go.
    #[error("location {code} still holds stock of {products_held} products")]
    LocationNotEmpty { code: String, products_held: i64 },
    /// MAIN, where writes naming no location act, cannot be deleted.
    #[error("the default location cannot be deleted")]
    DefaultLocation,
    /// A write of the product's `stock` while it has stock elsewhere than
    /// MAIN: it must name the level instead.
    #[error("the product holds stock at several locations")]
    StockAtSeveralLocations { levels: Vec<Level> },
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
