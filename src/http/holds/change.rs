//! Changing an active hold at its version, and ending it: commit (a sale)
//! or release (its stock is available again).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::create::optional_expiry;
use super::{hold_in_path, hold_response};
use crate::db::{Database, DbConnection};
use crate::domain::access::Caller;
use crate::domain::fields;
use crate::domain::hold::{Hold, HoldChange, HoldEnd};
use crate::domain::level::Level;
use crate::domain::precondition::{Precondition, VersionSource};
use crate::domain::product::Product;
use crate::domain::timestamp;
use crate::http::actor::{may_write_stock_at, roles, Authorized};
use crate::http::body_fields::{FieldReader, Presence};
use crate::http::error::ApiError;
use crate::http::idempotency::{self, recorded_json, Retryable};
use crate::http::json_body::JsonObject;
use crate::http::preconditions;
use crate::http::query::reject_parameters;
use crate::store;

/// The body of a change of a hold.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHoldRequest {
    /// The hold's version your change is based on; or send If-Match.
    #[schema(nullable = false, minimum = 1, example = 1)]
    pub version: Option<i64>,
    /// The new quantity; a larger one must fit in `available`.
    #[schema(nullable = false, minimum = 1, maximum = 1_000_000_000, example = 3)]
    pub quantity: Option<i64>,
    /// Seconds from now until the hold expires (1 to 604800); or send `expires_at`.
    #[schema(nullable = false, minimum = 1, maximum = 604_800, example = 900)]
    pub expires_in: Option<i64>,
    /// When the hold expires: in the next 7 days; or send `expires_in`.
    #[schema(nullable = false, value_type = String, format = DateTime)]
    pub expires_at: Option<String>,
}

/// The body of a commit or a release.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndHoldRequest {
    /// The hold's version you read.
    #[schema(minimum = 1, example = 1)]
    pub version: i64,
}

/// A committed hold, and the sale it made.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommittedHold {
    pub hold: Hold,
    /// The product after the sale (one version further).
    pub product: Product,
    /// The level after the sale: `on_hand` and `reserved` both lower by
    /// the hold's quantity.
    pub level: Level,
}

