//! Webhooks, the change list, low-stock and location events: subscriptions
//! to the numbered feed, delivered one event at a time in feed order and
//! signed as Standard Webhooks, to receivers the tests run themselves on
//! 127.0.0.1.

mod changes;
mod crash;
mod crud;
mod delivery;
mod instances;
mod low_stock;
mod safety;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};
use standardwebhooks::Webhook;

use crate::helpers::TestApp;

pub const WEBHOOKS: &str = "/v1/webhooks";

/// How long a test waits for deliveries before it fails.
pub const DELIVERY_DEADLINE: Duration = Duration::from_secs(40);

/// What the receiver answers to one request, and after how long.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    pub status: u16,
    pub delay: Duration,
}

impl Answer {
    pub fn ok() -> Answer {
        Answer::status(200)
    }

    pub fn refuse() -> Answer {
        Answer::status(500)
    }

    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            delay: Duration::ZERO,
        }
    }

    pub fn after(self, delay: Duration) -> Answer {
        Answer { delay, ..self }
    }
}

/// What the receiver knows of a request when it decides how to answer.
pub struct Seen<'a> {
    pub path: &'a str,
    pub number: Option<i64>,
    /// How many requests carried this number to this path, this one included.
    pub attempt: usize,
}

type Policy = Box<dyn Fn(&Seen) -> Answer + Send + Sync>;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub path: String,
    pub number: Option<i64>,
    pub webhook_id: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
    pub raw: Vec<u8>,
    pub headers: HeaderMap,
    /// Whether a secret trusted for the path verified its signature.
    pub verified: bool,
    /// What the receiver answered (or meant to, if the sender went away).
    pub status: u16,
    pub attempt: usize,
    /// Requests to the same path in flight when it came, itself included.
    pub concurrent: usize,
    pub at: Instant,
    pub finished: bool,
}

impl Arrival {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn signatures(&self) -> Vec<String> {
        let header = self.headers.get("webhook-signature");
        let header = header.map_or("", |value| value.to_str().unwrap_or(""));
        header.split(' ').map(str::to_owned).collect()
    }

    pub fn verifies_with(&self, secret: &str) -> bool {
        Webhook::new(secret)
            .and_then(|webhook| webhook.verify(&self.raw, &self.headers))
            .is_ok()
    }
}

struct State {
    arrivals: Mutex<Vec<Arrival>>,
    in_flight: Mutex<HashMap<String, usize>>,
    secrets: Mutex<HashMap<String, Vec<String>>>,
    policy: Policy,
}

/// An HTTP server of the test's own on 127.0.0.1 that records every
/// request, checks its signature against the secrets it was told for the
/// request's path (401 when none verifies), and otherwise answers as the
/// policy says.
pub struct Receiver {
    pub address: String,
    state: web::Data<State>,
    handle: actix_web::dev::ServerHandle,
}

/// Ends the receiver's request when it is dropped, answered or not.
struct InFlight {
    state: web::Data<State>,
    path: String,
    index: usize,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(count) = self.state.in_flight.lock().unwrap().get_mut(&self.path) {
            *count -= 1;
        }
        self.state.arrivals.lock().unwrap()[self.index].finished = true;
    }
}

