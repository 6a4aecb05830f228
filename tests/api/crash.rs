//! A server killed with SIGKILL in the middle of a storm of writes, then
//! started again on the same database: every acknowledged write is there,
//! no stock-sync batch is half applied, and resending every unanswered
//! request with its key applies each exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use inventory_api::domain::access::Role;
use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{bearer_client, get_json, product_path, TestApp};
use crate::process::Server;

api_tests!(sigkill_mid_storm_loses_nothing_acknowledged_and_retries_apply_once);

const WRITERS: usize = 8;
const ADJUSTED: usize = 4;
const SYNCED: usize = 4;
/// Acknowledged writes before the kill: enough that writes are in flight.
const KILL_AFTER: usize = 150;
const FLAGS: [&str; 4] = ["--rate-limit", "0", "--auth-failure-limit", "0"];

/// One request as a writer sent it, with its key: resent as it was.
#[derive(Clone, Debug)]
struct Sent {
    path: String,
    key: String,
    body: Value,
    /// Which adjusted product it adds 1 to, or `None` for a sync batch.
    adjusts: Option<usize>,
}

#[derive(Debug)]
enum Outcome {
    Answered { status: u16, body: Value },
    Unanswered,
}

async fn sigkill_mid_storm_loses_nothing_acknowledged_and_retries_apply_once(app: TestApp) {
    let token = app.make_token(Role::Sync, "stock-sync").secret;
    let mut adjusted_paths = Vec::new();
    for n in 0..ADJUSTED {
        adjusted_paths.push(product_path(
            &app.create_product(&format!("CRASH-A{n}"), 0).await,
        ));
    }
    let mut synced_paths = Vec::new();
    for n in 0..SYNCED {
        synced_paths.push(product_path(
            &app.create_product(&format!("CRASH-S{n}"), 0).await,
        ));
    }

    let server = Server::start_with(&app.database.url(), &FLAGS);
    server.wait_until_ready().await;
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let client = bearer_client(&token);
            let address = server.address.clone();
            let adjusted_paths = adjusted_paths.clone();
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                let mut log = Vec::new();
                for n in 0.. {
                    let sent = next_request(writer, n, &adjusted_paths);
                    let outcome = send(&client, &address, &sent).await;
                    let dead = matches!(outcome, Outcome::Unanswered);
                    if !dead {
                        acknowledged.fetch_add(1, Ordering::Relaxed);
                    }
                    log.push((sent, outcome));
                    if dead {
                        return log;
                    }
                }
                unreachable!()
            })
        })
        .collect();
    for _ in 0..600 {
        if acknowledged.load(Ordering::Relaxed) >= KILL_AFTER {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop();
    let mut log = Vec::new();
    for writer in writers {
        log.extend(writer.await.unwrap());
    }
    let unanswered: Vec<Sent> = log
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Outcome::Unanswered))
        .map(|(sent, _)| sent.clone())
        .collect();
    for (sent, outcome) in &log {
        if let Outcome::Answered { status, body } = outcome {
            assert_eq!(*status, 200, "{sent:?} was answered {status}: {body}");
        }
    }
    eprintln!(
        "crash: killed after {} answers, {} requests unanswered",
        log.len() - unanswered.len(),
        unanswered.len()
    );

    let restarted = Server::start_with(&app.database.url(), &FLAGS);
    restarted.wait_until_ready().await;
    let client = bearer_client(&token);
    let base = restarted.address.clone();

    // Every acknowledged adjustment is in its product's history.
    let mut adjusted_history = Vec::new();
    for path in &adjusted_paths {
        adjusted_history.push(history(&client, &base, path).await);
    }
    for (sent, outcome) in &log {
        let (Some(target), Outcome::Answered { body, .. }) = (sent.adjusts, outcome) else {
            continue;
        };
        let version = body["version"].as_i64().unwrap();
        assert!(
            adjusted_history[target].iter().any(
                |entry| entry["version"] == version && entry["operation"] == "stock_adjustment"
            ),
            "acknowledged version {version} of {} is in its history",
            adjusted_paths[target]
        );
    }
    // Each sync batch reached every product or none.
    let batches_seen = sync_batches_seen(&client, &base, &synced_paths).await;
    for (marker, products) in &batches_seen {
        assert_eq!(
            products.len(),
            SYNCED,
            "batch {marker} is half applied: {products:?}"
        );
    }

    // Resent with their keys, the unanswered are answered; sent once more,
    // everything is a replay.
    for sent in &unanswered {
        let Outcome::Answered { status, body } = send(&client, &base, &sent.clone()).await else {
            panic!("the restarted server answers {sent:?}");
        };
        assert_eq!(status, 200, "{sent:?}: {body}");
    }
    for (sent, _) in &log {
        let response = resend(&client, &base, sent).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["idempotent-replayed"],
            "true",
            "{sent:?} was applied before"
        );
    }

    // Exactly once: every adjustment added 1, every batch set each product once.
    for (target, path) in adjusted_paths.iter().enumerate() {
        let sent = log
            .iter()
            .filter(|(sent, _)| sent.adjusts == Some(target))
            .count() as i64;
        let product = get_json(&client, &format!("{base}{path}")).await;
        assert_eq!(
            product["stock"], sent,
            "every adjustment of {path} applied once"
        );
        assert_eq!(product["version"], sent + 1);
    }
    let batches_sent = log
        .iter()
        .filter(|(sent, _)| sent.adjusts.is_none())
        .count();
    let batches_seen = sync_batches_seen(&client, &base, &synced_paths).await;
    assert_eq!(batches_seen.len(), batches_sent, "every batch applied");
    for (marker, products) in &batches_seen {
        assert_eq!(
            products.len(),
            SYNCED,
            "batch {marker} applied to every product once"
        );
    }
    restarted.stop();
}

