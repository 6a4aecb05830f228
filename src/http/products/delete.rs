use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::IntoParams;

use super::parse_product_id;
use crate::db::Database;
use crate::domain::fields::{VERSION_MAX, VERSION_MIN};
use crate::domain::precondition::VersionSource;
use crate::http::actor::{roles, Authorized};
use crate::http::error::ApiError;
use crate::http::preconditions;
use crate::http::query::QueryReader;
use crate::store;

/// `?version=`, the version a DELETE names.
struct VersionToDelete;

impl IntoParams for VersionToDelete {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![crate::openapi::parameters::optional_query(
            "version",
            "The version you are deleting. Required unless sent as If-Match",
            crate::domain::number_schemas::version(),
        )]
    }
}

/// Delete a product (compare-and-swap)
///
/// Deletes the product only if it is still at the version you name. Its SKU
/// is free again; its history stays readable.
#[utoipa::path(
    delete,
    path = "/v1/products/{id}",
    tag = "products",
    params(
        ("id" = uuid::Uuid, Path, description = "The product's id"),
        VersionToDelete,
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|"0*[1-9][0-9]{0,17}")$"#, description = "The ETag you are deleting, e.g. \"3\"; an alternative to `version`. `*` does not count"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A bad id, version or If-Match, or the two name different versions", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such product, or it was deleted", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `version` parameter is stale", body = crate::openapi::schemas::StaleVersionProblem, content_type = "application/problem+json", headers(
            ("ETag" = String, description = "The current version's ETag"),
        ), example = crate::openapi::examples::stale_version),
        (status = 412, description = "The If-Match version is stale; same body as the 409", body = crate::openapi::schemas::StaleVersionProblem, content_type = "application/problem+json", headers(
            ("ETag" = String, description = "The current version's ETag"),
        )),
        (status = 428, description = "No version in the query nor in If-Match", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_product(
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
    auth: Authorized<roles::Manager>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_product_id(&id)?;
    let mut query = QueryReader::new(&request)?;
    let version = query.integer("version", VERSION_MIN, VERSION_MAX);
    query.finish()?;
    let expected = preconditions::resolve(
        &request,
        version.map(|v| (v, VersionSource::Query)),
        "?version",
    )?;
    db.write(move |conn| store::products::delete(conn, &id, expected, &auth.caller.name))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
