//! The threads that deliver webhooks. Each round, a thread takes the lease
//! of one due subscription and sends it the events it wants after its
//! `delivered_through`, one at a time, in feed order, moving
//! `delivered_through` after each; the first that fails stops the round,
//! and is retried after a backoff, before anything after it. So a
//! receiver gets every event at least once and in order; what it gets
//! twice is only an event whose success was not recorded (a crash, a lost
//! lease) or that it refused.

use std::io::Read;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::outbound::{self, Reach, DELIVERY_TIMEOUT, RESPONSE_READ_LIMIT};
use crate::background::{Background, Pause};
use crate::db::Database;
use crate::domain::events::FeedEvent;
use crate::domain::webhook::{self, Attempt};
use crate::store::webhook_delivery::{self, Lease};
use crate::store::{self, StoreError};

/// Threads delivering on each instance: a slow receiver holds up one.
pub const DELIVERY_THREADS: usize = 4;
/// How often an idle thread looks for due subscriptions.
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// A lease outlasts any one attempt, renewed before each: another instance
/// takes over only once an attempt that began under it has ended.
const LEASE: Duration = Duration::from_secs(12);
/// Events read at a time.
const BATCH: i64 = 100;
/// The longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);
/// The most of an answer kept in the log.
const LOGGED_BYTES: usize = 256;

/// How deliveries retry and when they give up.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    /// The wait after the first failed attempt; it doubles after each.
    pub base: Duration,
    /// A subscription failing this long is disabled.
    pub give_up_after: Duration,
}

/// Starts the delivery threads.
pub fn start(
    background: &mut Background,
    database: Database,
    reach: Reach,
    retries: Retries,
) -> std::io::Result<()> {
    let instance = Uuid::now_v7();
    for n in 0..DELIVERY_THREADS {
        let database = database.clone();
        let owner = format!("{instance}/{n}");
        background.spawn(&format!("webhooks-{n}"), move |pause| {
            // Made on its own thread: the blocking client runs a runtime of
            // its own, which may not be made or dropped inside an async one.
            let client = match outbound::client(reach) {
                Ok(client) => client,
                Err(error) => {
                    tracing::error!(%error, "could not make the webhook client; no deliveries");
                    return;
                }
            };
            let deliverer = Deliverer {
                database,
                client,
                reach,
                retries,
                owner,
            };
            loop {
                let wait = match deliverer.round(&pause) {
                    Ok(true) => Duration::ZERO,
                    Ok(false) => LOOK_EVERY,
                    Err(error) => {
                        // The database may be away for a while; leases
                        // lapse and the next round goes on from what was
                        // recorded.
                        tracing::warn!(%error, "could not deliver webhooks");
                        LOOK_EVERY * 4
                    }
                };
                if !pause.wait(wait) {
                    return;
                }
            }
        })?;
    }
    Ok(())
}

struct Deliverer {
    database: Database,
    client: reqwest::blocking::Client,
    reach: Reach,
    retries: Retries,
    owner: String,
}

impl Deliverer {
    /// One round: a subscription's due events, until one fails, the
    /// lease is lost or the server stops. False when none was due.
    fn round(&self, pause: &Pause) -> Result<bool, StoreError> {
        let lease_micros = micros(LEASE);
        if !self.database.read_now(webhook_delivery::any_due)? {
            return Ok(false);
        }
        let Some(lease) = self
            .database
            .write_now(|conn| webhook_delivery::lease_next(conn, &self.owner, lease_micros))?
        else {
            return Ok(false);
        };
        let mut through = lease.delivered_through;
        // Failed attempts at the next wanted event.
        let mut failed_before = lease.attempts;
        loop {
            let events = self
                .database
                .read_now(|conn| store::events::after(conn, through, BATCH))?;
            let Some(last) = events.last().map(|event| event.number) else {
                break;
            };
            for event in &events {
                if !webhook::wants(&lease.events, event) {
                    through = event.number;
                    continue;
                }
                if !pause.wait(Duration::ZERO)
                    || !self
                        .database
                        .write_now(|conn| webhook_delivery::renew(conn, &lease, lease_micros))?
                {
                    // Stopping, or the lease was lost: give it up for the
                    // next round, here or on another instance.
                    self.finish(&lease, through)?;
                    return Ok(true);
                }
                let attempt = self.send(&lease, event, failed_before + 1);
                if !attempt.succeeded {
                    let retry_in = self.backoff(failed_before);
                    self.database.write_now(|conn| {
                        webhook_delivery::failed(
                            conn,
                            &lease,
                            through,
                            &attempt,
                            micros(retry_in),
                            micros(self.retries.give_up_after),
                        )
                    })?;
                    return Ok(true);
                }
                through = event.number;
                failed_before = 0;
                let still_held = self.database.write_now(|conn| {
                    webhook_delivery::delivered(conn, &lease, through, Some(&attempt))
                })?;
                if !still_held {
                    return Ok(true);
                }
            }
            through = through.max(last);
            if events.len() < BATCH as usize {
                break;
            }
        }
        self.finish(&lease, through)?;
        Ok(true)
    }

