//! The storm: holds, commits, releases, expiries, sales and counts from
//! several clients at once, checked at rest against the holds and the
//! ledger.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use super::{
    hold_path, instant, ledger, level_at, listed, listed_with, quantities, read_levels,
    read_product, send_json, stock_of, HOLDS,
};
use crate::api_tests;
use crate::helpers::{product_path, TestApp};

api_tests!(a_storm_of_holds_sales_and_counts_keeps_reserved_and_the_ledger_exact);

/// How many clients of each kind the storm runs.
const HOLDERS: usize = 4;

const STORM_PHASE: Duration = Duration::from_secs(2);

/// What the storm's clients sent and were answered.
#[derive(Default)]
struct StormLog {
    requests: usize,
    /// (product index, quantity) of every commit answered 200.
    commits: Vec<(usize, i64)>,
    /// Answers the contract does not allow (a 5xx among them).
    unexpected: Vec<String>,
    /// Writes refused 503 `unavailable` (allowed only at serializable).
    unavailable: usize,
    /// Whether the database is PostgreSQL at serializable, where a write
    /// that collides with concurrent ones more often than its retries allow
    /// is refused 503 `unavailable`, having applied nothing: the checks at
    /// rest prove that.
    serializable: bool,
}

impl StormLog {
    /// Records an answer; whether it was a success. One whose status and
    /// problem type are not among `allowed` (`""`: any body) is noted.
    fn answer(
        &mut self,
        what: &str,
        (status, body): &(u16, Value),
        allowed: &[(u16, &str)],
    ) -> bool {
        self.requests += 1;
        let kind = body["type"].as_str().unwrap_or_default();
        if self.serializable && *status == 503 && kind == "/problems/unavailable" {
            self.unavailable += 1;
            return false;
        }
        let fits = allowed.iter().any(|(allowed_status, slug)| {
            *allowed_status == *status && (slug.is_empty() || kind == format!("/problems/{slug}"))
        });
        if !fits {
            self.unexpected.push(format!("{what}: {status} {body}"));
        }
        fits && *status < 300
    }

    /// Records a commit's answer; a hold expired meanwhile is refused.
    fn commit(&mut self, target: usize, answer: &(u16, Value)) {
        if self.answer("commit", answer, &[(200, ""), (409, "hold-not-active")]) {
            let quantity = answer.1["hold"]["quantity"].as_i64().unwrap();
            self.commits.push((target, quantity));
        }
    }

    fn of(storm: &Storm) -> StormLog {
        StormLog {
            serializable: storm.serializable,
            ..StormLog::default()
        }
    }

    fn merge(&mut self, other: StormLog) {
        self.requests += other.requests;
        self.unavailable += other.unavailable;
        self.commits.extend(other.commits);
        self.unexpected.extend(other.unexpected);
    }
}

/// What each storm client needs: the server, the products, and when to stop.
#[derive(Clone)]
struct Storm {
    client: reqwest::Client,
    address: String,
    products: Vec<Value>,
    until: tokio::time::Instant,
    serializable: bool,
}

impl Storm {
    fn running(&self) -> bool {
        tokio::time::Instant::now() < self.until
    }

    async fn send(&self, method: Method, path: &str, body: &Value) -> (u16, Value) {
        send_json(
            &self.client,
            method,
            &format!("{}{path}", self.address),
            body,
        )
        .await
    }
}

