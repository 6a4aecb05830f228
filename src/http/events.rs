//! `GET /v1/events`: product changes as they are committed, as a
//! server-sent event stream that a client resumes with `Last-Event-ID`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderName};
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::stream;
use serde::Serialize;
use utoipa::openapi::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;

use super::actor::{roles, Authorized, Recheck};
use super::known_tokens::{KnownTokens, REMEMBER_FOR};
use super::query::reject_parameters;
use crate::db::Database;
use crate::domain::events::FeedEvent;
use crate::http::error::{ApiError, FieldError};
use crate::live_feed::{self, FeedEntry, LiveFeed, Render, StreamRefused, StreamSlot};
use crate::stopping::Stopping;
use crate::store;

pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Most changes sent in one chunk.
const BATCH: usize = 100;

/// How often a stream checks again that its token is live and allowed:
/// within `REMEMBER_FOR`, so a revoked token's streams end about as soon
/// as its requests are refused.
const RECHECK_EVERY: Duration = REMEMBER_FOR;

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
    /// `product` per change, a `hold` per change of a hold, an `oversold`
    /// per level left with less on hand than its holds, a `location` per
    /// change of a location, and `stock.low` or `stock.ok` when a level's
    /// `available` crosses its reorder point.
    #[schema(schema_with = event_names)]
    event: String,
    /// The change's number in the feed: send the last one you saw as
    /// `Last-Event-ID` to resume after it.
    #[schema(pattern = "^[0-9]+$")]
    id: String,
    /// JSON: `{"last_event_id": N}` for `ready`, a `ProductChange` for
    /// `product`, a `Hold` for `hold`, an `Oversold` for `oversold`, a
    /// `LocationChange` for `location`, a `StockAlert` for `stock.low` and
    /// `stock.ok`.
    #[schema(schema_with = json_text)]
    data: String,
    /// Milliseconds to wait before reconnecting.
    retry: Option<u32>,
}

fn event_names() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([
            "ready",
            "product",
            "hold",
            "oversold",
            "location",
            "stock.low",
            "stock.ok",
        ]))
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
/// product), a `hold` event per change of a hold (its `data` a `Hold`),
/// an `oversold` event when a count or a sale leaves a level with less
/// on hand than its holds (its `data` an `Oversold`), a `location` event
/// per location made, renamed or deleted, and `stock.low` / `stock.ok`
/// when a level's `available` crosses its reorder point (a `StockAlert`).
/// `GET /v1/changes` pages through the same events as JSON. Send `Last-Event-ID` (what `EventSource` sends by itself when
/// it reconnects) to get every change after that number first. Comment
/// lines keep an idle stream open. The stream ends when the server stops,
/// or within about a second of its token being revoked or losing the
/// role; a client then reconnects with `Last-Event-ID`.
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
        (status = 429, description = "too-many-streams: this token already has as many streams open as a token may (`--max-streams-per-token`); or rate-limited", body = crate::openapi::schemas::Problem, content_type = "application/problem+json", headers(("Retry-After" = String, description = "Seconds to wait before retrying"))),
        (status = 503, description = "This server already serves as many streams as it may (`--max-streams`), or the database is unavailable", body = crate::openapi::schemas::Problem, content_type = "application/problem+json", headers(("Retry-After" = String, description = "Seconds to wait before retrying"))),
        (status = 410, description = "events-purged: Last-Event-ID names a change older than the feed keeps; read the products again, then open the stream without it", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn product_events(
    auth: Authorized<roles::Viewer>,
    db: web::Data<Database>,
    feed: web::Data<LiveFeed>,
    known_tokens: web::Data<KnownTokens>,
    stopping: web::Data<Stopping>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    reject_parameters(&request)?;
    let slot = feed
        .open_stream(auth.caller.token_id)
        .map_err(|refused| match refused {
            StreamRefused::ServerFull { limit } => ApiError::Unavailable(format!(
                "This server already serves {limit} event streams, its most. Retry shortly, \
                 or read GET /v1/products meanwhile."
            )),
            StreamRefused::TokenFull { limit } => ApiError::TooManyStreams { limit },
        })?;
    let start = match last_event_id(&request)? {
        Some(after) => resumable(&db, after).await?,
        None => db.read(store::events::newest).await?,
    };
    let access = auth.recheck(db.clone().into_inner(), known_tokens.into_inner());
    let ready = format!(
        "retry: {RECONNECT_MILLIS}\nevent: ready\nid: {start}\ndata: {}\n\n",
        serde_json::to_string(&Ready {
            last_event_id: start
        })
        .map_err(ApiError::internal)?
    );
    let changes = Changes {
        db: db.into_inner(),
        slot,
        render: feed.render(),
        access,
        next_check: Instant::now() + RECHECK_EVERY,
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
    slot: StreamSlot,
    render: Render,
    /// The stream's token, checked again every `RECHECK_EVERY`.
    access: Recheck,
    next_check: Instant,
    stopping: Stopping,
    after: i64,
}

impl Changes {
    /// The next chunk to write: changes after the last one sent, or a
    /// keep-alive comment when none came for a while. `None` ends the
    /// stream: the server is stopping, the token was revoked (or lost the
    /// role), or the database failed (the client reconnects, to this
    /// server or another, with Last-Event-ID and loses nothing).
    async fn next_chunk(&mut self) -> Option<Bytes> {
        let keep_alive = tokio::time::sleep(KEEP_ALIVE);
        tokio::pin!(keep_alive);
        loop {
            if Instant::now() >= self.next_check {
                if !self.access.still_allowed().await {
                    return None;
                }
                self.next_check = Instant::now() + RECHECK_EVERY;
            }
            // Marked before reading, so a change published after the read
            // wakes the wait below.
            self.slot.recent.mark_unchanged();
            let entries = self.next_entries().await?;
            if let Some(last) = entries.last() {
                self.after = last.number;
                return Some(chunk(&entries));
            }
            tokio::select! {
                changed = self.slot.recent.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                () = self.stopping.started() => return None,
                () = tokio::time::sleep_until(self.next_check.into()) => {}
                () = &mut keep_alive => {
                    return Some(Bytes::from_static(b": keep-alive\n\n"));
                }
            }
        }
    }

    /// The changes after the last one sent: from those the server shares,
    /// or, for a stream further behind, from the database.
    async fn next_entries(&mut self) -> Option<Vec<Arc<FeedEntry>>> {
        let shared = self.slot.recent.borrow().after(self.after, BATCH);
        if let Some(entries) = shared {
            return Some(entries);
        }
        let (after, render) = (self.after, self.render);
        match self
            .db
            .read(move |conn| live_feed::read_after(conn, after, BATCH, render))
            .await
        {
            Ok(entries) => Some(entries),
            Err(error) => {
                tracing::warn!(%error, "ending an event stream: the feed could not be read");
                None
            }
        }
    }
}

/// One change as an event of the stream; the feed calls it once per
/// change, for every stream.
pub fn written(event: &FeedEvent) -> Bytes {
    // serde_json escapes line breaks, so the JSON fits one `data:` line.
    let data = event.change.data();
    Bytes::from(format!(
        "event: {}\nid: {}\ndata: {data}\n\n",
        event.change.name(),
        event.number
    ))
}

/// Changes as one chunk: a single one as it is, without a copy.
fn chunk(entries: &[Arc<FeedEntry>]) -> Bytes {
    if let [entry] = entries {
        return entry.written.clone();
    }
    let mut text = BytesMut::new();
    for entry in entries {
        text.extend_from_slice(&entry.written);
    }
    text.freeze()
}
