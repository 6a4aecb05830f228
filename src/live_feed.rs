//! Wakes the event streams (`GET /v1/events`) when a change is committed,
//! through this server or another: on PostgreSQL by LISTEN on the channel
//! every write NOTIFYs when it commits, on SQLite (one server) by looking
//! at the newest change number now and then.

use std::time::Duration;

use diesel::RunQueryDsl;
use tokio::sync::watch;

use crate::db::{connect, Backend, Database, DbConnection};
use crate::error::ApiError;
use crate::store;

/// How often the watcher looks: for notifications on PostgreSQL, at the
/// newest number on SQLite. Streams learn of a change within about this.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// The newest change number this server knows of; streams wait on it.
/// Not `Clone`: the watcher counts receivers beyond this one as open streams.
pub struct LiveFeed {
    newest: watch::Receiver<i64>,
}

impl LiveFeed {
    /// Starts the watcher thread. It ends when the last `LiveFeed` is gone.
    pub fn start(database: Database, url: &str) -> std::io::Result<LiveFeed> {
        let (sender, newest) = watch::channel(0);
        let url = url.to_owned();
        std::thread::Builder::new()
            .name("live-feed".into())
            .spawn(move || watch_changes(&database, &url, &sender))?;
        Ok(LiveFeed { newest })
    }

    /// A receiver that wakes on every newer number.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.newest.clone()
    }
}

fn watch_changes(database: &Database, url: &str, sender: &watch::Sender<i64>) {
    let mut backoff = LOOK_EVERY;
    while !sender.is_closed() {
        if !streams_open(sender) {
            std::thread::sleep(LOOK_EVERY);
            continue;
        }
        let result = match Backend::of_url(url) {
            Backend::Postgres => listen(url, sender),
            Backend::Sqlite => database
                .run_here(store::events::newest)
                .map(|newest| publish(sender, newest)),
        };
        match result {
            Ok(()) => backoff = LOOK_EVERY,
            Err(error) => {
                // The database may be away for a while; streams keep their
                // place and catch up once it is back.
                tracing::warn!(%error, "could not watch for product changes");
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        std::thread::sleep(backoff);
    }
}

/// Whether any stream waits on the feed (beyond `LiveFeed`'s own receiver).
/// With none, the watcher leaves the database alone.
fn streams_open(sender: &watch::Sender<i64>) -> bool {
    sender.receiver_count() > 1
}

/// Listens on a connection of its own (a pooled one would carry the LISTEN
/// to other work) until it fails or no stream is open. The newest number
/// is read on connecting (notifications sent while no connection listened
/// are lost) and after each notification.
fn listen(url: &str, sender: &watch::Sender<i64>) -> Result<(), ApiError> {
    let mut conn = connect(url).map_err(ApiError::internal)?;
    if let DbConnection::Pg(pg) = &mut conn {
        diesel::sql_query(format!("LISTEN {}", store::events::CHANNEL)).execute(pg)?;
    }
    publish(sender, store::events::newest(&mut conn)?);
    while streams_open(sender) {
        let DbConnection::Pg(pg) = &mut conn else {
            return Ok(());
        };
        let mut notified = false;
        for notification in pg.notifications_iter() {
            notification?;
            notified = true;
        }
        if notified {
            publish(sender, store::events::newest(&mut conn)?);
        }
        std::thread::sleep(LOOK_EVERY);
    }
    Ok(())
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
