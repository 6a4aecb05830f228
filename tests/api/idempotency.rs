//! Safe retries with Idempotency-Key.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{pointers, problem, product_body, product_path, TestApp};
use crate::{api_test_with_settings, api_tests};

api_tests!(
    retried_create_is_applied_once_and_replayed,
    eight_concurrent_sends_of_one_key_apply_once,
    a_different_request_under_a_used_key_is_refused,
    a_refusal_is_replayed_too,
    stock_sync_retries_are_replayed,
    a_key_still_held_is_in_use_and_a_dead_holder_is_taken_over,
    bad_keys_are_400,
    a_failed_request_gives_its_key_back,
    without_a_key_every_request_runs,
    a_key_is_honoured_by_every_instance,
);

async fn post_with_key(app: &TestApp, path: &str, key: &str, body: &Value) -> reqwest::Response {
    app.request(Method::POST, path)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn product_count(app: &TestApp) -> usize {
    let page: Value = app
        .get("/v1/products?limit=200")
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().len()
}

async fn retried_create_is_applied_once_and_replayed(app: TestApp) {
    let body = product_body("ONCE-1", 5);
    let first = post_with_key(&app, "/v1/products", "create-once-1", &body).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (location, etag) = (
        first.headers()["location"].clone(),
        first.headers()["etag"].clone(),
    );
    let created: Value = first.json().await.unwrap();

    // The same request, its keys in another order: the same request.
    let reordered: Value = serde_json::from_str(r#"{"stock": 5, "currency": "EUR", "price_minor": 1250, "name": "Product ONCE-1", "sku": "ONCE-1"}"#).unwrap();
    let retry = post_with_key(&app, "/v1/products", "create-once-1", &reordered).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.headers()["location"], location);
    assert_eq!(retry.headers()["etag"], etag);
    assert_eq!(retry.headers()["content-type"], "application/json");
    let replayed: Value = retry.json().await.unwrap();
    assert_eq!(replayed, created);
    assert_eq!(product_count(&app).await, 1, "applied once");
}

async fn eight_concurrent_sends_of_one_key_apply_once(app: TestApp) {
    let product = app.create_product("EIGHT-1", 100).await;
    let url = format!(
        "{}{}/stock-adjustments",
        app.address,
        product_path(&product)
    );
    let sends: Vec<_> = (0..8)
        .map(|_| {
            let (client, url) = (app.client.clone(), url.clone());
            tokio::spawn(async move {
                let response = client
                    .post(url)
                    .header("Idempotency-Key", "till-7-sale-1042")
                    .json(&json!({"delta": -3, "reason": "sale #1042"}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let retry_after = response.headers().get("retry-after").is_some();
                let body: Value = response.json().await.unwrap();
                (status, retry_after, body)
            })
        })
        .collect();
    let mut applied = Vec::new();
    for send in sends {
        let (status, retry_after, body) = send.await.unwrap();
        match status {
            200 => applied.push(body),
            409 => {
                assert_eq!(body["type"], "/problems/idempotency-key-in-use");
                assert!(retry_after, "409 in-use carries Retry-After");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!applied.is_empty());
    assert!(
        applied
            .iter()
            .all(|body| body["stock"] == 97 && body["version"] == 2),
        "{applied:?}"
    );

    // Once the first has finished, a retry gets its answer.
    let retry = app
        .request(
            Method::POST,
            &format!("{}/stock-adjustments", product_path(&product)),
        )
        .header("Idempotency-Key", "till-7-sale-1042")
        .json(&json!({"delta": -3, "reason": "sale #1042"}))
        .send()
        .await
        .unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        (read["stock"].as_i64(), read["version"].as_i64()),
        (Some(97), Some(2)),
        "applied exactly once"
    );
}

async fn a_different_request_under_a_used_key_is_refused(app: TestApp) {
    assert_eq!(
        post_with_key(&app, "/v1/products", "key-1", &product_body("USED-1", 1))
            .await
            .status(),
        201
    );
    let other_body = post_with_key(&app, "/v1/products", "key-1", &product_body("USED-2", 1)).await;
    problem(other_body, 422, "idempotency-key-reused").await;

    let product = app.create_product("USED-3", 10).await;
    let other_path = post_with_key(
        &app,
        &format!("{}/stock-adjustments", product_path(&product)),
        "key-1",
        &json!({"delta": 1, "reason": "a valid request, but not the one this key named"}),
    )
    .await;
    problem(other_path, 422, "idempotency-key-reused").await;
    assert_eq!(product_count(&app).await, 2);
}

async fn a_refusal_is_replayed_too(app: TestApp) {
    let product = app.create_product("REFUSE-1", 1).await;
    let path = format!("{}/stock-adjustments", product_path(&product));
    let sale = json!({"delta": -2, "reason": "sale"});
    let first = post_with_key(&app, &path, "sale-2", &sale).await;
    problem(first, 409, "insufficient-stock").await;

    app.post_json(&path, &json!({"delta": 10, "reason": "delivery"}))
        .await;
    let retry = post_with_key(&app, &path, "sale-2", &sale).await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let body = problem(retry, 409, "insufficient-stock").await;
    assert_eq!(body["current_stock"], 1, "the answer the first request got");
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(read["stock"], 11);
}

async fn stock_sync_retries_are_replayed(app: TestApp) {
    let product = app.create_product("SYNCKEY-1", 4).await;
    let batch = json!({"items": [{"sku": "SYNCKEY-1", "stock": 9, "expected_version": 1}]});
    let first: Value = post_with_key(&app, "/v1/stock-sync", "nightly-2026-11-25", &batch)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["results"][0]["status"], "updated");
    let retry = post_with_key(&app, "/v1/stock-sync", "nightly-2026-11-25", &batch).await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let replayed: Value = retry.json().await.unwrap();
    assert_eq!(
        replayed, first,
        "the retry is told 'updated', not 'conflict'"
    );
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(read["version"], 2);
}

/// Keys claimed and not answered, as a request leaves them while it runs
/// or when its process dies. On PostgreSQL a running holder keeps its key's
/// row locked, which the test does here by hand; on SQLite a claim is run
/// in the same turn of the server's writers, so a retry never finds one
/// running and takes over any it finds.
async fn a_key_still_held_is_in_use_and_a_dead_holder_is_taken_over(app: TestApp) {
    let body = product_body("HELD-1", 1);
    let fingerprint = inventory_api::domain::idempotency::fingerprint(
        "POST",
        "/v1/products",
        body.as_object().unwrap(),
    );
    let scope = app.admin.id;
    let now = chrono::Utc::now().timestamp_micros();
    let mut conn = app.direct_connection();
    conn.batch_execute(&format!(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at, claimed_at, is_problem) VALUES \
         ('{scope}', 'running', '{fingerprint}', {now}, {now}, FALSE), \
         ('{scope}', 'crashed', '{fingerprint}', {now}, {now}, FALSE)"
    ))
    .unwrap();

    if app.database.is_postgres() {
        let mut holder = app.direct_connection();
        holder
            .batch_execute("BEGIN; SELECT 1 FROM idempotency_keys WHERE key = 'running' FOR UPDATE")
            .unwrap();
        let running = post_with_key(&app, "/v1/products", "running", &body).await;
        assert_eq!(running.headers()["retry-after"], "2");
        problem(running, 409, "idempotency-key-in-use").await;
        assert_eq!(product_count(&app).await, 0);
        holder.batch_execute("ROLLBACK").unwrap();
    }

    let taken_over = post_with_key(&app, "/v1/products", "crashed", &body).await;
    assert_eq!(
        taken_over.status(),
        201,
        "a key whose holder died is not stuck for ever"
    );
    let replay = post_with_key(&app, "/v1/products", "crashed", &body).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(product_count(&app).await, 1);
}

/// A request that fails with a 5xx applied nothing and is not recorded:
/// a retry with the same key runs it. The failure is made real by holding
/// the product's lock (PostgreSQL) or the database's write lock (SQLite)
/// longer than the server waits for it.
async fn a_failed_request_gives_its_key_back(app: TestApp) {
    let product = app.create_product("FAIL-1", 10).await;
    let path = format!("{}/stock-adjustments", product_path(&product));
    let id = product["id"].as_str().unwrap().to_owned();
    let mut blocker = app.direct_connection();
    let lock = if app.database.is_postgres() {
        format!("BEGIN; SELECT 1 FROM products WHERE id = '{id}' FOR UPDATE")
    } else {
        "BEGIN IMMEDIATE".to_owned()
    };
    blocker.batch_execute(&lock).unwrap();
    let sale = json!({"delta": -1, "reason": "sale"});
    let failed = post_with_key(&app, &path, "sale-during-outage", &sale).await;
    problem(failed, 503, "unavailable").await;
    blocker.batch_execute("ROLLBACK").unwrap();

    let retry = post_with_key(&app, &path, "sale-during-outage", &sale).await;
    assert_eq!(retry.status(), 200);
    assert!(
        retry.headers().get("idempotent-replayed").is_none(),
        "the retry ran, it was not a replay"
    );
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        (read["stock"].as_i64(), read["version"].as_i64()),
        (Some(9), Some(2))
    );
}

async fn bad_keys_are_400(app: TestApp) {
    for key in ["", "has space", &"k".repeat(256)] {
        let response = post_with_key(&app, "/v1/products", key, &product_body("KEY-1", 1)).await;
        let body = problem(response, 400, "malformed-request").await;
        assert_eq!(pointers(&body), vec!["Idempotency-Key"]);
    }
    assert_eq!(product_count(&app).await, 0);
}

async fn without_a_key_every_request_runs(app: TestApp) {
    let product = app.create_product("NOKEY-1", 10).await;
    let path = format!("{}/stock-adjustments", product_path(&product));
    for _ in 0..2 {
        assert_eq!(
            app.post_json(&path, &json!({"delta": -1, "reason": "sale"}))
                .await
                .status(),
            200
        );
    }
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(read["stock"], 8);
}

/// Keys older than 24 hours are purged by the server itself; younger ones stay.
async fn expired_keys_are_purged(app: TestApp) {
    let scope = app.admin.id;
    let old = chrono::Utc::now().timestamp_micros() - 25 * 3600 * 1_000_000;
    let mut conn = app.direct_connection();
    conn.batch_execute(&format!(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at, claimed_at, status, headers, body, is_problem) VALUES \
         ('{scope}', 'yesterday', 'other-request', {old}, {old}, 201, '[]', '{{}}', FALSE)"
    ))
    .unwrap();
    assert_eq!(
        post_with_key(&app, "/v1/products", "today", &product_body("PURGE-1", 1))
            .await
            .status(),
        201
    );

    let mut purged = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        // A purged key is free: the new request under it runs.
        let response = post_with_key(
            &app,
            "/v1/products",
            "yesterday",
            &product_body("PURGE-2", 1),
        )
        .await;
        if response.status() == 201 {
            purged = true;
            break;
        }
        problem(response, 422, "idempotency-key-reused").await;
    }
    assert!(purged, "the day-old key was purged");
    let kept = post_with_key(&app, "/v1/products", "today", &product_body("PURGE-3", 1)).await;
    problem(kept, 422, "idempotency-key-reused").await;
}

