use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::ToSchema;

use super::{parse_product_id, product_response};
use crate::db::Database;
use crate::domain::access::Role;
use crate::domain::fields;
use crate::domain::patch::ProductPatch;
use crate::domain::precondition::VersionSource;
use crate::error::ApiError;
use crate::http::actor::{roles, Authorized};
use crate::http::body_fields::{FieldReader, Presence};
use crate::http::json_body::JsonObject;
use crate::http::preconditions;
use crate::http::query::reject_parameters;
use crate::store;

/// The body of a PATCH: the fields to change (absent ones keep their
/// value), and the version they are based on (here or in `If-Match`).
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    /// The version your change is based on. Required unless sent as `If-Match`.
    #[schema(
        nullable = false,
        minimum = 1,
        maximum = 9_223_372_036_854_775_807_i64,
        example = 3
    )]
    pub version: Option<i64>,
    #[schema(nullable = false, schema_with = crate::openapi::text_rules::sku)]
    pub sku: Option<String>,
    #[schema(nullable = false, schema_with = crate::openapi::text_rules::name)]
    pub name: Option<String>,
    #[schema(nullable = false, schema_with = crate::openapi::text_rules::description)]
    pub description: Option<String>,
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub price_minor: Option<i64>,
    #[schema(value_type = Option<crate::openapi::CurrencyCode>, nullable = false)]
    pub currency: Option<String>,
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
}

impl UpdateProductRequest {
    /// Reads the body, reporting every broken rule at once.
    fn parse(JsonObject(object): JsonObject) -> Result<UpdateProductRequest, ApiError> {
        let mut reader = FieldReader::new(object);
        let request = UpdateProductRequest {
            version: reader.integer("version", Presence::Optional, fields::version),
            sku: reader.string("sku", Presence::Optional, fields::sku),
            name: reader.string("name", Presence::Optional, fields::name),
            description: reader.string("description", Presence::Optional, fields::description),
            price_minor: reader.integer("price_minor", Presence::Optional, fields::price_minor),
            currency: reader.string("currency", Presence::Optional, fields::currency),
            stock: reader.integer("stock", Presence::Optional, fields::stock),
        };
        reader.finish()?;
        Ok(request)
    }

    fn into_patch(self) -> (Option<i64>, ProductPatch) {
        let patch = ProductPatch {
            sku: self.sku,
            name: self.name,
            description: self.description,
            price_minor: self.price_minor,
            currency: self.currency,
            stock: self.stock,
        };
        (self.version, patch)
    }
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
        (UpdateProductRequest = "application/json", example = crate::openapi::examples::update_product_request),
        (UpdateProductRequest = "application/merge-patch+json", example = crate::openapi::examples::update_product_request),
    )),
    responses(
        (status = 200, description = "Updated (or unchanged: nothing differed)", body = crate::domain::product::Product, headers(
            ("ETag" = String, description = "The product's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, a bad id or If-Match, body and If-Match naming different versions, or a query parameter (this operation takes none)", body = crate::openapi::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such product, or it was deleted", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The body's version is stale (stale-version), or the new SKU is taken (duplicate-sku)", body = crate::openapi::UpdateConflictProblem, content_type = "application/problem+json", headers(
            ("ETag" = String, description = "The current version's ETag (stale-version only)"),
        ), examples(
            ("stale-version" = (summary = "Someone else changed the product since your version", value = json!(crate::openapi::examples::stale_version()))),
            ("duplicate-sku" = (summary = "Another product holds the new SKU", value = json!(crate::openapi::examples::duplicate_sku()))),
        )),
        (status = 412, description = "The If-Match version is stale; same body as the 409", body = crate::openapi::StaleVersionProblem, content_type = "application/problem+json", headers(
            ("ETag" = String, description = "The current version's ETag"),
        )),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::ValidationProblem, content_type = "application/problem+json"),
        (status = 428, description = "No version in the body nor in If-Match", body = crate::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_product(
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
    auth: Authorized<roles::Sync>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let id = parse_product_id(&id)?;
    reject_parameters(&request)?;
    let (version, patch) = UpdateProductRequest::parse(body)?.into_patch();
    if auth.caller.role < Role::Manager && patch.sent_fields().any(|field| field != "stock") {
        return Err(ApiError::Forbidden(
            "A sync token may PATCH stock alone; changing other fields needs a manager token."
                .into(),
        ));
    }
    let expected = preconditions::resolve(
        &request,
        version.map(|v| (v, VersionSource::Body)),
        "/version",
    )?;
    let actor = auth.caller.name;
    let product = db
        .write(move |conn| store::products::update(conn, &id, expected, &patch, &actor))
        .await?;
    Ok(product_response(StatusCode::OK, &product))
}
