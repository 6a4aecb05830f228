use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{parse_product_id, product_response};
use crate::db::{Database, WorkerConnections};
use crate::domain::access::Role;
use crate::domain::field_source::Writing;
use crate::domain::fields;
use crate::domain::patch::ProductPatch;
use crate::domain::precondition::VersionSource;
use crate::http::actor::{may_write_stock_at, roles, Authorized};
use crate::http::body_fields::{FieldReader, Presence};
use crate::http::error::ApiError;
use crate::http::json_body::JsonObject;
use crate::http::preconditions;
use crate::http::query::reject_parameters;
use crate::store;

/// Reads a PATCH's body, reporting every broken rule at once: the version
/// it is based on (or None, for `If-Match`) and the fields to change.
fn read_patch(JsonObject(object): JsonObject) -> Result<(Option<i64>, ProductPatch), ApiError> {
    let mut reader = FieldReader::new(object);
    let version = reader.integer("version", Presence::Optional, fields::version);
    let patch = ProductPatch::read(&mut reader, Writing::Update);
    reader.finish()?;
    Ok((version, patch))
}

/// Update a product (compare-and-swap)
///
/// Applies the sent fields only if the product is still at the version you
/// name, then bumps the version. A patch that changes nothing answers 200
/// with the same version.
#[utoipa::path(
    patch,
    path = "/v1/products/{id}",
    tag = "products",
    params(
        ("id" = uuid::Uuid, Path, description = "The product's id"),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|"0*[1-9][0-9]{0,17}")$"#, description = "The ETag your change is based on, e.g. \"3\"; an alternative to `version` in the body. `*` does not count"),
    ),
    request_body(content(
        (crate::openapi::product_fields::UpdateProductRequest = "application/json", example = crate::openapi::examples::update_product_request),
        (crate::openapi::product_fields::UpdateProductRequest = "application/merge-patch+json", example = crate::openapi::examples::update_product_request),
    )),
    responses(
        (status = 200, description = "Updated (or unchanged: nothing differed)", body = crate::domain::product::Product, headers(
            ("ETag" = String, description = "The product's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, a bad id or If-Match, body and If-Match naming different versions, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such product, or it was deleted", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The body's version is stale (stale-version), the new SKU is taken (duplicate-sku), or `stock` was sent while the product has stock at several locations (stock-at-several-locations)", body = crate::openapi::schemas::UpdateConflictProblem, content_type = "application/problem+json", headers(
            ("ETag" = String, description = "The current version's ETag (stale-version only)"),
        ), examples(
            ("stale-version" = (summary = "Someone else changed the product since your version", value = json!(crate::openapi::examples::stale_version()))),
            ("duplicate-sku" = (summary = "Another product holds the new SKU", value = json!(crate::openapi::examples::duplicate_sku()))),
            ("stock-at-several-locations" = (summary = "The product has stock elsewhere than MAIN", value = json!(crate::openapi::examples::stock_at_several_locations()))),
        )),
        (status = 412, description = "The If-Match version is stale; same body as the 409", body = crate::openapi::schemas::StaleVersionProblem, content_type = "application/problem+json", headers(
            ("ETag" = String, description = "The current version's ETag"),
        )),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 428, description = "No version in the body nor in If-Match", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_product(
    db: web::Data<Database>,
    workers: web::Data<WorkerConnections>,
    request: HttpRequest,
    id: web::Path<String>,
    auth: Authorized<roles::Sync>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let id = parse_product_id(&id)?;
    reject_parameters(&request)?;
    let (version, patch) = read_patch(body)?;
    if auth.caller.role < Role::Manager && patch.sent_fields().any(|field| field != "stock") {
        return Err(ApiError::Forbidden(
            "A sync token may PATCH stock alone; changing other fields needs a manager token."
                .into(),
        ));
    }
    if patch.stock.is_some() {
        // Setting `stock` sets MAIN's level.
        may_write_stock_at(&auth.caller, None)?;
    }
    let expected = preconditions::resolve(
        &request,
        version.map(|v| (v, VersionSource::Body)),
        "/version",
    )?;
    let actor = auth.caller.name;
    let product = store::worker_products::update(&db, &workers, id, expected, patch, actor).await?;
    Ok(product_response(StatusCode::OK, &product))
}