    /// Ends a round: records the events passed over since the last
    /// delivery, and gives up the lease (a lost one is left as it is).
    /// With nothing passed since the lease was taken, the failures of the
    /// event it stopped at stand.
    fn finish(&self, lease: &Lease, through: i64) -> Result<(), StoreError> {
        if through > lease.delivered_through {
            self.database
                .write_now(|conn| webhook_delivery::delivered(conn, lease, through, None))?;
        }
        self.database
            .write_now(|conn| webhook_delivery::release(conn, lease))
    }

    /// Sends one event, signed, and says what came of it.
    fn send(&self, lease: &Lease, event: &FeedEvent, number: i32) -> Attempt {
        let item = event.item();
        let mut attempt = Attempt {
            event_number: event.number,
            number,
            event_type: item.kind.clone(),
            succeeded: false,
            status: None,
            latency_ms: 0,
            response: None,
            error: None,
        };
        // Checked again at every attempt: the URL may name an address
        // itself, which no resolver sees.
        if let Err(why) = outbound::check_url(&lease.url, self.reach, false) {
            attempt.error = Some(format!("the URL {why}"));
            return attempt;
        }
        let body = match serde_json::to_vec(&item) {
            Ok(body) => body,
            Err(error) => {
                attempt.error = Some(format!("the event could not be written: {error}"));
                return attempt;
            }
        };
        let message_id = format!("evt_{}", event.number);
        let timestamp = chrono::Utc::now().timestamp();
        let signature = match sign(&lease.secrets, &message_id, timestamp, &body) {
            Ok(signature) => signature,
            Err(error) => {
                attempt.error = Some(format!("could not sign: {error}"));
                return attempt;
            }
        };
        let started = Instant::now();
        let sent = self
            .client
            .post(&lease.url)
            .header("content-type", "application/json")
            .header("webhook-id", &message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send();
        match sent {
            Ok(response) => {
                let status = response.status();
                let mut first = Vec::new();
                let read = response.take(RESPONSE_READ_LIMIT).read_to_end(&mut first);
                attempt.status = Some(i32::from(status.as_u16()));
                first.truncate(LOGGED_BYTES);
                attempt.response = Some(String::from_utf8_lossy(&first).into_owned());
                match read {
                    Ok(_) if status.is_success() => attempt.succeeded = true,
                    Ok(_) if status.is_redirection() => {
                        attempt.error = Some("redirects are not followed".into());
                    }
                    Ok(_) => {}
                    Err(error) => attempt.error = Some(format!("the answer broke off: {error}")),
                }
            }
            Err(error) => attempt.error = Some(failure(&error)),
        }
        attempt.latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        attempt
    }

    /// The wait after the `failed`-th failure before this one: the base
    /// doubled each time, at most `MAX_BACKOFF`, with jitter (a random
    /// point in its upper half) so that receivers coming back are not hit
    /// by every retry at once.
    fn backoff(&self, failed: i32) -> Duration {
        let doubling = 2u32.saturating_pow(u32::try_from(failed).unwrap_or(0).min(30));
        let full = self.retries.base.saturating_mul(doubling).min(MAX_BACKOFF);
        let mut random = [0u8; 4];
        let fraction = match getrandom::getrandom(&mut random) {
            Ok(()) => f64::from(u32::from_le_bytes(random)) / f64::from(u32::MAX),
            Err(_) => 1.0,
        };
        full.mul_f64(0.5 + fraction / 2.0)
    }
}

/// The `webhook-signature` header: a `v1,` signature by each secret.
fn sign(
    secrets: &[String],
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, standardwebhooks::WebhookError> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        signatures.push(standardwebhooks::Webhook::new(secret)?.sign(message_id, timestamp, body)?);
    }
    Ok(signatures.join(" "))
}

/// Why an attempt got no answer, in the log's words.
fn failure(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("timed out after {} s", DELIVERY_TIMEOUT.as_secs())
    } else if error.is_connect() {
        format!("could not connect: {}", root_cause(error))
    } else {
        root_cause(error)
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
