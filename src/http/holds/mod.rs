//! The hold endpoints: reading and listing here; making them in `create`,
//! changing and ending them in `change`.

pub mod change;
pub mod create;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Database;
use crate::domain::fields;
use crate::domain::hold::{Hold, HoldStatus};
use crate::http::actor::{roles, Authorized};
use crate::http::cursor;
use crate::http::error::ApiError;
use crate::http::query::{reject_parameters, QueryReader};
use crate::store;
use crate::store::hold_rows::HoldFilter;

/// One page of holds, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldPage {
    pub items: Vec<Hold>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The hold id in the path. One that is not a UUID names no hold: 404.
pub fn hold_in_path(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::NotFound(format!("No hold has id {text}.")))
}

/// A response carrying one hold and its ETag.
pub fn hold_response(status: StatusCode, hold: &Hold) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, hold.etag()))
        .json(hold)
}

/// Read a hold
///
/// The hold as it is now. An active hold past its `expires_at` reads as
/// `expired` at once, before the server marks it so.
#[utoipa::path(
    get,
    path = "/v1/holds/{id}",
    tag = "holds",
    params(("id" = uuid::Uuid, Path, description = "The hold's id")),
    responses(
        (status = 200, description = "The hold", body = Hold, headers(
            ("ETag" = String, description = "The hold's version as a strong ETag"),
        )),
        (status = 404, description = "No such hold", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn read_hold(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let id = hold_in_path(&id)?;
    let hold = db
        .read(move |conn| store::hold_rows::find(conn, &id))
        .await?
        .ok_or_else(|| ApiError::hold_not_found(&id))?;
    Ok(hold_response(StatusCode::OK, &hold))
}

/// List holds
///
/// Holds, oldest first, keyset-paginated, narrowed by product, location,
/// status and reference. Statuses are as holds read now: `active` leaves
/// out those past their time, `expired` takes them in.
#[utoipa::path(
    get,
    path = "/v1/holds",
    tag = "holds",
    params(
        ("product" = Option<uuid::Uuid>, Query, nullable = false, description = "Only this product's holds"),
        ("location" = Option<String>, Query, nullable = false, description = "Only holds at this location (its code, ignoring case)"),
        ("status" = Option<HoldStatus>, Query, nullable = false, description = "Only holds with this status"),
        ("reference" = Option<String>, Query, nullable = false, description = "Only holds with this reference, exactly"),
        crate::openapi::parameters::PageSize,
        ("cursor" = Option<String>, Query, nullable = false, pattern = "^[A-Za-z0-9_-]{21}[AQgw]$", description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of holds", body = HoldPage),
        (status = 400, description = "A bad query parameter or cursor", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn list_holds(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryReader::new(&request)?;
    let limit = query.page_size();
    let after = query.cursor::<Uuid>();
    let product = query
        .text("product")
        .and_then(|text| match Uuid::parse_str(&text) {
            Ok(id) => Some(id),
            Err(_) => {
                query.error("product", "must be a product id (a UUID)");
                None
            }
        });
    let location = query.text("location");
    let status = query.text("status").and_then(|text| {
        let status = HoldStatus::parse(&text);
        if status.is_none() {
            query.error("status", "must be active, committed, released or expired");
        }
        status
    });
    let reference = query.text("reference");
    query.finish()?;
    // A code or reference that breaks its rules (a NUL byte, say) names no
    // hold: an empty page, without asking the database.
    let unnamed = location
        .as_deref()
        .is_some_and(|code| fields::location_code(code).is_err())
        || reference
            .as_deref()
            .is_some_and(|text| fields::reference(text).is_err());
    if unnamed {
        let empty = HoldPage {
            items: Vec::new(),
            next_cursor: None,
        };
        return Ok(HttpResponse::Ok().json(empty));
    }
    let filter = HoldFilter {
        product,
        location,
        status,
        reference,
    };
    let rows = db
        .read(move |conn| store::hold_rows::list(conn, &filter, after, limit + 1))
        .await?;
    let (items, next_cursor) = cursor::page(rows, limit, |hold| hold.id);
    Ok(HttpResponse::Ok().json(HoldPage { items, next_cursor }))
}
