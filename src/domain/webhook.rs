//! Webhook subscriptions: which events of the feed to push to which URL,
//! signed with a secret, and how far delivery has got.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::events::{FeedChange, FeedEvent};
use super::precondition::{Precondition, VersionSource};

/// The longest a webhook's URL may be.
pub const URL_MAX_CHARS: usize = 2000;
/// The longest the secret before a rotation may go on signing.
pub const ROTATION_MAX_GRACE_SECONDS: i64 = 7 * 24 * 60 * 60;
/// How long it signs when a rotation names no grace.
pub const ROTATION_DEFAULT_GRACE_SECONDS: i64 = 24 * 60 * 60;

/// What a subscription may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum EventType {
    /// Every product version.
    #[serde(rename = "product")]
    Product,
    /// The product versions that changed a level (their `ledger` is set).
    #[serde(rename = "level")]
    Level,
    #[serde(rename = "hold")]
    Hold,
    #[serde(rename = "oversold")]
    Oversold,
    #[serde(rename = "location")]
    Location,
    #[serde(rename = "stock.low")]
    StockLow,
    #[serde(rename = "stock.ok")]
    StockOk,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::Product,
        EventType::Level,
        EventType::Hold,
        EventType::Oversold,
        EventType::Location,
        EventType::StockLow,
        EventType::StockOk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Product => "product",
            EventType::Level => "level",
            EventType::Hold => "hold",
            EventType::Oversold => "oversold",
            EventType::Location => "location",
            EventType::StockLow => "stock.low",
            EventType::StockOk => "stock.ok",
        }
    }

    pub fn parse(value: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }

    /// Whether an event of the feed is of this type.
    pub fn covers(self, event: &FeedEvent) -> bool {
        match (&event.change, self) {
            (FeedChange::Product(_), EventType::Product) => true,
            (FeedChange::Product(change), EventType::Level) => change.entry.ledger.is_some(),
            (FeedChange::Product(_), _) => false,
            (FeedChange::Notice { name, .. }, kind) => name == kind.as_str(),
        }
    }
}

/// Whether a subscription to `events` wants this event.
pub fn wants(events: &[EventType], event: &FeedEvent) -> bool {
    events.iter().any(|kind| kind.covers(event))
}

/// A subscription as clients see it (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    /// Starts at 1; grows by one on every change an admin makes, and when
    /// the server disables a subscription whose deliveries keep failing.
    #[schema(minimum = 1, example = 1)]
    pub version: i64,
    #[schema(example = "https://erp.example.com/hooks/inventory")]
    pub url: String,
    /// The event types it receives.
    pub events: Vec<EventType>,
    pub enabled: bool,
    /// Why the server disabled it; null when it did not.
    #[schema(required = true, example = json!(null))]
    pub disabled_reason: Option<String>,
    /// The feed number up to which every event it wants was delivered.
    #[schema(minimum = 0, example = 1234)]
    pub delivered_through: i64,
    /// When the event it is stuck on first failed; null when healthy.
    #[serde(serialize_with = "super::timestamp::serialize_optional")]
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    pub failing_since: Option<DateTime<Utc>>,
    /// When the next attempt is due, after a failure; null otherwise.
    #[serde(serialize_with = "super::timestamp::serialize_optional")]
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation also signs; null
    /// when only the current one does.
    #[serde(serialize_with = "super::timestamp::serialize_optional")]
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// A subscription with its signing secret: answered once, when made or
/// when the secret is rotated.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_` and 32 random bytes in base64, as the Standard Webhooks
    /// libraries take it. Shown only now: store it.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3S5dYbMQxSc=")]
    pub secret: String,
}

/// A subscription to make.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventType>,
    pub enabled: bool,
}

/// A change of a subscription, at the version it was based on.
#[derive(Debug, Clone)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub enabled: Option<bool>,
    pub expected: Precondition,
}

/// A refused change of a subscription based on an old version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaleWebhook {
    pub your_version: i64,
    pub current_version: i64,
    /// The subscription as it is now.
    pub current: Webhook,
    #[serde(skip)]
    pub source: VersionSource,
}

impl StaleWebhook {
    pub fn new(expected: Precondition, current: Webhook) -> StaleWebhook {
        StaleWebhook {
            your_version: expected.version,
            current_version: current.version,
            current,
            source: expected.source,
        }
    }

    pub fn detail(&self) -> String {
        format!(
            "You sent version {} of webhook {}, but it is at version {}. Read it again and \
             decide whether your change still applies.",
            self.your_version, self.current.id, self.current_version
        )
    }
}

/// One attempt to deliver one event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    /// Grows with every attempt: the log's order.
    #[schema(minimum = 1, example = 17)]
    pub id: i64,
    #[schema(minimum = 1, example = 1234)]
    pub event_number: i64,
    #[schema(example = "product")]
    pub event_type: String,
    /// Which attempt at this event it was, from 1 (counted again from 1
    /// after the webhook is enabled again or redelivers).
    #[schema(minimum = 1, example = 2)]
    pub attempt: i32,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub at: DateTime<Utc>,
    /// A 2xx within the time allowed.
    pub succeeded: bool,
    /// The answer's status; null when none came.
    #[schema(required = true, example = 500)]
    pub status: Option<i32>,
    /// From sending the request to the end of the answer (or the failure).
    #[schema(minimum = 0, example = 12)]
    pub latency_ms: i64,
    /// The answer's first bytes (at most 256), as text.
    #[schema(required = true, example = "upstream unavailable")]
    pub response: Option<String>,
    /// Why no answer came, or why it was not taken; null when one was.
    #[schema(required = true, example = json!(null))]
    pub error: Option<String>,
}

/// What one attempt came to, to log.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub event_number: i64,
    /// Which attempt at this event, from 1.
    pub number: i32,
    pub event_type: String,
    pub succeeded: bool,
    pub status: Option<i32>,
    pub latency_ms: i64,
    pub response: Option<String>,
    pub error: Option<String>,
}

impl Attempt {
    /// How the answer reads in a subscription's `disabled_reason`.
    pub fn outcome(&self) -> String {
        match (self.status, &self.error) {
            (_, Some(error)) => error.clone(),
            (Some(status), None) => format!("HTTP {status}"),
            (None, None) => "no answer".to_owned(),
        }
    }
}

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}
