//! What the live feed carries: product versions, and notices about holds
//! and levels that are not product versions.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::history::HistoryEntry;
use super::hold::{Hold, Oversold};
use super::product::Product;

/// One event of the feed, numbered in the order it became visible.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    /// The feed's number for this event: the `id:` of the SSE event, and
    /// what a client sends back as `Last-Event-ID` to resume after it.
    pub number: i64,
    pub change: FeedChange,
}

/// What an event says happened.
#[derive(Debug, Clone)]
pub enum FeedChange {
    /// A new version of a product.
    Product(Box<ProductChange>),
    /// A notice, as it was written when it happened.
    Notice { name: String, data: String },
}

impl FeedChange {
    /// The SSE event's name.
    pub fn name(&self) -> &str {
        match self {
            FeedChange::Product(_) => "product",
            FeedChange::Notice { name, .. } => name,
        }
    }

    /// The event's data as JSON.
    pub fn data(&self) -> String {
        match self {
            FeedChange::Product(change) => serde_json::to_string(change).unwrap_or_default(),
            FeedChange::Notice { data, .. } => data.clone(),
        }
    }
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

/// A notice to record in the feed: not a product version, but news of
/// one product that streams carry in order with its versions.
#[derive(Debug, Clone)]
pub struct Notice {
    pub product_id: Uuid,
    /// The version it concerns (a hold's), or 0.
    pub version: i64,
    /// The SSE event's name.
    pub name: &'static str,
    /// Its JSON, as of when it happened.
    pub data: String,
}

impl Notice {
    /// A `hold` event: the hold as a write left it.
    pub fn hold(hold: &Hold) -> Notice {
        Notice {
            product_id: hold.product_id,
            version: hold.version,
            name: "hold",
            data: serde_json::to_string(hold).unwrap_or_default(),
        }
    }

    /// An `oversold` event: the level and the holds it puts at risk.
    pub fn oversold(oversold: &Oversold) -> Notice {
        Notice {
            product_id: oversold.product_id,
            version: 0,
            name: "oversold",
            data: serde_json::to_string(oversold).unwrap_or_default(),
        }
    }
}
