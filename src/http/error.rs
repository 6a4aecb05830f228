//! `ApiError`: every way a request can fail, each turned into an RFC 9457
//! problem. `error_response` fills in what the error itself knows (type,
//! title, status, detail, extensions, headers); the request-context
//! middleware adds what only the request knows (`instance`, `request_id`)
//! and writes the body. Causes of a 500 are logged, never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{DbError, RetryReason, WorkError};
use crate::domain::conflict::StaleVersion;
use crate::domain::fields::STOCK_MAX;
use crate::domain::hold::{Hold, HoldStatus, Shortfall, StaleHold};
use crate::domain::level::{Level, StaleLevel};
use crate::domain::location::StaleLocation;
use crate::domain::precondition::VersionSource;
use crate::domain::product::Product;
use crate::domain::stock::SyncOutcome;
use crate::domain::webhook::StaleWebhook;
use crate::http::problem::{self, ProblemType};
use crate::http::problem_body::Problem;
use crate::store::StoreError;

/// Most broken rules one problem lists; `more_errors` counts the rest.
pub const ERRORS_SHOWN: usize = 100;

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "2";

/// One broken rule, located by a JSON pointer into the request
/// (`/price_minor`), or naming the header or query parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub pointer: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    Malformed {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error(
        "This token already has {limit} event streams open, as many as a token may. Close one, \
         or retry later."
    )]
    TooManyStreams { limit: usize },
    #[error(
        "This address already has {limit} connections open to the server, as many as one \
         address may; this one is closed. Reuse an open connection, or retry later."
    )]
    TooManyConnections { limit: usize },
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed { allow: &'static str },
    #[error("{}", .0.detail())]
    StaleVersion(Box<StaleVersion>),
    #[error("SKU {sku} is already used by another live product")]
    DuplicateSku { sku: String, existing_id: Uuid },
    #[error("stock {} at {} cannot go below 0 by {delta}", .level.on_hand, .level.location)]
    InsufficientStock {
        delta: i64,
        current: Box<Product>,
        level: Level,
    },
    #[error("{}", .0.detail())]
    StaleLocation(Box<StaleLocation>),
    #[error("{}", .0.detail())]
    StaleLevel(Box<StaleLevel>),
    #[error("{}", .0.detail())]
    StaleHold(Box<StaleHold>),
    #[error("{}", .0.detail())]
    StaleWebhook(Box<StaleWebhook>),
    #[error(
        "{} of {} at {} cannot be held: {} are available ({} on hand, {} held). Nothing was held.",
        .0.requested, .0.sku, .0.level.location, .0.level.available, .0.level.on_hand,
        .0.level.reserved
    )]
    InsufficientAvailable(Box<Shortfall>),
    #[error("{}", hold_not_active(.0))]
    HoldNotActive(Box<Hold>),
    #[error("Another location already has code {0} (codes are compared ignoring case, and a deleted location's code stays taken). Choose another code.")]
    DuplicateLocation(String),
    #[error("Location {code} still holds stock of {products_held} live product(s). Transfer or count it to 0, then delete the location.")]
    LocationNotEmpty { code: String, products_held: i64 },
    #[error("MAIN is where stock writes naming no location act, so it cannot be deleted.")]
    DefaultLocation,
    #[error("This product has stock at several locations, so its stock cannot be set as one number. Write the level instead: PATCH /v1/products/{{id}}/levels/{{code}}.")]
    StockAtSeveralLocations { levels: Vec<Level> },
    #[error("an item of the atomic stock sync failed")]
    StockSyncConflict(Box<SyncOutcome>),
    #[error("a request with this Idempotency-Key is still running")]
    IdempotencyKeyInUse,
    #[error("this Idempotency-Key was used for another request")]
    IdempotencyKeyReused,
    #[error(
        "This token already holds {quota} idempotency keys from the last 24 hours, as many as \
         a token may. Nothing was applied. Retry without Idempotency-Key, or later, as old keys \
         expire."
    )]
    IdempotencyQuotaExceeded { quota: i64 },
    #[error("the request body is larger than 1 MiB")]
    PayloadTooLarge,
    #[error(
        "The request body did not arrive whole within {} s of its headers. Nothing was \
         applied; send the body whole, then retry.", .0.as_secs()
    )]
    BodyTimeout(std::time::Duration),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request breaks {} rule(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    VersionRequired(String),
    #[error(
        "The feed no longer holds the changes after event {after}: it keeps them from event \
         {oldest_kept} on. Read the products again, then open the stream without Last-Event-ID."
    )]
    EventsPurged { after: i64, oldest_kept: i64 },
    #[error("{0}")]
    Unavailable(String),
    /// A transaction the database refused for a concurrent one: run again
    /// where it can be (see `db::retry`), a 503 once attempts run out.
    #[error("The database could not order this request with concurrent ones. Retry shortly.")]
    TransactionConflict(RetryReason),
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn malformed(detail: impl Into<String>, errors: Vec<FieldError>) -> ApiError {
        ApiError::Malformed {
            detail: detail.into(),
            errors,
        }
    }

    pub fn product_not_found(id: &Uuid) -> ApiError {
        ApiError::NotFound(format!("No product has id {id}, or it was deleted."))
    }

    pub fn location_not_found(code: &str) -> ApiError {
        ApiError::NotFound(format!(
            "No location has code {code}, or it was deleted. GET /v1/locations lists them."
        ))
    }

    pub fn hold_not_found(id: &Uuid) -> ApiError {
        ApiError::NotFound(format!("No hold has id {id}."))
    }

    pub fn version_required() -> ApiError {
        ApiError::VersionRequired(
            "This write must name the version it is based on: send \"version\": N in the body \
             (?version=N for DELETE) or If-Match: \"N\" with the ETag you read. \
             If-Match: * does not count."
                .to_owned(),
        )
    }

    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ApiError {
        ApiError::Internal(cause.into())
    }

    pub fn problem_type(&self) -> &'static ProblemType {
        match self {
            ApiError::Malformed { .. } => &problem::MALFORMED_REQUEST,
            ApiError::NotFound(_) => &problem::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => &problem::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => &problem::UNAUTHORIZED,
            ApiError::Forbidden(_) => &problem::FORBIDDEN,
            ApiError::RateLimited { .. } => &problem::RATE_LIMITED,
            ApiError::TooManyStreams { .. } => &problem::TOO_MANY_STREAMS,
            ApiError::TooManyConnections { .. } => &problem::TOO_MANY_CONNECTIONS,
            ApiError::StaleVersion(_)
            | ApiError::StaleLocation(_)
            | ApiError::StaleLevel(_)
            | ApiError::StaleHold(_)
            | ApiError::StaleWebhook(_) => &problem::STALE_VERSION,
            ApiError::DuplicateLocation(_) => &problem::DUPLICATE_LOCATION,
            ApiError::LocationNotEmpty { .. } => &problem::LOCATION_NOT_EMPTY,
            ApiError::DefaultLocation => &problem::DEFAULT_LOCATION,
            ApiError::StockAtSeveralLocations { .. } => &problem::STOCK_AT_SEVERAL_LOCATIONS,
            ApiError::DuplicateSku { .. } => &problem::DUPLICATE_SKU,
            ApiError::InsufficientStock { .. } => &problem::INSUFFICIENT_STOCK,
            ApiError::InsufficientAvailable(_) => &problem::INSUFFICIENT_AVAILABLE,
            ApiError::HoldNotActive(_) => &problem::HOLD_NOT_ACTIVE,
            ApiError::StockSyncConflict(_) => &problem::STOCK_SYNC_CONFLICT,
            ApiError::IdempotencyKeyInUse => &problem::IDEMPOTENCY_KEY_IN_USE,
            ApiError::IdempotencyKeyReused => &problem::IDEMPOTENCY_KEY_REUSED,
            ApiError::IdempotencyQuotaExceeded { .. } => &problem::IDEMPOTENCY_QUOTA_EXCEEDED,
            ApiError::PayloadTooLarge => &problem::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout(_) => &problem::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => &problem::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => &problem::VALIDATION,
            ApiError::VersionRequired(_) => &problem::VERSION_REQUIRED,
            ApiError::EventsPurged { .. } => &problem::EVENTS_PURGED,
            ApiError::Unavailable(_) | ApiError::TransactionConflict(_) => &problem::UNAVAILABLE,
            ApiError::Internal(_) => &problem::INTERNAL,
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::MethodNotAllowed { allow } => {
                format!("This path does not accept this method. It accepts: {allow}.")
            }
            ApiError::DuplicateSku { sku, .. } => format!(
                "Another live product already has SKU \"{sku}\" (SKUs are compared ignoring case). \
                 Choose another SKU."
            ),
            ApiError::InsufficientStock { delta, level, .. } => format!(
                "The product has {} in stock at {}; adding {delta} would take it below 0. Nothing was applied.",
                level.on_hand, level.location
            ),
            ApiError::StockSyncConflict(outcome) => format!(
                "{} item(s) conflicted and {} were not found, so the atomic batch applied nothing. \
                 `results` marks each item.",
                outcome.summary.conflict, outcome.summary.not_found
            ),
            ApiError::IdempotencyKeyInUse => "The first request with this Idempotency-Key is still \
                 running. Retry after Retry-After seconds to get its response."
                .to_owned(),
            ApiError::IdempotencyKeyReused => "This Idempotency-Key was first used for a different \
                 request (method, path or body). Use a new key for a new request."
                .to_owned(),
            ApiError::RateLimited { retry_after } => format!(
                "Too many requests. Nothing was applied; retry in {retry_after} s."
            ),
            ApiError::PayloadTooLarge => {
                "The request body is larger than 1 MiB; send a smaller body.".to_owned()
            }
            ApiError::Validation(errors) => format!(
                "The request breaks {} rule(s); `errors` lists each with a JSON pointer to the field.",
                errors.len()
            ),
            ApiError::Internal(_) => "Something went wrong on our side. Quote the request_id \
                 when reporting it."
                .to_owned(),
            other => other.to_string(),
        }
    }

    /// The problem body, less what only the request knows.
    fn document(&self, status: StatusCode) -> Problem {
        Problem::new(self.problem_type(), status, self.detail()).with_extensions(self.extensions())
    }

    /// The members this problem adds to the standard ones.
    fn extensions(&self) -> Map<String, Value> {
        let value = match self {
            ApiError::Malformed { errors, .. } | ApiError::Validation(errors) => {
                let shown = &errors[..errors.len().min(ERRORS_SHOWN)];
                match errors.len() - shown.len() {
                    0 => serde_json::json!({ "errors": shown }),
                    more => serde_json::json!({ "errors": shown, "more_errors": more }),
                }
            }
            ApiError::StaleVersion(stale) => serde_json::to_value(stale).unwrap_or_default(),
            ApiError::DuplicateSku { existing_id, .. } => {
                serde_json::json!({ "existing_id": existing_id })
            }
            ApiError::InsufficientStock { current, level, .. } => serde_json::json!({
                "current_stock": current.fields.stock,
                "current": current,
                "level": level,
            }),
            ApiError::StaleLocation(stale) => serde_json::to_value(stale).unwrap_or_default(),
            ApiError::StaleLevel(stale) => serde_json::to_value(stale).unwrap_or_default(),
            ApiError::StaleHold(stale) => serde_json::to_value(stale).unwrap_or_default(),
            ApiError::StaleWebhook(stale) => serde_json::to_value(stale).unwrap_or_default(),
            ApiError::InsufficientAvailable(shortfall) => serde_json::json!({
                "product_id": shortfall.product_id,
                "sku": shortfall.sku,
                "location": shortfall.level.location,
                "requested": shortfall.requested,
                "level": shortfall.level,
            }),
            ApiError::HoldNotActive(hold) if hold.status == HoldStatus::Expired => {
                serde_json::json!({ "hold": hold, "expired_at": hold.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true) })
            }
            ApiError::HoldNotActive(hold) => serde_json::json!({ "hold": hold }),
            ApiError::LocationNotEmpty { products_held, .. } => {
                serde_json::json!({ "products_held": products_held })
            }
            ApiError::StockAtSeveralLocations { levels } => serde_json::json!({ "levels": levels }),
            ApiError::StockSyncConflict(outcome) => {
                serde_json::to_value(outcome).unwrap_or_default()
            }
            _ => Value::Null,
        };
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::StaleVersion(stale) if stale.source == VersionSource::IfMatch => {
                StatusCode::PRECONDITION_FAILED
            }
            ApiError::StaleLocation(stale) if stale.source == VersionSource::IfMatch => {
                StatusCode::PRECONDITION_FAILED
            }
            ApiError::StaleLevel(stale) if stale.source == VersionSource::IfMatch => {
                StatusCode::PRECONDITION_FAILED
            }
            ApiError::StaleHold(stale) if stale.source == VersionSource::IfMatch => {
                StatusCode::PRECONDITION_FAILED
            }
            ApiError::StaleWebhook(stale) if stale.source == VersionSource::IfMatch => {
                StatusCode::PRECONDITION_FAILED
            }
            other => other.problem_type().status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(cause = %error_chain(cause.as_ref()), "request failed");
        }
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        match self {
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, *allow));
            }
            ApiError::StaleVersion(stale) => {
                response.insert_header((header::ETAG, stale.current.etag()));
            }
            ApiError::StaleLocation(stale) => {
                response.insert_header((header::ETAG, stale.current.etag()));
            }
            ApiError::StaleLevel(stale) => {
                response.insert_header((header::ETAG, stale.current.etag()));
            }
            ApiError::StaleHold(stale) => {
                response.insert_header((header::ETAG, stale.current.etag()));
            }
            ApiError::StaleWebhook(stale) => {
                response.insert_header((header::ETAG, stale.current.etag()));
            }
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::RateLimited { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            ApiError::Unavailable(_)
            | ApiError::TransactionConflict(_)
            | ApiError::TooManyStreams { .. }
            | ApiError::TooManyConnections { .. }
            | ApiError::IdempotencyQuotaExceeded { .. }
            | ApiError::IdempotencyKeyInUse => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        let mut response = response.finish();
        response.extensions_mut().insert(self.document(status));
        response
    }
}

