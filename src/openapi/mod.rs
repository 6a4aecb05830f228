//! The OpenAPI document, generated from the handlers' annotations. The
//! committed `openapi.yaml` must equal `yaml()` (a test checks it).

use serde_json::Value;
use utoipa::OpenApi;

use crate::http;
use crate::http::error::FieldError;

mod every_operation;
pub mod examples;
mod links;
pub mod parameters;
pub mod product_fields;
pub mod schemas;
mod yaml;

use every_operation::EveryOperation;
use links::ProductLinks;
pub use schemas::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "inventory-api",
        description = "Products with versions. Every write to a product is a compare-and-swap on its \
            version: name the version you read (in the body, `?version=` for DELETE, or `If-Match`), \
            and a stale write is refused with a 409 (or 412 for If-Match) that carries the current \
            product and what changed since your version. Errors are RFC 9457 problems; \
            `GET /problems/{slug}` explains each type. Integers (prices, stock, versions) are whole \
            numbers, as JSON Schema counts them: 1250, 1250.0 and 1.25e3 are all 1250, and a number \
            with a fraction, such as 12.5, is refused.",
    ),
    servers((url = "/", description = "The server that serves this document")),
    paths(
        http::products::create::create_product,
        http::products::list::list_products,
        http::products::read::read_product,
        http::products::update::update_product,
        http::products::delete::delete_product,
        http::history::product_history,
        http::events::product_events,
        http::stock_adjustments::adjust_stock,
        http::stock_sync::sync_stock,
        http::locations::list_locations,
        http::locations::create_location,
        http::locations::read_location,
        http::locations::update_location,
        http::locations::delete_location,
        http::levels::product_levels,
        http::levels::location_levels,
        http::levels::update_level,
        http::transfers::transfer_stock,
        http::holds::create::create_holds,
        http::holds::list_holds,
        http::holds::read_hold,
        http::holds::change::update_hold,
        http::holds::change::commit_hold,
        http::holds::change::release_hold,
        http::reorder_points::set_reorder_point,
        http::changes::list_changes,
        http::webhooks::subscriptions::create_webhook,
        http::webhooks::list_webhooks,
        http::webhooks::read_webhook,
        http::webhooks::subscriptions::update_webhook,
        http::webhooks::subscriptions::delete_webhook,
        http::webhooks::subscriptions::rotate_secret,
        http::webhooks::deliveries::list_deliveries,
        http::webhooks::deliveries::redeliver,
        http::health::healthz,
        http::health::readyz,
        http::metrics::metrics,
        http::problems::explain_problem,
        http::openapi_documents::openapi_json,
        http::openapi_documents::openapi_yaml,
    ),
    components(schemas(
        Problem,
        ValidationProblem,
        StaleVersionProblem,
        DuplicateSkuProblem,
        UpdateConflictProblem,
        InsufficientStockProblem,
        StockSyncConflictProblem,
        IdempotencyKeyInUseProblem,
        IdempotencyKeyReusedProblem,
        FieldError,
        CurrencyCode,
        ProblemSlug,
        crate::domain::changes::FieldChange,
        crate::domain::events::ProductChange,
        crate::domain::hold::Oversold,
        crate::domain::level::StockAlert,
        crate::domain::location::LocationChange,
        http::webhooks::WebhookDelivery,
        // Named by its array's schema (built from `MAX_ITEMS`), not derived.
        http::stock_sync::StockSyncItemRequest,
    )),
    modifiers(&EveryOperation, &ProductLinks),
    tags(
        (name = "products", description = "Products and their versions"),
        (name = "stock", description = "Stock changes for the sync job: adjustments and batch counts"),
        (name = "locations", description = "Locations, each product's stock level at each, and transfers between them"),
        (name = "holds", description = "Stock held for carts and orders until committed, released or expired"),
        (name = "webhooks", description = "Events pushed to other systems, signed, in order, at least once (admin only)"),
        (name = "operations", description = "Health, the API's own description, and problem types"),
    )
)]
pub struct ApiDoc;

/// The document as a JSON value, with what utoipa writes wrong put right.
pub fn document() -> Result<Value, serde_json::Error> {
    let mut document = serde_json::to_value(ApiDoc::openapi())?;
    camel_case_links(&mut document);
    // utoipa copies Cargo.toml's license, and writes an empty one when the
    // package names none.
    if let Some(info) = document.get_mut("info").and_then(Value::as_object_mut) {
        let license_name = info.get("license").and_then(|license| license.get("name"));
        if license_name.is_some_and(|name| name == "") {
            info.shift_remove("license");
        }
    }
    Ok(document)
}

/// The document as YAML, as `inventory-api openapi` prints it.
pub fn yaml() -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    yaml::to_yaml(&document()?)
}

pub fn json() -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&document()?)
}

/// utoipa 5 writes a Link object's fields in snake case
/// (`operation_id`, `request_body`); OpenAPI spells them in camel case.
fn camel_case_links(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses"))
        .filter_map(Value::as_object_mut)
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(Value::as_object_mut) else {
            continue;
        };
        for link in links.values_mut().filter_map(Value::as_object_mut) {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(value) = link.shift_remove(snake) {
                    link.insert(camel.into(), value);
                }
            }
        }
    }
}
