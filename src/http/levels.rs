//! The level endpoints: a product's levels everywhere, a location's levels
//! of every product, and the compare-and-swap write of one level.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::actor::{may_write_stock_at, roles, Authorized};
use super::body_fields::{FieldReader, Presence};
use super::locations::code_in_path;
use super::products::list::{below_reorder_point, filter_text};
use super::products::parse_product_id;
use crate::db::Database;
use crate::domain::fields;
use crate::domain::history::Operation;
use crate::domain::ledger::StockKind;
use crate::domain::level::{Amount, Guard, Level, LevelChange, LevelWrite};
use crate::domain::precondition::VersionSource;
use crate::domain::product::Product;
use crate::http::cursor;
use crate::http::error::ApiError;
use crate::http::json_body::JsonObject;
use crate::http::preconditions;
use crate::http::query::{reject_parameters, QueryReader};
use crate::store;
use crate::store::levels::LevelFilter;

/// A product's level at every live location, MAIN first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductLevels {
    pub items: Vec<Level>,
}

/// A product, and its level at the location.
#[derive(Debug, Serialize, ToSchema)]
pub struct LevelOfProduct {
    pub product: Product,
    pub level: Level,
}

/// One page of a location's levels, oldest product first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationLevelPage {
    pub items: Vec<LevelOfProduct>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The body of a level write.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLevelRequest {
    #[schema(schema_with = crate::domain::number_schemas::on_hand)]
    pub on_hand: i64,
    /// The level's version your change is based on (0 for a level never
    /// written); or send If-Match.
    #[schema(nullable = false, minimum = 0, example = 4)]
    pub version: Option<i64>,
    /// Why, recorded in the ledger.
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::reason)]
    pub reason: Option<String>,
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::reference)]
    pub reference: Option<String>,
}

/// A level after a write, with its product (whose version moved too).
#[derive(Debug, Serialize, ToSchema)]
pub struct WrittenLevel {
    pub level: Level,
    pub product: Product,
}

/// List a product's levels
///
/// Its level at every live location, MAIN first; a location it was never
/// stocked at shows 0 at version 0.
#[utoipa::path(
    get,
    path = "/v1/products/{id}/levels",
    tag = "locations",
    params(("id" = uuid::Uuid, Path, description = "The product's id")),
    responses(
        (status = 200, description = "Every location's level", body = ProductLevels),
        (status = 400, description = "A bad id, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such product, or it was deleted", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn product_levels(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_product_id(&id)?;
    reject_parameters(&request)?;
    let items = db
        .read(move |conn| store::levels::of_product(conn, &id))
        .await?;
    Ok(HttpResponse::Ok().json(ProductLevels { items }))
}

/// List a location's levels
///
/// Every live product's level at the location, oldest product first,
/// keyset-paginated; products never stocked there show 0 at version 0.
#[utoipa::path(
    get,
    path = "/v1/locations/{code}/levels",
    tag = "locations",
    params(
        ("code" = String, Path, description = "The location's code, ignoring case"),
        crate::openapi::parameters::PageSize,
        ("cursor" = Option<String>, Query, nullable = false, pattern = "^[A-Za-z0-9_-]{21}[AQgw]$", description = "The `next_cursor` of the previous page"),
        crate::openapi::parameters::ProductFilters,
    ),
    responses(
        (status = 200, description = "One page of levels", body = LocationLevelPage),
        (status = 400, description = "A bad query parameter or cursor", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such location, or it was deleted", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn location_levels(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    request: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryReader::new(&request)?;
    let limit = query.page_size();
    let after = query.cursor::<Uuid>();
    let filter = LevelFilter {
        sku: filter_text(&mut query, "sku"),
        text: filter_text(&mut query, "q"),
        below_reorder_point: below_reorder_point(&mut query),
    };
    query.finish()?;
    let code = code_in_path(&code)?;
    let rows = db
        .read(move |conn| store::levels::at_location(conn, &code, &filter, after, limit + 1))
        .await?;
    let (rows, next_cursor) = cursor::page(rows, limit, |row| row.product.id);
    let items = rows
        .into_iter()
        .map(|row| LevelOfProduct {
            product: row.product,
            level: row.level,
        })
        .collect();
    Ok(HttpResponse::Ok().json(LocationLevelPage { items, next_cursor }))
}

/// Set a level (compare-and-swap)
///
/// Sets the product's `on_hand` at the location only if the level is still
/// at the version you name. The product's stock moves by the difference,
/// and its version moves too.
#[utoipa::path(
    patch,
    path = "/v1/products/{id}/levels/{code}",
    tag = "locations",
    params(
        ("id" = uuid::Uuid, Path, description = "The product's id"),
        ("code" = String, Path, description = "The location's code, ignoring case"),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|"0*[1-9][0-9]{0,17}")$"#, description = "The level's ETag your change is based on; an alternative to `version`"),
    ),
    request_body(content = UpdateLevelRequest, content_type = "application/json", example = json!({"on_hand": 12, "version": 4, "reason": "shelf count"})),
    responses(
        (status = 200, description = "Set (or unchanged)", body = WrittenLevel, headers(
            ("ETag" = String, description = "The level's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, id or If-Match, or body and If-Match disagreeing", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not write stock at this location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product or location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "stale-version: the level changed since your version", body = crate::openapi::schemas::StaleLevelProblem, content_type = "application/problem+json", headers(
            ("ETag" = String, description = "The level's current ETag"),
        ), example = crate::openapi::examples::stale_level),
        (status = 412, description = "The If-Match version is stale; same body as the 409", body = crate::openapi::schemas::StaleLevelProblem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks one or more rules, or the product's total would pass 1,000,000,000", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 428, description = "No version in the body nor in If-Match", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_level(
    db: web::Data<Database>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    auth: Authorized<roles::Sync>,
    JsonObject(object): JsonObject,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let id = parse_product_id(&id)?;
    let code = code_in_path(&code)?;
    reject_parameters(&request)?;
    let mut reader = FieldReader::new(object);
    let on_hand = reader.integer("on_hand", Presence::Required, fields::stock);
    let version = reader.integer("version", Presence::Optional, fields::level_version);
    let reason = reader.string("reason", Presence::Optional, fields::reason);
    let reference = reader.string("reference", Presence::Optional, fields::reference);
    reader.finish()?;
    let on_hand =
        on_hand.ok_or_else(|| ApiError::internal("a required field passed the reader"))?;
    let expected = preconditions::resolve(
        &request,
        version.map(|v| (v, VersionSource::Body)),
        "/version",
    )?
    .ok_or_else(ApiError::version_required)?;
    may_write_stock_at(&auth.caller, Some(&code))?;
    let write = LevelWrite {
        changes: vec![LevelChange {
            location: code,
            amount: Amount::SetTo(on_hand),
            kind: StockKind::Set,
            guard: Guard::Level(expected),
        }],
        operation: Operation::LevelUpdate,
        reason,
        reference,
    };
    let actor = auth.caller.name;
    let written = db
        .write(move |conn| store::levels::write(conn, &id, &write, &actor))
        .await?;
    let level = written
        .levels
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("a level write wrote no level"))?;
    Ok(HttpResponse::build(StatusCode::OK)
        .insert_header((header::ETAG, level.etag()))
        .json(WrittenLevel {
            level,
            product: written.product,
        }))
}
