//! The location endpoints: list, create, read, rename and delete.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Database;
use crate::domain::fields::{self, VERSION_MAX, VERSION_MIN};
use crate::domain::location::Location;
use crate::domain::precondition::VersionSource;
use crate::http::actor::{roles, Authorized};
use crate::http::body_fields::{FieldReader, Presence};
use crate::http::cursor;
use crate::http::error::ApiError;
use crate::http::idempotency::{self, recorded_json, Retryable};
use crate::http::json_body::JsonObject;
use crate::http::preconditions;
use crate::http::query::{reject_parameters, QueryReader};
use crate::store;

/// One page of locations, MAIN first, then oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationPage {
    pub items: Vec<Location>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The body of a new location.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLocationRequest {
    #[schema(schema_with = crate::domain::text_schemas::location_code)]
    pub code: String,
    #[schema(schema_with = crate::domain::text_schemas::location_name)]
    pub name: String,
}

/// The body of a rename.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLocationRequest {
    #[schema(schema_with = crate::domain::text_schemas::location_name)]
    pub name: String,
    /// The version your change is based on; or send If-Match.
    #[schema(nullable = false, schema_with = crate::domain::number_schemas::made_version)]
    pub version: Option<i64>,
}

/// The location code in the path. One that breaks the rules of codes names
/// no location: 404, without asking the database.
pub fn code_in_path(code: &str) -> Result<String, ApiError> {
    fields::location_code(code).map_err(|_| ApiError::location_not_found(code))
}

/// A response carrying one location and its ETag.
fn location_response(status: StatusCode, location: &Location) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, location.etag()))
        .json(location)
}

