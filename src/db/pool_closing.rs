//! What `Database::close` shares with the pool's connection manager:
//! whether the pool is closing, and how many of its connections are open
//! or being opened. r2d2 opens connections on a thread of its own and adds
//! one to the idle ones whenever it is ready, even after the request that
//! asked for it was served by another; so closing waits for this count to
//! reach zero rather than trusting one pass over the idle connections.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
pub(super) struct PoolClosing {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    closing: AtomicBool,
    open: AtomicUsize,
}

impl PoolClosing {
    /// From now on every connection given back is closed.
    pub fn begin(&self) {
        self.shared.closing.store(true, Ordering::SeqCst);
    }

    pub fn is_closing(&self) -> bool {
        self.shared.closing.load(Ordering::SeqCst)
    }

    /// Counts one connection, from before it starts opening until the
    /// returned guard is dropped (with the connection, or on a failed open).
    pub fn count_one(&self) -> CountedConnection {
        self.shared.open.fetch_add(1, Ordering::SeqCst);
        CountedConnection {
            shared: self.shared.clone(),
        }
    }

    /// Connections open or being opened.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }
}

/// One connection's place in the count, given up when dropped.
pub(super) struct CountedConnection {
    shared: Arc<Shared>,
}

impl Drop for CountedConnection {
    fn drop(&mut self) {
        self.shared.open.fetch_sub(1, Ordering::SeqCst);
    }
}
