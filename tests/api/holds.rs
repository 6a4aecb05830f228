//! Holds: stock reserved for an order until it is committed (a sale),
//! released, or expires. `reserved` is the sum of a level's active,
//! unexpired holds; `available` (on_hand - reserved) is what new holds
//! may take, and may go below 0 when a sale or count takes stock from
//! under them.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use inventory_api::domain::access::Role;
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::api_tests;
use crate::events::EventReader;
use crate::helpers::{pointers, problem, product_path, release_writes, TestApp, ADMIN_NAME};

api_tests!(
    sixty_holds_of_one_against_twenty_five_available_hold_exactly_twenty_five,
    two_lines_on_one_level_are_summed_and_refused_whole,
    a_hold_of_several_lines_holds_each_in_order_or_none,
    a_hold_past_its_expiry_reads_expired_and_reserves_nothing,
    commit_and_release_sent_together_see_one_win,
    a_sale_under_holds_oversells_and_says_which_holds,
    a_storm_of_holds_sales_and_counts_keeps_reserved_and_the_ledger_exact,
    a_hold_is_created_read_and_counted_in_reserved,
    holds_list_by_product_location_status_and_reference_in_pages,
    a_patch_extends_or_resizes_a_hold_by_its_version,
    a_commit_is_a_sale_with_a_ledger_entry_of_its_own,
    a_released_hold_is_no_longer_active,
    an_expired_hold_cannot_be_committed,
    a_retried_hold_or_commit_is_applied_once,
    bad_holds_are_422_and_unknown_places_404,
    a_viewer_reads_holds_but_makes_none,
    a_token_limited_to_a_location_holds_only_there,
    every_change_of_a_hold_reaches_the_event_stream,
);

const HOLDS: &str = "/v1/holds";

/// A hold of `quantity` of `sku` at MAIN for ten minutes.
fn hold_of(sku: &str, quantity: i64) -> Value {
    json!({"sku": sku, "quantity": quantity, "expires_in": 600})
}

fn hold_path(hold: &Value) -> String {
    format!("{HOLDS}/{}", hold["id"].as_str().expect("hold id"))
}

/// Creates a hold, which must be accepted; the hold.
async fn create_hold(app: &TestApp, body: &Value) -> Value {
    let response = app.post_json(HOLDS, body).await;
    assert_eq!(response.status(), 201, "holding {body}");
    response.json().await.unwrap()
}

async fn commit(app: &TestApp, hold: &Value, version: i64) -> Response {
    let path = format!("{}/commit", hold_path(hold));
    app.post_json(&path, &json!({"version": version})).await
}

async fn release(app: &TestApp, hold: &Value, version: i64) -> Response {
    let path = format!("{}/release", hold_path(hold));
    app.post_json(&path, &json!({"version": version})).await
}

/// Sends `body` to `url`; the status and the JSON answer (null if none).
async fn send_json(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    body: &Value,
) -> (u16, Value) {
    let response = client.request(method, url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The product's level at `location`, as GET .../levels lists it.
async fn level_at(app: &TestApp, product: &Value, location: &str) -> Value {
    let url = format!("{}{}/levels", app.address, product_path(product));
    let levels = read_levels(&app.client, &url).await;
    levels
        .into_iter()
        .find(|level| level["location"] == location)
        .unwrap_or_else(|| panic!("no level at {location}"))
}

async fn read_levels(client: &reqwest::Client, url: &str) -> Vec<Value> {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    let levels: Value = response.json().await.unwrap();
    levels["items"].as_array().expect("level items").clone()
}

/// A level's (on_hand, reserved, available).
fn stock_of(level: &Value) -> (i64, i64, i64) {
    let field = |name: &str| {
        level[name]
            .as_i64()
            .unwrap_or_else(|| panic!("no {name} in {level}"))
    };
    (field("on_hand"), field("reserved"), field("available"))
}

async fn read_product(app: &TestApp, product: &Value) -> Value {
    app.get(&product_path(product)).await.json().await.unwrap()
}

/// Every hold `GET /v1/holds?{query}` lists, following `next_cursor`.
async fn listed(app: &TestApp, query: &str) -> Vec<Value> {
    listed_with(&app.client, &app.address, query).await
}

async fn listed_with(client: &reqwest::Client, address: &str, query: &str) -> Vec<Value> {
    let mut holds = Vec::new();
    let mut url = format!("{address}{HOLDS}?{query}");
    for _ in 0..100 {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {url}");
        let page: Value = response.json().await.unwrap();
        holds.extend(
            page["items"]
                .as_array()
                .expect("hold items")
                .iter()
                .cloned(),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{address}{HOLDS}?{query}&cursor={cursor}"),
            None => return holds,
        }
    }
    panic!("more than 100 pages of {query}");
}

fn ids(holds: &[Value]) -> Vec<&str> {
    holds
        .iter()
        .map(|hold| hold["id"].as_str().unwrap())
        .collect()
}

fn quantities(holds: &[Value]) -> i64 {
    holds
        .iter()
        .map(|hold| hold["quantity"].as_i64().unwrap())
        .sum()
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("no time: {value}")))
        .unwrap_or_else(|_| panic!("not RFC 3339: {value}"))
        .with_timezone(&Utc)
}