/// Holds, then commits, releases, resizes and commits, or leaves alone;
/// some holds are short enough to expire while in use.
async fn storm_holder(storm: Storm, client_number: usize) -> StormLog {
    let mut log = StormLog::of(&storm);
    let mut n = client_number;
    while storm.running() {
        n += 1;
        // Four fates in a row on one product, then the next product, so
        // each product sees every fate.
        let target = (n / 4) % storm.products.len();
        let quantity = 1 + (n % 3) as i64;
        // Most holds end by request; those left alone expire, but for a
        // few kept active past the storm, so that reserved is not 0 at rest.
        let left_alone = n % 4 == 3;
        let kept = n % 12 == 3;
        let expires_in = if kept {
            120
        } else if left_alone || n % 5 == 0 {
            1
        } else {
            120
        };
        let body = json!({"product_id": storm.products[target]["id"], "quantity": quantity,
            "expires_in": expires_in, "reference": format!("storm-{client_number}-{n}")});
        let held = storm.send(Method::POST, HOLDS, &body).await;
        if !log.answer("hold", &held, &[(201, ""), (409, "insufficient-available")]) {
            continue;
        }
        let path = hold_path(&held.1);
        let not_active = (409, "hold-not-active");
        match n % 4 {
            0 => {
                let answer = storm
                    .send(
                        Method::POST,
                        &format!("{path}/commit"),
                        &json!({"version": 1}),
                    )
                    .await;
                log.commit(target, &answer);
            }
            1 => {
                let answer = storm
                    .send(
                        Method::POST,
                        &format!("{path}/release"),
                        &json!({"version": 1}),
                    )
                    .await;
                log.answer("release", &answer, &[(200, ""), not_active]);
            }
            2 => {
                let bigger = json!({"version": 1, "quantity": quantity + 1});
                let patched = storm.send(Method::PATCH, &path, &bigger).await;
                let allowed = [(200, ""), (409, "insufficient-available"), not_active];
                let version = if log.answer("patch", &patched, &allowed) {
                    2
                } else {
                    1
                };
                let answer = storm
                    .send(
                        Method::POST,
                        &format!("{path}/commit"),
                        &json!({"version": version}),
                    )
                    .await;
                log.commit(target, &answer);
            }
            // Left to expire.
            _ => {}
        }
    }
    log
}

/// Sales and deliveries, which holds never refuse (a sale is refused
/// only below 0 on hand).
async fn storm_adjuster(storm: Storm) -> StormLog {
    let mut log = StormLog::of(&storm);
    let deltas = [4, -1, 3, -2, -1];
    let mut n = 0;
    while storm.running() {
        let product = &storm.products[n % storm.products.len()];
        let path = format!("{}/stock-adjustments", product_path(product));
        let body = json!({"delta": deltas[n % deltas.len()], "reason": "storm"});
        let answer = storm.send(Method::POST, &path, &body).await;
        log.answer(
            "adjustment",
            &answer,
            &[(200, ""), (409, "insufficient-stock")],
        );
        n += 1;
    }
    log
}

