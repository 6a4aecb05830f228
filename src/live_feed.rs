//! The changes committed through this server or another, read from the
//! database once per server and shared with every open event stream
//! (`GET /v1/events`).
//!
//! A watcher thread looks at the newest change number now and then while
//! streams are open (on PostgreSQL the look also numbers what was
//! committed since, `store::events::newest`), reads the changes it has not
//! seen, and publishes the newest `RECENT_KEPT` of them. A stream that is
//! up to date takes its changes from there; only one resumed from further
//! back reads the database, until it has caught up. So a write costs the
//! database one read however many streams are open. Writers send no
//! notification: NOTIFY takes a lock every commit queues behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use uuid::Uuid;

use crate::background::{Background, Pause};
use crate::db::{Database, DbConnection};
use crate::domain::events::FeedEvent;
use crate::store::{self, StoreError};

/// How often the watcher looks while a stream is open. Streams learn of a
/// change within about this.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// The newest changes kept in memory for the streams.
const RECENT_KEPT: usize = 1_000;

/// One change, written once as the streams send it.
pub struct FeedEntry {
    pub number: i64,
    /// What `Render` made of it.
    pub written: Bytes,
}

/// How a stream writes one change; the feed writes each change once,
/// whatever the number of streams.
pub type Render = fn(&FeedEvent) -> Bytes;

/// The changes numbered `held_after + 1` up to `newest`, every one of
/// them; before the watcher's first look, none.
#[derive(Default)]
pub struct Recent {
    looked: bool,
    held_after: i64,
    entries: Vec<Arc<FeedEntry>>,
}

impl Recent {
    /// Up to `limit` changes after `after`, or `None` when this does not
    /// hold every change after it (the stream must read the database).
    pub fn after(&self, after: i64, limit: usize) -> Option<Vec<Arc<FeedEntry>>> {
        if !self.looked || after < self.held_after {
            return None;
        }
        let start = self.entries.partition_point(|entry| entry.number <= after);
        Some(self.entries[start..].iter().take(limit).cloned().collect())
    }

    fn newest(&self) -> i64 {
        self.entries
            .last()
            .map_or(self.held_after, |entry| entry.number)
    }
}

/// Limits on open streams.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub per_server: usize,
    pub per_token: usize,
}

/// Why a stream could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamRefused {
    ServerFull { limit: usize },
    TokenFull { limit: usize },
}

/// The shared changes; streams wait on them.
pub struct LiveFeed {
    recent: watch::Receiver<Arc<Recent>>,
    render: Render,
    limits: StreamLimits,
    open: Arc<Mutex<OpenStreams>>,
}

#[derive(Default)]
struct OpenStreams {
    total: usize,
    per_token: HashMap<Uuid, usize>,
}

/// A stream's place among the open ones; it lets go of it when dropped.
pub struct StreamSlot {
    token: Uuid,
    open: Arc<Mutex<OpenStreams>>,
    /// Wakes on every newer change.
    pub recent: watch::Receiver<Arc<Recent>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_token.get_mut(&self.token) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_token.remove(&self.token);
            }
        }
    }
}

impl LiveFeed {
    /// Starts the watcher thread. It ends when the last `LiveFeed` is
    /// gone, or when the server stops.
    pub fn start(
        background: &mut Background,
        database: Database,
        limits: StreamLimits,
        render: Render,
    ) -> std::io::Result<LiveFeed> {
        let (sender, recent) = watch::channel(Arc::new(Recent::default()));
        background.spawn("live-feed", move |pause| {
            watch_changes(&database, &sender, &pause, render)
        })?;
        Ok(LiveFeed {
            recent,
            render,
            limits,
            open: Arc::default(),
        })
    }

    /// How streams write a change.
    pub fn render(&self) -> Render {
        self.render
    }

    /// A place for one more stream of this token, within the limits.
    pub fn open_stream(&self, token: Uuid) -> Result<StreamSlot, StreamRefused> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.limits.per_server {
            return Err(StreamRefused::ServerFull {
                limit: self.limits.per_server,
            });
        }
        let of_token = open.per_token.entry(token).or_default();
        if *of_token >= self.limits.per_token {
            return Err(StreamRefused::TokenFull {
                limit: self.limits.per_token,
            });
        }
        *of_token += 1;
        open.total += 1;
        Ok(StreamSlot {
            token,
            open: Arc::clone(&self.open),
            recent: self.recent.clone(),
        })
    }
}

/// Up to `limit` changes after `after`, read from the database.
pub fn read_after(
    conn: &mut DbConnection,
    after: i64,
    limit: usize,
    render: Render,
) -> Result<Vec<Arc<FeedEntry>>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let events = store::events::after(conn, after, limit)?;
    Ok(events
        .iter()
        .map(|event| {
            Arc::new(FeedEntry {
                number: event.number,
                written: render(event),
            })
        })
        .collect())
}

fn watch_changes(
    database: &Database,
    sender: &watch::Sender<Arc<Recent>>,
    between_looks: &Pause,
    render: Render,
) {
    let mut pause = LOOK_EVERY;
    while !sender.is_closed() {
        if streams_open(sender) {
            let known = Arc::clone(&sender.borrow());
            match database.read_now(|conn| catch_up(conn, &known, render)) {
                Ok(Some(recent)) => {
                    sender.send_replace(Arc::new(recent));
                    pause = LOOK_EVERY;
                }
                Ok(None) => pause = LOOK_EVERY,
                Err(error) => {
                    // The database may be away for a while; streams keep
                    // their place and catch up once it is back.
                    tracing::warn!(%error, "could not watch for product changes");
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        } else {
            pause = LOOK_EVERY;
        }
        if !between_looks.wait(pause) {
            return;
        }
    }
}

/// `known` with the changes committed since, keeping the newest
/// `RECENT_KEPT`; `None` when nothing new was committed.
fn catch_up(
    conn: &mut DbConnection,
    known: &Recent,
    render: Render,
) -> Result<Option<Recent>, StoreError> {
    let newest = store::events::newest(conn)?;
    if known.looked && newest <= known.newest() {
        return Ok(None);
    }
    // At the first look, or after a long while without streams, only the
    // newest are worth reading.
    let keep_from = newest.saturating_sub(RECENT_KEPT as i64);
    let mut recent = if !known.looked || known.newest() < keep_from {
        Recent {
            looked: true,
            held_after: keep_from,
            entries: Vec::new(),
        }
    } else {
        Recent {
            looked: true,
            held_after: known.held_after,
            entries: known.entries.clone(),
        }
    };
    while recent.newest() < newest {
        let read = read_after(conn, recent.newest(), RECENT_KEPT, render)?;
        if read.is_empty() {
            // Purged meanwhile: start after what is gone.
            recent = Recent {
                looked: true,
                held_after: newest,
                entries: Vec::new(),
            };
            break;
        }
        recent.entries.extend(read);
    }
    let extra = recent.entries.len().saturating_sub(RECENT_KEPT);
    if extra > 0 {
        recent.held_after = recent.entries[extra - 1].number;
        recent.entries.drain(..extra);
    }
    Ok(Some(recent))
}

/// Whether any stream waits on the feed (beyond `LiveFeed`'s own receiver).
/// With none, the watcher leaves the database alone.
fn streams_open(sender: &watch::Sender<Arc<Recent>>) -> bool {
    sender.receiver_count() > 1
}