/// Waits until the clock is past `moment`.
async fn wait_past(moment: DateTime<Utc>) {
    let left = moment - Utc::now();
    if let Ok(left) = left.to_std() {
        tokio::time::sleep(left).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Every ledger line of the product's history (all pages), newest first,
/// with the version that made it.
async fn ledger(app: &TestApp, product: &Value) -> Vec<(i64, Value)> {
    let path = format!("{}/history?limit=200", product_path(product));
    let mut lines = Vec::new();
    let mut next = path.clone();
    for _ in 0..1000 {
        let page: Value = app.get(&next).await.json().await.unwrap();
        for entry in page["items"].as_array().unwrap() {
            if !entry["ledger"].is_null() {
                lines.push((entry["version"].as_i64().unwrap(), entry["ledger"].clone()));
            }
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}&cursor={cursor}"),
            None => return lines,
        }
    }
    panic!("history longer than 1000 pages");
}

/// 60 one-unit holds at once against 25 available, while a reader watches
/// the level: exactly 25 hold, the rest are refused, and available is
/// never seen below 0 (holds never oversell).
async fn sixty_holds_of_one_against_twenty_five_available_hold_exactly_twenty_five(app: TestApp) {
    let product = app.create_product("HOLD-RUSH", 25).await;
    let levels_url = format!("{}{}/levels", app.address, product_path(&product));

    let holding = Arc::new(AtomicBool::new(true));
    let lowest_available = Arc::new(AtomicI64::new(i64::MAX));
    let watcher = {
        let (holding, lowest, client) = (
            holding.clone(),
            lowest_available.clone(),
            app.client.clone(),
        );
        tokio::spawn(async move {
            let mut reads = 0;
            while holding.load(Ordering::SeqCst) && reads < 2000 {
                let levels = read_levels(&client, &levels_url).await;
                let (on_hand, reserved, available) = stock_of(&levels[0]);
                assert_eq!(on_hand, 25, "holds never change on_hand");
                assert_eq!(available, on_hand - reserved, "{}", levels[0]);
                lowest.fetch_min(available, Ordering::SeqCst);
                reads += 1;
            }
            reads
        })
    };
    let holds: Vec<_> = (0..60)
        .map(|n| {
            let (client, url) = (app.client.clone(), format!("{}{HOLDS}", app.address));
            let body = json!({"sku": "HOLD-RUSH", "quantity": 1, "expires_in": 3600, "reference": format!("order {n}")});
            tokio::spawn(async move { send_json(&client, Method::POST, &url, &body).await })
        })
        .collect();
    let (mut held, mut refused) = (0, 0);
    for hold in holds {
        match hold.await.unwrap() {
            (201, _) => held += 1,
            (409, body) => {
                assert_eq!(body["type"], "/problems/insufficient-available", "{body}");
                assert_eq!(body["requested"], 1, "{body}");
                // Refused because nothing was left, never because of a
                // level seen below 0.
                assert_eq!(body["level"]["available"], 0, "{body}");
                refused += 1;
            }
            (status, body) => panic!("unexpected {status}: {body}"),
        }
    }
    holding.store(false, Ordering::SeqCst);
    let reads = watcher.await.unwrap();

    assert_eq!((held, refused), (25, 35));
    assert!(reads > 0);
    assert!(
        lowest_available.load(Ordering::SeqCst) >= 0,
        "available was never seen below 0"
    );
    let level = level_at(&app, &product, "MAIN").await;
    assert_eq!(stock_of(&level), (25, 25, 0));
    assert_eq!(level["version"], 1, "holds never change a level's version");
    let now = read_product(&app, &product).await;
    assert_eq!(
        (
            now["stock"].as_i64(),
            now["reserved"].as_i64(),
            now["available"].as_i64(),
            now["version"].as_i64()
        ),
        (Some(25), Some(25), Some(0), Some(1))
    );
    let active = listed(
        &app,
        &format!("product={}&status=active", product["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!((active.len(), quantities(&active)), (25, 25));
}

/// Lines on the same product and location are summed before the check:
/// 3 + 3 against 5 available is refused whole, and nothing is held.
async fn two_lines_on_one_level_are_summed_and_refused_whole(app: TestApp) {
    let product = app.create_product("HOLD-PAIR", 5).await;
    let id = product["id"].as_str().unwrap();
    let body = json!({"items": [
        {"sku": "HOLD-PAIR", "quantity": 3},
        {"product_id": id, "location": "MAIN", "quantity": 3},
    ], "expires_in": 600, "reference": "ORDER-2"});
    let refusal = problem(
        app.post_json(HOLDS, &body).await,
        409,
        "insufficient-available",
    )
    .await;
    assert_eq!(refusal["requested"], 6, "{refusal}");
    assert_eq!(
        (
            &refusal["product_id"],
            &refusal["sku"],
            &refusal["location"]
        ),
        (&product["id"], &json!("HOLD-PAIR"), &json!("MAIN"))
    );
    assert_eq!(stock_of(&refusal["level"]), (5, 0, 5));

    assert_eq!(
        listed(&app, &format!("product={id}")).await,
        Vec::<Value>::new()
    );
    assert_eq!(stock_of(&level_at(&app, &product, "MAIN").await), (5, 0, 5));

    // 3 + 2 fits exactly: both lines hold.
    let body = json!({"items": [
        {"sku": "HOLD-PAIR", "quantity": 3},
        {"sku": "HOLD-PAIR", "quantity": 2},
    ], "expires_in": 600});
    let response = app.post_json(HOLDS, &body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let held: Vec<i64> = created["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hold| hold["quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(held, [3, 2]);
    assert_eq!(stock_of(&level_at(&app, &product, "MAIN").await), (5, 5, 0));
}

/// Lines on different products and locations: each becomes a hold, in
/// the items' order; one line short refuses them all.
async fn a_hold_of_several_lines_holds_each_in_order_or_none(app: TestApp) {
    app.create_location("SHOP-1").await;
    let mug = app.create_product("LINES-MUG", 10).await;
    let bowl = app.create_product("LINES-BOWL", 0).await;
    let shop = format!("{}/levels/SHOP-1", product_path(&bowl));
    let stocked = app
        .patch_json(&shop, &json!({"version": 0, "on_hand": 4}))
        .await;
    assert_eq!(stocked.status(), 200);

    let short = json!({"items": [
        {"sku": "LINES-MUG", "quantity": 2},
        {"product_id": bowl["id"], "location": "SHOP-1", "quantity": 5},
    ], "expires_in": 600});
    let refusal = problem(
        app.post_json(HOLDS, &short).await,
        409,
        "insufficient-available",
    )
    .await;
    assert_eq!(
        (&refusal["sku"], &refusal["location"], &refusal["requested"]),
        (&json!("LINES-BOWL"), &json!("SHOP-1"), &json!(5))
    );
    assert_eq!(
        stock_of(&level_at(&app, &mug, "MAIN").await),
        (10, 0, 10),
        "the mug line was not held either"
    );

    let body = json!({"items": [
        {"sku": "LINES-MUG", "quantity": 2},
        {"product_id": bowl["id"], "location": "shop-1", "quantity": 4},
    ], "expires_in": 600, "reference": "ORDER-3"});
    let response = app.post_json(HOLDS, &body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let holds = created["holds"].as_array().unwrap();
    let lines: Vec<(&str, &str, i64)> = holds
        .iter()
        .map(|hold| {
            (
                hold["sku"].as_str().unwrap(),
                hold["location"].as_str().unwrap(),
                hold["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [("LINES-MUG", "MAIN", 2), ("LINES-BOWL", "SHOP-1", 4)]
    );
    assert_ne!(holds[0]["id"], holds[1]["id"]);
    for hold in holds {
        assert_eq!(
            (&hold["status"], &hold["reference"], &hold["version"]),
            (&json!("active"), &json!("ORDER-3"), &json!(1))
        );
        assert_eq!(hold["expires_at"], holds[0]["expires_at"]);
    }
    assert_eq!(stock_of(&level_at(&app, &mug, "MAIN").await), (10, 2, 8));
    assert_eq!(stock_of(&level_at(&app, &bowl, "SHOP-1").await), (4, 4, 0));
}

/// A hold whose expires_at has passed reads as expired and reserves
/// nothing at once, whether or not the sweeper has marked it yet.
async fn a_hold_past_its_expiry_reads_expired_and_reserves_nothing(app: TestApp) {
    let product = app.create_product("HOLD-BRIEF", 10).await;
    let hold = create_hold(
        &app,
        &json!({"sku": "HOLD-BRIEF", "quantity": 2, "expires_in": 1}),
    )
    .await;
    let expires_at = instant(&hold["expires_at"]);
    let lifetime = expires_at - instant(&hold["created_at"]);
    assert!(
        (900..=1100).contains(&lifetime.num_milliseconds()),
        "expires_in counts from creation: {hold}"
    );
    let level = level_at(&app, &product, "MAIN").await;
    if Utc::now() < expires_at {
        assert_eq!(stock_of(&level), (10, 2, 8), "held at once");
    }

    // Reads until one is sent after expires_at; that one must see it expired.
    let give_up = expires_at + TimeDelta::seconds(4);
    loop {
        assert!(Utc::now() < give_up, "no read after expires_at");
        let sent = Utc::now();
        let read: Value = app.get(&hold_path(&hold)).await.json().await.unwrap();
        let level = level_at(&app, &product, "MAIN").await;
        if sent > expires_at {
            assert_eq!(read["status"], "expired", "{read}");
            assert_eq!(stock_of(&level), (10, 0, 10));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = product["id"].as_str().unwrap();
    let expired = listed(&app, &format!("product={id}&status=expired")).await;
    assert_eq!(ids(&expired), [hold["id"].as_str().unwrap()]);
    assert_eq!(
        listed(&app, &format!("product={id}&status=active"))
            .await
            .len(),
        0
    );
    let now = read_product(&app, &product).await;
    assert_eq!(
        (now["reserved"].as_i64(), now["available"].as_i64()),
        (Some(0), Some(10))
    );
}

/// A commit and a release of one hold from the same version, held at the
/// lock until both are in flight: one wins, the other is refused with the
/// hold as the winner left it, and the level is exact either way.
async fn commit_and_release_sent_together_see_one_win(app: TestApp) {
    let product = app.create_product("HOLD-RACE", 40).await;
    let id = product["id"].as_str().unwrap().to_owned();
    let committer = app.client_for(&app.make_token(Role::Sync, "till-commit").secret);
    let releaser = app.client_for(&app.make_token(Role::Sync, "till-release").secret);
    let mut on_hand = 40;
    for round in 0..4 {
        let quantity = 2 + round;
        let hold = create_hold(&app, &hold_of("HOLD-RACE", quantity)).await;
        let url = format!("{}{}", app.address, hold_path(&hold));
        let send = |client: &reqwest::Client, action: &str| {
            let (client, url) = (client.clone(), format!("{url}/{action}"));
            tokio::spawn(async move {
                send_json(&client, Method::POST, &url, &json!({"version": 1})).await
            })
        };

        let blocker = app.hold_writes(&id);
        let (committing, releasing) = (send(&committer, "commit"), send(&releaser, "release"));
        tokio::time::sleep(Duration::from_millis(700)).await;
        release_writes(blocker);
        let (committed, released) = (committing.await.unwrap(), releasing.await.unwrap());

        let (winner, loser) = match (&committed, &released) {
            ((200, won), (409, lost)) => {
                assert_eq!(won["hold"]["status"], "committed", "{won}");
                on_hand -= quantity;
                ("committed", lost)
            }
            ((409, lost), (200, won)) => {
                assert_eq!(won["status"], "released", "{won}");
                ("released", lost)
            }
            _ => panic!("expected one 200 and one 409, got {committed:?} and {released:?}"),
        };
        let current = match loser["type"].as_str() {
            Some("/problems/hold-not-active") => &loser["hold"],
            Some("/problems/stale-version") => &loser["current"],
            _ => panic!("unexpected refusal {loser}"),
        };
        assert_eq!(
            (&current["id"], &current["status"], &current["version"]),
            (&hold["id"], &json!(winner), &json!(2)),
            "round {round}: {loser}"
        );
        let stored: Value = app.get(&hold_path(&hold)).await.json().await.unwrap();
        assert_eq!(
            (&stored["status"], &stored["version"]),
            (&json!(winner), &json!(2))
        );
        let level = level_at(&app, &product, "MAIN").await;
        assert_eq!(
            stock_of(&level),
            (on_hand, 0, on_hand),
            "round {round}: {winner}"
        );
    }
    // Only the commits moved the product: one version and one ledger line each.
    let commits = ledger(&app, &product)
        .await
        .iter()
        .filter(|(_, line)| line["kind"] == "commit")
        .count() as i64;
    let totals = read_product(&app, &product).await;
    assert_eq!(totals["stock"], on_hand);
    assert_eq!(totals["version"].as_i64().unwrap(), 1 + commits);
}

/// A sale may take stock from under holds: available goes below 0, new
/// holds are refused, and an `oversold` event names the holds at that
/// level, oldest first, so someone can decide which order to short.
async fn a_sale_under_holds_oversells_and_says_which_holds(app: TestApp) {
    let product = app.create_product("HOLD-OVER", 10).await;
    let url = format!("{}/v1/events", app.address);
    let mut stream = EventReader::open(&app.client, url, None).await;
    assert_eq!(stream.next().await.name, "ready");

    let older = create_hold(&app, &hold_of("HOLD-OVER", 4)).await;
    let newer = create_hold(&app, &hold_of("HOLD-OVER", 3)).await;
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 7, 3)
    );

    let sale = json!({"delta": -6, "reason": "sale"});
    let path = format!("{}/stock-adjustments", product_path(&product));
    let response = app.post_json(&path, &sale).await;
    assert_eq!(response.status(), 200, "holds never refuse a sale");
    let sold: Value = response.json().await.unwrap();
    assert_eq!(stock_of(&sold["level"]), (4, 7, -3));
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (4, 7, -3)
    );

    let refusal = problem(
        app.post_json(HOLDS, &hold_of("HOLD-OVER", 1)).await,
        409,
        "insufficient-available",
    )
    .await;
    assert_eq!(stock_of(&refusal["level"]), (4, 7, -3));

    let mut oversold = None;
    for _ in 0..20 {
        let event = stream.next().await;
        if event.name == "oversold" {
            oversold = Some(event.data);
            break;
        }
    }
    let oversold = oversold.expect("an oversold event");
    assert_eq!(
        (
            &oversold["product_id"],
            &oversold["sku"],
            &oversold["location"]
        ),
        (&product["id"], &json!("HOLD-OVER"), &json!("MAIN"))
    );
    assert_eq!(stock_of(&oversold), (4, 7, -3));
    let holds = oversold["holds"].as_array().unwrap();
    assert_eq!(
        ids(holds),
        [older["id"].as_str().unwrap(), newer["id"].as_str().unwrap()],
        "oldest first"
    );
    assert!(holds.iter().all(|hold| hold["status"] == "active"));
}

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

async fn a_hold_is_created_read_and_counted_in_reserved(app: TestApp) {
    let product = app.create_product("HOLD-1", 10).await;
    let before = Utc::now();
    let body = json!({"product_id": product["id"], "location": "main", "quantity": 3,
        "expires_in": 600, "reference": "ORDER-1"});
    let response = app.post_json(HOLDS, &body).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let hold: Value = response.json().await.unwrap();
    assert_eq!(location, hold_path(&hold));
    assert_eq!(
        (
            &hold["version"],
            &hold["product_id"],
            &hold["sku"],
            &hold["location"],
            &hold["quantity"],
            &hold["status"],
            &hold["reference"],
            &hold["actor"],
        ),
        (
            &json!(1),
            &product["id"],
            &json!("HOLD-1"),
            &json!("MAIN"),
            &json!(3),
            &json!("active"),
            &json!("ORDER-1"),
            &json!(ADMIN_NAME),
        )
    );
    let expires_at = instant(&hold["expires_at"]);
    assert!(
        expires_at >= before + TimeDelta::seconds(599)
            && expires_at <= Utc::now() + TimeDelta::seconds(601)
    );
    assert_eq!(hold["created_at"], hold["updated_at"]);

    let read = app.get(&hold_path(&hold)).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["etag"], "\"1\"");
    assert_eq!(read.json::<Value>().await.unwrap(), hold);

    // Holds count in reserved but never move a version.
    let level = level_at(&app, &product, "MAIN").await;
    assert_eq!(
        (stock_of(&level), &level["version"]),
        ((10, 3, 7), &json!(1))
    );
    let totals = read_product(&app, &product).await;
    assert_eq!(
        (
            totals["stock"].as_i64(),
            totals["reserved"].as_i64(),
            totals["available"].as_i64(),
            totals["version"].as_i64()
        ),
        (Some(10), Some(3), Some(7), Some(1))
    );
    let page: Value = app
        .get("/v1/locations/MAIN/levels")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stock_of(&page["items"][0]["level"]), (10, 3, 7));

    let unknown = format!("{HOLDS}/{}", uuid::Uuid::now_v7());
    problem(app.get(&unknown).await, 404, "not-found").await;
}

async fn holds_list_by_product_location_status_and_reference_in_pages(app: TestApp) {
    app.create_location("SHOP-1").await;
    let mug = app.create_product("LIST-MUG", 10).await;
    let bowl = app.create_product("LIST-BOWL", 10).await;
    let shop = format!("{}/levels/SHOP-1", product_path(&mug));
    assert_eq!(
        app.patch_json(&shop, &json!({"version": 0, "on_hand": 5}))
            .await
            .status(),
        200
    );
    let at = |sku: &str, location: &str, reference: Option<&str>| {
        let mut body = json!({"sku": sku, "location": location, "quantity": 1, "expires_in": 600});
        if let Some(reference) = reference {
            body["reference"] = json!(reference);
        }
        body
    };
    let mut made = Vec::new();
    for body in [
        at("LIST-MUG", "MAIN", Some("R-1")),
        at("LIST-MUG", "SHOP-1", Some("R-2")),
        at("LIST-BOWL", "MAIN", Some("R-1")),
        at("LIST-MUG", "MAIN", Some("R-2")),
        at("LIST-MUG", "SHOP-1", None),
    ] {
        made.push(create_hold(&app, &body).await);
    }
    assert_eq!(made[4]["reference"], Value::Null);
    assert_eq!(release(&app, &made[3], 1).await.status(), 200);
    let id = |n: usize| made[n]["id"].as_str().unwrap();
    let (mug_id, bowl_id) = (mug["id"].as_str().unwrap(), bowl["id"].as_str().unwrap());

    let cases = [
        (String::new(), vec![id(0), id(1), id(2), id(3), id(4)]),
        (
            format!("product={mug_id}"),
            vec![id(0), id(1), id(3), id(4)],
        ),
        (format!("product={bowl_id}"), vec![id(2)]),
        (
            format!("product={mug_id}&location=SHOP-1"),
            vec![id(1), id(4)],
        ),
        ("status=released".to_owned(), vec![id(3)]),
        (
            format!("product={mug_id}&status=active"),
            vec![id(0), id(1), id(4)],
        ),
        ("reference=R-1".to_owned(), vec![id(0), id(2)]),
        ("reference=R-2&status=active".to_owned(), vec![id(1)]),
        ("status=committed".to_owned(), vec![]),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(&listed(&app, &query).await), expected, "?{query}");
    }

    // Pages of 2, oldest first, until next_cursor is null.
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    let mut path = format!("{HOLDS}?limit=2");
    loop {
        let page: Value = app.get(&path).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        sizes.push(items.len());
        seen.extend(ids(items).into_iter().map(str::to_owned));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{HOLDS}?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(sizes.len() < 10);
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(seen, (0..5).map(id).collect::<Vec<_>>());

    for (query, pointer) in [
        ("limit=0", "?limit"),
        ("limit=201", "?limit"),
        ("status=held", "?status"),
    ] {
        let body = problem(
            app.get(&format!("{HOLDS}?{query}")).await,
            400,
            "malformed-request",
        )
        .await;
        assert_eq!(pointers(&body), [pointer], "{query}");
    }
}

async fn a_patch_extends_or_resizes_a_hold_by_its_version(app: TestApp) {
    let product = app.create_product("HOLD-PATCH", 10).await;
    let hold = create_hold(&app, &hold_of("HOLD-PATCH", 2)).await;
    let path = hold_path(&hold);

    let extended = app
        .patch_json(&path, &json!({"version": 1, "expires_in": 3600}))
        .await;
    assert_eq!(extended.status(), 200);
    let extended: Value = extended.json().await.unwrap();
    assert_eq!(
        (&extended["version"], &extended["quantity"]),
        (&json!(2), &json!(2))
    );
    assert!(
        instant(&extended["expires_at"]) > instant(&hold["expires_at"]) + TimeDelta::seconds(2900)
    );

    let resized = app
        .patch_if_match(&path, "\"2\"", &json!({"quantity": 5}))
        .await;
    assert_eq!(resized.status(), 200);
    let resized: Value = resized.json().await.unwrap();
    assert_eq!(
        (&resized["version"], &resized["quantity"]),
        (&json!(3), &json!(5))
    );
    assert_eq!(resized["expires_at"], extended["expires_at"], "kept");
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 5, 5)
    );

    let stale = app
        .patch_json(&path, &json!({"version": 1, "quantity": 4}))
        .await;
    let conflict = problem(stale, 409, "stale-version").await;
    assert_eq!(
        (&conflict["your_version"], &conflict["current_version"]),
        (&json!(1), &json!(3))
    );
    assert_eq!(conflict["current"], resized);
    let unversioned = app.patch_json(&path, &json!({"quantity": 4})).await;
    problem(unversioned, 428, "version-required").await;
    let mismatched = app
        .patch_if_match(&path, "\"1\"", &json!({"quantity": 4}))
        .await;
    assert_eq!(mismatched.status(), 412);

    // Growing is guarded like a new hold: 5 held, 5 more free, 6 asked.
    let greedy = app
        .patch_json(&path, &json!({"version": 3, "quantity": 11}))
        .await;
    problem(greedy, 409, "insufficient-available").await;
    let shrunk = app
        .patch_json(&path, &json!({"version": 3, "quantity": 1}))
        .await;
    assert_eq!(shrunk.status(), 200);
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 1, 9)
    );
    let now: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!((&now["version"], &now["quantity"]), (&json!(4), &json!(1)));

    let unknown = format!("{HOLDS}/{}", uuid::Uuid::now_v7());
    let missing = app
        .patch_json(&unknown, &json!({"version": 1, "quantity": 1}))
        .await;
    problem(missing, 404, "not-found").await;
}

async fn a_commit_is_a_sale_with_a_ledger_entry_of_its_own(app: TestApp) {
    let product = app.create_product("HOLD-SALE", 10).await;
    let hold = create_hold(
        &app,
        &json!({"sku": "HOLD-SALE", "quantity": 3, "expires_in": 600, "reference": "ORDER-9"}),
    )
    .await;
    let response = commit(&app, &hold, 1).await;
    assert_eq!(response.status(), 200);
    let committed: Value = response.json().await.unwrap();
    assert_eq!(
        (&committed["hold"]["status"], &committed["hold"]["version"]),
        (&json!("committed"), &json!(2))
    );
    assert_eq!(
        (
            committed["product"]["stock"].as_i64(),
            committed["product"]["reserved"].as_i64(),
            committed["product"]["available"].as_i64(),
            committed["product"]["version"].as_i64()
        ),
        (Some(7), Some(0), Some(7), Some(2))
    );
    assert_eq!(
        (
            stock_of(&committed["level"]),
            &committed["level"]["version"]
        ),
        ((7, 0, 7), &json!(2))
    );

    let history: Value = app
        .get(&format!("{}/history", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    let newest = &history["items"][0];
    assert_eq!(newest["version"], 2);
    assert_eq!(newest["actor"], ADMIN_NAME);
    assert_eq!(newest["changes"], json!({"stock": {"from": 10, "to": 7}}));
    assert_eq!(
        newest["ledger"],
        json!({"location": "MAIN", "level_version": 2, "delta": -3, "on_hand": 7, "kind": "commit", "reference": "ORDER-9"})
    );
    let stored: Value = app.get(&hold_path(&hold)).await.json().await.unwrap();
    assert_eq!(stored, committed["hold"]);
}

async fn a_released_hold_is_no_longer_active(app: TestApp) {
    let product = app.create_product("HOLD-FREE", 10).await;
    let hold = create_hold(&app, &hold_of("HOLD-FREE", 2)).await;
    let response = release(&app, &hold, 1).await;
    assert_eq!(response.status(), 200);
    let released: Value = response.json().await.unwrap();
    assert_eq!(
        (&released["status"], &released["version"]),
        (&json!("released"), &json!(2))
    );
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 0, 10)
    );

    let again = problem(release(&app, &hold, 2).await, 409, "hold-not-active").await;
    assert_eq!(again["hold"], released);
    let commit_after = problem(commit(&app, &hold, 2).await, 409, "hold-not-active").await;
    assert_eq!(commit_after["hold"]["status"], "released");
    let patch_after = app
        .patch_json(&hold_path(&hold), &json!({"version": 2, "quantity": 1}))
        .await;
    problem(patch_after, 409, "hold-not-active").await;
    let totals = read_product(&app, &product).await;
    assert_eq!(
        (totals["stock"].as_i64(), totals["version"].as_i64()),
        (Some(10), Some(1)),
        "a release sells nothing"
    );
}

async fn an_expired_hold_cannot_be_committed(app: TestApp) {
    let product = app.create_product("HOLD-LATE", 10).await;
    let hold = create_hold(
        &app,
        &json!({"sku": "HOLD-LATE", "quantity": 2, "expires_in": 1}),
    )
    .await;
    let expires_at = instant(&hold["expires_at"]);
    wait_past(expires_at).await;

    let refusal = problem(commit(&app, &hold, 1).await, 409, "hold-not-active").await;
    assert_eq!(refusal["hold"]["status"], "expired", "{refusal}");
    assert!(
        refusal["detail"].as_str().unwrap().contains("expired"),
        "{refusal}"
    );
    let expired_at = instant(&refusal["expired_at"]);
    assert!(
        expired_at >= expires_at && expired_at <= Utc::now(),
        "{refusal}"
    );
    problem(release(&app, &hold, 1).await, 409, "hold-not-active").await;
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 0, 10)
    );
}

async fn a_retried_hold_or_commit_is_applied_once(app: TestApp) {
    let product = app.create_product("HOLD-ONCE", 10).await;
    let send = |path: String, key: &'static str, body: Value| {
        app.request(Method::POST, &path)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let body = json!({"sku": "HOLD-ONCE", "quantity": 4, "expires_in": 600});
    let first = send(HOLDS.to_owned(), "hold-once-1", body.clone())
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let hold: Value = first.json().await.unwrap();
    let retry = send(HOLDS.to_owned(), "hold-once-1", body).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), hold, "the same hold");
    let id = product["id"].as_str().unwrap();
    assert_eq!(
        ids(&listed(&app, &format!("product={id}")).await),
        [hold["id"].as_str().unwrap()]
    );
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 4, 6)
    );

    let path = format!("{}/commit", hold_path(&hold));
    let first = send(path.clone(), "commit-once-1", json!({"version": 1}))
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let committed: Value = first.json().await.unwrap();
    let retry = send(path, "commit-once-1", json!({"version": 1}))
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.json::<Value>().await.unwrap(), committed);
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (6, 0, 6),
        "sold once"
    );
}

