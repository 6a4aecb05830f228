use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::db::Database;
use crate::domain::field_source::Writing;
use crate::domain::product::{ProductFields, ProductPatch};
use crate::http::actor::{roles, Authorized};
use crate::http::body_fields::FieldReader;
use crate::http::error::ApiError;
use crate::http::idempotency::{self, recorded_json, Retryable};
use crate::http::json_body::JsonObject;
use crate::http::query::reject_parameters;
use crate::store;

/// Reads a create's body, reporting every broken rule at once.
fn read_new_product(JsonObject(object): JsonObject) -> Result<ProductFields, ApiError> {
    let mut reader = FieldReader::new(object);
    let patch = ProductPatch::read(&mut reader, Writing::Create);
    reader.finish()?;
    patch
        .into_new()
        .ok_or_else(|| ApiError::internal("a required field passed the reader without a value"))
}

/// Create a product
///
/// The product starts at version 1.
#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "products",
    request_body(content = crate::openapi::product_fields::CreateProductRequest, content_type = "application/json", example = crate::openapi::examples::create_product_request),
    responses(
        (status = 201, description = "Created", body = crate::domain::product::Product, headers(
            ("Location" = String, description = "The new product's URL"),
            ("ETag" = String, description = "The product's version as a strong ETag, e.g. \"1\""),
        )),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 409, description = "Another live product has this SKU (ignoring case)", body = crate::openapi::schemas::DuplicateSkuProblem, content_type = "application/problem+json", example = crate::openapi::examples::duplicate_sku),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn create_product(
    db: web::Data<Database>,
    request: HttpRequest,
    auth: Authorized<roles::Manager>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let retryable = Retryable::of(&request, &body.0)?;
    let fields = read_new_product(body)?;
    let actor_name = auth.caller.name.clone();
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        // Cloned for each attempt: the database may ask for the write again.
        let product = store::products::create(conn, fields.clone(), &actor_name)?;
        let headers = vec![
            (
                header::LOCATION.to_string(),
                format!("/v1/products/{}", product.id),
            ),
            (header::ETAG.to_string(), product.etag()),
        ];
        recorded_json(StatusCode::CREATED, &product, headers)
    })
    .await
}
