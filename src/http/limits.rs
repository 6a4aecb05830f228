//! Abuse limits kept in memory: a token bucket per API token, and a count
//! of failed authentications per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::http::error::ApiError;

/// How long failed authentications from one address are counted.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked before old windows are swept out.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

pub struct Limits {
    /// Requests per second a token may sustain; 0 disables the limit.
    rate: f64,
    /// Requests a token may send at once after being idle.
    burst: f64,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
    /// Failed authentications an address may make per minute; 0 disables.
    failure_limit: u32,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

struct Failures {
    since: Instant,
    count: u32,
}

impl Limits {
    pub fn new(rate: u32, burst: u32, failure_limit: u32) -> Limits {
        Limits {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
            failure_limit,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the token's bucket, or says when to retry.
    pub fn take(&self, token: Uuid) -> Result<(), ApiError> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        // A panic while holding the lock leaves plain numbers behind: use them.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(token).or_insert(Bucket {
            tokens: self.burst,
            refilled_at: now,
        });
        let refill = now.duration_since(bucket.refilled_at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / self.rate;
        Err(ApiError::RateLimited {
            retry_after: wait.ceil().max(1.0) as u64,
        })
    }

    /// Refuses an address that failed to authenticate too often lately.
    pub fn check_address(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(address) = address.filter(|_| self.failure_limit > 0) else {
            return Ok(());
        };
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match failures.get(&address) {
            Some(seen)
                if seen.count >= self.failure_limit && seen.since.elapsed() < FAILURE_WINDOW =>
            {
                let left = FAILURE_WINDOW.saturating_sub(seen.since.elapsed());
                Err(ApiError::RateLimited {
                    retry_after: left.as_secs().max(1),
                })
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed authentication from this address.
    pub fn record_failure(&self, address: Option<IpAddr>) {
        let Some(address) = address.filter(|_| self.failure_limit > 0) else {
            return;
        };
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() >= MAX_TRACKED_ADDRESSES {
            failures.retain(|_, seen| seen.since.elapsed() < FAILURE_WINDOW);
        }
        let seen = failures.entry(address).or_insert(Failures {
            since: Instant::now(),
            count: 0,
        });
        if seen.since.elapsed() >= FAILURE_WINDOW {
            *seen = Failures {
                since: Instant::now(),
                count: 0,
            };
        }
        seen.count += 1;
    }
}
