//! `/docs`: the API reference for people, Swagger UI reading this server's
//! `/openapi.json`. Its files ship inside the binary (the crate vendors
//! them), so the page works with no network and loads nothing from a CDN.
//! They are served here rather than by the crate's own service, so that
//! they carry the page's security headers and answer HEAD.

use std::sync::{Arc, LazyLock};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa_swagger_ui::Config;

use super::web_ui::with_page_headers;
use crate::http::error::ApiError;

/// As the page's policy, but Swagger UI styles its elements inline and
/// draws its icons from `data:` images.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// No online validator badge: the page must not call out to the network.
static CONFIG: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::from("/openapi.json").validator_url("none")));

/// `/docs/{file}`: one of Swagger UI's files; `/docs/` is its page.
pub async fn swagger_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let found = utoipa_swagger_ui::serve(&file, Arc::clone(&CONFIG)).map_err(|error| {
        ApiError::internal(format!("the API reference could not be served: {error}"))
    })?;
    let Some(found) = found else {
        return Err(ApiError::NotFound(format!(
            "The API reference has no file {file:?}; it starts at /docs/."
        )));
    };
    let mut response = HttpResponse::Ok();
    with_page_headers(&mut response, &found.content_type, CONTENT_SECURITY_POLICY);
    Ok(response.body(found.bytes.into_owned()))
}

/// `/docs` itself: Swagger UI's files are named relative to `/docs/`.
pub async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