/// List locations
///
/// Live locations, MAIN first, keyset-paginated.
#[utoipa::path(
    get,
    path = "/v1/locations",
    tag = "locations",
    params(
        crate::openapi::parameters::PageSize,
        ("cursor" = Option<String>, Query, nullable = false, pattern = "^[A-Za-z0-9_-]{21}[AQgw]$", description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of locations", body = LocationPage),
        (status = 400, description = "A bad query parameter or cursor", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn list_locations(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryReader::new(&request)?;
    let limit = query.page_size();
    let after = query.cursor::<Uuid>();
    query.finish()?;
    let rows = db
        .read(move |conn| store::locations::list(conn, after, limit + 1))
        .await?;
    let (items, next_cursor) = cursor::page(rows, limit, |location| location.id);
    Ok(HttpResponse::Ok().json(LocationPage { items, next_cursor }))
}

/// Create a location
///
/// A new place that holds stock, at version 1, holding nothing yet. Its
/// code is fixed from now on.
#[utoipa::path(
    post,
    path = "/v1/locations",
    tag = "locations",
    request_body(content = CreateLocationRequest, content_type = "application/json", example = json!({"code": "SHOP-1", "name": "High Street shop"})),
    responses(
        (status = 201, description = "Created", body = Location, headers(
            ("Location" = String, description = "The new location's URL"),
            ("ETag" = String, description = "The location's version as a strong ETag, e.g. \"1\""),
        )),
        (status = 400, description = "Invalid JSON, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 409, description = "duplicate-location: another location, live or deleted, has this code", body = crate::openapi::schemas::DuplicateLocationProblem, content_type = "application/problem+json", example = crate::openapi::examples::duplicate_location),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn create_location(
    db: web::Data<Database>,
    request: HttpRequest,
    auth: Authorized<roles::Manager>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let retryable = Retryable::of(&request, &body.0)?;
    let mut reader = FieldReader::new(body.0);
    let code = reader.string("code", Presence::Required, fields::location_code);
    let name = reader.string("name", Presence::Required, fields::name);
    reader.finish()?;
    let (Some(code), Some(name)) = (code, name) else {
        return Err(ApiError::internal(
            "a required field passed the reader without a value",
        ));
    };
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        let location = store::locations::create(conn, &code, &name)?;
        let headers = vec![
            (
                header::LOCATION.to_string(),
                format!("/v1/locations/{}", location.code),
            ),
            (header::ETAG.to_string(), location.etag()),
        ];
        recorded_json(StatusCode::CREATED, &location, headers)
    })
    .await
}

/// Read a location
///
/// The live location with this code, compared ignoring case.
#[utoipa::path(
    get,
    path = "/v1/locations/{code}",
    tag = "locations",
    params(("code" = String, Path, description = "The location's code, ignoring case")),
    responses(
        (status = 200, description = "The location", body = Location, headers(
            ("ETag" = String, description = "The location's version as a strong ETag"),
        )),
        (status = 404, description = "No such location, or it was deleted", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn read_location(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    request: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let code = code_in_path(&code)?;
    let found = {
        let code = code.clone();
        db.read(move |conn| store::locations::find(conn, &code))
            .await?
    };
    let location = found.ok_or_else(|| ApiError::location_not_found(&code))?;
    Ok(location_response(StatusCode::OK, &location))
}

/// Rename a location (compare-and-swap)
///
/// Its code is fixed at creation; its name changes only if it is still at
/// the version you name.
#[utoipa::path(
    patch,
    path = "/v1/locations/{code}",
    tag = "locations",
    params(
        ("code" = String, Path, description = "The location's code, ignoring case"),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|"0*[1-9][0-9]{0,17}")$"#, description = "The ETag your change is based on; an alternative to `version`"),
    ),
    request_body(content = UpdateLocationRequest, content_type = "application/json", example = json!({"name": "High Street shop", "version": 1})),
    responses(
        (status = 200, description = "Renamed (or unchanged)", body = Location, headers(
            ("ETag" = String, description = "The location's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, If-Match, or body and If-Match disagreeing", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such location, or it was deleted", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "stale-version: someone else changed the location since your version", body = crate::openapi::schemas::StaleLocationProblem, content_type = "application/problem+json", example = crate::openapi::examples::stale_location),
        (status = 412, description = "The If-Match version is stale; same body as the 409", body = crate::openapi::schemas::StaleLocationProblem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 428, description = "No version in the body nor in If-Match", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_location(
    db: web::Data<Database>,
    request: HttpRequest,
    code: web::Path<String>,
    _auth: Authorized<roles::Manager>,
    JsonObject(object): JsonObject,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let mut reader = FieldReader::new(object);
    let name = reader.string("name", Presence::Required, fields::name);
    let version = reader.integer("version", Presence::Optional, fields::version);
    reader.finish()?;
    let name = name.ok_or_else(|| ApiError::internal("a required field passed the reader"))?;
    let expected = preconditions::resolve(
        &request,
        version.map(|v| (v, VersionSource::Body)),
        "/version",
    )?;
    let code = code_in_path(&code)?;
    let location = db
        .write(move |conn| store::locations::rename(conn, &code, expected, &name))
        .await?;
    Ok(location_response(StatusCode::OK, &location))
}

/// Delete a location (compare-and-swap)
///
/// Only once it holds no stock of a live product. MAIN cannot be deleted.
/// The code stays taken, so the ledger's codes always name one place.
#[utoipa::path(
    delete,
    path = "/v1/locations/{code}",
    tag = "locations",
    params(
        ("code" = String, Path, description = "The location's code, ignoring case"),
        ("version" = Option<i64>, Query, nullable = false, minimum = 1, description = "The version you are deleting. Required unless sent as If-Match"),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|"0*[1-9][0-9]{0,17}")$"#, description = "The ETag of the version you are deleting"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A bad version, If-Match, or the two disagreeing", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such location, or it was deleted", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "stale-version, location-not-empty (it still holds stock) or default-location (MAIN)", body = crate::openapi::schemas::LocationDeleteConflictProblem, content_type = "application/problem+json", examples(
            ("stale-version" = (summary = "Someone else renamed the location since your version", value = json!(crate::openapi::examples::stale_location()))),
            ("location-not-empty" = (summary = "The location still holds stock", value = json!(crate::openapi::examples::location_not_empty()))),
        )),
        (status = 412, description = "The If-Match version is stale", body = crate::openapi::schemas::StaleLocationProblem, content_type = "application/problem+json"),
        (status = 428, description = "No version in the query nor in If-Match", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_location(
    db: web::Data<Database>,
    request: HttpRequest,
    code: web::Path<String>,
    _auth: Authorized<roles::Manager>,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryReader::new(&request)?;
    let version = query.integer("version", VERSION_MIN, VERSION_MAX);
    query.finish()?;
    let expected = preconditions::resolve(
        &request,
        version.map(|v| (v, VersionSource::Query)),
        "?version",
    )?;
    let code = code_in_path(&code)?;
    db.write(move |conn| store::locations::delete(conn, &code, expected))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
