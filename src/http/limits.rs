//! Abuse limits kept in memory, with governor's keyed limiters (GCRA): a
//! request rate per API token, and failed authentications per client
//! address.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};
use uuid::Uuid;

use crate::http::error::ApiError;

/// Keys (tokens or addresses) held before those with a full allowance
/// again are swept out.
const MAX_TRACKED_KEYS: usize = 10_000;

pub struct Limits {
    /// `--rate-limit` per second, bursts of `--rate-limit-burst`; `None`
    /// when the limit is off.
    requests: Option<DefaultKeyedRateLimiter<Uuid>>,
    /// `--auth-failure-limit` per minute, all of them at once at most;
    /// `None` when the limit is off.
    failures: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl Limits {
    pub fn new(rate: u32, burst: u32, failure_limit: u32) -> Limits {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Limits {
            requests: NonZeroU32::new(rate)
                .map(|rate| RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))),
            failures: NonZeroU32::new(failure_limit)
                .map(|limit| RateLimiter::keyed(Quota::per_minute(limit))),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from the token's allowance, or says when to retry.
    pub fn take(&self, token: Uuid) -> Result<(), ApiError> {
        let Some(requests) = &self.requests else {
            return Ok(());
        };
        sweep(requests);
        requests
            .check_key(&token)
            .map_err(|not_until| self.refusal(&not_until))
    }

    /// Counts a failed authentication from this address: `Err` (a 429)
    /// once the address has failed too often lately.
    pub fn failed_authentication(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        let (Some(failures), Some(address)) = (&self.failures, address) else {
            return Ok(());
        };
        sweep(failures);
        failures
            .check_key(&address)
            .map_err(|not_until| self.refusal(&not_until))
    }

    fn refusal(&self, not_until: &NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
        let wait = not_until.wait_time_from(self.clock.now());
        ApiError::RateLimited {
            retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    }
}

/// Keeps memory bounded: forgets keys whose allowance is full again.
fn sweep<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>) {
    if limiter.len() >= MAX_TRACKED_KEYS {
        limiter.retain_recent();
    }
}