/// Writer `writer`'s `n`th request: mostly +1 adjustments, every fourth a
/// stock sync that forces every synced product to a number no other batch
/// uses, so that its history entries tell which batch wrote them.
fn next_request(writer: usize, n: usize, adjusted_paths: &[String]) -> Sent {
    let key = format!("crash-{writer}-{n}");
    if n % 4 == 3 {
        let marker = writer * 100_000 + n + 1;
        let items: Vec<Value> = (0..SYNCED)
            .map(|product| json!({"sku": format!("CRASH-S{product}"), "stock": marker, "force": true}))
            .collect();
        return Sent {
            path: "/v1/stock-sync".into(),
            key,
            body: json!({"items": items, "reason": "count"}),
            adjusts: None,
        };
    }
    let target = (writer + n) % ADJUSTED;
    Sent {
        path: format!("{}/stock-adjustments", adjusted_paths[target]),
        key,
        body: json!({"delta": 1, "reason": "delivery"}),
        adjusts: Some(target),
    }
}

/// The request as first sent: same path, key and body.
fn resend(client: &reqwest::Client, base: &str, sent: &Sent) -> reqwest::RequestBuilder {
    client
        .post(format!("{base}{}", sent.path))
        .header("Idempotency-Key", &sent.key)
        .json(&sent.body)
}

async fn send(client: &reqwest::Client, base: &str, sent: &Sent) -> Outcome {
    let Ok(response) = resend(client, base, sent).send().await else {
        return Outcome::Unanswered;
    };
    let status = response.status().as_u16();
    match response.json().await {
        Ok(body) => Outcome::Answered { status, body },
        Err(_) => Outcome::Unanswered,
    }
}

/// Every entry of the product's history, newest first.
async fn history(client: &reqwest::Client, base: &str, path: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut url = format!("{base}{path}/history?limit=200");
    loop {
        let page = get_json(client, &url).await;
        entries.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{base}{path}/history?limit=200&cursor={cursor}"),
            None => return entries,
        }
    }
}

/// Each batch's number, with the synced products whose history shows it.
async fn sync_batches_seen(
    client: &reqwest::Client,
    base: &str,
    synced_paths: &[String],
) -> HashMap<i64, Vec<usize>> {
    let mut seen: HashMap<i64, Vec<usize>> = HashMap::new();
    for (product, path) in synced_paths.iter().enumerate() {
        let mut markers = HashSet::new();
        for entry in history(client, base, path).await {
            if entry["operation"] == "stock_sync" {
                let marker = entry["changes"]["stock"]["to"].as_i64().unwrap();
                assert!(
                    markers.insert(marker),
                    "batch {marker} applied twice to {path}"
                );
                seen.entry(marker).or_default().push(product);
            }
        }
    }
    seen
}
