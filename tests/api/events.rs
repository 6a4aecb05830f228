//! `GET /v1/events`: the live feed of product changes, read as a browser's
//! EventSource reads it.

use std::collections::HashMap;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;
use futures::future::join_all;
use inventory_api::db::DbConnection;
use inventory_api::store::events::NUMBERING_LOCK;
use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_path, skip_without_postgres, TestApp, ADMIN_NAME};

api_tests!(
    the_stream_starts_ready_then_carries_each_change,
    a_stream_resumes_after_last_event_id,
    changes_through_another_server_reach_the_stream,
    concurrent_writes_through_two_servers_reach_the_stream_once_each_in_order,
    a_stock_sync_reaches_the_stream_as_one_change_per_updated_item,
    streams_share_the_newest_changes_and_one_further_behind_catches_up_from_the_database,
    a_bad_last_event_id_is_400,
);

crate::api_test_with_settings!(
    a_resume_point_past_the_retention_is_gone_and_the_newest_is_kept,
    a_resume_point_past_the_retention_is_gone_and_the_newest_is_kept,
    |settings| {
        settings.feed_retention_days = 1;
        settings.idempotency_purge_interval = 1;
    }
);

pub struct Event {
    pub name: String,
    pub id: i64,
    pub data: Value,
}

/// Reads a `text/event-stream` response event by event.
pub struct EventReader {
    response: reqwest::Response,
    buffer: String,
}

impl EventReader {
    pub async fn open(
        client: &reqwest::Client,
        url: String,
        last_event_id: Option<i64>,
    ) -> EventReader {
        let mut request = client.get(url);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        EventReader::open_request(request).await
    }

    async fn open_request(request: reqwest::RequestBuilder) -> EventReader {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        EventReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), failing the test after 10 s.
    pub async fn next(&mut self) -> Event {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return event;
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream to stay open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

impl EventReader {
    /// Whether the server ends the stream within `limit`, whatever it
    /// sends before.
    pub async fn ended_within(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return false,
                Ok(Ok(None) | Err(_)) => return true,
                Ok(Ok(Some(_))) => {}
            }
        }
    }
}

fn parse(block: &str) -> Option<Event> {
    let (mut name, mut id, mut data) = (None, None, None);
    for line in block.lines() {
        match line.split_once(": ") {
            Some(("event", value)) => name = Some(value.to_owned()),
            Some(("id", value)) => id = Some(value.parse().unwrap()),
            Some(("data", value)) => data = Some(serde_json::from_str(value).unwrap()),
            _ => {}
        }
    }
    Some(Event {
        name: name?,
        id: id?,
        data: data?,
    })
}

async fn patch_price(app: &TestApp, product: &Value, version: i64, price: i64) {
    let path = format!("/v1/products/{}", product["id"].as_str().unwrap());
    let response = app
        .patch_json(&path, &json!({"version": version, "price_minor": price}))
        .await;
    assert_eq!(response.status(), 200);
}

async fn the_stream_starts_ready_then_carries_each_change(app: TestApp) {
    let before = app.create_product("EVENTS-0", 1).await;
    let url = format!("{}/v1/events", app.address);
    let mut stream = EventReader::open(&app.client, url, None).await;
    let ready = stream.next().await;
    assert_eq!(ready.name, "ready");
    assert_eq!(ready.data["last_event_id"], ready.id);
    assert!(ready.id >= 1, "the create before the stream has a number");

    let product = app.create_product("EVENTS-1", 5).await;
    patch_price(&app, &product, 1, 990).await;

    let created = stream.next().await;
    assert_eq!(created.name, "product");
    assert_eq!(created.data["id"], product["id"]);
    assert_eq!(created.data["version"], 1);
    assert_eq!(created.data["operation"], "create");
    assert_eq!(created.data["actor"], ADMIN_NAME);
    assert_eq!(created.data["product"]["sku"], "EVENTS-1");
    let updated = stream.next().await;
    assert_eq!(updated.data["version"], 2);
    assert_eq!(updated.data["operation"], "update");
    assert_eq!(updated.data["changes"]["price_minor"]["to"], 990);
    assert_eq!(updated.data["product"]["price_minor"], 990);
    assert!(ready.id < created.id && created.id < updated.id);
    assert_ne!(
        created.data["id"], before["id"],
        "changes before the stream are not sent again"
    );
}

