//! PostgreSQL down at start-up and restarted under load, on a PostgreSQL
//! server of the test's own: the API waits for it at start, answers 503
//! with `Retry-After` while it is away (never a hang, never a 500), and
//! serves again within 5 seconds of its return, without a restart. Nothing
//! acknowledged is lost, and resent requests apply once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{bearer_client, create_product_at, get_json};
use crate::private_postgres::PrivatePostgres;
use crate::process::Server;

const WRITERS: usize = 4;
/// The longest a request may take while the database is away: the pool's
/// 3 s wait for a connection, with room for a slow machine.
const LONGEST_ANSWER: Duration = Duration::from_secs(8);
const RECOVERY: Duration = Duration::from_secs(5);

/// What one request got.
pub struct Answer {
    pub key: String,
    pub sent_at: Instant,
    pub took: Duration,
    pub status: u16,
    pub retry_after: bool,
    pub problem_type: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_down_at_start_and_restarted_under_load() {
    let Some(postgres) = PrivatePostgres::create() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the outage test: install PostgreSQL's server (initdb, pg_ctl)"
        );
        eprintln!("PostgreSQL's server programs are not installed: outage test skipped");
        return;
    };

    // Down at start: the server waits for the database instead of exiting.
    let mut server = Server::start_with(&postgres.url(), &["--rate-limit", "0"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(server.is_running(), "the server waits for the database");
    postgres.start();
    server.wait_until_ready().await;
    let token = server.printed_admin_token();
    let client = bearer_client(&token);
    let created = create_product_at(&client, &server.address, "OUTAGE-1", 0).await;
    let adjust_url = format!(
        "{}/v1/products/{}/stock-adjustments",
        server.address,
        created["id"].as_str().unwrap()
    );

    // Writers and a readiness probe run throughout the restart.
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (client, url, done) = (client.clone(), adjust_url.clone(), done.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for n in 0.. {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    answers.push(adjust(&client, &url, format!("outage-{writer}-{n}")).await);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                answers
            })
        })
        .collect();
    let probe = {
        let (client, url, done) = (
            client.clone(),
            format!("{}/readyz", server.address),
            done.clone(),
        );
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

    tokio::time::sleep(Duration::from_secs(1)).await;
    postgres.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    postgres.start();
    let back = Instant::now();
    tokio::time::sleep(RECOVERY + Duration::from_secs(2)).await;
    done.store(true, Ordering::Relaxed);

    let mut answers = Vec::new();
    for writer in writers {
        answers.extend(writer.await.unwrap());
    }
    let probes = probe.await.unwrap();

    for answer in &answers {
        assert!(
            matches!(answer.status, 200 | 503),
            "only success or 503 while the database restarts, got {}",
            answer.status
        );
        assert!(
            answer.took < LONGEST_ANSWER,
            "a request hung for {:?}",
            answer.took
        );
        if answer.status == 503 {
            assert!(answer.retry_after, "a 503 carries Retry-After");
            assert_eq!(
                answer.problem_type.as_deref(),
                Some("/problems/unavailable")
            );
        }
    }
    let refused = answers.iter().filter(|answer| answer.status == 503).count();
    assert!(refused > 0, "requests during the outage were refused");
    assert!(
        probes.iter().any(|(_, status)| *status == 503),
        "/readyz said 503 while the database was away"
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
    eprintln!(
        "outage: {} requests, {refused} answered 503; ready {ready_again:?} after the database's return",
        answers.len()
    );

    // Refused requests applied nothing: resent with their keys, each applies
    // once, and the stock counts every key exactly once.
    let mut keys = HashSet::new();
    for answer in &answers {
        keys.insert(answer.key.clone());
        if answer.status != 200 {
            let retried = adjust(&client, &adjust_url, answer.key.clone()).await;
            assert_eq!(retried.status, 200);
        }
    }
    let product = get_json(&client, adjust_url.trim_end_matches("/stock-adjustments")).await;
    assert_eq!(
        product["stock"],
        keys.len() as i64,
        "each adjustment applied once"
    );
    assert_eq!(product["version"], keys.len() as i64 + 1);

    let (_, logs) = server.stop();
    assert!(
        logs.contains("the database is unreachable; waiting for it"),
        "waiting at start-up is logged: {logs}"
    );
    assert!(logs.contains("attempt=2"), "and retried: {logs}");
}

/// A stock adjustment of +1 sent with `key`.
pub async fn adjust(client: &reqwest::Client, url: &str, key: String) -> Answer {
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
