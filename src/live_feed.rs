//! Wakes the event streams (`GET /v1/events`) when a change is committed,
//! through this server or another, by looking at the newest change number
//! now and then. On PostgreSQL the look also numbers what was committed
//! since (`store::events::newest`). Writers send no notification: NOTIFY
//! takes a lock every commit queues behind.

use std::time::Duration;

use tokio::sync::watch;

use crate::background::{Background, Pause};
use crate::db::Database;
use crate::store;

/// How often the watcher looks while a stream is open. Streams learn of a
/// change within about this.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// The newest change number this server knows of; streams wait on it.
/// Not `Clone`: the watcher counts receivers beyond this one as open streams.
pub struct LiveFeed {
    newest: watch::Receiver<i64>,
}

impl LiveFeed {
    /// Starts the watcher thread. It ends when the last `LiveFeed` is
    /// gone, or when the server stops.
    pub fn start(background: &mut Background, database: Database) -> std::io::Result<LiveFeed> {
        let (sender, newest) = watch::channel(0);
        background.spawn("live-feed", move |pause| {
            watch_changes(&database, &sender, &pause)
        })?;
        Ok(LiveFeed { newest })
    }

    /// A receiver that wakes on every newer number.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.newest.clone()
    }
}

fn watch_changes(database: &Database, sender: &watch::Sender<i64>, between_looks: &Pause) {
    let mut pause = LOOK_EVERY;
    while !sender.is_closed() {
        if streams_open(sender) {
            match database.read_now(store::events::newest) {
                Ok(newest) => {
                    publish(sender, newest);
                    pause = LOOK_EVERY;
                }
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

/// Whether any stream waits on the feed (beyond `LiveFeed`'s own receiver).
/// With none, the watcher leaves the database alone.
fn streams_open(sender: &watch::Sender<i64>) -> bool {
    sender.receiver_count() > 1
}

fn publish(sender: &watch::Sender<i64>, newest: i64) {
    sender.send_if_modified(|known| {
        let newer = newest > *known;
        if newer {
            *known = newest;
        }
        newer
    });
}
