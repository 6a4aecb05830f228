//! Holds: stock set aside for a cart or an order until it is committed (a
//! sale), released, or expires. A hold is not a write of its level: it
//! moves only its own version, and counts in the level's `reserved` while
//! it is active and its `expires_at` is ahead.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::level::Level;
use super::precondition::{Precondition, VersionSource};
use super::product::ProductRef;

/// The longest a hold may last from when it is made or extended.
pub const HOLD_MAX_LIFETIME: TimeDelta = TimeDelta::days(7);
/// `HOLD_MAX_LIFETIME` in seconds, the most `expires_in` may be.
pub const HOLD_MAX_SECONDS: i64 = 7 * 24 * 60 * 60;
/// The most lines one request may hold at once.
pub const HOLD_MAX_LINES: usize = 100;

/// Where a hold is in its life. Only `active` holds count in `reserved`;
/// the others are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    Active,
    Committed,
    Released,
    Expired,
}

impl HoldStatus {
    const ALL: [HoldStatus; 4] = [
        HoldStatus::Active,
        HoldStatus::Committed,
        HoldStatus::Released,
        HoldStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Committed => "committed",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<HoldStatus> {
        HoldStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// A hold as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Hold {
    /// UUID v7: ids sort by creation time.
    pub id: Uuid,
    /// Starts at 1 and grows by one on every change of the hold (never of
    /// its level or product).
    #[schema(minimum = 1, example = 1)]
    pub version: i64,
    pub product_id: Uuid,
    #[schema(example = "MUG-BLUE-01")]
    pub sku: String,
    /// The location's code.
    #[schema(example = "MAIN")]
    pub location: String,
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 2)]
    pub quantity: i64,
    /// An active hold whose `expires_at` has passed reads as `expired` at
    /// once, before the server marks it so.
    pub status: HoldStatus,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub expires_at: DateTime<Utc>,
    /// The cart or order the hold is for, as the client named it.
    #[schema(required = true, example = "cart-8841")]
    pub reference: Option<String>,
    /// The token that made the hold.
    #[schema(example = "shop")]
    pub actor: String,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl Hold {
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    /// The hold as it reads at `now`: an active one past its time has
    /// expired, whether or not the sweep has marked it yet.
    pub fn as_of(mut self, now: DateTime<Utc>) -> Hold {
        if self.status == HoldStatus::Active && self.expires_at <= now {
            self.status = HoldStatus::Expired;
        }
        self
    }

    /// Whether it counts in `reserved` at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.status == HoldStatus::Active && self.expires_at > now
    }
}

/// When a hold ends: a number of seconds from now, or a time.
#[derive(Debug, Clone, Copy)]
pub enum Expiry {
    In(i64),
    At(DateTime<Utc>),
}

impl Expiry {
    /// The time it names, if it lies in the next `HOLD_MAX_LIFETIME`; to
    /// the millisecond, as times are shown, so that a hold expires at
    /// exactly the `expires_at` a client reads.
    pub fn resolve(self, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
        let at = match self {
            Expiry::In(seconds) => now + TimeDelta::seconds(seconds),
            Expiry::At(at) => at,
        }
        .trunc_subsecs(3);
        if at <= now {
            return Err("must be in the future".to_owned());
        }
        if at > now + HOLD_MAX_LIFETIME {
            return Err("must be at most 7 days ahead".to_owned());
        }
        Ok(at)
    }
}

/// One line of a request to hold stock.
#[derive(Debug, Clone)]
pub struct HoldLine {
    pub product: ProductRef,
    /// The location's code; MAIN's when the request named none.
    pub location: String,
    pub quantity: i64,
}

/// A request to hold stock: every line or none.
#[derive(Debug, Clone)]
pub struct NewHolds {
    pub lines: Vec<HoldLine>,
    pub expires_at: DateTime<Utc>,
    pub reference: Option<String>,
}

/// A change of an active hold, at its version.
#[derive(Debug, Clone)]
pub struct HoldChange {
    pub expected: Precondition,
    pub quantity: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// How a hold ends by request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnd {
    Commit,
    Release,
}

/// A refused write to a hold based on an old version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaleHold {
    pub your_version: i64,
    pub current_version: i64,
    /// The hold as it is now.
    pub current: Hold,
    #[serde(skip)]
    pub source: VersionSource,
}

impl StaleHold {
    pub fn new(expected: Precondition, current: Hold) -> StaleHold {
        StaleHold {
            your_version: expected.version,
            current_version: current.version,
            current,
            source: expected.source,
        }
    }

    pub fn detail(&self) -> String {
        format!(
            "You sent version {} of hold {}, but it is at version {}. Read it again and decide \
             whether your change still applies.",
            self.your_version, self.current.id, self.current_version
        )
    }
}

/// Why a level cannot hold more: what it has, and what was asked.
#[derive(Debug, Clone)]
pub struct Shortfall {
    pub product_id: Uuid,
    pub sku: String,
    /// Every line of the request on this product and location, summed.
    pub requested: i64,
    pub level: Level,
}

/// A level whose `on_hand` a physical change left below its holds: the
/// holds at risk, oldest first, so a shop can decide which orders to
/// serve.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Oversold {
    pub product_id: Uuid,
    #[schema(example = "MUG-BLUE-01")]
    pub sku: String,
    /// The level after the change: its `location`, `on_hand`, `reserved`
    /// and (negative) `available`.
    #[serde(flatten)]
    pub level: Level,
    /// The level's active holds, oldest first.
    pub holds: Vec<Hold>,
}
