//! `GET /v1/events`: product changes as they are committed, as a
//! server-sent event stream that a client resumes with `Last-Event-ID`.

use std::time::Duration;

use actix_web::http::header::{self, HeaderName};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::stream;
use serde::Serialize;
use tokio::sync::watch;
use utoipa::openapi::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;

use super::actor::{roles, Authorized};
use super::query::reject_parameters;
use crate::db::Database;
use crate::domain::events::ProductEvent;
use crate::http::error::{ApiError, FieldError};
use crate::live_feed::LiveFeed;
use crate::stopping::Stopping;
use crate::store;

pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Most changes sent in one read of the feed.
const BATCH: i64 = 100;

/// A comment line this often keeps proxies from closing an idle stream
/// and lets the server notice a client that has gone.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How long a client waits before reconnecting after the stream ends.
const RECONNECT_MILLIS: u32 = 2000;

/// One event of the stream, as `text/event-stream` writes it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ServerSentEvent {
    /// `ready` first (its `id` is where the stream starts), then one
    /// `product` per change.
    #[schema(schema_with = event_names)]
    event: String,
    /// The change's number in the feed: send the last one you saw as
    /// `Last-Event-ID` to resume after it.
    #[schema(pattern = "^[0-9]+$")]
    id: String,
    /// JSON: `{"last_event_id": N}` for `ready`, a `ProductChange` for `product`.
    #[schema(schema_with = json_text)]
    data: String,
    /// Milliseconds to wait before reconnecting.
    retry: Option<u32>,
}

fn event_names() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["ready", "product"]))
        .build()
}

fn json_text() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .content_media_type("application/json")
        .build()
}

#[derive(Serialize)]
struct Ready {
    last_event_id: i64,
}

/// Live product changes
///
/// A `text/event-stream` of every product change committed through any
/// server: first a `ready` event whose `id` is the newest change number,
/// then a `product` event per change (its `data` a `ProductChange`: the
/// product's id, version, operation, actor, time, changed fields and the
/// product). Send `Last-Event-ID` (what `EventSource` sends by itself when
/// it reconnects) to get every change after that number first. Comment
/// lines keep an idle stream open.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "products",
    params(
        ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = "^[0-9]{1,18}$", description = "The `id` of the last event you received: the stream starts with the changes after it"),
    ),
    responses(
        (status = 200, description = "The stream; it stays open", body = ServerSentEvent, content_type = "text/event-stream"),
        (status = 400, description = "A bad Last-Event-ID, or a query parameter (this operation takes none)", body = crate::openapi::schemas::ValidationProblem, content_type = "application/problem+json"),
        (status = 410, description = "events-purged: Last-Event-ID names a change older than the feed keeps; read the products again, then open the stream without it", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn product_events(
    _auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    feed: web::Data<LiveFeed>,
    stopping: web::Data<Stopping>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let start = match last_event_id(&request)? {
        Some(after) => resumable(&db, after).await?,
        None => db.read(store::events::newest).await?,
    };
    let ready = format!(
        "retry: {RECONNECT_MILLIS}\nevent: ready\nid: {start}\ndata: {}\n\n",
        serde_json::to_string(&Ready {
            last_event_id: start
        })
        .map_err(ApiError::internal)?
    );
    let changes = Changes {
        db: db.into_inner(),
        newest: feed.subscribe(),
        stopping: stopping.get_ref().clone(),
        after: start,
    };
    let first = stream::once(async move { Ok::<_, ApiError>(Bytes::from(ready)) });
    let rest = stream::unfold(changes, |mut changes| async move {
        let chunk = changes.next_chunk().await?;
        Some((Ok(chunk), changes))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Proxies such as nginx would otherwise hold events back.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(futures_util::StreamExt::chain(first, rest)))
}

/// `after`, when the feed still holds the change just after it; else the
/// 410 that tells the client to read the products again.
async fn resumable(db: &Database, after: i64) -> Result<i64, ApiError> {
    match db.read(store::events::oldest_kept).await? {
        Some(oldest_kept) if after.saturating_add(1) < oldest_kept => {
            Err(ApiError::EventsPurged { after, oldest_kept })
        }
        _ => Ok(after),
    }
}

fn last_event_id(request: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = request.headers().get(LAST_EVENT_ID) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("");
    let valid = (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<i64>() {
        Ok(number) if valid => Ok(Some(number)),
        _ => Err(ApiError::malformed(
            "Last-Event-ID must be the id of an event this stream sent, a number.",
            vec![FieldError::new(
                "Last-Event-ID",
                format!("{text:?} is not an event id"),
            )],
        )),
    }
}

/// The changes a stream has yet to send.
struct Changes {
    db: std::sync::Arc<Database>,
    newest: watch::Receiver<i64>,
    stopping: Stopping,
    after: i64,
}

impl Changes {
    /// The next chunk to write: changes after the last one sent, or a
    /// keep-alive comment when none came for a while. `None` ends the
    /// stream: the server is stopping, or the database failed (the client
    /// reconnects, to this server or another, with Last-Event-ID and loses
    /// nothing).
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            // Marked before reading, so a change committed after the read
            // wakes the wait below.
            self.newest.mark_unchanged();
            let after = self.after;
            let read = self
                .db
                .read(move |conn| store::events::after(conn, after, BATCH))
                .await;
            let events = match read {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(%error, "ending an event stream: the feed could not be read");
                    return None;
                }
            };
            if let Some(last) = events.last() {
                self.after = last.number;
                return Some(Bytes::from(written(&events)));
            }
            tokio::select! {
                changed = self.newest.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                () = self.stopping.started() => return None,
                () = tokio::time::sleep(KEEP_ALIVE) => {
                    return Some(Bytes::from_static(b": keep-alive\n\n"));
                }
            }
        }
    }
}

fn written(events: &[ProductEvent]) -> String {
    let mut text = String::new();
    for event in events {
        // serde_json escapes line breaks, so the JSON fits one `data:` line.
        let data = serde_json::to_string(&event.change).unwrap_or_default();
        text.push_str(&format!(
            "event: product\nid: {}\ndata: {data}\n\n",
            event.number
        ));
    }
    text
}
