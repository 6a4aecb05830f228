//! Keyed writers and a readiness probe kept running while the database
//! goes away and comes back (a restart, a failover), and the checks both
//! tests make of what they got.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::helpers::get_json;

const WRITERS: usize = 4;
/// How soon after the database is back the API must serve again.
pub const RECOVERY: Duration = Duration::from_secs(5);

/// What one request got.
pub struct Answer {
    pub key: String,
    pub sent_at: Instant,
    pub took: Duration,
    pub status: u16,
    pub retry_after: bool,
    pub problem_type: Option<String>,
}

/// `/readyz`'s status, and when it was asked.
pub type Probe = (Instant, u16);

/// Writers sending stock adjustments of +1, each with a key of its own,
/// and a probe of `/readyz`, until `finish`.
pub struct Load {
    done: Arc<AtomicBool>,
    writers: Vec<JoinHandle<Vec<Answer>>>,
    probe: JoinHandle<Vec<Probe>>,
}

impl Load {
    /// Starts the load on the server at `address`, against `adjust_url`;
    /// keys start with `key_prefix`.
    pub fn start(
        client: &reqwest::Client,
        address: &str,
        adjust_url: &str,
        key_prefix: &'static str,
    ) -> Load {
        let done = Arc::new(AtomicBool::new(false));
        let writers = (0..WRITERS)
            .map(|writer| {
                let (client, url, done) = (client.clone(), adjust_url.to_owned(), done.clone());
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    for n in 0.. {
                        if done.load(Ordering::Relaxed) {
                            break;
                        }
                        let key = format!("{key_prefix}-{writer}-{n}");
                        answers.push(adjust(&client, &url, key).await);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    answers
                })
            })
            .collect();
        let probe = {
            let (client, url, done) = (client.clone(), format!("{address}/readyz"), done.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    let status = client.get(&url).send().await.unwrap().status().as_u16();
                    seen.push((Instant::now(), status));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                seen
            })
        };
        Load {
            done,
            writers,
            probe,
        }
    }

    /// Stops the load: every writer's answers, and the probe's.
    pub async fn finish(self) -> (Vec<Answer>, Vec<Probe>) {
        self.done.store(true, Ordering::Relaxed);
        let mut answers = Vec::new();
        for writer in self.writers {
            answers.extend(writer.await.unwrap());
        }
        (answers, self.probe.await.unwrap())
    }
}

/// Checks what the load got through an outage that ended at `back`: only
/// 200s and 503s, `/readyz` at 503 during it and at 200 within `RECOVERY`
/// of its end, and no failure after that. How long `/readyz` took.
pub fn assert_served_through(answers: &[Answer], probes: &[Probe], back: Instant) -> Duration {
    for answer in answers {
        assert!(
            matches!(answer.status, 200 | 503),
            "only success or 503 through the outage, got {}",
            answer.status
        );
    }
    assert!(
        probes.iter().any(|(_, status)| *status == 503),
        "/readyz said 503 during the outage"
    );
    let ready_again = probes
        .iter()
        .find(|(at, status)| *at > back && *status == 200)
        .map(|(at, _)| at.duration_since(back))
        .expect("/readyz says 200 again");
    assert!(ready_again <= RECOVERY, "ready again after {ready_again:?}");
    let late_failures: Vec<u16> = answers
        .iter()
        .filter(|answer| answer.sent_at > back + RECOVERY && answer.status != 200)
        .map(|answer| answer.status)
        .collect();
    assert!(
        late_failures.is_empty(),
        "failed after recovery: {late_failures:?}"
    );
    ready_again
}

/// Resends every refused request with its key, then checks that each key
/// applied once: the stock counts the keys, and the product made one
/// version for each.
pub async fn assert_each_key_applied_once(
    client: &reqwest::Client,
    adjust_url: &str,
    answers: &[Answer],
) {
    let mut keys = HashSet::new();
    for answer in answers {
        keys.insert(answer.key.clone());
        if answer.status != 200 {
            let retried = adjust(client, adjust_url, answer.key.clone()).await;
            assert_eq!(retried.status, 200);
        }
    }
    let product = get_json(client, adjust_url.trim_end_matches("/stock-adjustments")).await;
    assert_eq!(
        product["stock"],
        keys.len() as i64,
        "each adjustment applied once"
    );
    assert_eq!(product["version"], keys.len() as i64 + 1);
}

/// A stock adjustment of +1 sent with `key`.
async fn adjust(client: &reqwest::Client, url: &str, key: String) -> Answer {
    let sent_at = Instant::now();
    let response = client
        .post(url)
        .header("Idempotency-Key", &key)
        .json(&json!({"delta": 1, "reason": "delivery"}))
        .send()
        .await
        .expect("every request is answered");
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Answer {
        key,
        sent_at,
        took: sent_at.elapsed(),
        status,
        retry_after,
        problem_type: body["type"].as_str().map(str::to_owned),
    }
}
