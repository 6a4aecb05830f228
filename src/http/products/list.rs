use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Database;
use crate::domain::listing::MAX_FILTER_CHARS;
use crate::domain::product::Product;
use crate::http::actor::{roles, Authorized};
use crate::http::cursor;
use crate::http::error::ApiError;
use crate::http::query::QueryReader;
use crate::store;
use crate::store::products::ListFilter;

/// One page of products, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<Product>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// List products
///
/// Live products, oldest first, keyset-paginated.
#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "products",
    params(
        crate::openapi::parameters::PageSize,
        ("cursor" = Option<String>, Query, nullable = false, pattern = "^[A-Za-z0-9_-]{21}[AQgw]$", description = "The `next_cursor` of the previous page"),
        crate::openapi::parameters::ProductFilters,
    ),
    responses(
        (status = 200, description = "One page of products", body = ProductPage),
        (status = 400, description = "A bad query parameter or cursor", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn list_products(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryReader::new(&request)?;
    let limit = query.page_size();
    let after = query.cursor::<Uuid>();
    let filter = ListFilter {
        sku: filter_text(&mut query, "sku"),
        text: filter_text(&mut query, "q"),
        below_reorder_point: below_reorder_point(&mut query),
    };
    query.finish()?;
    // One row more than the page tells whether another page follows.
    let rows = db
        .read(move |conn| store::products::list(conn, &filter, after, limit + 1))
        .await?;
    let (items, next_cursor) = cursor::page(rows, limit, |product| product.id);
    Ok(HttpResponse::Ok().json(ProductPage { items, next_cursor }))
}

/// A text filter of a listing, checked.
/// `below_reorder_point`: `true` narrows to low levels; `false` or
/// absent does not narrow.
pub fn below_reorder_point(query: &mut QueryReader) -> bool {
    match query.text("below_reorder_point").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            query.error("below_reorder_point", "must be true or false");
            false
        }
    }
}

pub fn filter_text(query: &mut QueryReader, name: &str) -> Option<String> {
    let text = query.text(name)?;
    if text.chars().count() > MAX_FILTER_CHARS {
        query.error(
            name,
            &format!("must be at most {MAX_FILTER_CHARS} characters"),
        );
        return None;
    }
    // PostgreSQL refuses NUL in text; no name or SKU holds a control character.
    if text.chars().any(char::is_control) {
        query.error(name, "must not contain control characters");
        return None;
    }
    Some(text)
}
