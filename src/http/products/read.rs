use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::{parse_product_id, product_response};
use crate::db::{Database, WorkerConnections};
use crate::http::actor::{roles, Authorized};
use crate::http::error::ApiError;
use crate::http::preconditions::if_none_match_matches;
use crate::http::query::reject_parameters;
use crate::store;

/// Read a product
///
/// Answers 304 without a body when `If-None-Match` names the current version.
#[utoipa::path(
    get,
    path = "/v1/products/{id}",
    tag = "products",
    params(
        ("id" = uuid::Uuid, Path, description = "The product's id"),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "An ETag you hold, e.g. \"3\"; 304 when it is still current"),
    ),
    responses(
        (status = 200, description = "The product", body = crate::domain::product::Product, headers(
            ("ETag" = String, description = "The product's version as a strong ETag, e.g. \"3\""),
        )),
        (status = 304, description = "The ETag in If-None-Match is still current", headers(
            ("ETag" = String, description = "The current version's ETag"),
        )),
        (status = 400, description = "The id is not a UUID, or a query parameter was sent (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such product, or it was deleted", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn read_product(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    workers: web::Data<WorkerConnections>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_product_id(&id)?;
    reject_parameters(&request)?;
    let found = store::worker_products::find_live(&db, &workers, id).await?;
    let product = found.ok_or_else(|| ApiError::product_not_found(&id))?;
    if if_none_match_matches(&request, product.version) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, product.etag()))
            .finish());
    }
    Ok(product_response(StatusCode::OK, &product))
}