async fn a_stream_resumes_after_last_event_id(app: TestApp) {
    let product = app.create_product("EVENTS-2", 5).await;
    let url = format!("{}/v1/events", app.address);
    let mut first = EventReader::open(&app.client, url.clone(), None).await;
    let seen = first.next().await.id;
    drop(first);

    // Missed while no stream was open.
    patch_price(&app, &product, 1, 100).await;
    patch_price(&app, &product, 2, 200).await;

    let mut resumed = EventReader::open(&app.client, url, Some(seen)).await;
    assert_eq!(resumed.next().await.id, seen);
    let missed = [resumed.next().await, resumed.next().await];
    let versions: Vec<&Value> = missed.iter().map(|event| &event.data["version"]).collect();
    assert_eq!(versions, [2, 3]);
    assert!(seen < missed[0].id && missed[0].id < missed[1].id);
}

async fn changes_through_another_server_reach_the_stream(app: TestApp) {
    let other = app.another_server();
    let url = format!("{}/v1/events", app.address);
    let mut stream = EventReader::open(&app.client, url, None).await;
    stream.next().await;

    let created = app
        .client
        .post(format!("{other}/v1/products"))
        .json(&json!({"sku": "EVENTS-3", "name": "Elsewhere", "price_minor": 1, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let event = stream.next().await;
    assert_eq!(event.data["product"]["sku"], "EVENTS-3");
    assert_eq!(event.data["operation"], "create");
}

/// Writers commit in any order and number nothing themselves; the stream
/// must still carry every version once, one product's versions in order,
/// under growing ids, and a stream resumed from the start must say the same.
async fn concurrent_writes_through_two_servers_reach_the_stream_once_each_in_order(app: TestApp) {
    const PRODUCTS: usize = 4;
    const WRITERS: usize = 8;
    const ADJUSTMENTS_EACH: usize = 10;
    let servers = [app.address.clone(), app.another_server()];
    let url = format!("{}/v1/events", app.address);
    let mut stream = EventReader::open(&app.client, url.clone(), None).await;
    let start = stream.next().await.id;

    let mut products = Vec::new();
    for n in 0..PRODUCTS {
        products.push(app.create_product(&format!("EVENTS-RACE-{n}"), 0).await);
    }
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let client = app.client.clone();
            let server = servers[writer % 2].clone();
            let paths: Vec<String> = products.iter().map(product_path).collect();
            tokio::spawn(async move {
                for n in 0..ADJUSTMENTS_EACH {
                    let path = &paths[(writer + n) % paths.len()];
                    let response = client
                        .post(format!("{server}{path}/stock-adjustments"))
                        .json(&json!({"delta": 1, "reason": "count"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }

    let expected = PRODUCTS + WRITERS * ADJUSTMENTS_EACH;
    let mut live = Vec::new();
    for _ in 0..expected {
        live.push(stream.next().await);
    }
    let mut last_version: HashMap<String, i64> = HashMap::new();
    let mut last_id = start;
    for event in &live {
        assert!(event.id > last_id, "ids grow: {} after {last_id}", event.id);
        last_id = event.id;
        let product = event.data["id"].as_str().unwrap().to_owned();
        let version = event.data["version"].as_i64().unwrap();
        let previous = last_version.insert(product, version).unwrap_or(0);
        assert_eq!(version, previous + 1, "each version once, in order");
    }
    let per_product = (WRITERS * ADJUSTMENTS_EACH / PRODUCTS) as i64 + 1;
    assert!(last_version.values().all(|&version| version == per_product));

    let mut resumed = EventReader::open(&app.client, url, Some(start)).await;
    resumed.next().await;
    for event in &live {
        let again = resumed.next().await;
        assert_eq!(
            (again.id, &again.data["version"]),
            (event.id, &event.data["version"])
        );
    }
}

async fn a_stock_sync_reaches_the_stream_as_one_change_per_updated_item(app: TestApp) {
    let first = app.create_product("EVENTS-SYNC-1", 1).await;
    let second = app.create_product("EVENTS-SYNC-2", 2).await;
    app.create_product("EVENTS-SYNC-3", 3).await;
    let url = format!("{}/v1/events", app.address);
    let mut stream = EventReader::open(&app.client, url, None).await;
    let ready = stream.next().await;

    let body = json!({"reason": "count", "items": [
        {"sku": "EVENTS-SYNC-1", "stock": 10, "force": true},
        {"sku": "EVENTS-SYNC-2", "stock": 20, "expected_version": 1},
        {"sku": "EVENTS-SYNC-3", "stock": 3, "force": true},
    ]});
    let response = app.post_json("/v1/stock-sync", &body).await;
    assert_eq!(response.status(), 200);

    // The third item changed nothing, so it has no event.
    let mut last_id = ready.id;
    for (product, stock) in [(&first, 10), (&second, 20)] {
        let event = stream.next().await;
        assert!(event.id > last_id, "numbered in the batch's order");
        last_id = event.id;
        assert_eq!(
            (&event.data["id"], &event.data["version"]),
            (&product["id"], &json!(2))
        );
        assert_eq!(event.data["operation"], "stock_sync");
        assert_eq!(event.data["reason"], "count");
        assert_eq!(event.data["changes"]["stock"]["to"], stock);
        assert_eq!(event.data["product"]["stock"], stock);
    }
}

/// More changes than the server keeps in memory for its streams (1,000):
/// a stream that was open all along gets each once, in order, from what
/// the server shares; one resumed from before them reads the older ones
/// from the database, then joins the shared ones, and gets the same.
async fn streams_share_the_newest_changes_and_one_further_behind_catches_up_from_the_database(
    app: TestApp,
) {
    let url = format!("{}/v1/events", app.address);
    let mut open_all_along = EventReader::open(&app.client, url.clone(), None).await;
    let start = open_all_along.next().await.id;
    let changes = 1200;
    let app = &app;
    for chunk in 0..changes / 50 {
        let creates = (0..50).map(|n| {
            let body = crate::helpers::product_body(&format!("FEED-{chunk}-{n}"), 1);
            async move { app.post_json("/v1/products", &body).await.status() }
        });
        for status in join_all(creates).await {
            assert_eq!(status, 201);
        }
    }
    let mut resumed = EventReader::open(&app.client, url, Some(start)).await;
    assert_eq!(resumed.next().await.name, "ready");
    for reader in [&mut open_all_along, &mut resumed] {
        let mut last = start;
        for _ in 0..changes {
            let event = reader.next().await;
            assert_eq!(event.name, "product");
            assert_eq!(event.id, last + 1, "every change once, in order");
            last = event.id;
        }
    }
}

async fn a_bad_last_event_id_is_400(app: TestApp) {
    for bad in ["x", "-1", "1.5", "9999999999999999999"] {
        let response = app
            .client
            .get(format!("{}/v1/events", app.address))
            .header("Last-Event-ID", bad)
            .send()
            .await
            .unwrap();
        problem(response, 400, "malformed-request").await;
    }
}

/// On PostgreSQL the feed is numbered by its readers, one at a time. A
/// stream opened after a write was acknowledged starts at that write even
/// while another reader holds the numbering (here the test, in an open
/// transaction), rather than at the numbers the other has not yet committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_opened_while_another_reader_numbers_the_feed_starts_at_the_newest_write() {
    let Some(app) = TestApp::postgres_with(|_| {}).await else {
        return skip_without_postgres();
    };
    app.create_product("EVENTS-NUMBERED", 1).await;
    let DbConnection::Pg(mut numbering) = app.direct_connection() else {
        unreachable!("a PostgreSQL connection")
    };
    numbering.batch_execute("BEGIN").unwrap();
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<BigInt, _>(NUMBERING_LOCK)
        .execute(&mut numbering)
        .unwrap();

    let url = format!("{}/v1/events", app.address);
    let client = app.client.clone();
    let opening =
        tokio::spawn(async move { EventReader::open(&client, url, None).await.next().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    numbering.batch_execute("COMMIT").unwrap();

    let ready = opening.await.unwrap();
    assert_eq!(ready.name, "ready");
    assert_eq!(ready.id, 1, "the create, the feed's first change");
}

/// On PostgreSQL, changes made while no stream is open wait unnumbered;
/// a backlog longer than one numbering step (10,000) is numbered in full
/// before a new stream starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_opened_after_a_long_backlog_starts_at_its_end() {
    const PRODUCTS: usize = 250;
    const SYNCS: usize = 41;
    let Some(app) = TestApp::postgres_with(|_| {}).await else {
        return skip_without_postgres();
    };
    let skus: Vec<String> = (0..PRODUCTS).map(|n| format!("BACKLOG-{n}")).collect();
    for some in skus.chunks(25) {
        join_all(some.iter().map(|sku| app.create_product(sku, 0))).await;
    }
    for round in 1..=SYNCS {
        let items: Vec<Value> = skus
            .iter()
            .map(|sku| json!({"sku": sku, "stock": round, "force": true}))
            .collect();
        let body = json!({"reason": "count", "items": items});
        let response = app.post_json("/v1/stock-sync", &body).await;
        assert_eq!(response.status(), 200);
    }

    let url = format!("{}/v1/events", app.address);
    let ready = EventReader::open(&app.client, url, None).await.next().await;
    let changes = PRODUCTS * (1 + SYNCS);
    assert_eq!(ready.id, changes as i64, "a create and {SYNCS} syncs each");
}

/// Stopping must not wait for open streams: they end, and the process
/// exits well within actix's 30 s graceful timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_streams_and_the_server_exits() {
    let (url, _cleanup) = crate::process::database_url();
    let server = crate::process::Server::start(&url);
    server.wait_until_ready().await;
    let token = server.printed_admin_token();
    let client = reqwest::Client::new();
    let request = client
        .get(format!("{}/v1/events", server.address))
        .bearer_auth(token);
    let mut stream = EventReader::open_request(request).await;
    assert_eq!(stream.next().await.name, "ready");

    let exited = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(10)))
        .await
        .unwrap();
    let status = exited.expect("the server exits within 10 s of SIGTERM");
    assert!(status.success(), "{status}");
    let end = tokio::time::timeout(Duration::from_secs(5), stream.response.chunk()).await;
    assert!(
        matches!(end, Ok(Ok(None)) | Ok(Err(_))),
        "the stream ended with the server"
    );
}

/// The feed keeps changes for `--feed-retention-days`: older ones are
/// purged (the newest is always kept), a stream resumed from a purged one
/// is answered 410, and the history they pointed at stays.
async fn a_resume_point_past_the_retention_is_gone_and_the_newest_is_kept(app: TestApp) {
    let product = app.create_product("EVENTS-RETAINED", 5).await;
    for (version, price) in [(1, 100), (2, 200), (3, 300)] {
        patch_price(&app, &product, version, price).await;
    }
    let url = format!("{}/v1/events", app.address);
    // Opening a stream numbers the changes (PostgreSQL numbers them then).
    let newest = EventReader::open(&app.client, url.clone(), None)
        .await
        .next()
        .await
        .id;
    assert_eq!(newest, 4);
    // Made two days ago, as far as the purge can tell.
    app.direct_connection()
        .batch_execute("UPDATE product_history SET at = at - 172800000000")
        .unwrap();

    let resume_from = |after: i64| {
        app.client
            .get(&url)
            .header("Last-Event-ID", after.to_string())
            .send()
    };
    let mut gone = None;
    for _ in 0..100 {
        let response = resume_from(1).await.unwrap();
        if response.status() == 410 {
            gone = Some(response);
            break;
        }
        drop(response);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let gone = gone.expect("the purge ran within 10 s");
    let problem = problem(gone, 410, "events-purged").await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("from event 4 on"));

    // The newest change stays, so a stream that saw the one before resumes.
    let mut resumed = EventReader::open(&app.client, url, Some(newest - 1)).await;
    let within = |seconds| Duration::from_secs(seconds);
    let ready = tokio::time::timeout(within(10), resumed.next())
        .await
        .unwrap();
    assert_eq!(ready.id, newest - 1);
    let change = tokio::time::timeout(within(10), resumed.next())
        .await
        .expect("the newest change, still kept");
    assert_eq!((change.id, &change.data["version"]), (newest, &json!(4)));
    assert_eq!(app.history_versions(&product_path(&product)).await.len(), 4);
}
