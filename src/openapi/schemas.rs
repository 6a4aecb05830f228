//! Schemas that only the document needs: the problem bodies as clients
//! see them, and the currency codes the server accepts.

use utoipa::openapi::{Object, ObjectBuilder, RefOr, Schema, Type};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::domain::conflict::StaleVersion;
use crate::domain::currency::ISO_4217;
use crate::domain::hold::{Hold, StaleHold};
use crate::domain::level::{Level, StaleLevel};
use crate::domain::location::StaleLocation;
use crate::domain::product::Product;
use crate::domain::stock::SyncOutcome;
use crate::http::error::FieldError;
use crate::http::problem::{self, ProblemType};

/// An ISO 4217 currency code in upper case, as the server accepts it.
pub struct CurrencyCode;

impl PartialSchema for CurrencyCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An active ISO 4217 currency code, in upper case"))
            .enum_values(Some(ISO_4217.iter().copied()))
            .into()
    }
}

impl ToSchema for CurrencyCode {}

/// An RFC 9457 problem: the body of every error response
/// (`Content-Type: application/problem+json`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// `/problems/<slug>`; `GET` it for an explanation.
    #[serde(rename = "type")]
    #[schema(example = "/problems/not-found")]
    problem_type: String,
    title: String,
    status: u16,
    /// What went wrong and what to do about it, for a person.
    detail: String,
    /// The request's path.
    instance: String,
    /// The request's `X-Request-Id`.
    request_id: String,
}

/// A problem that lists each broken rule (400 `malformed-request`, 422 `validation`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ValidationProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = validation_types)]
    problem_type: String,
    /// Each broken rule, the first 100 of them.
    #[schema(max_items = 100)]
    errors: Vec<FieldError>,
    /// How many broken rules were found beyond the ones listed.
    #[schema(minimum = 1)]
    more_errors: Option<u64>,
}

/// 409 or 412 `stale-version`: the write named an old version.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StaleVersionProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = stale_version_type)]
    problem_type: String,
    #[serde(flatten)]
    conflict: StaleVersion,
}

/// 409 `duplicate-sku`: another live product holds the SKU.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DuplicateSkuProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = duplicate_sku_type)]
    problem_type: String,
    /// The product that holds the SKU.
    existing_id: Uuid,
}

/// 409 `insufficient-stock`: the adjustment would take stock below 0.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InsufficientStockProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = insufficient_stock_type)]
    problem_type: String,
    current_stock: i64,
    current: Product,
    /// The level at the change's location, as it is.
    level: Level,
}

/// 409 or 412 `stale-version` on a location: the write named an old version.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StaleLocationProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = stale_version_type)]
    problem_type: String,
    #[serde(flatten)]
    conflict: StaleLocation,
}

/// 409 or 412 `stale-version` on a level: the write named an old level version.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StaleLevelProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = stale_version_type)]
    problem_type: String,
    #[serde(flatten)]
    conflict: StaleLevel,
}

/// 409 `location-not-empty`: the location still holds stock.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LocationNotEmptyProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = location_not_empty_type)]
    problem_type: String,
    /// How many live products it holds stock of.
    products_held: i64,
}

/// 409 `default-location`: MAIN cannot be deleted.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DefaultLocationProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = default_location_type)]
    problem_type: String,
}

/// 409 `duplicate-location`: another location has the code.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DuplicateLocationProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = duplicate_location_type)]
    problem_type: String,
}

/// 409 `stock-at-several-locations`: write the level, not the product's stock.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StockAtSeveralLocationsProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = stock_at_several_locations_type)]
    problem_type: String,
    /// Every location's level of the product.
    levels: Vec<Level>,
}

/// 409 on DELETE of a location.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum LocationDeleteConflictProblem {
    StaleVersion(Box<StaleLocationProblem>),
    LocationNotEmpty(LocationNotEmptyProblem),
    DefaultLocation(DefaultLocationProblem),
}

/// 412 on a stock adjustment: the If-Match version is stale, the product's
/// (no location named) or the level's.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AdjustmentStaleProblem {
    StaleVersion(Box<StaleVersionProblem>),
    StaleLevel(Box<StaleLevelProblem>),
}

/// 409 `insufficient-available`: a hold would take more than is available.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InsufficientAvailableProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = insufficient_available_type)]
    problem_type: String,
    product_id: Uuid,
    sku: String,
    /// The location's code.
    location: String,
    /// What the request's lines on this product and location asked in all.
    requested: i64,
    /// The level as it is now.
    level: Level,
}

