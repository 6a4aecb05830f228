use actix_web::{web, HttpResponse};

use crate::db::Database;
use crate::http::error::ApiError;
use crate::metrics::{Metrics, Readings, CONTENT_TYPE};

/// Metrics
///
/// Counts and latencies of answered requests by route, method and status,
/// problems by type, database pool use and memory, in Prometheus's text
/// format. Counts start at zero when the process starts, and each server
/// instance counts its own.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8"),
))]
pub async fn metrics(
    metrics: web::Data<Metrics>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let readings = Readings {
        pool: db.pool_use(),
    };
    let page = metrics.render(&readings).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(page))
}
