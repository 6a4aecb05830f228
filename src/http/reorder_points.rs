//! `PUT /v1/products/{id}/levels/{code}/reorder-point`: below which
//! `available` a level is low.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::actor::{may_write_stock_at, roles, Authorized};
use super::body_fields::{FieldReader, Presence};
use super::error::ApiError;
use super::json_body::JsonObject;
use super::levels::WrittenLevel;
use super::locations::code_in_path;
use super::products::parse_product_id;
use super::query::reject_parameters;
use crate::db::Database;
use crate::domain::fields;
use crate::store;

/// The body of a reorder point's setting.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderPointRequest {
    /// Below this `available` the level is low; null: no reorder point.
    #[schema(required = true, minimum = 0, maximum = 1_000_000_000, example = 5)]
    pub reorder_point: Option<i64>,
}

/// Set a level's reorder point
///
/// Below this `available`, the level is low: the feed says `stock.low`
/// when a change takes it below, and `stock.ok` when one brings it back,
/// once per crossing; `GET /v1/products?below_reorder_point=true` lists
/// the products with a low level. Setting it tells at once if the level is
/// already below. A setting, not stock: it moves no version, sending it
/// again changes nothing, and the last one sent holds. The level must have
/// been stocked once (its first write of stock makes it).
#[utoipa::path(
    put,
    path = "/v1/products/{id}/levels/{code}/reorder-point",
    tag = "locations",
    params(
        ("id" = uuid::Uuid, Path, description = "The product's id"),
        ("code" = String, Path, description = "The location's code, ignoring case"),
    ),
    request_body(content = ReorderPointRequest, content_type = "application/json", example = json!({"reorder_point": 5})),
    responses(
        (status = 200, description = "Set", body = WrittenLevel, headers(
            ("ETag" = String, description = "The level's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, id, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not act at this location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product or location, or the product was never stocked there", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn set_reorder_point(
    db: web::Data<Database>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    auth: Authorized<roles::Manager>,
    JsonObject(object): JsonObject,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let id = parse_product_id(&id)?;
    let code = code_in_path(&code)?;
    reject_parameters(&request)?;
    let point = reorder_point(object)?;
    may_write_stock_at(&auth.caller, Some(&code))?;
    let (level, product) = db
        .write(move |conn| store::reorder::set(conn, &id, &code, point))
        .await?;
    Ok(HttpResponse::build(StatusCode::OK)
        .insert_header((header::ETAG, level.etag()))
        .json(WrittenLevel { level, product }))
}

/// `reorder_point`: required, a count or null; nothing else in the body.
fn reorder_point(mut object: Map<String, Value>) -> Result<Option<i64>, ApiError> {
    // Null clears it: taken out before the reader, which refuses nulls.
    let cleared = object.get("reorder_point") == Some(&Value::Null);
    if cleared {
        object.remove("reorder_point");
    }
    let mut reader = FieldReader::new(object);
    let presence = if cleared {
        Presence::Optional
    } else {
        Presence::Required
    };
    let point = reader.integer("reorder_point", presence, fields::stock);
    reader.finish()?;
    Ok(point)
}