async fn receive(request: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let path = request.path().to_owned();
    let mut headers = HeaderMap::new();
    for (name, value) in request.headers() {
        headers.append(
            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let secrets = state
        .secrets
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or_default();
    let verified = secrets.iter().any(|secret| {
        Webhook::new(secret)
            .and_then(|webhook| webhook.verify(&body, &headers))
            .is_ok()
    });
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let number = parsed["number"].as_i64();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let concurrent = {
        let mut in_flight = state.in_flight.lock().unwrap();
        let count = in_flight.entry(path.clone()).or_insert(0);
        *count += 1;
        *count
    };
    let (index, answer) = {
        let mut arrivals = state.arrivals.lock().unwrap();
        let attempt = 1 + arrivals
            .iter()
            .filter(|arrival| arrival.path == path && number.is_some() && arrival.number == number)
            .count();
        let answer = if verified {
            (state.policy)(&Seen {
                path: &path,
                number,
                attempt,
            })
        } else {
            Answer::status(401)
        };
        arrivals.push(Arrival {
            path: path.clone(),
            number,
            webhook_id: header("webhook-id"),
            content_type: header("content-type"),
            body: parsed,
            raw: body.to_vec(),
            headers: headers.clone(),
            verified,
            status: answer.status,
            attempt,
            concurrent,
            at: Instant::now(),
            finished: false,
        });
        (arrivals.len() - 1, answer)
    };
    let _in_flight = InFlight {
        state: state.clone(),
        path,
        index,
    };
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let status = actix_web::http::StatusCode::from_u16(answer.status).unwrap();
    let mut response = HttpResponse::build(status);
    if status.is_redirection() {
        response.insert_header(("Location", "/redirected"));
    }
    let text = if status.is_success() { "ok" } else { "refused" };
    response.content_type("text/plain").body(text)
}

impl Receiver {
    /// A receiver that answers 2xx to every signed request.
    pub fn accepting() -> Receiver {
        Receiver::start(|_| Answer::ok())
    }

    pub fn start(policy: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Receiver {
        let state = web::Data::new(State {
            arrivals: Mutex::new(Vec::new()),
            in_flight: Mutex::new(HashMap::new()),
            secrets: Mutex::new(HashMap::new()),
            policy: Box::new(policy),
        });
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(receive))
        })
        .workers(2)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            address: format!("http://127.0.0.1:{port}"),
            state,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Requests to `path` verify with any of these secrets from now on.
    pub fn trust(&self, path: &str, secrets: &[&str]) {
        let secrets = secrets.iter().map(|secret| secret.to_string()).collect();
        self.state
            .secrets
            .lock()
            .unwrap()
            .insert(path.to_owned(), secrets);
    }

    /// Every request so far, in the order they came.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.state.arrivals.lock().unwrap().clone()
    }

    /// Every request to `path` so far, in the order they came.
    pub fn arrivals_at(&self, path: &str) -> Vec<Arrival> {
        let arrivals = self.state.arrivals.lock().unwrap();
        arrivals
            .iter()
            .filter(|arrival| arrival.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // The command is sent at once; nobody needs to wait for the stop.
        drop(self.handle.stop(false));
    }
}

/// A server's API as a client sees it: the admin's client and the address.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub address: String,
}

