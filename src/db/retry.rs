//! Work the database asks to be run again. PostgreSQL at `serializable`
//! (the isolation every distributed SQL engine runs) refuses a transaction
//! that conflicts with a concurrent one with a serialization failure
//! (40001), and any isolation breaks a deadlock (40P01) by refusing one of
//! its transactions. Neither applied anything: the transaction is run
//! again from the start, a few times, after a short pause with jitter so
//! that the transactions that collided spread out.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use super::error::WorkError;

/// Attempts in all, the first included. With the pauses below, the last
/// one starts within about two and a half seconds of the first: enough for
/// sixty sales racing for one product's row, or stock syncs racing for the
/// same rows, each refused until it runs alone. Writes of stock read and
/// write the product's level beside its row, so at `serializable` they
/// collide more often than writes of the row alone: the crash test's storm
/// (8 writers, syncs of 4 products beside adjustments of 4 others) ran out
/// of 20 attempts on a sync in 2 runs of 2, and not of 40 in 2 runs of 2.
pub const ATTEMPTS: u32 = 40;

/// The longest pause between two attempts.
const LONGEST_PAUSE: Duration = Duration::from_millis(64);

/// Why work was run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    SerializationFailure,
    Deadlock,
}

impl RetryReason {
    pub const ALL: [RetryReason; 2] = [RetryReason::SerializationFailure, RetryReason::Deadlock];

    pub fn label(self) -> &'static str {
        match self {
            RetryReason::SerializationFailure => "serialization_failure",
            RetryReason::Deadlock => "deadlock",
        }
    }
}

/// Retries since the process started, by reason (in `RetryReason::ALL`'s
/// order). Process-wide: the transactions that retry are deep in the
/// store, far from any handle the server holds.
static RETRIES: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// How many times work was run again for `reason`.
pub fn retries(reason: RetryReason) -> u64 {
    RETRIES[reason as usize].load(Ordering::Relaxed)
}

/// Runs `work` until it succeeds, fails in a way a retry cannot help, or
/// has had `ATTEMPTS`; the last failure is returned as it is.
pub fn run_again<T, E: WorkError>(mut work: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let mut attempt = 1;
    loop {
        let result = work();
        match again_after(attempt, &result) {
            Some(pause) => thread::sleep(pause),
            None => return result,
        }
        attempt += 1;
    }
}

/// `run_again` for work that awaits: it pauses without blocking its thread.
pub async fn run_again_awaiting<T, E, F>(mut work: impl FnMut() -> F) -> Result<T, E>
where
    E: WorkError,
    F: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        let result = work().await;
        match again_after(attempt, &result) {
            Some(pause) => tokio::time::sleep(pause).await,
            None => return result,
        }
        attempt += 1;
    }
}

/// After attempt number `attempt` ended with `result`: the pause before
/// running it again, or `None` to keep the result.
fn again_after<T, E: WorkError>(attempt: u32, result: &Result<T, E>) -> Option<Duration> {
    let reason = result.as_ref().err().and_then(WorkError::retry_reason)?;
    if attempt >= ATTEMPTS {
        return None;
    }
    counted(reason);
    Some(pause(attempt))
}

fn counted(reason: RetryReason) {
    RETRIES[reason as usize].fetch_add(1, Ordering::Relaxed);
    tracing::debug!(reason = reason.label(), "running a transaction again");
}

/// 1, 2, 4, ... ms after attempts 1, 2, 3, ..., up to `LONGEST_PAUSE`,
/// each between a quarter and all of it.
fn pause(attempt: u32) -> Duration {
    let full = Duration::from_millis(1 << (attempt - 1).min(10)).min(LONGEST_PAUSE);
    let mut random = [0_u8; 2];
    // Without randomness the pause is whole: still bounded, less spread.
    let fraction = match getrandom::getrandom(&mut random) {
        Ok(()) => f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX),
        Err(_) => 1.0,
    };
    full.mul_f64(0.25 + fraction * 0.75)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::db::DbError;

    #[test]
    fn a_serialization_failure_runs_the_work_again_until_it_succeeds() {
        let tries = Cell::new(0);
        let before = retries(RetryReason::SerializationFailure);
        let result = run_again(|| {
            tries.set(tries.get() + 1);
            if tries.get() < 3 {
                Err(DbError::SerializationFailure)
            } else {
                Ok(tries.get())
            }
        });
        assert_eq!(result.unwrap(), 3);
        assert!(retries(RetryReason::SerializationFailure) >= before + 2);
    }

    #[test]
    fn attempts_are_bounded_and_the_last_failure_is_returned() {
        let tries = Cell::new(0);
        let result: Result<(), DbError> = run_again(|| {
            tries.set(tries.get() + 1);
            Err(DbError::Deadlock)
        });
        assert!(matches!(result, Err(DbError::Deadlock)));
        assert_eq!(tries.get(), ATTEMPTS);
    }

    #[test]
    fn other_failures_are_not_run_again() {
        let tries = Cell::new(0);
        let result: Result<(), DbError> = run_again(|| {
            tries.set(tries.get() + 1);
            Err(DbError::internal("a bug"))
        });
        assert!(result.is_err());
        assert_eq!(tries.get(), 1);
    }

    #[test]
    fn pauses_grow_and_stay_short() {
        for attempt in 1..ATTEMPTS {
            let full = Duration::from_millis(1 << (attempt - 1)).min(LONGEST_PAUSE);
            let pause = pause(attempt);
            assert!(pause >= full / 4 && pause <= full, "{attempt}: {pause:?}");
        }
    }
}
