//! The webhook endpoints (admin only): reading subscriptions here; making
//! and changing them in `subscriptions`; their delivery log and
//! redelivery in `deliveries`.

pub mod deliveries;
pub mod subscriptions;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Database;
use crate::domain::events::FeedItem;
use crate::domain::webhook::Webhook;
use crate::http::actor::{roles, Authorized};
use crate::http::error::ApiError;
use crate::http::query::reject_parameters;
use crate::store;

/// Every webhook subscription, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

/// What a receiver is sent: one event of the feed per POST, signed as the
/// Standard Webhooks specification says (`webhook-id` is `evt_` and the
/// event's number; `webhook-timestamp` the attempt's time in Unix seconds;
/// `webhook-signature` a `v1,` HMAC-SHA256 of `id.timestamp.body` by each
/// secret in use). Answer 2xx within 10 s; anything else is retried.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookDelivery {
    #[serde(flatten)]
    event: FeedItem,
}

/// The webhook id in the path. One that is not a UUID names none: 404.
pub fn webhook_in_path(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::NotFound(format!("No webhook has id {text}.")))
}

/// A response carrying a webhook (or anything that flattens one) and its
/// ETag.
pub fn webhook_response<T: Serialize>(
    status: StatusCode,
    webhook: &Webhook,
    body: &T,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, webhook.etag()))
        .json(body)
}

/// Read a webhook
///
/// The subscription and how its delivery stands: `delivered_through`,
/// and while its deliveries fail, since when and when the next attempt is
/// due. Its secret is never shown again after it is made or rotated.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook", body = Webhook, headers(
            ("ETag" = String, description = "The webhook's version as a strong ETag"),
        )),
        (status = 404, description = "No such webhook", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn read_webhook(
    _auth: Authorized<roles::Admin>,
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let id = webhook_in_path(&id)?;
    let webhook = db
        .read(move |conn| store::webhooks::find(conn, &id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No webhook has id {id}.")))?;
    Ok(webhook_response(StatusCode::OK, &webhook, &webhook))
}

/// List webhooks
///
/// Every subscription, oldest first, with how its delivery stands.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "Every webhook", body = WebhookList),
        (status = 400, description = "A query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn list_webhooks(
    _auth: Authorized<roles::Admin>,
    db: web::Data<Database>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let items = db.read(store::webhooks::list).await?;
    Ok(HttpResponse::Ok().json(WebhookList { items }))
}
