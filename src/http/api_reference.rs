//! `/docs`: the API reference for people, Swagger UI reading this server's
//! `/openapi.json`. Its files ship inside the binary (the crate vendors
//! them), so the page works with no network and loads nothing from a CDN.

use actix_web::http::header;
use actix_web::HttpResponse;
use utoipa_swagger_ui::{Config, SwaggerUi};

pub fn swagger_ui() -> SwaggerUi {
    // No online validator badge: the page must not call out to the network.
    let config = Config::from("/openapi.json").validator_url("none");
    SwaggerUi::new("/docs/{_:.*}").config(config)
}

/// `/docs` itself: Swagger UI's files are named relative to `/docs/`.
pub async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
