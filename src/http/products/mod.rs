//! The product endpoints, one file per action.

pub mod create;
pub mod delete;
pub mod list;
pub mod read;
pub mod update;

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use uuid::Uuid;

use crate::domain::product::Product;
use crate::http::error::{ApiError, FieldError};

/// The product id from the path; anything but a UUID is a 400.
pub fn parse_product_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| {
        ApiError::malformed(
            "The product id in the path is not a UUID.",
            vec![FieldError::new("{id}", format!("{text:?} is not a UUID"))],
        )
    })
}

/// A response carrying one product and its ETag.
pub fn product_response(status: StatusCode, product: &Product) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, product.etag()))
        .json(product)
}
