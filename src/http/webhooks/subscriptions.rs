//! Making, changing, deleting a webhook subscription, and rotating its
//! secret.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use utoipa::ToSchema;

use super::{webhook_in_path, webhook_response};
use crate::db::Database;
use crate::domain::fields;
use crate::domain::precondition::VersionSource;
use crate::domain::webhook::{
    self, EventType, NewWebhook, WebhookChange, WebhookWithSecret, ROTATION_DEFAULT_GRACE_SECONDS,
    ROTATION_MAX_GRACE_SECONDS, URL_MAX_CHARS,
};
use crate::http::actor::{roles, Authorized};
use crate::http::body_fields::{FieldReader, Presence};
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, recorded_json, Retryable};
use crate::http::json_body::JsonObject;
use crate::http::preconditions;
use crate::http::query::{reject_parameters, QueryReader};
use crate::store;
use crate::webhooks::outbound::{self, Reach};

/// The body of a new webhook.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where to POST events: `https://` (or `http://` where the server
    /// allows it), reaching a public address unless the server allows
    /// private ones; at most 2000 characters.
    #[schema(max_length = 2000, example = "https://erp.example.com/hooks/inventory")]
    pub url: String,
    /// The event types to receive: at least one, each once.
    #[schema(min_items = 1, max_items = 7)]
    pub events: Vec<EventType>,
    /// Whether to deliver (default true).
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
}

/// The body of a change of a webhook: any of its fields, and its version.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// The webhook's version your change is based on; or send If-Match.
    #[schema(nullable = false, minimum = 1, example = 1)]
    pub version: Option<i64>,
    #[schema(nullable = false, max_length = 2000)]
    pub url: Option<String>,
    #[schema(nullable = false, min_items = 1, max_items = 7)]
    pub events: Option<Vec<EventType>>,
    /// `true` after the server disabled it clears the failure, and
    /// delivery goes on at once from where it stopped.
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
}

/// The body of a rotation of the secret.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// Seconds the old secret goes on signing beside the new one, so that
    /// receivers can switch over (default 86400; 0: from now on, only the
    /// new one).
    #[schema(nullable = false, minimum = 0, maximum = 604_800, example = 86400)]
    pub grace_seconds: Option<i64>,
}