/// Change a hold (compare-and-swap)
///
/// Extends an active hold or changes its quantity, if it is still at the
/// version you name. A larger quantity must fit in the level's
/// `available`, as a new hold must. Only the hold's version moves.
#[utoipa::path(
    patch,
    path = "/v1/holds/{id}",
    tag = "holds",
    params(
        ("id" = uuid::Uuid, Path, description = "The hold's id"),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|"0*[1-9][0-9]{0,17}")$"#, description = "The hold's ETag your change is based on; an alternative to `version`"),
    ),
    request_body(content = UpdateHoldRequest, content_type = "application/json", example = json!({"version": 1, "expires_in": 1800})),
    responses(
        (status = 200, description = "Changed", body = Hold, headers(
            ("ETag" = String, description = "The hold's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON or If-Match, or body and If-Match disagreeing", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not hold stock at the hold's location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hold", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "stale-version: the hold changed since your version; hold-not-active: it was committed, released or expired; insufficient-available: a larger quantity does not fit", body = crate::openapi::schemas::HoldConflictProblem, content_type = "application/problem+json", example = crate::openapi::examples::stale_hold),
        (status = 412, description = "The If-Match version is stale; same body as the 409", body = crate::openapi::schemas::StaleHoldProblem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 428, description = "No version in the body nor in If-Match", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_hold(
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
    auth: Authorized<roles::Sync>,
    JsonObject(object): JsonObject,
) -> Result<HttpResponse, ApiError> {
    let id = hold_in_path(&id)?;
    reject_parameters(&request)?;
    let mut reader = FieldReader::new(object);
    let version = reader.integer("version", Presence::Optional, fields::version);
    let quantity = reader.integer("quantity", Presence::Optional, fields::quantity);
    let expires_at = optional_expiry(&mut reader, timestamp::now());
    reader.finish()?;
    let expected = preconditions::resolve(
        &request,
        version.map(|v| (v, VersionSource::Body)),
        "/version",
    )?
    .ok_or_else(ApiError::version_required)?;
    let change = HoldChange {
        expected,
        quantity,
        expires_at: expires_at.flatten(),
    };
    let caller = auth.caller;
    let hold = db
        .write(move |conn| {
            may_change(conn, &caller, &id)?;
            Ok::<_, ApiError>(store::holds::change(conn, &id, &change)?)
        })
        .await?;
    Ok(hold_response(StatusCode::OK, &hold))
}

/// Commit a hold (a sale)
///
/// Turns an active hold into a sale, if it is still at the version you
/// name: the level's `on_hand` and `reserved` both drop by its quantity in
/// one transaction, with a `commit` entry in the ledger that keeps the
/// hold's reference. The product and the level get new versions, as for
/// any sale.
#[utoipa::path(
    post,
    path = "/v1/holds/{id}/commit",
    tag = "holds",
    params(("id" = uuid::Uuid, Path, description = "The hold's id")),
    request_body(content = EndHoldRequest, content_type = "application/json", example = json!({"version": 1})),
    responses(
        (status = 200, description = "Committed", body = CommittedHold, headers(
            ("ETag" = String, description = "The hold's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not hold stock at the hold's location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hold", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "hold-not-active: it was committed, released or expired; stale-version: it changed since your version; insufficient-stock: counts left less on hand than it holds", body = crate::openapi::schemas::HoldConflictProblem, content_type = "application/problem+json", example = crate::openapi::examples::hold_expired),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn commit_hold(
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
    auth: Authorized<roles::Sync>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    end_hold(db, request, id, auth, body, HoldEnd::Commit).await
}

/// Release a hold
///
/// Ends an active hold without a sale, if it is still at the version you
/// name: its quantity is available again at once.
#[utoipa::path(
    post,
    path = "/v1/holds/{id}/release",
    tag = "holds",
    params(("id" = uuid::Uuid, Path, description = "The hold's id")),
    request_body(content = EndHoldRequest, content_type = "application/json", example = json!({"version": 1})),
    responses(
        (status = 200, description = "Released", body = Hold, headers(
            ("ETag" = String, description = "The hold's version as a strong ETag"),
        )),
        (status = 400, description = "Invalid JSON, a bad Idempotency-Key, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not hold stock at the hold's location", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hold", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "hold-not-active: it was committed, released or expired; stale-version: it changed since your version", body = crate::openapi::schemas::HoldConflictProblem, content_type = "application/problem+json", example = crate::openapi::examples::hold_expired),
        (status = 422, description = "The body breaks one or more rules", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
    )
)]
pub async fn release_hold(
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
    auth: Authorized<roles::Sync>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    end_hold(db, request, id, auth, body, HoldEnd::Release).await
}

/// A commit or a release: one write, idempotent by key.
async fn end_hold(
    db: web::Data<Database>,
    request: HttpRequest,
    id: web::Path<String>,
    auth: Authorized<roles::Sync>,
    body: JsonObject,
    how: HoldEnd,
) -> Result<HttpResponse, ApiError> {
    let id = hold_in_path(&id)?;
    reject_parameters(&request)?;
    let retryable = Retryable::of(&request, &body.0)?;
    let mut reader = FieldReader::new(body.0);
    let version = reader.integer("version", Presence::Required, fields::version);
    reader.finish()?;
    let expected = Precondition {
        version: version.ok_or_else(|| ApiError::internal("a version passed the reader"))?,
        source: VersionSource::Body,
    };
    let caller = auth.caller.clone();
    let actor = auth.caller.name.clone();
    idempotency::respond(&db, &auth.caller, retryable, move |conn| {
        may_change(conn, &caller, &id)?;
        let ended = store::holds::end(conn, &id, expected, how, &actor)?;
        let headers = vec![(header::ETAG.to_string(), ended.hold.etag())];
        match ended.sale {
            None => recorded_json(StatusCode::OK, &ended.hold, headers),
            Some(sale) => {
                let level = sale
                    .levels
                    .into_iter()
                    .next()
                    .ok_or_else(|| ApiError::internal("a commit wrote no level"))?;
                let committed = CommittedHold {
                    hold: ended.hold,
                    product: sale.product,
                    level,
                };
                recorded_json(StatusCode::OK, &committed, headers)
            }
        }
    })
    .await
}

/// Refuses a change of a hold at a location the caller's token is not
/// limited to; a hold that does not exist is the store's 404.
fn may_change(conn: &mut DbConnection, caller: &Caller, id: &Uuid) -> Result<(), ApiError> {
    if let Some(hold) = store::hold_rows::find(conn, id)? {
        may_write_stock_at(caller, Some(&hold.location))?;
    }
    Ok(())
}
