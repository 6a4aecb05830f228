use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::cursor;
use super::products::parse_product_id;
use super::query::QueryReader;
use crate::db::Database;
use crate::domain::history::HistoryEntry;
use crate::http::actor::{roles, Authorized};
use crate::http::error::ApiError;
use crate::store;

/// One page of a product's versions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<HistoryEntry>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A product's history
///
/// Every version of the product, newest first: exactly 1..current, with no
/// gap. Stays readable after the product is deleted.
#[utoipa::path(
    get,
    path = "/v1/products/{id}/history",
    tag = "products",
    params(
        ("id" = uuid::Uuid, Path, description = "The product's id"),
        crate::openapi::parameters::PageSize,
        ("cursor" = Option<String>, Query, nullable = false, pattern = "^[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]$", description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of versions", body = HistoryPage),
        (status = 400, description = "A bad id, query parameter or cursor", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 404, description = "No product ever had this id", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn product_history(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_product_id(&id)?;
    let mut query = QueryReader::new(&request)?;
    let limit = query.page_size();
    let before = query.cursor::<i64>();
    query.finish()?;
    // One row more than the page tells whether another page follows.
    let rows = db
        .read(move |conn| {
            let rows = store::history::page(conn, &id, before, limit + 1)?;
            // Every product has version 1 in its history, so only an empty
            // page can mean there is no such product.
            if rows.is_empty() && !store::products::ever_existed(conn, &id)? {
                return Err(ApiError::NotFound(format!("No product ever had id {id}.")));
            }
            Ok(rows)
        })
        .await?;
    let (items, next_cursor) = cursor::page(rows, limit, |entry| entry.version);
    Ok(HttpResponse::Ok().json(HistoryPage { items, next_cursor }))
}