/// 409 or 412 `stale-version` on a hold: the write named an old version.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StaleHoldProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = stale_version_type)]
    problem_type: String,
    #[serde(flatten)]
    conflict: StaleHold,
}

/// 409 or 412 `stale-version` on a webhook: the write named an old version.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StaleWebhookProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = stale_version_type)]
    problem_type: String,
    #[serde(flatten)]
    conflict: crate::domain::webhook::StaleWebhook,
}

/// 409 `hold-not-active`: the hold was committed, released or expired.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HoldNotActiveProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = hold_not_active_type)]
    problem_type: String,
    /// The hold as it is now.
    hold: Hold,
    /// When it expired; only for an expired hold.
    #[schema(nullable = false, value_type = Option<String>, format = DateTime)]
    expired_at: Option<String>,
}

/// 409 on a change, commit or release of a hold.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum HoldConflictProblem {
    HoldNotActive(Box<HoldNotActiveProblem>),
    StaleVersion(Box<StaleHoldProblem>),
    InsufficientAvailable(Box<InsufficientAvailableProblem>),
    InsufficientStock(Box<InsufficientStockProblem>),
}

/// 409 `stock-sync-conflict`: an item of an atomic batch failed; nothing was applied.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StockSyncConflictProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = stock_sync_conflict_type)]
    problem_type: String,
    #[serde(flatten)]
    outcome: SyncOutcome,
}

/// 409 `idempotency-key-in-use`: the first request with this key is still
/// running; retry after `Retry-After` seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IdempotencyKeyInUseProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = idempotency_key_in_use_type)]
    problem_type: String,
}

/// 422 `idempotency-key-reused`: the key was first sent with another request.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IdempotencyKeyReusedProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(rename = "type")]
    #[schema(schema_with = idempotency_key_reused_type)]
    problem_type: String,
}

/// 409 on PATCH: a stale version, a SKU another product holds, or stock
/// at several locations.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum UpdateConflictProblem {
    StaleVersion(Box<StaleVersionProblem>),
    DuplicateSku(DuplicateSkuProblem),
    StockAtSeveralLocations(StockAtSeveralLocationsProblem),
}

/// 409 on a stock adjustment at a location: not enough stock, or a stale
/// `expected_version` of the product or of the level.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum LocatedAdjustmentConflictProblem {
    InsufficientStock(Box<InsufficientStockProblem>),
    StaleVersion(Box<StaleVersionProblem>),
    StaleLevel(Box<StaleLevelProblem>),
}

/// The `type` of problems of these kinds only, so that generated clients
/// can tell the members of a `oneOf` apart by it.
fn type_of(problems: &[&ProblemType]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(problems.iter().map(|problem| problem.uri())))
        .build()
}

fn validation_types() -> Object {
    type_of(&[&problem::MALFORMED_REQUEST, &problem::VALIDATION])
}

fn stale_version_type() -> Object {
    type_of(&[&problem::STALE_VERSION])
}

fn duplicate_sku_type() -> Object {
    type_of(&[&problem::DUPLICATE_SKU])
}

fn insufficient_stock_type() -> Object {
    type_of(&[&problem::INSUFFICIENT_STOCK])
}

fn insufficient_available_type() -> Object {
    type_of(&[&problem::INSUFFICIENT_AVAILABLE])
}

fn hold_not_active_type() -> Object {
    type_of(&[&problem::HOLD_NOT_ACTIVE])
}

fn stock_sync_conflict_type() -> Object {
    type_of(&[&problem::STOCK_SYNC_CONFLICT])
}

fn location_not_empty_type() -> Object {
    type_of(&[&problem::LOCATION_NOT_EMPTY])
}

fn default_location_type() -> Object {
    type_of(&[&problem::DEFAULT_LOCATION])
}

fn duplicate_location_type() -> Object {
    type_of(&[&problem::DUPLICATE_LOCATION])
}

fn stock_at_several_locations_type() -> Object {
    type_of(&[&problem::STOCK_AT_SEVERAL_LOCATIONS])
}

fn idempotency_key_in_use_type() -> Object {
    type_of(&[&problem::IDEMPOTENCY_KEY_IN_USE])
}

fn idempotency_key_reused_type() -> Object {
    type_of(&[&problem::IDEMPOTENCY_KEY_REUSED])
}

/// The last part of every problem `type` this API answers with.
pub struct ProblemSlug;

impl PartialSchema for ProblemSlug {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(problem::ALL.iter().map(|problem| problem.slug)))
            .into()
    }
}

impl ToSchema for ProblemSlug {}
