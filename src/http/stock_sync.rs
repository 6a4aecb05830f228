use std::collections::hash_map::Entry;
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::openapi::{Array, ArrayBuilder, Object, ObjectBuilder, Ref, Type};
use utoipa::ToSchema;

use super::actor::{may_write_stock_at, roles, Authorized};
use super::body_fields::{FieldReader, Presence};
use super::idempotency::{self, recorded_json, Retryable};
use super::json_body::JsonObject;
use super::query::reject_parameters;
use crate::db::Database;
use crate::domain::fields;
use crate::domain::location::MAIN_CODE;
use crate::domain::number_schemas::{self, with_example};
use crate::domain::stock::{counted_at, StockSync, SyncItem, SyncMode, SyncPrecondition};
use crate::domain::timestamp;
use crate::http::error::ApiError;
use crate::store;

/// Most items one batch may carry: the longest array any body may hold.
pub const MAX_ITEMS: usize = super::strict_json::MAX_ARRAY_ITEMS;

/// The body of a stock sync.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockSyncRequest {
    #[schema(schema_with = items)]
    pub items: Vec<StockSyncItemRequest>,
    #[schema(nullable = false, schema_with = sync_mode)]
    pub mode: Option<String>,
    /// Why, recorded in each updated product's history.
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::reason)]
    pub reason: Option<String>,
    /// `true`: answer every item's outcome as the batch would have it now,
    /// and apply nothing (no version moves, nothing is recorded).
    #[schema(nullable = false, example = false)]
    pub dry_run: Option<bool>,
}

/// One count: the product by SKU (ignoring case), the location (MAIN when
/// left out) and the counted stock, based on the version you read, taken
/// at a known time (`counted_at`), or forced (an explicit blind overwrite).
#[derive(Debug, ToSchema)]
#[serde(untagged)]
pub enum StockSyncItemRequest {
    Versioned(VersionedStockCount),
    Counted(TimedStockCount),
    Forced(ForcedStockCount),
}

/// A count applied only if the product (without `location`) or the level
/// (with it) is still at `expected_version`.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionedStockCount {
    #[schema(schema_with = crate::domain::text_schemas::sku)]
    pub sku: String,
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::location_code)]
    pub location: Option<String>,
    #[schema(schema_with = versioned_stock)]
    pub stock: i64,
    #[schema(schema_with = expected_version)]
    pub expected_version: i64,
    /// Only `false` here: `true` and `expected_version` exclude each other.
    #[schema(schema_with = only_false)]
    pub force: Option<bool>,
}

/// A count taken at `counted_at`: the level is set to it plus every
/// movement (sale, delivery, transfer) recorded there since, and a count
/// older than the level's last one is superseded.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimedStockCount {
    #[schema(schema_with = crate::domain::text_schemas::sku)]
    pub sku: String,
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::location_code)]
    pub location: Option<String>,
    #[schema(schema_with = versioned_stock)]
    pub stock: i64,
    /// When the count was taken (RFC 3339), at most 7 days ago and not in
    /// the future.
    #[schema(format = DateTime, example = "2026-12-07T09:30:00Z")]
    pub counted_at: String,
}

/// A count applied whatever the version: a blind overwrite.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForcedStockCount {
    #[schema(schema_with = crate::domain::text_schemas::sku)]
    pub sku: String,
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::location_code)]
    pub location: Option<String>,
    #[schema(schema_with = forced_stock)]
    pub stock: i64,
    #[schema(schema_with = only_true)]
    pub force: bool,
}

fn items() -> Array {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("StockSyncItemRequest"))
        .min_items(Some(1))
        .max_items(Some(MAX_ITEMS))
        .build()
}

fn versioned_stock() -> Object {
    with_example(number_schemas::stock(), 35).build()
}

fn expected_version() -> Object {
    with_example(number_schemas::version(), 4).build()
}

fn forced_stock() -> Object {
    with_example(number_schemas::stock(), 12).build()
}

fn sync_mode() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "`best_effort` (the default) applies every item that can be applied; `atomic` applies all or nothing.",
        ))
        .enum_values(Some(["best_effort", "atomic"]))
        .examples(["best_effort"])
        .build()
}

// `force`'s one allowed value is said in words, not as `enum` or `const`:
// the generators most clients come from build no model that can hold a
// one-value boolean.
fn only_false() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .description(Some(
            "Only `false` here: `true` and `expected_version` exclude each other (422).",
        ))
        .build()
}

fn only_true() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .description(Some(
            "Must be `true`: a blind overwrite is asked for explicitly (`false` is refused with a 422).",
        ))
        .build()
}

