//! `POST /v1/holds`: hold one line of stock, or several all or nothing.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Database;
use crate::domain::fields;
use crate::domain::hold::{Expiry, Hold, HoldLine, NewHolds, HOLD_MAX_LINES, HOLD_MAX_SECONDS};
use crate::domain::location::MAIN_CODE;
use crate::domain::timestamp;
use crate::http::actor::{may_write_stock_at, roles, Authorized};
use crate::http::body_fields::{FieldReader, Presence};
use crate::http::error::ApiError;
use crate::http::idempotency::{self, recorded_json, Retryable};
use crate::http::json_body::JsonObject;
use crate::http::query::reject_parameters;
use crate::store;

/// The body of a request to hold stock: one line (`sku` or `product_id`,
/// `location`, `quantity`), or several as `items`; and when the holds end.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHoldRequest {
    /// The product by SKU (ignoring case); or send `product_id`. Not with `items`.
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::sku)]
    pub sku: Option<String>,
    /// The product by id; or send `sku`. Not with `items`.
    #[schema(nullable = false)]
    pub product_id: Option<Uuid>,
    /// Where the stock is held; MAIN if not sent. Not with `items`.
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::location_code)]
    pub location: Option<String>,
    /// How much to hold; required unless `items` is sent.
    #[schema(nullable = false, minimum = 1, maximum = 1_000_000_000, example = 2)]
    pub quantity: Option<i64>,
    /// Several lines held all or nothing (1 to 100); lines on the same
    /// product and location are summed before the check.
    #[schema(nullable = false, min_items = 1, max_items = 100)]
    pub items: Option<Vec<HoldItemRequest>>,
    /// Seconds from now until the hold expires (1 to 604800, 7 days); or
    /// send `expires_at`.
    #[schema(nullable = false, minimum = 1, maximum = 604_800, example = 900)]
    pub expires_in: Option<i64>,
    /// When the hold expires: in the next 7 days; or send `expires_in`.
    #[schema(nullable = false, value_type = String, format = DateTime)]
    pub expires_at: Option<String>,
    /// The cart or order the hold is for (kept on every line, and in the
    /// ledger entry of a commit).
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::reference)]
    pub reference: Option<String>,
}

/// One line of a request to hold several.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldItemRequest {
    /// The product by SKU (ignoring case); or send `product_id`.
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::sku)]
    pub sku: Option<String>,
    /// The product by id; or send `sku`.
    #[schema(nullable = false)]
    pub product_id: Option<Uuid>,
    /// Where the stock is held; MAIN if not sent.
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::location_code)]
    pub location: Option<String>,
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 1)]
    pub quantity: i64,
}

/// The holds of a request with `items`, in the items' order.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldGroup {
    pub holds: Vec<Hold>,
}

/// What a request to hold made: the hold of one line, or the holds of
/// `items`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CreatedHolds {
    One(Hold),
    Several(HoldGroup),
}

/// Hold stock
///
/// Sets stock aside for a cart or an order until it is committed (a sale),
/// released, or expires. It succeeds only if the level's `available`
/// (`on_hand - reserved`) covers the quantity at that moment; with `items`,
/// every line or none. Holds never change a level's or a product's
/// version, so checkouts never cause a 409 on other writes.
#[utoipa::path(
    post,
    path = "/v1/holds",
    tag = "holds",
    request_body(content = CreateHoldRequest, content_type = "application/json", example = json!({"sku": "MUG-BLUE-01", "quantity": 2, "expires_in": 900, "reference": "cart-8841"})),
    responses(
        (status = 201, description = "Held", body = CreatedHolds, headers(
            ("Location" = String, description = "The hold's URL (for one line)"),
            ("ETag" = String, description = "The hold's version as a strong ETag (for one line)"),
        )),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not hold stock at one of the locations", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product or location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "insufficient-available: the level has less available than asked", body = crate::openapi::schemas::InsufficientAvailableProblem, content_type = "application/problem+json", example = crate::openapi::examples::insufficient_available),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn create_holds(
    db: web::Data<Database>,
    request: HttpRequest,
    auth: Authorized<roles::Sync>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let retryable = Retryable::of(&request, &body.0)?;
    let (new, several) = read_request(body)?;
    for line in &new.lines {
        may_write_stock_at(&auth.caller, Some(&line.location))?;
    }
    let actor = auth.caller.name.clone();
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        let mut holds = store::holds::create(conn, &new, &actor)?;
        if several {
            return recorded_json(StatusCode::CREATED, &HoldGroup { holds }, Vec::new());
        }
        let hold = holds
            .pop()
            .ok_or_else(|| ApiError::internal("a hold of one line made no hold"))?;
        let headers = vec![
            (
                header::LOCATION.to_string(),
                format!("/v1/holds/{}", hold.id),
            ),
            (header::ETAG.to_string(), hold.etag()),
        ];
        recorded_json(StatusCode::CREATED, &hold, headers)
    })
    .await
}

