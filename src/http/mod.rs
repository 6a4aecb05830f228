//! The HTTP layer: extract, check and turn JSON into domain values, call the
//! store, and answer. `routes` is the route table.

pub mod actor;
pub mod api_reference;
pub mod body_deadline;
pub mod body_fields;
pub mod changes;
pub mod connection_limits;
pub mod cursor;
pub mod error;
pub mod events;
pub mod health;
pub mod history;
pub mod holds;
pub mod idempotency;
pub mod json_body;
pub mod known_tokens;
pub mod levels;
pub mod limits;
pub mod locations;
pub mod metrics;
pub mod openapi_documents;
pub mod preconditions;
pub mod problem;
pub mod problem_body;
pub mod problems;
pub mod products;
pub mod query;
pub mod reorder_points;
pub mod request_context;
pub mod stock_adjustments;
pub mod stock_sync;
pub mod strict_json;
pub mod transfers;
pub mod web_ui;
pub mod webhooks;

use actix_web::{guard, web, HttpResponse, Route};

use crate::http::error::ApiError;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/v1/products")
                .route(read().to(products::list::list_products))
                .route(web::post().to(products::create::create_product))
                .default_service(method_not_allowed("GET, HEAD, POST")),
        )
        .service(
            web::resource("/v1/products/{id}")
                .route(read().to(products::read::read_product))
                .route(web::patch().to(products::update::update_product))
                .route(web::delete().to(products::delete::delete_product))
                .default_service(method_not_allowed("GET, HEAD, PATCH, DELETE")),
        )
        .service(
            web::resource("/v1/products/{id}/stock-adjustments")
                .route(web::post().to(stock_adjustments::adjust_stock))
                .default_service(method_not_allowed("POST")),
        )
        .service(
            web::resource("/v1/products/{id}/levels")
                .route(read().to(levels::product_levels))
                .default_service(method_not_allowed("GET, HEAD")),
        )
        .service(
            web::resource("/v1/products/{id}/levels/{code}")
                .route(web::patch().to(levels::update_level))
                .default_service(method_not_allowed("PATCH")),
        )
        .service(
            web::resource("/v1/products/{id}/levels/{code}/reorder-point")
                .route(web::put().to(reorder_points::set_reorder_point))
                .default_service(method_not_allowed("PUT")),
        )
        .service(
            web::resource("/v1/locations")
                .route(read().to(locations::list_locations))
                .route(web::post().to(locations::create_location))
                .default_service(method_not_allowed("GET, HEAD, POST")),
        )
        .service(
            web::resource("/v1/locations/{code}")
                .route(read().to(locations::read_location))
                .route(web::patch().to(locations::update_location))
                .route(web::delete().to(locations::delete_location))
                .default_service(method_not_allowed("GET, HEAD, PATCH, DELETE")),
        )
        .service(
            web::resource("/v1/locations/{code}/levels")
                .route(read().to(levels::location_levels))
                .default_service(method_not_allowed("GET, HEAD")),
        )
        .service(
            web::resource("/v1/transfers")
                .route(web::post().to(transfers::transfer_stock))
                .default_service(method_not_allowed("POST")),
        )
        .service(
            web::resource("/v1/holds")
                .route(read().to(holds::list_holds))
                .route(web::post().to(holds::create::create_holds))
                .default_service(method_not_allowed("GET, HEAD, POST")),
        )
        .service(
            web::resource("/v1/holds/{id}")
                .route(read().to(holds::read_hold))
                .route(web::patch().to(holds::change::update_hold))
                .default_service(method_not_allowed("GET, HEAD, PATCH")),
        )
        .service(
            web::resource("/v1/holds/{id}/commit")
                .route(web::post().to(holds::change::commit_hold))
                .default_service(method_not_allowed("POST")),
        )
        .service(
            web::resource("/v1/holds/{id}/release")
                .route(web::post().to(holds::change::release_hold))
                .default_service(method_not_allowed("POST")),
        )
        .service(
            web::resource("/v1/stock-sync")
                .route(web::post().to(stock_sync::sync_stock))
                .default_service(method_not_allowed("POST")),
        )
        .service(
            web::resource("/v1/products/{id}/history")
                .route(read().to(history::product_history))
                .default_service(method_not_allowed("GET, HEAD")),
        )
        .service(
            web::resource("/v1/webhooks")
                .route(read().to(webhooks::list_webhooks))
                .route(web::post().to(webhooks::subscriptions::create_webhook))
                .default_service(method_not_allowed("GET, HEAD, POST")),
        )
        .service(
            web::resource("/v1/webhooks/{id}")
                .route(read().to(webhooks::read_webhook))
                .route(web::patch().to(webhooks::subscriptions::update_webhook))
                .route(web::delete().to(webhooks::subscriptions::delete_webhook))
                .default_service(method_not_allowed("GET, HEAD, PATCH, DELETE")),
        )
        .service(
            web::resource("/v1/webhooks/{id}/rotate-secret")
                .route(web::post().to(webhooks::subscriptions::rotate_secret))
                .default_service(method_not_allowed("POST")),
        )
        .service(
            web::resource("/v1/webhooks/{id}/deliveries")
                .route(read().to(webhooks::deliveries::list_deliveries))
                .default_service(method_not_allowed("GET, HEAD")),
        )
        .service(
            web::resource("/v1/webhooks/{id}/redeliver")
                .route(web::post().to(webhooks::deliveries::redeliver))
                .default_service(method_not_allowed("POST")),
        )
        .service(read_only("/v1/changes", read().to(changes::list_changes)))
        .service(read_only("/v1/events", read().to(events::product_events)))
        .service(read_only("/healthz", read().to(health::healthz)))
        .service(read_only("/readyz", read().to(health::readyz)))
        .service(read_only("/metrics", read().to(metrics::metrics)))
        .service(read_only(
            "/openapi.json",
            read().to(openapi_documents::openapi_json),
        ))
        .service(read_only(
            "/openapi.yaml",
            read().to(openapi_documents::openapi_yaml),
        ))
        .service(read_only(
            "/problems/{slug}",
            read().to(problems::explain_problem),
        ))
        .service(read_only("/", read().to(web_ui::index)))
        .service(read_only("/ui/{file}", read().to(web_ui::file)))
        .service(read_only("/docs", read().to(api_reference::to_swagger_ui)))
        .service(read_only(
            "/docs/{file:.*}",
            read().to(api_reference::swagger_file),
        ))
        .default_service(web::to(no_such_route));
}

/// A route for GET and HEAD: actix answers HEAD with GET's headers and no body.
fn read() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

fn read_only(path: &str, get: Route) -> actix_web::Resource {
    web::resource(path)
        .route(get)
        .default_service(method_not_allowed("GET, HEAD"))
}

fn method_not_allowed(allow: &'static str) -> Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) })
}

async fn no_such_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(
        "No route matches this path. The API lives under /v1; see /openapi.json.".into(),
    ))
}
