//! A change to a product as the live feed carries it.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::history::HistoryEntry;
use super::product::Product;

/// One product version in the feed, numbered in the order it became visible.
#[derive(Debug, Clone)]
pub struct ProductEvent {
    /// The feed's number for this change: the `id:` of the SSE event, and
    /// what a client sends back as `Last-Event-ID` to resume after it.
    pub number: i64,
    pub change: ProductChange,
}

/// The `data:` of a `product` event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductChange {
    /// The product's id.
    pub id: Uuid,
    /// The version this change made, who made it, when and what changed,
    /// as in the product's history.
    #[serde(flatten)]
    pub entry: HistoryEntry,
    /// The product as it is now (after this change, or a later one); for a
    /// delete, as it was when deleted.
    pub product: Product,
}
