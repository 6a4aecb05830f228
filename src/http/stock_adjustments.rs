use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
use utoipa::openapi::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;

use super::actor::{may_write_stock_at, roles, Authorized};
use super::body_fields::{FieldReader, Presence};
use super::idempotency::{self, recorded_json, Retryable};
use super::json_body::JsonObject;
use super::preconditions;
use super::products::parse_product_id;
use super::query::reject_parameters;
use crate::db::Database;
use crate::domain::fields;
use crate::domain::level::Level;
use crate::domain::number_schemas::{self, with_example};
use crate::domain::precondition::VersionSource;
use crate::domain::product::Product;
use crate::domain::stock::StockAdjustment;
use crate::http::error::ApiError;
use crate::store;

/// The body of a stock adjustment.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustmentRequest {
    /// Added to the stock: negative for a sale, positive for a delivery.
    /// Never 0: a delta of 0 is refused with a 422.
    #[schema(schema_with = nonzero_delta)]
    pub delta: i64,
    /// Why, recorded in the product's history.
    #[schema(schema_with = crate::domain::text_schemas::reason)]
    pub reason: String,
    /// Apply only if the product (or, with `location`, the level) is still
    /// at this version; without it the delta applies to whatever the stock
    /// is now (deltas commute).
    #[schema(nullable = false, schema_with = expected_version)]
    pub expected_version: Option<i64>,
    /// The location's code; MAIN when left out.
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::location_code)]
    pub location: Option<String>,
    /// A receipt, delivery note or other document, kept in the ledger.
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::reference)]
    pub reference: Option<String>,
}

/// An adjusted product, with the level the adjustment changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustedProduct {
    #[serde(flatten)]
    pub product: Product,
    /// The level at the adjustment's location, after it.
    pub level: Level,
}

fn expected_version() -> Object {
    with_example(number_schemas::version(), 7)
        .description(Some(
            "Apply only if the product (or, with `location`, the level) is still\n\
             at this version; without it the delta applies to whatever the stock\n\
             is now (deltas commute).",
        ))
        .build()
}

/// A delta is -1,000,000,000 to 1,000,000,000 and never 0. The 0 is left
/// to the description: a `oneOf` of two ranges (or a `not`) says it
/// exactly, but the generators most clients come from turn it into a
/// wrapper type that a plain number cannot be given as.
fn nonzero_delta() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(-fields::STOCK_MAX))
        .maximum(Some(fields::STOCK_MAX))
        .description(Some(
            "Added to the stock: negative for a sale, positive for a delivery. \
             Never 0: a delta of 0 is refused with a 422.",
        ))
        .examples([-3])
        .build()
}

impl StockAdjustmentRequest {
    /// Reads the body, reporting every broken rule at once; the expected
    /// version may come from `If-Match` instead.
    fn parse(
        request: &HttpRequest,
        JsonObject(object): JsonObject,
    ) -> Result<StockAdjustment, ApiError> {
        let mut reader = FieldReader::new(object);
        let delta = reader.integer("delta", Presence::Required, fields::delta);
        let reason = reader.string("reason", Presence::Required, fields::reason);
        let expected_version =
            reader.integer("expected_version", Presence::Optional, fields::version);
        let location = reader.string("location", Presence::Optional, fields::location_code);
        let reference = reader.string("reference", Presence::Optional, fields::reference);
        reader.finish()?;
        let sent = expected_version.map(|version| (version, VersionSource::Body));
        let expected = preconditions::resolve(request, sent, "/expected_version")?;
        match (delta, reason) {
            (Some(delta), Some(reason)) => Ok(StockAdjustment {
                delta,
                reason,
                reference,
                location,
                expected,
            }),
            _ => Err(ApiError::internal(
                "a required field passed the reader without a value",
            )),
        }
    }
}

/// Adjust a product's stock
///
/// Adds a signed delta to the stock at a location (MAIN when none is
/// named) in one guarded update: concurrent adjustments never lose each
/// other, and no level goes below 0.
#[utoipa::path(
    post,
    path = "/v1/products/{id}/stock-adjustments",
    tag = "stock",
    params(
        ("id" = uuid::Uuid, Path, description = "The product's id"),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|"0*[1-9][0-9]{0,17}")$"#, description = "The ETag the adjustment is based on, e.g. \"7\"; an alternative to `expected_version`"),
    ),
    request_body(content = StockAdjustmentRequest, content_type = "application/json", example = crate::openapi::examples::adjust_stock_request),
    responses(
        (status = 200, description = "Applied: the product with its new stock and version, and the level it changed", body = AdjustedProduct, headers(
            ("ETag" = String, description = "The product's new version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, id, If-Match or Idempotency-Key, expected_version and If-Match disagreeing, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not write stock at this location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product or location, or it was deleted", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "insufficient-stock: the delta would take the level below 0; stale-version: `expected_version` is stale (the product's, or with `location` the level's)", body = inline(crate::openapi::schemas::LocatedAdjustmentConflictProblem), content_type = "application/problem+json", examples(
            ("insufficient-stock" = (summary = "The delta would take stock below 0", value = json!(crate::openapi::examples::insufficient_stock()))),
            ("stale-version" = (summary = "Someone else changed the product since expected_version", value = json!(crate::openapi::examples::stale_version()))),
            ("stale-level" = (summary = "Someone else changed the level since expected_version", value = json!(crate::openapi::examples::stale_level()))),
        )),
        (status = 412, description = "The If-Match version is stale (stale-version): the product's, or with `location` the level's", body = inline(crate::openapi::schemas::AdjustmentStaleProblem), content_type = "application/problem+json", headers(
            ("ETag" = String, description = "The current version's ETag"),
        )),
        (status = 422, description = "The body breaks one or more rules, or the delta would take stock above 1,000,000,000", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn adjust_stock(
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
    auth: Authorized<roles::Sync>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let id = parse_product_id(&id)?;
    reject_parameters(&request)?;
    let retryable = Retryable::of(&request, &body.0)?;
    let adjustment = StockAdjustmentRequest::parse(&request, body)?;
    may_write_stock_at(&auth.caller, adjustment.location.as_deref())?;
    let actor_name = auth.caller.name.clone();
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        let written = store::stock::adjust(conn, &id, &adjustment, &actor_name)?;
        let headers = vec![(header::ETAG.to_string(), written.product.etag())];
        let level = written
            .levels
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal("an adjustment wrote no level"))?;
        let adjusted = AdjustedProduct {
            product: written.product,
            level,
        };
        recorded_json(StatusCode::OK, &adjusted, headers)
    })
    .await
}