api_test_with_settings!(
    purge,
    expired_keys_are_purged,
    |settings: &mut inventory_api::config::Settings| settings.idempotency_purge_interval = 1
);

/// Two instances on one database: a key used on one is replayed by the
/// other, refused there for a different request, and sends of one key
/// spread over both apply once.
async fn a_key_is_honoured_by_every_instance(app: TestApp) {
    let other = app.another_server();
    let body = product_body("BOTH-1", 50);
    let first = post_with_key(&app, "/v1/products", "both-create", &body).await;
    assert_eq!(first.status(), 201);
    let created: Value = first.json().await.unwrap();

    let send_to = |address: &str, path: &str, key: &str, body: &Value| {
        app.client
            .post(format!("{address}{path}"))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
    };
    let replayed = send_to(&other, "/v1/products", "both-create", &body)
        .await
        .unwrap();
    assert_eq!(replayed.status(), 201);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.json::<Value>().await.unwrap(), created);
    let reused = send_to(
        &other,
        "/v1/products",
        "both-create",
        &product_body("BOTH-2", 1),
    )
    .await
    .unwrap();
    problem(reused, 422, "idempotency-key-reused").await;

    let adjust = format!("{}/stock-adjustments", product_path(&created));
    let sale = json!({"delta": -5, "reason": "sale"});
    let sends: Vec<_> = (0..8)
        .map(|n| {
            let address = if n % 2 == 0 {
                app.address.clone()
            } else {
                other.clone()
            };
            send_to(&address, &adjust, "both-sale", &sale)
        })
        .collect();
    for answer in futures::future::join_all(sends).await {
        let answer = answer.unwrap();
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap();
        match status {
            200 => assert_eq!((&body["stock"], &body["version"]), (&json!(45), &json!(2))),
            409 => assert_eq!(body["type"], "/problems/idempotency-key-in-use"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let read: Value = app.get(&product_path(&created)).await.json().await.unwrap();
    assert_eq!(
        (read["stock"].as_i64(), read["version"].as_i64()),
        (Some(45), Some(2)),
        "applied once"
    );
}