/// Make a webhook
///
/// Subscribes a URL to events of the feed, from now on. The answer holds
/// the signing secret: it is shown only here (and on rotation), so store
/// it. Deliveries are signed as the Standard Webhooks specification says;
/// see `WebhookDelivery`.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body(content = CreateWebhookRequest, content_type = "application/json", example = json!({"url": "https://erp.example.com/hooks/inventory", "events": ["product", "stock.low"]})),
    responses(
        (status = 201, description = "Made; the only answer with its secret, besides a rotation's", body = WebhookWithSecret, headers(
            ("Location" = String, description = "The new webhook's URL"),
            ("ETag" = String, description = "The webhook's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 409, description = "idempotency-key-in-use: a request with this Idempotency-Key is still running", body = crate::openapi::schemas::IdempotencyKeyInUseProblem, content_type = "application/problem+json", example = crate::openapi::examples::idempotency_key_in_use),
        (status = 422, description = "The body breaks one or more rules: a URL that is not https, or reaches a loopback, private or link-local address; an unknown or repeated event type", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn create_webhook(
    db: web::Data<Database>,
    reach: web::Data<Reach>,
    request: HttpRequest,
    auth: Authorized<roles::Admin>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let retryable = Retryable::of(&request, &body.0)?;
    let mut reader = FieldReader::new(body.0);
    let url = reader.string("url", Presence::Required, webhook_url);
    let events = event_types(&mut reader, Presence::Required);
    let enabled = reader.boolean("enabled", Presence::Optional);
    reader.finish()?;
    let url = url.ok_or_else(|| ApiError::internal("a required url passed the reader"))?;
    let events = events.ok_or_else(|| ApiError::internal("required events passed the reader"))?;
    let url = reachable(url, **reach).await?;
    let new = NewWebhook {
        url,
        events,
        enabled: enabled.unwrap_or(true),
    };
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        let secret =
            webhook::new_secret().map_err(|error| ApiError::internal(error.to_string()))?;
        let made = store::webhooks::create(conn, &new, &secret)?;
        let headers = vec![
            (
                header::LOCATION.to_string(),
                format!("/v1/webhooks/{}", made.id),
            ),
            (header::ETAG.to_string(), made.etag()),
        ];
        let body = WebhookWithSecret {
            webhook: made,
            secret,
        };
        recorded_json(StatusCode::CREATED, &body, headers)
    })
    .await
}

/// Change a webhook (compare-and-swap)
///
/// Changes its URL, its event types or whether it is enabled, if it is
/// still at the version you name. Enabling one the server disabled clears
/// the failure; delivery goes on at once from `delivered_through`.
#[utoipa::path(
    patch,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "The webhook's id"),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|"0*[1-9][0-9]{0,17}")$"#, description = "The webhook's ETag your change is based on; an alternative to `version`"),
    ),
    request_body(content = UpdateWebhookRequest, content_type = "application/json", example = json!({"version": 2, "enabled": true})),
    responses(
        (status = 200, description = "Changed (or unchanged)", body = crate::domain::webhook::Webhook, headers(
            ("ETag" = String, description = "The webhook's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON or If-Match, or body and If-Match disagreeing", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "stale-version: the webhook changed since your version", body = crate::openapi::schemas::StaleWebhookProblem, content_type = "application/problem+json", headers(
            ("ETag" = String, description = "The webhook's current ETag"),
        ), example = crate::openapi::examples::stale_webhook),
        (status = 412, description = "The If-Match version is stale; same body as the 409", body = crate::openapi::schemas::StaleWebhookProblem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 428, description = "No version in the body nor in If-Match", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_webhook(
    db: web::Data<Database>,
    reach: web::Data<Reach>,
    request: HttpRequest,
    id: web::Path<String>,
    _auth: Authorized<roles::Admin>,
    JsonObject(object): JsonObject,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_in_path(&id)?;
    reject_parameters(&request)?;
    let mut reader = FieldReader::new(object);
    let version = reader.integer("version", Presence::Optional, fields::version);
    let url = reader.string("url", Presence::Optional, webhook_url);
    let events = event_types(&mut reader, Presence::Optional);
    let enabled = reader.boolean("enabled", Presence::Optional);
    reader.finish()?;
    let expected = preconditions::resolve(
        &request,
        version.map(|v| (v, VersionSource::Body)),
        "/version",
    )?
    .ok_or_else(ApiError::version_required)?;
    let url = match url {
        Some(url) => Some(reachable(url, **reach).await?),
        None => None,
    };
    let change = WebhookChange {
        url,
        events,
        enabled,
        expected,
    };
    let webhook = db
        .write(move |conn| store::webhooks::change(conn, &id, &change))
        .await?;
    Ok(webhook_response(StatusCode::OK, &webhook, &webhook))
}

/// Delete a webhook (compare-and-swap)
///
/// Ends the subscription and its delivery log, if it is still at the
/// version you name. An attempt under way may still arrive.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "The webhook's id"),
        ("version" = Option<i64>, Query, nullable = false, minimum = 1, description = "The version you are deleting. Required unless sent as If-Match"),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|"0*[1-9][0-9]{0,17}")$"#, description = "The ETag of the version you are deleting"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A bad version, If-Match, or the two disagreeing", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "stale-version: the webhook changed since your version", body = crate::openapi::schemas::StaleWebhookProblem, content_type = "application/problem+json", example = crate::openapi::examples::stale_webhook),
        (status = 412, description = "The If-Match version is stale", body = crate::openapi::schemas::StaleWebhookProblem, content_type = "application/problem+json"),
        (status = 428, description = "No version in the query nor in If-Match", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_webhook(
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
    _auth: Authorized<roles::Admin>,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryReader::new(&request)?;
    let version = query.integer("version", 1, i64::MAX);
    query.finish()?;
    let expected = preconditions::resolve(
        &request,
        version.map(|v| (v, VersionSource::Query)),
        "?version",
    )?
    .ok_or_else(ApiError::version_required)?;
    let id = webhook_in_path(&id)?;
    db.write(move |conn| store::webhooks::delete(conn, &id, expected))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a webhook's secret
///
/// Makes a new signing secret and answers it, once. The old one goes on
/// signing beside it for `grace_seconds` (deliveries then carry two
/// signatures), so that receivers can switch over without refusing any.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    request_body(content = RotateSecretRequest, content_type = "application/json", example = json!({"grace_seconds": 86400})),
    responses(
        (status = 200, description = "Rotated; the only answer with the new secret", body = WebhookWithSecret, headers(
            ("ETag" = String, description = "The webhook's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "idempotency-key-in-use: a request with this Idempotency-Key is still running", body = crate::openapi::schemas::IdempotencyKeyInUseProblem, content_type = "application/problem+json", example = crate::openapi::examples::idempotency_key_in_use),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate_secret(
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
    auth: Authorized<roles::Admin>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_in_path(&id)?;
    reject_parameters(&request)?;
    let retryable = Retryable::of(&request, &body.0)?;
    let mut reader = FieldReader::new(body.0);
    let grace = reader.integer("grace_seconds", Presence::Optional, grace_seconds);
    reader.finish()?;
    let grace = grace.unwrap_or(ROTATION_DEFAULT_GRACE_SECONDS);
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        let secret =
            webhook::new_secret().map_err(|error| ApiError::internal(error.to_string()))?;
        let rotated = store::webhooks::rotate(conn, &id, &secret, grace)?;
        let headers = vec![(header::ETAG.to_string(), rotated.etag())];
        let body = WebhookWithSecret {
            webhook: rotated,
            secret,
        };
        recorded_json(StatusCode::OK, &body, headers)
    })
    .await
}

/// A URL's form (checked again, with its host's addresses, by `reachable`).
fn webhook_url(text: &str) -> Result<String, String> {
    if text.chars().count() > URL_MAX_CHARS {
        return Err(format!("must be at most {URL_MAX_CHARS} characters"));
    }
    let open = Reach {
        private: true,
        http: true,
    };
    outbound::check_url(text, open, false).map(|_| text.to_owned())
}

/// The URL, if this server may send webhooks there: resolving its host
/// waits on the network, so it runs off the HTTP worker.
async fn reachable(url: String, reach: Reach) -> Result<String, ApiError> {
    let checked = web::block(move || outbound::check_url(&url, reach, true).map(|_| url))
        .await
        .map_err(ApiError::internal)?;
    checked.map_err(|why| ApiError::Validation(vec![FieldError::new("/url", why)]))
}

/// `events`: a non-empty array of known event types, each once.
fn event_types(reader: &mut FieldReader, presence: Presence) -> Option<Vec<EventType>> {
    let items = reader.array("events", presence)?;
    let mut types = Vec::with_capacity(items.len());
    let mut broken = false;
    for (n, item) in items.iter().enumerate() {
        let kind = match item {
            Value::String(name) => EventType::parse(name),
            _ => None,
        };
        match kind {
            Some(kind) if types.contains(&kind) => {
                reader.error(&format!("/events/{n}"), "is listed twice");
                broken = true;
            }
            Some(kind) => types.push(kind),
            None => {
                let names: Vec<&str> = EventType::ALL.iter().map(|kind| kind.as_str()).collect();
                reader.error(
                    &format!("/events/{n}"),
                    format!("must be one of {}", names.join(", ")),
                );
                broken = true;
            }
        }
    }
    if items.is_empty() {
        reader.error("/events", "must name at least one event type");
        return None;
    }
    (!broken).then_some(types)
}

fn grace_seconds(value: i64) -> Result<i64, String> {
    if (0..=ROTATION_MAX_GRACE_SECONDS).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be from 0 to {ROTATION_MAX_GRACE_SECONDS}"))
    }
}