/// Why a hold can no longer be changed, in words.
fn hold_not_active(hold: &Hold) -> String {
    match hold.status {
        HoldStatus::Expired => format!(
            "Hold {} expired at {}; its stock is available again. Hold anew if it is still \
             wanted.",
            hold.id,
            hold.expires_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
        status => format!(
            "Hold {} is already {}, so it can no longer be changed, committed or released.",
            hold.id,
            status.as_str()
        ),
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> ApiError {
        match error {
            DbError::Unavailable(why) => ApiError::Unavailable(why.to_string()),
            DbError::SerializationFailure => {
                ApiError::TransactionConflict(RetryReason::SerializationFailure)
            }
            DbError::Deadlock => ApiError::TransactionConflict(RetryReason::Deadlock),
            other @ (DbError::UniqueViolation { .. } | DbError::Internal(_)) => {
                ApiError::internal(other)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::ProductNotFound(id) => ApiError::product_not_found(&id),
            StoreError::VersionRequired => ApiError::version_required(),
            StoreError::Stale(stale) => ApiError::StaleVersion(stale),
            StoreError::DuplicateSku { sku, existing_id } => {
                ApiError::DuplicateSku { sku, existing_id }
            }
            StoreError::InsufficientStock {
                delta,
                current,
                level,
            } => ApiError::InsufficientStock {
                delta,
                current,
                level,
            },
            StoreError::LocationNotFound(code) => ApiError::location_not_found(&code),
            StoreError::SkuNotFound(sku) => {
                ApiError::NotFound(format!("No live product has SKU {sku}."))
            }
            StoreError::HoldNotFound(id) => ApiError::hold_not_found(&id),
            StoreError::LevelNeverStocked { sku, location } => ApiError::NotFound(format!(
                "{sku} has no level at {location} yet: its first write of stock there makes \
                 it. Set the reorder point after that."
            )),
            StoreError::WebhookNotFound(id) => {
                ApiError::NotFound(format!("No webhook has id {id}."))
            }
            StoreError::StaleWebhook(stale) => ApiError::StaleWebhook(stale),
            StoreError::RedeliverAhead { delivered_through } => {
                ApiError::Validation(vec![FieldError::new(
                    "/from",
                    format!(
                        "must be at most {}: events up to {delivered_through} are delivered, and \
                         a redelivery cannot skip the ones after",
                        delivered_through + 1
                    ),
                )])
            }
            StoreError::EventsPurged { after, oldest_kept } => {
                ApiError::EventsPurged { after, oldest_kept }
            }
            StoreError::InsufficientAvailable(shortfall) => {
                ApiError::InsufficientAvailable(shortfall)
            }
            StoreError::StaleHold(stale) => ApiError::StaleHold(stale),
            StoreError::HoldNotActive(hold) => ApiError::HoldNotActive(hold),
            StoreError::DuplicateLocation(code) => ApiError::DuplicateLocation(code),
            StoreError::StaleLocation(stale) => ApiError::StaleLocation(stale),
            StoreError::StaleLevel(stale) => ApiError::StaleLevel(stale),
            StoreError::LocationNotEmpty {
                code,
                products_held,
            } => ApiError::LocationNotEmpty {
                code,
                products_held,
            },
            StoreError::DefaultLocation => ApiError::DefaultLocation,
            StoreError::StockAtSeveralLocations { levels } => {
                ApiError::StockAtSeveralLocations { levels }
            }
            StoreError::StockAboveMaximum {
                current_stock,
                wanted,
            } => ApiError::Validation(vec![FieldError::new(
                "/delta",
                format!(
                    "would take stock from {current_stock} to {wanted}, above the maximum {STOCK_MAX}"
                ),
            )]),
            StoreError::StockSyncConflict(outcome) => ApiError::StockSyncConflict(outcome),
            StoreError::IdempotencyKeyInUse => ApiError::IdempotencyKeyInUse,
            StoreError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
            StoreError::IdempotencyQuotaExceeded { quota } => {
                ApiError::IdempotencyQuotaExceeded { quota }
            }
            StoreError::Contended(why) => ApiError::Unavailable(why.to_owned()),
            StoreError::Database(error) => error.into(),
        }
    }
}

/// Work on a pooled connection may end in an `ApiError` (an idempotent
/// write's); one that may come from the connection gets it pinged.
impl WorkError for ApiError {
    fn may_be_the_connection(&self) -> bool {
        matches!(self, ApiError::Unavailable(_) | ApiError::Internal(_))
    }

    fn retry_reason(&self) -> Option<RetryReason> {
        match self {
            ApiError::TransactionConflict(reason) => Some(*reason),
            _ => None,
        }
    }
}
