//! What the live feed carries: product versions, and notices about holds,
//! levels and locations that are not product versions.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::history::HistoryEntry;
use super::hold::{Hold, Oversold};
use super::level::StockAlert;
use super::location::LocationChange;
use super::product::Product;

/// One event of the feed, numbered in the order it became visible.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    /// The feed's number for this event: the `id:` of the SSE event, and
    /// what a client sends back as `Last-Event-ID` to resume after it.
    pub number: i64,
    /// The resource it concerns: a product's id, or a location's.
    pub subject: Uuid,
    /// That resource's version it concerns (see `FeedItem::version`).
    pub version: i64,
    pub change: FeedChange,
}

impl FeedEvent {
    /// The event as the change list and webhooks carry it.
    pub fn item(&self) -> FeedItem {
        FeedItem {
            number: self.number,
            kind: self.change.name().to_owned(),
            id: self.subject,
            version: self.version,
            data: serde_json::from_str(&self.change.data()).unwrap_or_default(),
        }
    }
}

/// One event of the feed as JSON: what `GET /v1/changes` lists and what a
/// webhook delivers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedItem {
    /// The feed's number: the same as the event stream's `id`. Numbers
    /// grow in the order changes became visible; drop one you have seen.
    #[schema(minimum = 1, example = 1234)]
    pub number: i64,
    /// `product`, `hold`, `oversold`, `location`, `stock.low` or `stock.ok`.
    #[serde(rename = "type")]
    #[schema(example = "product")]
    pub kind: String,
    /// The id of what `version` is a version of: the hold's for `hold`,
    /// the location's for `location`, else the product's.
    pub id: Uuid,
    /// The version the event concerns: the product's for `product`, the
    /// hold's for `hold`, the location's for `location`, the level's for
    /// `oversold`, `stock.low` and `stock.ok`.
    #[schema(minimum = 0, example = 7)]
    pub version: i64,
    /// What the event stream carries as this event's `data`: a
    /// `ProductChange`, a `Hold`, an `Oversold`, a `LocationChange` or a
    /// `StockAlert`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
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
    /// What it concerns: a product, or a hold or a location for theirs.
    pub subject: Uuid,
    /// The version it concerns (a hold's, a level's or a location's).
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
            subject: hold.id,
            version: hold.version,
            name: "hold",
            data: serde_json::to_string(hold).unwrap_or_default(),
        }
    }

    /// An `oversold` event: the level and the holds it puts at risk.
    pub fn oversold(oversold: &Oversold) -> Notice {
        Notice {
            subject: oversold.product_id,
            version: oversold.level.version,
            name: "oversold",
            data: serde_json::to_string(oversold).unwrap_or_default(),
        }
    }

    /// A `stock.low` or `stock.ok` event: a level crossed its reorder
    /// point, down or back up.
    pub fn stock_alert(alert: &StockAlert) -> Notice {
        Notice {
            subject: alert.product_id,
            version: alert.level.version,
            name: if alert.low { "stock.low" } else { "stock.ok" },
            data: serde_json::to_string(alert).unwrap_or_default(),
        }
    }

    /// A `location` event: a location made, renamed or deleted.
    pub fn location(change: &LocationChange) -> Notice {
        Notice {
            subject: change.location.id,
            version: change.location.version,
            name: "location",
            data: serde_json::to_string(change).unwrap_or_default(),
        }
    }
}
