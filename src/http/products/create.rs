use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::ToSchema;

use crate::db::Database;
use crate::domain::fields;
use crate::domain::product::ProductFields;
use crate::error::ApiError;
use crate::http::actor::{roles, Authorized};
use crate::http::body_fields::{FieldReader, Presence};
use crate::http::idempotency::{self, recorded_json, Retryable};
use crate::http::json_body::JsonObject;
use crate::http::query::reject_parameters;
use crate::store;

/// The body of a create. `id`, `version` and the timestamps are the
/// server's to set and are refused here.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    #[schema(schema_with = crate::openapi::text_rules::sku)]
    pub sku: String,
    #[schema(schema_with = crate::openapi::text_rules::name)]
    pub name: String,
    /// Defaults to "".
    #[schema(nullable = false, schema_with = crate::openapi::text_rules::description)]
    pub description: Option<String>,
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64, example = 1250)]
    pub price_minor: i64,
    #[schema(value_type = crate::openapi::CurrencyCode, example = "EUR")]
    pub currency: String,
    /// Defaults to 0.
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000, example = 40)]
    pub stock: Option<i64>,
}

impl CreateProductRequest {
    /// Reads the body, reporting every broken rule at once.
    fn parse(JsonObject(object): JsonObject) -> Result<CreateProductRequest, ApiError> {
        let mut reader = FieldReader::new(object);
        let sku = reader.string("sku", Presence::Required, fields::sku);
        let name = reader.string("name", Presence::Required, fields::name);
        let description = reader.string("description", Presence::Optional, fields::description);
        let price_minor = reader.integer("price_minor", Presence::Required, fields::price_minor);
        let currency = reader.string("currency", Presence::Required, fields::currency);
        let stock = reader.integer("stock", Presence::Optional, fields::stock);
        reader.finish()?;
        match (sku, name, price_minor, currency) {
            (Some(sku), Some(name), Some(price_minor), Some(currency)) => {
                Ok(CreateProductRequest {
                    sku,
                    name,
                    description,
                    price_minor,
                    currency,
                    stock,
                })
            }
            _ => Err(ApiError::internal(
                "a required field passed the reader without a value",
            )),
        }
    }
}

impl From<CreateProductRequest> for ProductFields {
    fn from(request: CreateProductRequest) -> ProductFields {
        ProductFields {
            sku: request.sku,
            name: request.name,
            description: request.description.unwrap_or_default(),
            price_minor: request.price_minor,
            currency: request.currency,
            stock: request.stock.unwrap_or(0),
        }
    }
}

/// Create a product
///
/// The product starts at version 1.
#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "products",
    request_body(content = CreateProductRequest, content_type = "application/json", example = crate::openapi::examples::create_product_request),
    responses(
        (status = 201, description = "Created", body = crate::domain::product::Product, headers(
            ("Location" = String, description = "The new product's URL"),
            ("ETag" = String, description = "The product's version as a strong ETag, e.g. \"1\""),
        )),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::ValidationProblem, content_type = "application/problem+json"),
        (status = 409, description = "Another live product has this SKU (ignoring case)", body = crate::openapi::DuplicateSkuProblem, content_type = "application/problem+json", example = crate::openapi::examples::duplicate_sku),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::ValidationProblem, content_type = "application/problem+json"),
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
    let fields = ProductFields::from(CreateProductRequest::parse(body)?);
    let actor_name = auth.caller.name.clone();
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        let product = store::products::create(conn, fields, &actor_name)?;
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
