use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{Database, DbError};
use crate::http::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok` from /healthz, `ready` from /readyz.
    #[schema(pattern = "^(ok|ready)$", example = "ready")]
    pub status: &'static str,
}

/// Liveness
///
/// 200 while the process serves requests; does not touch the database.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses(
    (status = 200, description = "The process is alive", body = HealthStatus),
))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}

/// Readiness
///
/// 200 when the database answers; 503 while it is unreachable.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready to serve", body = HealthStatus),
    (status = 503, description = "The database is unreachable", body = crate::openapi::schemas::Problem, content_type = "application/problem+json",
        headers(("Retry-After" = String, description = "Seconds to wait before asking again"))),
))]
pub async fn readyz(db: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    db.read(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from))
        .await?;
    Ok(HttpResponse::Ok().json(HealthStatus { status: "ready" }))
}