impl Api {
    pub fn of(app: &TestApp) -> Api {
        Api {
            client: app.client.clone(),
            address: app.address.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// GETs `path`; a 200's JSON.
    pub async fn read(&self, path: &str) -> Value {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// POSTs `body` to `path`; the status and the JSON answer (null if none).
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Subscribes `receiver`'s `path` to `events`, and tells the receiver
    /// the secret; the created webhook, secret included.
    pub async fn subscribe(&self, receiver: &Receiver, path: &str, events: &[&str]) -> Value {
        let body = json!({"url": receiver.url(path), "events": events});
        let (status, webhook) = self.post(WEBHOOKS, &body).await;
        assert_eq!(status, 201, "subscribing {path}: {webhook}");
        receiver.trust(path, &[webhook["secret"].as_str().unwrap()]);
        webhook
    }

    pub async fn webhook(&self, webhook: &Value) -> Value {
        self.read(&webhook_path(webhook)).await
    }

    /// Every feed item after `after`, oldest first, through `GET /v1/changes`.
    pub async fn changes_after(&self, after: i64) -> Vec<Value> {
        let mut items = Vec::new();
        let mut after = after;
        for _ in 0..1000 {
            let page = self
                .read(&format!("/v1/changes?after={after}&limit=1000"))
                .await;
            let page_items = page["items"].as_array().unwrap();
            if page_items.is_empty() {
                assert_eq!(page["next"], after, "an empty page's next is its after");
                return items;
            }
            items.extend(page_items.iter().cloned());
            after = page["next"].as_i64().unwrap();
        }
        panic!("more than 1000 pages of changes");
    }

    /// The newest feed number.
    pub async fn newest(&self) -> i64 {
        let items = self.changes_after(0).await;
        items
            .last()
            .map_or(0, |item| item["number"].as_i64().unwrap())
    }

    /// Waits until the webhook has delivered everything through `through`;
    /// the webhook then.
    pub async fn delivered(&self, webhook: &Value, through: i64) -> Value {
        self.delivered_within(webhook, through, DELIVERY_DEADLINE)
            .await
    }

    pub async fn delivered_within(&self, webhook: &Value, through: i64, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let now = self.webhook(webhook).await;
            if now["delivered_through"].as_i64().unwrap() >= through {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "not delivered through {through} within {limit:?}: {now}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every delivery of the webhook's log, oldest first.
    pub async fn deliveries(&self, webhook: &Value) -> Vec<Value> {
        let path = format!("{}/deliveries?limit=200", webhook_path(webhook));
        let mut items = Vec::new();
        let mut next = path.clone();
        for _ in 0..100 {
            let page = self.read(&next).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => next = format!("{path}&cursor={cursor}"),
                None => {
                    items.reverse();
                    return items;
                }
            }
        }
        panic!("more than 100 pages of deliveries");
    }
}

pub fn webhook_path(webhook: &Value) -> String {
    format!("{WEBHOOKS}/{}", webhook["id"].as_str().expect("webhook id"))
}

/// The feed items a subscription to `events` wants.
pub fn wanted<'a>(items: &'a [Value], events: &[&str]) -> Vec<&'a Value> {
    items
        .iter()
        .filter(|item| {
            let kind = item["type"].as_str().unwrap();
            events.contains(&kind)
                || (kind == "product"
                    && events.contains(&"level")
                    && !item["data"]["ledger"].is_null())
        })
        .collect()
}

/// Holds one subscription's arrivals to what it wants: each request signed
/// and numbered as its body; one at a time; numbers never going back;
/// a number sent again exactly when the one before was refused (or, for
/// `in_flight_at_crash`, once after it was answered: it was in flight when
/// the sender died), and the next only once the one before succeeded;
/// every wanted item delivered, none other, with the feed's own JSON.
pub fn assert_delivered_in_order(
    arrivals: &[Arrival],
    wanted: &[&Value],
    in_flight_at_crash: Option<i64>,
) {
    let numbers: Vec<Option<i64>> = arrivals.iter().map(|arrival| arrival.number).collect();
    for arrival in arrivals {
        assert!(arrival.verified, "a signature that verifies: {arrival:?}");
        let number = arrival.number.expect("a number in every body");
        assert_eq!(
            arrival.webhook_id,
            Some(format!("evt_{number}")),
            "webhook-id of {number}"
        );
        assert_eq!(arrival.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            arrival.concurrent, 1,
            "one request at a time per subscription: {number} came while another was in flight"
        );
    }
    let mut repeated_after_success = 0;
    for pair in arrivals.windows(2) {
        let (before, after) = (pair[0].number.unwrap(), pair[1].number.unwrap());
        assert!(
            after >= before,
            "numbers never go back: {after} after {before} in {numbers:?}"
        );
        if after == before {
            if pair[0].succeeded() {
                repeated_after_success += 1;
                assert_eq!(
                    Some(before),
                    in_flight_at_crash,
                    "{before} came again after it succeeded: {numbers:?}"
                );
            }
        } else {
            assert!(
                pair[0].succeeded(),
                "{after} came before {before} succeeded: {numbers:?}"
            );
        }
    }
    assert!(repeated_after_success <= 1, "{numbers:?}");
    if let Some(last) = arrivals.last() {
        assert!(last.succeeded(), "the last one succeeded: {numbers:?}");
    }
    let mut distinct: Vec<i64> = numbers.iter().map(|number| number.unwrap()).collect();
    distinct.dedup();
    let expected: Vec<i64> = wanted
        .iter()
        .map(|item| item["number"].as_i64().unwrap())
        .collect();
    assert_eq!(distinct, expected, "every wanted event, in feed order");
    for item in wanted {
        let delivered = arrivals
            .iter()
            .rfind(|arrival| arrival.number == item["number"].as_i64() && arrival.succeeded())
            .unwrap();
        assert_same_event(&delivered.body, item);
    }
}

/// Two readings of one feed item (a delivery's body, a page of changes, an
/// event of the stream) agree: the same JSON, but that a product change's
/// `product` is the product as it was when it was read (after that change
/// or a later one), so it may be newer in one than in the other.
pub fn assert_same_event(one: &Value, other: &Value) {
    let without_product = |item: &Value| {
        let mut item = item.clone();
        if let Some(data) = item.get_mut("data").and_then(Value::as_object_mut) {
            data.remove("product");
        }
        item
    };
    assert_eq!(
        without_product(one),
        without_product(other),
        "the same event"
    );
    for item in [one, other] {
        let product = &item["data"]["product"];
        if item["type"] == "product" {
            assert_eq!(product["id"], item["data"]["id"], "{item}");
            assert!(
                product["version"].as_i64() >= item["data"]["version"].as_i64(),
                "the product after its change: {item}"
            );
        }
    }
}

/// Waits until `done` holds for the receiver, or fails after `limit`.
pub async fn until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Api {
    /// Sends `body` with `method` to `path`, which must be answered `status`;
    /// the JSON answer (null if none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        status: u16,
    ) -> Value {
        let response = self
            .client
            .request(method.clone(), self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let got = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{method} {path} {body}: {answer}");
        answer
    }

    pub async fn create_product(&self, sku: &str, stock: i64) -> Value {
        let body = crate::helpers::product_body(sku, stock);
        self.send(reqwest::Method::POST, "/v1/products", &body, 201)
            .await
    }

    pub async fn adjust(&self, product: &Value, delta: i64) -> Value {
        let path = format!(
            "{}/stock-adjustments",
            crate::helpers::product_path(product)
        );
        let body = json!({"delta": delta, "reason": "count"});
        self.send(reqwest::Method::POST, &path, &body, 200).await
    }

    /// Sets the reorder point of the product's level at `code`.
    pub async fn reorder_point(&self, product: &Value, code: &str, point: Option<i64>) -> Value {
        let path = reorder_path(product, code);
        let body = json!({ "reorder_point": point });
        self.send(reqwest::Method::PUT, &path, &body, 200).await
    }

    /// A change of every kind the feed has (but `oversold`), through this
    /// server, with SKUs and codes starting with `tag`.
    pub async fn mixed_changes(&self, tag: &str) {
        use reqwest::Method;
        let shop = format!("{tag}-SHOP");
        self.send(
            Method::POST,
            "/v1/locations",
            &json!({"code": shop, "name": "A shop"}),
            201,
        )
        .await;
        let first = self.create_product(&format!("{tag}-1"), 20).await;
        let second = self.create_product(&format!("{tag}-2"), 5).await;
        let path = crate::helpers::product_path(&first);
        self.send(
            Method::PATCH,
            &path,
            &json!({"version": 1, "price_minor": 990}),
            200,
        )
        .await;
        self.adjust(&first, -3).await;
        self.reorder_point(&first, "MAIN", Some(15)).await;
        // 17 -> 13: below 15, a stock.low.
        self.adjust(&first, -4).await;
        let hold = self
            .send(
                Method::POST,
                "/v1/holds",
                &json!({"sku": format!("{tag}-2"), "quantity": 2, "expires_in": 600}),
                201,
            )
            .await;
        let release = format!("/v1/holds/{}/release", hold["id"].as_str().unwrap());
        self.send(Method::POST, &release, &json!({"version": 1}), 200)
            .await;
        let transfer = json!({"sku": format!("{tag}-1"), "from": "MAIN", "to": shop,
            "quantity": 1, "reason": "restock the shop"});
        self.send(Method::POST, "/v1/transfers", &transfer, 200)
            .await;
        self.send(
            Method::PATCH,
            &format!("/v1/locations/{shop}"),
            &json!({"version": 1, "name": "The shop"}),
            200,
        )
        .await;
        // 12 -> 22: a stock.ok.
        self.adjust(&first, 10).await;
        self.adjust(&second, 1).await;
    }
}

pub fn reorder_path(product: &Value, code: &str) -> String {
    format!(
        "{}/levels/{code}/reorder-point",
        crate::helpers::product_path(product)
    )
}