impl StockSyncRequest {
    /// Reads the body, reporting every broken rule (of every item) at once.
    fn parse(JsonObject(object): JsonObject) -> Result<StockSync, ApiError> {
        let now = timestamp::now();
        let mut reader = FieldReader::new(object);
        let values = reader.array("items", Presence::Required);
        let mode = reader.string("mode", Presence::Optional, mode);
        let reason = reader.string("reason", Presence::Optional, fields::reason);
        let dry_run = reader.boolean("dry_run", Presence::Optional);
        // More than MAX_ITEMS were refused as the body was read (`strict_json`).
        if let Some(count) = values.as_ref().map(Vec::len) {
            if !(1..=MAX_ITEMS).contains(&count) {
                reader.error(
                    "/items",
                    format!("must hold 1 to {MAX_ITEMS} items (it holds {count})"),
                );
            }
        }
        // A missing or mistyped `items` was reported by the reader.
        let values = values.unwrap_or_default();
        let mut items = Vec::with_capacity(values.len());
        let mut first_index_of_level: HashMap<(String, String), usize> = HashMap::new();
        for (index, value) in values.into_iter().enumerate() {
            let at = format!("/items/{index}");
            let Value::Object(object) = value else {
                reader.error(&at, "must be an object");
                continue;
            };
            let mut item_reader = FieldReader::at(at, object);
            let item = sync_item(&mut item_reader, now);
            reader.absorb(item_reader.into_errors());
            let Some(item) = item else { continue };
            let location = item.location.as_deref().unwrap_or(MAIN_CODE);
            let level = (item.sku.to_ascii_lowercase(), location.to_ascii_lowercase());
            match first_index_of_level.entry(level) {
                Entry::Occupied(first) => reader.error(
                    &format!("/items/{index}/sku"),
                    format!(
                        "repeats the SKU and location of /items/{}; each level may appear once",
                        first.get()
                    ),
                ),
                Entry::Vacant(slot) => {
                    slot.insert(index);
                    items.push(item);
                }
            }
        }
        reader.finish()?;
        Ok(StockSync {
            items,
            mode: mode.unwrap_or(SyncMode::BestEffort),
            reason,
            dry_run: dry_run.unwrap_or(false),
        })
    }
}

fn mode(value: &str) -> Result<SyncMode, String> {
    match value {
        "best_effort" => Ok(SyncMode::BestEffort),
        "atomic" => Ok(SyncMode::Atomic),
        _ => Err("must be \"best_effort\" or \"atomic\"".into()),
    }
}

fn sync_item(reader: &mut FieldReader, now: DateTime<Utc>) -> Option<SyncItem> {
    let sku = reader.string("sku", Presence::Required, fields::sku);
    let location = reader.string("location", Presence::Optional, fields::location_code);
    let stock = reader.integer("stock", Presence::Required, fields::stock);
    // A precondition sent but broken is reported at its own pointer alone.
    let sent = ["expected_version", "counted_at", "force"].map(|key| reader.sent(key));
    let expected_version = reader.integer("expected_version", Presence::Optional, fields::version);
    let force = reader.boolean("force", Presence::Optional);
    let counted_at = reader.string("counted_at", Presence::Optional, |value| {
        counted_at(value, now)
    });
    let read = [
        expected_version.is_some(),
        counted_at.is_some(),
        force.is_some(),
    ];
    let broken = sent.iter().zip(read).any(|(sent, read)| *sent && !read);
    let precondition = match (expected_version, force == Some(true), counted_at) {
        (Some(version), false, None) => Some(SyncPrecondition::Version(version)),
        (None, true, None) => Some(SyncPrecondition::Force),
        (None, false, Some(at)) => Some(SyncPrecondition::CountedAt(at)),
        (None, false, None) if broken => None,
        (None, false, None) => {
            reader.error(
                "",
                "needs expected_version, counted_at, or \"force\": true for a blind overwrite",
            );
            None
        }
        _ => {
            reader.error(
                "",
                "send one of expected_version, counted_at and \"force\": true, not several",
            );
            None
        }
    };
    Some(SyncItem {
        sku: sku?,
        location,
        stock: stock?,
        precondition: precondition?,
    })
}

/// Set the stock of many products at once
///
/// 1-1000 counts by SKU and location, applied in one transaction. Results
/// keep the request's order. A count with `counted_at` keeps the sales made
/// since it was taken (`rebased`).
#[utoipa::path(
    post,
    path = "/v1/stock-sync",
    tag = "stock",
    request_body(content = StockSyncRequest, content_type = "application/json", example = crate::openapi::examples::sync_stock_request),
    responses(
        (status = 200, description = "Best effort: every item's outcome. Atomic: every item applied", body = crate::domain::stock::SyncOutcome),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 409, description = "stock-sync-conflict: an item of an atomic batch failed, so nothing was applied", body = crate::openapi::schemas::StockSyncConflictProblem, content_type = "application/problem+json", example = crate::openapi::examples::stock_sync_conflict),
        (status = 403, description = "The token may not write stock at an item's location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks one or more rules: no items or more than 1000, an item without one of expected_version, counted_at and force, a counted_at over 7 days old, a SKU and location twice", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn sync_stock(
    db: web::Data<Database>,
    request: HttpRequest,
    auth: Authorized<roles::Sync>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let retryable = Retryable::of(&request, &body.0)?;
    let batch = StockSyncRequest::parse(body)?;
    for item in &batch.items {
        may_write_stock_at(&auth.caller, item.location.as_deref())?;
    }
    let actor_name = auth.caller.name.clone();
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        let outcome = store::stock_sync::sync(conn, &batch, &actor_name)?;
        recorded_json(StatusCode::OK, &outcome, Vec::new())
    })
    .await
}
