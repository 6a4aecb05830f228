//! `GET /v1/changes`: the feed as JSON pages, for jobs that look every few
//! minutes rather than keep a stream open.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::actor::{roles, Authorized};
use super::error::ApiError;
use super::query::QueryReader;
use crate::db::Database;
use crate::domain::events::FeedItem;
use crate::store::{self, StoreError};

/// The most events one page holds.
const MAX_LIMIT: i64 = 1000;
const DEFAULT_LIMIT: i64 = 100;

/// One page of the feed, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub items: Vec<FeedItem>,
    /// The number of the last item, or `after` when there is none: send it
    /// as `after` to read on. An empty page means you are caught up.
    #[schema(minimum = 0, example = 1234)]
    pub next: i64,
}

/// List changes
///
/// The events of the feed numbered after `after`, oldest first: the same
/// events, numbers and data as `GET /v1/events` streams, as JSON pages.
/// Keep `next` and send it as `after` next time. The feed keeps events
/// for `--feed-retention-days`; an `after` older than that is answered
/// 410: read the state you need again, then go on from the newest
/// number (the event stream's `ready` event, or the last page's `next`).
#[utoipa::path(
    get,
    path = "/v1/changes",
    tag = "products",
    params(
        ("after" = Option<i64>, Query, nullable = false, minimum = 0, description = "The number of the last event you have; 0 (the default) to start from the first event, which is answered 410 once the feed has purged its oldest: then start from the newest number"),
        ("limit" = Option<i64>, Query, nullable = false, minimum = 1, maximum = 1000, description = "Most events on the page (default 100)"),
    ),
    responses(
        (status = 200, description = "The events after `after`", body = ChangePage),
        (status = 400, description = "A bad query parameter", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 410, description = "events-purged: `after` is older than the feed keeps; read the state again, then go on from the newest number", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_changes(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryReader::new(&request)?;
    let after = query.integer("after", 0, i64::MAX).unwrap_or(0);
    let limit = query
        .integer("limit", 1, MAX_LIMIT)
        .unwrap_or(DEFAULT_LIMIT);
    query.finish()?;
    let events = db
        .read(move |conn| {
            // On PostgreSQL, numbers the events committed meanwhile.
            store::events::newest(conn)?;
            if let Some(oldest_kept) = store::events::oldest_kept(conn)? {
                if after.saturating_add(1) < oldest_kept {
                    return Err(StoreError::EventsPurged { after, oldest_kept });
                }
            }
            store::events::after(conn, after, limit)
        })
        .await?;
    let next = events.last().map_or(after, |event| event.number);
    let items = events.iter().map(|event| event.item()).collect();
    Ok(HttpResponse::Ok().json(ChangePage { items, next }))
}