async fn bad_holds_are_422_and_unknown_places_404(app: TestApp) {
    let product = app.create_product("HOLD-BAD", 100).await;
    let soon = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
    let past = (Utc::now() - TimeDelta::minutes(1)).to_rfc3339();
    let too_far = (Utc::now() + TimeDelta::days(8)).to_rfc3339();
    let line = json!({"sku": "HOLD-BAD", "quantity": 1});
    let hold = |extra: Value| {
        let mut body = json!({"sku": "HOLD-BAD", "quantity": 1});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    // (body, the pointer when one field alone is wrong)
    let cases = [
        (
            hold(json!({"quantity": 0, "expires_in": 600})),
            Some("/quantity"),
        ),
        (
            hold(json!({"quantity": 1_000_000_001, "expires_in": 600})),
            Some("/quantity"),
        ),
        (hold(json!({"expires_in": 0})), Some("/expires_in")),
        (hold(json!({"expires_in": 604_801})), Some("/expires_in")),
        (hold(json!({"expires_at": past})), Some("/expires_at")),
        (hold(json!({"expires_at": too_far})), Some("/expires_at")),
        (
            hold(json!({"expires_in": 600, "reference": "r".repeat(201)})),
            Some("/reference"),
        ),
        (hold(json!({"expires_in": 600, "expires_at": soon})), None),
        (hold(json!({})), None),
        (
            hold(json!({"expires_in": 600, "items": [line.clone()]})),
            None,
        ),
        (json!({"items": [], "expires_in": 600}), Some("/items")),
        (
            json!({"items": vec![line.clone(); 101], "expires_in": 600}),
            Some("/items"),
        ),
        (
            json!({"items": [{"sku": "HOLD-BAD", "quantity": 0}], "expires_in": 600}),
            Some("/items/0/quantity"),
        ),
    ];
    for (body, pointer) in cases {
        let refusal = problem(app.post_json(HOLDS, &body).await, 422, "validation").await;
        let listed_pointers = pointers(&refusal);
        match pointer {
            Some(pointer) => assert_eq!(listed_pointers, [pointer], "{body}"),
            None => assert!(!listed_pointers.is_empty(), "{body}"),
        }
    }
    // 100 lines is the most one hold may have.
    let hundred = json!({"items": vec![line; 100], "expires_in": 600});
    assert_eq!(app.post_json(HOLDS, &hundred).await.status(), 201);
    let id = product["id"].as_str().unwrap();
    let held = listed(&app, &format!("product={id}")).await;
    assert_eq!(held.len(), 100, "only the 100-line hold was made");

    let nobody = json!({"sku": "NO-SUCH", "quantity": 1, "expires_in": 600});
    problem(app.post_json(HOLDS, &nobody).await, 404, "not-found").await;
    let nowhere =
        json!({"sku": "HOLD-BAD", "location": "NOWHERE", "quantity": 1, "expires_in": 600});
    problem(app.post_json(HOLDS, &nowhere).await, 404, "not-found").await;
}

async fn a_viewer_reads_holds_but_makes_none(app: TestApp) {
    app.create_product("HOLD-VIEW", 10).await;
    let hold = create_hold(&app, &hold_of("HOLD-VIEW", 1)).await;
    let viewer = app.client_for(&app.make_token(Role::Viewer, "viewer").secret);
    let url = |path: &str| format!("{}{path}", app.address);

    for path in [HOLDS.to_owned(), hold_path(&hold)] {
        let read = viewer.get(url(&path)).send().await.unwrap();
        assert_eq!(read.status(), 200, "GET {path}");
    }
    let writes = [
        (Method::POST, HOLDS.to_owned(), hold_of("HOLD-VIEW", 1)),
        (
            Method::PATCH,
            hold_path(&hold),
            json!({"version": 1, "quantity": 2}),
        ),
        (
            Method::POST,
            format!("{}/commit", hold_path(&hold)),
            json!({"version": 1}),
        ),
        (
            Method::POST,
            format!("{}/release", hold_path(&hold)),
            json!({"version": 1}),
        ),
    ];
    for (method, path, body) in writes {
        let response = viewer
            .request(method, url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        problem(response, 403, "forbidden").await;
    }
    let unchanged: Value = app.get(&hold_path(&hold)).await.json().await.unwrap();
    assert_eq!(unchanged, hold);
}

/// `token create --location SHOP-1`: holds, commits and releases at any
/// other location (MAIN included, where a hold naming none is) are 403.
async fn a_token_limited_to_a_location_holds_only_there(app: TestApp) {
    app.create_location("SHOP-1").await;
    app.create_location("SHOP-2").await;
    let product = app.create_product("HOLD-LIMITED", 10).await;
    for shop in ["SHOP-1", "SHOP-2"] {
        let path = format!("{}/levels/{shop}", product_path(&product));
        let stocked = app
            .patch_json(&path, &json!({"version": 0, "on_hand": 5}))
            .await;
        assert_eq!(stocked.status(), 200);
    }
    let till = app.client_for(
        &app.make_limited_token(Role::Sync, "shop-1-till", &["shop-1"])
            .secret,
    );
    let url = |path: &str| format!("{}{path}", app.address);
    let at = |location: &str| json!({"sku": "HOLD-LIMITED", "location": location, "quantity": 1, "expires_in": 600});
    let at_main = create_hold(&app, &at("MAIN")).await;

    let refused = [
        (Method::POST, HOLDS.to_owned(), hold_of("HOLD-LIMITED", 1)),
        (Method::POST, HOLDS.to_owned(), at("SHOP-2")),
        (
            Method::POST,
            HOLDS.to_owned(),
            json!({"items": [
                {"sku": "HOLD-LIMITED", "location": "SHOP-1", "quantity": 1},
                {"sku": "HOLD-LIMITED", "location": "SHOP-2", "quantity": 1},
            ], "expires_in": 600}),
        ),
        (
            Method::POST,
            format!("{}/commit", hold_path(&at_main)),
            json!({"version": 1}),
        ),
        (
            Method::POST,
            format!("{}/release", hold_path(&at_main)),
            json!({"version": 1}),
        ),
    ];
    for (method, path, body) in refused {
        let response = till
            .request(method.clone(), url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        problem(response, 403, "forbidden").await;
    }
    let id = product["id"].as_str().unwrap();
    assert_eq!(
        ids(&listed(&app, &format!("product={id}")).await),
        [at_main["id"].as_str().unwrap()]
    );
    let unchanged: Value = app.get(&hold_path(&at_main)).await.json().await.unwrap();
    assert_eq!(unchanged, at_main);

    // At its own location it holds and commits; it reads everywhere.
    let (status, own) = send_json(&till, Method::POST, &url(HOLDS), &at("shop-1")).await;
    assert_eq!(status, 201, "{own}");
    let commit_url = url(&format!("{}/commit", hold_path(&own)));
    let (status, committed) =
        send_json(&till, Method::POST, &commit_url, &json!({"version": 1})).await;
    assert_eq!(status, 200, "{committed}");
    assert_eq!(
        stock_of(&level_at(&app, &product, "SHOP-1").await),
        (4, 0, 4)
    );
    let read = till.get(url(&hold_path(&at_main))).send().await.unwrap();
    assert_eq!(read.status(), 200);
}

/// Each change of a hold is an `event: hold` carrying the hold as changed,
/// the sweeper's expiry included.
async fn every_change_of_a_hold_reaches_the_event_stream(app: TestApp) {
    app.create_product("HOLD-FEED", 10).await;
    let url = format!("{}/v1/events", app.address);
    let mut stream = EventReader::open(&app.client, url, None).await;
    assert_eq!(stream.next().await.name, "ready");

    let kept = create_hold(&app, &hold_of("HOLD-FEED", 2)).await;
    let patched = app
        .patch_json(&hold_path(&kept), &json!({"version": 1, "quantity": 3}))
        .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(commit(&app, &kept, 2).await.status(), 200);
    let dropped = create_hold(&app, &hold_of("HOLD-FEED", 1)).await;
    assert_eq!(release(&app, &dropped, 1).await.status(), 200);
    let brief = create_hold(
        &app,
        &json!({"sku": "HOLD-FEED", "quantity": 1, "expires_in": 1}),
    )
    .await;

    // (hold, status, quantity, version) of each change, in order.
    let expected = [
        (&kept, "active", 2, 1),
        (&kept, "active", 3, 2),
        (&kept, "committed", 3, 3),
        (&dropped, "active", 1, 1),
        (&dropped, "released", 1, 2),
        (&brief, "active", 1, 1),
        (&brief, "expired", 1, 0),
    ];
    let mut seen = Vec::new();
    // The commit is a `product` event too, which is skipped; the sweeper's
    // expiry comes within a few seconds.
    for _ in 0..30 {
        if seen.len() == expected.len() {
            break;
        }
        let event = stream.next().await;
        if event.name == "hold" {
            seen.push(event.data);
        }
    }
    assert_eq!(seen.len(), expected.len(), "{seen:?}");
    for (hold, (made, status, quantity, version)) in seen.iter().zip(expected) {
        assert_eq!(
            (&hold["id"], &hold["status"], &hold["quantity"]),
            (&made["id"], &json!(status), &json!(quantity)),
            "{hold}"
        );
        // The sweeper's version of an expired hold is its own business.
        if status != "expired" {
            assert_eq!(hold["version"], version, "{hold}");
        }
    }
}
