//! A webhook's delivery log, and redelivery from an event on.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::webhook_in_path;
use crate::db::Database;
use crate::domain::webhook::{Delivery, Webhook};
use crate::http::actor::{roles, Authorized};
use crate::http::body_fields::{FieldReader, Presence};
use crate::http::error::ApiError;
use crate::http::idempotency::{self, recorded_json, Retryable};
use crate::http::json_body::JsonObject;
use crate::http::query::{reject_parameters, QueryReader};
use crate::store::{self, StoreError};

/// The most lines of the log one page holds.
const MAX_LIMIT: i64 = 200;
const DEFAULT_LIMIT: i64 = 50;

/// One page of a webhook's delivery log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<Delivery>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    #[schema(required = true, pattern = "^[1-9][0-9]{0,17}$")]
    pub next_cursor: Option<String>,
}

/// The body of a redelivery.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverRequest {
    /// The number of the first event to deliver again: at most one past
    /// `delivered_through`, and no older than the feed keeps.
    #[schema(minimum = 1, example = 1200)]
    pub from: i64,
}

/// List a webhook's deliveries
///
/// Every attempt to deliver an event to it, newest first: which event and
/// which attempt, when, the answer's status (or why none came), how long
/// it took and the answer's first bytes. Lines older than the feed's
/// retention are purged with it.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "The webhook's id"),
        ("limit" = Option<i64>, Query, nullable = false, minimum = 1, maximum = 200, description = "Most lines on the page (default 50)"),
        ("cursor" = Option<String>, Query, nullable = false, pattern = "^[1-9][0-9]{0,17}$", description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of the log", body = DeliveryPage),
        (status = 400, description = "A bad query parameter", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_deliveries(
    _auth: Authorized<roles::Admin>,
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_in_path(&id)?;
    let mut query = QueryReader::new(&request)?;
    let limit = query
        .integer("limit", 1, MAX_LIMIT)
        .unwrap_or(DEFAULT_LIMIT);
    let before = query.integer("cursor", 1, i64::MAX);
    query.finish()?;
    let items = db
        .read(move |conn| {
            if store::webhooks::find(conn, &id)?.is_none() {
                return Err(StoreError::WebhookNotFound(id));
            }
            store::webhook_delivery::log_page(conn, &id, before, limit)
        })
        .await?;
    let next_cursor = match items.last() {
        Some(last) if items.len() as i64 == limit => Some(last.id.to_string()),
        _ => None,
    };
    Ok(HttpResponse::Ok().json(DeliveryPage { items, next_cursor }))
}

/// Deliver again from an event on
///
/// Moves the webhook back to just before event `from`: every event it
/// wants from there on is delivered again, in order, and a failing one is
/// retried at once. For a receiver that lost what it had received.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/redeliver",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    request_body(content = RedeliverRequest, content_type = "application/json", example = json!({"from": 1200})),
    responses(
        (status = 200, description = "Delivery goes on from `from`", body = Webhook, headers(
            ("ETag" = String, description = "The webhook's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "idempotency-key-in-use: a request with this Idempotency-Key is still running", body = crate::openapi::schemas::IdempotencyKeyInUseProblem, content_type = "application/problem+json", example = crate::openapi::examples::idempotency_key_in_use),
        (status = 410, description = "events-purged: the feed no longer holds event `from`", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks one or more rules, or `from` would skip events not yet delivered", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn redeliver(
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
    let from = reader.integer("from", Presence::Required, event_number);
    reader.finish()?;
    let from = from.ok_or_else(|| ApiError::internal("a required from passed the reader"))?;
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        let webhook = store::webhooks::redeliver(conn, &id, from)?;
        let headers = vec![(header::ETAG.to_string(), webhook.etag())];
        recorded_json(StatusCode::OK, &webhook, headers)
    })
    .await
}

fn event_number(value: i64) -> Result<i64, String> {
    if value >= 1 {
        Ok(value)
    } else {
        Err("must be an event number, at least 1".to_owned())
    }
}