/// Shelf counts of every product, taken now, every 100 ms.
async fn storm_counter(storm: Storm) -> StormLog {
    let mut log = StormLog::of(&storm);
    let mut n = 0;
    while storm.running() {
        let counted_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        let items: Vec<Value> = storm
            .products
            .iter()
            .map(|product| json!({"sku": product["sku"], "stock": 30 + (n * 7) % 20, "counted_at": counted_at}))
            .collect();
        let answer = storm
            .send(
                Method::POST,
                "/v1/stock-sync",
                &json!({"items": items, "reason": "storm count"}),
            )
            .await;
        if log.answer("count", &answer, &[(200, "")]) {
            for result in answer.1["results"].as_array().unwrap() {
                let status = result["status"].as_str().unwrap_or_default();
                if !["updated", "rebased", "unchanged", "superseded"].contains(&status) {
                    log.unexpected.push(format!("count result {result}"));
                }
            }
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    log
}

/// Reads while the others write: each level adds up within itself, and
/// every hold listed active is unexpired when the list was asked for.
async fn storm_watcher(storm: Storm) -> StormLog {
    let mut log = StormLog::of(&storm);
    while storm.running() {
        for product in &storm.products {
            let url = format!("{}{}/levels", storm.address, product_path(product));
            for level in read_levels(&storm.client, &url).await {
                let (on_hand, reserved, available) = stock_of(&level);
                if available != on_hand - reserved || reserved < 0 {
                    log.unexpected.push(format!("level {level}"));
                }
            }
            let asked = Utc::now();
            let query = format!("product={}&status=active", product["id"].as_str().unwrap());
            for hold in listed_with(&storm.client, &storm.address, &query).await {
                if hold["status"] != "active" || instant(&hold["expires_at"]) <= asked {
                    log.unexpected
                        .push(format!("listed active at {asked}: {hold}"));
                }
            }
            log.requests += 2;
        }
    }
    log
}

/// Runs every kind of storm client for `length`; their logs, merged.
async fn storm_phase(app: &TestApp, products: &[Value], length: Duration) -> StormLog {
    let storm = Storm {
        client: app.client.clone(),
        address: app.address.clone(),
        products: products.to_vec(),
        until: tokio::time::Instant::now() + length,
        serializable: app.database.is_postgres()
            && std::env::var("TEST_POSTGRES_SERIALIZABLE").is_ok_and(|on| on == "1"),
    };
    let mut clients: Vec<_> = (0..HOLDERS)
        .map(|n| tokio::spawn(storm_holder(storm.clone(), n)))
        .collect();
    clients.push(tokio::spawn(storm_adjuster(storm.clone())));
    clients.push(tokio::spawn(storm_counter(storm.clone())));
    clients.push(tokio::spawn(storm_watcher(storm)));
    let mut log = StormLog::default();
    for client in clients {
        log.merge(client.await.unwrap());
    }
    log
}

/// Once the writers have stopped and every short hold is past its expiry,
/// nothing changes while the checks read: reserved is the sum of the
/// holds listed active, and on_hand is the start plus the ledger's deltas.
async fn check_at_rest(app: &TestApp, products: &[Value], commits: &[(usize, i64)]) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for (target, product) in products.iter().enumerate() {
        let id = product["id"].as_str().unwrap();
        let before = level_at(app, product, "MAIN").await;
        let active = listed(app, &format!("product={id}&status=active")).await;
        let after = level_at(app, product, "MAIN").await;
        assert_eq!(
            (stock_of(&before), &before["version"]),
            (stock_of(&after), &after["version"]),
            "nothing moved while checking"
        );
        let (on_hand, reserved, available) = stock_of(&before);
        assert_eq!(
            reserved,
            quantities(&active),
            "{id}: reserved is what is held"
        );
        assert_eq!(available, on_hand - reserved);
        let totals = read_product(app, product).await;
        assert_eq!(
            (totals["stock"].as_i64(), totals["reserved"].as_i64()),
            (Some(on_hand), Some(reserved))
        );

        let lines = ledger(app, product).await;
        let start = product["stock"].as_i64().unwrap();
        let moved: i64 = lines
            .iter()
            .filter(|(version, _)| *version > 1)
            .map(|(_, line)| line["delta"].as_i64().unwrap())
            .sum();
        assert_eq!(on_hand, start + moved, "{id}: the ledger explains on_hand");
        let committed: Vec<i64> = lines
            .iter()
            .filter(|(_, line)| line["kind"] == "commit")
            .map(|(_, line)| -line["delta"].as_i64().unwrap())
            .collect();
        let answered: Vec<i64> = commits
            .iter()
            .filter(|(product, _)| *product == target)
            .map(|(_, quantity)| *quantity)
            .collect();
        assert_eq!(
            (committed.len(), committed.iter().sum::<i64>()),
            (answered.len(), answered.iter().sum::<i64>()),
            "{id}: one commit line per commit answered 200"
        );
    }
}

/// Holds, commits, releases, expiries, sales and counts from several
/// clients at once, in two phases: after each, reserved and on_hand are
/// exactly what the holds and the ledger say, and no answer was a 5xx
/// (but for the 503s of serializable, which applied nothing).
async fn a_storm_of_holds_sales_and_counts_keeps_reserved_and_the_ledger_exact(app: TestApp) {
    let mut products = Vec::new();
    for n in 0..2 {
        products.push(app.create_product(&format!("HOLD-STORM-{n}"), 40).await);
    }
    let mut log = StormLog::default();
    for phase in 0..2 {
        log.merge(storm_phase(&app, &products, STORM_PHASE).await);
        assert_eq!(log.unexpected, Vec::<String>::new(), "phase {phase}");
        check_at_rest(&app, &products, &log.commits).await;
    }
    eprintln!(
        "hold storm: {} requests, {} commits, {} refused 503",
        log.requests,
        log.commits.len(),
        log.unavailable
    );
    assert!(!log.commits.is_empty(), "the storm committed something");
}
