//! The store-manager page at `/`: plain HTML, CSS and JavaScript modules
//! from `web/`, built into the binary, so `cargo run` serves it with
//! nothing to build or install. Served with a Content-Security-Policy that
//! allows no inline script and no other origin.

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpResponse, HttpResponseBuilder};

use crate::http::error::ApiError;

/// Scripts, styles and requests from this origin only; no inline script,
/// no plugins, never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

const INDEX: &str = include_str!("../../web/index.html");

/// The files under `/ui/`, by name.
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/api.js"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/live.js"),
    ),
    (
        "money.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/money.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/dom.js"),
    ),
    (
        "forms.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/forms.js"),
    ),
    (
        "conflict.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/conflict.js"),
    ),
    (
        "locations.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/locations.js"),
    ),
    (
        "levels.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/levels.js"),
    ),
    (
        "holds.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/holds.js"),
    ),
    (
        "csv.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/csv.js"),
    ),
    (
        "counts.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/counts.js"),
    ),
    (
        "webhooks.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/webhooks.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../web/app.css"),
    ),
];

fn page_response(content_type: &str, body: &'static str) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    with_page_headers(&mut response, content_type, CONTENT_SECURITY_POLICY);
    response.body(body)
}

/// The headers of every file of a page this server serves (`/`, `/docs/`).
pub fn with_page_headers(response: &mut HttpResponseBuilder, content_type: &str, policy: &str) {
    response
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, policy))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // The files are small and change with the binary: always revalidate.
        .insert_header((header::CACHE_CONTROL, "no-cache"));
}

pub async fn index() -> HttpResponse {
    page_response(&ContentType::html().to_string(), INDEX)
}

pub async fn file(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, content_type, body) = FILES
        .iter()
        .find(|(file, _, _)| *file == name.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("There is no file /ui/{name}.")))?;
    Ok(page_response(content_type, body))
}
