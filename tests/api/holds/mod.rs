//! Holds: stock reserved for an order until it is committed (a sale),
//! released, or expires. `reserved` is the sum of a level's active,
//! unexpired holds; `available` (on_hand - reserved) is what new holds
//! may take, and may go below 0 when a sale or count takes stock from
//! under them.

mod contention;
mod expiry;
mod lifecycle;
mod oversold;
mod storm;

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{product_path, TestApp};

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
    let levels = read_json(client, url).await;
    levels["items"].as_array().expect("level items").clone()
}

/// A 200's JSON, read as a client that honours `Retry-After` reads it: at
/// serializable, a read racing a storm of writes may be refused 503
/// `unavailable` when the database keeps aborting it, and is sent again.
async fn read_json(client: &reqwest::Client, url: &str) -> Value {
    for _ in 0..READ_ATTEMPTS {
        let response = client.get(url).send().await.unwrap();
        if response.status() == 503 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        assert_eq!(response.status(), 200, "GET {url}");
        return response.json().await.unwrap();
    }
    panic!("GET {url}: 503 {READ_ATTEMPTS} times");
}

/// How many times a read refused 503 is sent before the test gives up.
const READ_ATTEMPTS: usize = 20;

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
        let page = read_json(client, &url).await;
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