/// Reads the body, reporting every broken rule at once; says whether it
/// held several lines (`items`).
fn read_request(JsonObject(object): JsonObject) -> Result<(NewHolds, bool), ApiError> {
    let now = timestamp::now();
    let several = object.contains_key("items");
    let mut reader = FieldReader::new(object);
    let mut lines = Vec::new();
    if several {
        for key in ["sku", "product_id", "location", "quantity"] {
            if reader.sent(key) {
                reader.error(&format!("/{key}"), "goes in each of `items`, not beside it");
            }
        }
        let values = reader
            .array("items", Presence::Required)
            .unwrap_or_default();
        if !(1..=HOLD_MAX_LINES).contains(&values.len()) {
            reader.error(
                "/items",
                format!(
                    "must hold 1 to {HOLD_MAX_LINES} lines (it holds {})",
                    values.len()
                ),
            );
        }
        for (index, value) in values.into_iter().enumerate() {
            let at = format!("/items/{index}");
            let Value::Object(object) = value else {
                reader.error(&at, "must be an object");
                continue;
            };
            let mut line_reader = FieldReader::at(at, object);
            let line = read_line(&mut line_reader);
            reader.absorb(line_reader.into_errors());
            lines.extend(line);
        }
    } else {
        lines.extend(read_line(&mut reader));
    }
    let expiry = read_expiry(&mut reader, now);
    let reference = reader.string("reference", Presence::Optional, fields::reference);
    reader.finish()?;
    let expires_at = expiry.ok_or_else(|| ApiError::internal("an expiry passed the reader"))?;
    let new = NewHolds {
        lines,
        expires_at,
        reference,
    };
    Ok((new, several))
}

/// One line: its product, location and quantity (None if broken; the
/// reader has the errors).
fn read_line(reader: &mut FieldReader) -> Option<HoldLine> {
    let sku = reader.string("sku", Presence::Optional, fields::sku);
    let product_id = reader.string("product_id", Presence::Optional, |text| {
        Uuid::parse_str(text).map_err(|_| "must be a UUID".to_owned())
    });
    let location = reader.string("location", Presence::Optional, fields::location_code);
    let quantity = reader.integer("quantity", Presence::Required, fields::quantity);
    let product = reader.one_product(sku, product_id);
    Some(HoldLine {
        product: product?,
        location: location.unwrap_or_else(|| MAIN_CODE.to_owned()),
        quantity: quantity?,
    })
}

/// When the holds end: `expires_in` or `expires_at`, exactly one.
fn read_expiry(reader: &mut FieldReader, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match optional_expiry(reader, now) {
        Some(expiry) => expiry,
        None => {
            reader.error("", "needs expires_in or expires_at");
            None
        }
    }
}

/// `expires_in` or `expires_at`: None if neither is sent, Some(None) if
/// what was sent is broken (the reader has the errors).
pub(super) fn optional_expiry(
    reader: &mut FieldReader,
    now: DateTime<Utc>,
) -> Option<Option<DateTime<Utc>>> {
    let sent_in = reader.sent("expires_in");
    let sent_at = reader.sent("expires_at");
    let seconds = reader.integer("expires_in", Presence::Optional, |seconds| {
        if (1..=HOLD_MAX_SECONDS).contains(&seconds) {
            Ok(seconds)
        } else {
            Err(format!("must be 1 to {HOLD_MAX_SECONDS} seconds"))
        }
    });
    let at = reader.string("expires_at", Presence::Optional, |text| {
        let at = DateTime::parse_from_rfc3339(text)
            .map_err(|_| "must be an RFC 3339 date-time, such as 2026-12-07T09:30:00Z")?
            .with_timezone(&Utc);
        Expiry::At(at).resolve(now)
    });
    match (sent_in, sent_at) {
        (false, false) => None,
        (true, true) => {
            reader.error("/expires_at", "send expires_in or expires_at, not both");
            Some(None)
        }
        (true, false) => Some(seconds.and_then(|seconds| Expiry::In(seconds).resolve(now).ok())),
        (false, true) => Some(at),
    }
}
