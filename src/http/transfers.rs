//! Transfers: stock moved from one location to another in one transaction.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::actor::{may_write_stock_at, roles, Authorized};
use super::body_fields::{FieldReader, Presence};
use super::idempotency::{self, recorded_json, Retryable};
use super::json_body::JsonObject;
use super::query::reject_parameters;
use crate::db::Database;
use crate::domain::fields;
use crate::domain::history::Operation;
use crate::domain::ledger::StockKind;
use crate::domain::level::{Amount, Guard, Level, LevelChange, LevelWrite};
use crate::domain::product::{Product, ProductRef};
use crate::http::error::{ApiError, FieldError};
use crate::store;

/// The body of a transfer.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The product by SKU (ignoring case); or send `product_id`.
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::sku)]
    pub sku: Option<String>,
    /// The product by id; or send `sku`.
    #[schema(nullable = false)]
    pub product_id: Option<Uuid>,
    /// The location the stock leaves.
    #[schema(schema_with = crate::domain::text_schemas::location_code)]
    pub from: String,
    /// The location the stock arrives at; not `from`.
    #[schema(schema_with = crate::domain::text_schemas::location_code)]
    pub to: String,
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 5)]
    pub quantity: i64,
    #[schema(schema_with = crate::domain::text_schemas::reason)]
    pub reason: String,
    #[schema(nullable = false, schema_with = crate::domain::text_schemas::reference)]
    pub reference: Option<String>,
}

/// A transfer as applied: both levels after it, and the product (its total
/// unchanged, its version two further: one per level).
#[derive(Debug, Serialize, ToSchema)]
pub struct Transfer {
    pub product: Product,
    pub from: Level,
    pub to: Level,
}

/// Move stock between locations
///
/// In one transaction the origin loses the quantity, never going below 0,
/// and the destination gains it. The product's total is unchanged; each
/// level, and the product, get new versions, and the ledger a
/// `transfer-out` and a `transfer-in` entry.
#[utoipa::path(
    post,
    path = "/v1/transfers",
    tag = "locations",
    request_body(content = TransferRequest, content_type = "application/json", example = json!({"sku": "MUG-BLUE-01", "from": "MAIN", "to": "SHOP-1", "quantity": 5, "reason": "restock the shop", "reference": "TR-2041"})),
    responses(
        (status = 200, description = "Applied", body = Transfer, headers(
            ("ETag" = String, description = "The product's new version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not write stock at one of the locations", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product or location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "insufficient-stock: the origin holds less than the quantity", body = crate::openapi::schemas::InsufficientStockProblem, content_type = "application/problem+json", example = crate::openapi::examples::insufficient_at_origin),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn transfer_stock(
    db: web::Data<Database>,
    request: HttpRequest,
    auth: Authorized<roles::Sync>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let retryable = Retryable::of(&request, &body.0)?;
    let (product, write) = read_transfer(body)?;
    for change in &write.changes {
        may_write_stock_at(&auth.caller, Some(&change.location))?;
    }
    let actor = auth.caller.name.clone();
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        let id = match &product {
            ProductRef::Id(id) => *id,
            ProductRef::Sku(sku) => {
                store::products::find_by_sku(conn, sku)?
                    .ok_or_else(|| ApiError::NotFound(format!("No live product has SKU {sku}.")))?
                    .id
            }
        };
        let written = store::levels::write(conn, &id, &write, &actor)?;
        let [from, to]: [Level; 2] = written
            .levels
            .try_into()
            .map_err(|_| ApiError::internal("a transfer wrote other than two levels"))?;
        let headers = vec![(header::ETAG.to_string(), written.product.etag())];
        let transfer = Transfer {
            product: written.product,
            from,
            to,
        };
        recorded_json(StatusCode::OK, &transfer, headers)
    })
    .await
}

/// Reads the body, reporting every broken rule at once.
fn read_transfer(JsonObject(object): JsonObject) -> Result<(ProductRef, LevelWrite), ApiError> {
    let mut reader = FieldReader::new(object);
    let sku = reader.string("sku", Presence::Optional, fields::sku);
    let product_id = reader.string("product_id", Presence::Optional, |text| {
        Uuid::parse_str(text).map_err(|_| "must be a UUID".to_owned())
    });
    let from = reader.string("from", Presence::Required, fields::location_code);
    let to = reader.string("to", Presence::Required, fields::location_code);
    let quantity = reader.integer("quantity", Presence::Required, fields::quantity);
    let reason = reader.string("reason", Presence::Required, fields::reason);
    let reference = reader.string("reference", Presence::Optional, fields::reference);
    let product = reader.one_product(sku, product_id);
    if let (Some(from), Some(to)) = (&from, &to) {
        if from.eq_ignore_ascii_case(to) {
            reader.error("/to", "must differ from `from`");
        }
    }
    reader.finish()?;
    let (Some(product), Some(from), Some(to), Some(quantity), Some(reason)) =
        (product, from, to, quantity, reason)
    else {
        return Err(ApiError::Validation(vec![FieldError::new(
            "",
            "a required field is missing",
        )]));
    };
    let change = |location: String, amount: i64, kind: StockKind| LevelChange {
        location,
        amount: Amount::Add(amount),
        kind,
        guard: Guard::None,
    };
    let write = LevelWrite {
        changes: vec![
            change(from, -quantity, StockKind::TransferOut),
            change(to, quantity, StockKind::TransferIn),
        ],
        operation: Operation::Transfer,
        reason: Some(reason),
        reference,
    };
    Ok((product, write))
}
