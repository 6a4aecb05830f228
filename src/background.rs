//! The server's own threads: work no request asks for, each looping until
//! the server stops, which then waits for them. Each holds the database;
//! once they have ended, its connections can be closed before the process
//! exits, rather than cut by the exit.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// The running threads, and the switch that ends them.
#[derive(Default)]
pub struct Background {
    stop: Arc<StopSignal>,
    threads: Vec<JoinHandle<()>>,
}

/// Whether the threads should end, and the wake-up that tells them.
#[derive(Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    told: Condvar,
}

/// What a background thread waits with between rounds of its work.
pub struct Pause {
    stop: Arc<StopSignal>,
}

impl Background {
    /// Starts `work` on a thread named `name`. `work` gets the `Pause` to
    /// wait with between rounds, and must return once that says to stop.
    pub fn spawn(
        &mut self,
        name: &str,
        work: impl FnOnce(Pause) + Send + 'static,
    ) -> std::io::Result<()> {
        let pause = Pause {
            stop: self.stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || work(pause))?;
        self.threads.push(thread);
        Ok(())
    }

    /// Tells every thread to stop and waits for each to end: at most the
    /// round of work it is in.
    pub fn stop(mut self) {
        self.stop_threads();
    }

    fn stop_threads(&mut self) {
        *self.stop.stopped.lock() = true;
        self.stop.told.notify_all();
        for thread in self.threads.drain(..) {
            // A thread that panicked has ended all the same.
            let _ = thread.join();
        }
    }
}

impl Drop for Background {
    /// A server dropped without running (or a test's) still ends its threads.
    fn drop(&mut self) {
        self.stop_threads();
    }
}

impl Pause {
    /// Waits `duration`, or less if told to stop meanwhile. False once the
    /// threads are to stop.
    pub fn wait(&self, duration: Duration) -> bool {
        let mut stopped = self.stop.stopped.lock();
        if !*stopped {
            // A wake-up without the flag set just waits again, less long.
            let _ = self
                .stop
                .told
                .wait_while_for(&mut stopped, |stopped| !*stopped, duration);
        }
        !*stopped
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Instant;

    use super::*;

    #[test]
    fn stop_ends_a_thread_in_its_pause_at_once_and_waits_for_it() {
        let rounds = Arc::new(AtomicU32::new(0));
        let mut background = Background::default();
        let counted = rounds.clone();
        background
            .spawn("test-rounds", move |pause| loop {
                counted.fetch_add(1, Ordering::SeqCst);
                if !pause.wait(Duration::from_secs(60)) {
                    return;
                }
            })
            .unwrap();
        while rounds.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let stopping = Instant::now();
        background.stop();
        assert!(stopping.elapsed() < Duration::from_secs(5));
        assert_eq!(rounds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_pause_lasts_its_duration_until_stopped() {
        let background = Background::default();
        let pause = Pause {
            stop: background.stop.clone(),
        };
        let waiting = Instant::now();
        assert!(pause.wait(Duration::from_millis(50)));
        assert!(waiting.elapsed() >= Duration::from_millis(50));
        background.stop();
        assert!(!pause.wait(Duration::from_secs(60)));
    }
}
