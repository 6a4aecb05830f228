use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{pointers, problem, product_path, TestApp};

api_tests!(
    adjustment_applies_the_delta_and_records_its_reason,
    adjustment_with_expected_version_is_a_compare_and_swap,
    adjustment_with_if_match_is_a_compare_and_swap,
    adjustment_below_zero_is_insufficient_stock,
    adjustment_above_the_maximum_is_422,
    bad_adjustments_are_422_with_every_rule,
    adjustment_of_unknown_or_deleted_product_is_404,
    sixty_sales_of_twenty_five_in_stock_sell_exactly_twenty_five,
    concurrent_deltas_without_versions_sum_exactly,
);

fn adjustments_path(product: &Value) -> String {
    format!("{}/stock-adjustments", product_path(product))
}

async fn adjustment_applies_the_delta_and_records_its_reason(app: TestApp) {
    let product = app.create_product("ADJ-1", 40).await;
    let response = app
        .post_json(
            &adjustments_path(&product),
            &json!({"delta": -3, "reason": " sale #1042 "}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let adjusted: Value = response.json().await.unwrap();
    assert_eq!(
        (adjusted["stock"].as_i64(), adjusted["version"].as_i64()),
        (Some(37), Some(2))
    );

    let history: Value = app
        .get(&format!("{}/history", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    let entry = &history["items"][0];
    assert_eq!(entry["version"], 2);
    assert_eq!(entry["operation"], "stock_adjustment");
    assert_eq!(entry["reason"], "sale #1042");
    assert_eq!(entry["changes"], json!({"stock": {"from": 40, "to": 37}}));

    let delivery = app
        .post_json(
            &adjustments_path(&product),
            &json!({"delta": 10, "reason": "delivery"}),
        )
        .await;
    let delivered: Value = delivery.json().await.unwrap();
    assert_eq!(
        (delivered["stock"].as_i64(), delivered["version"].as_i64()),
        (Some(47), Some(3))
    );
}

async fn adjustment_with_expected_version_is_a_compare_and_swap(app: TestApp) {
    let product = app.create_product("ADJ-2", 40).await;
    let path = adjustments_path(&product);
    let first = app
        .post_json(
            &path,
            &json!({"delta": -1, "reason": "sale", "expected_version": 1}),
        )
        .await;
    assert_eq!(first.status(), 200);

    let stale = app
        .post_json(
            &path,
            &json!({"delta": -1, "reason": "sale", "expected_version": 1}),
        )
        .await;
    assert_eq!(stale.headers()["etag"], "\"2\"");
    let body = problem(stale, 409, "stale-version").await;
    assert_eq!(
        (
            body["your_version"].as_i64(),
            body["current_version"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(body["current"]["stock"], 39);
    assert_eq!(body["conflicting_fields"], json!(["stock"]));
    assert_eq!(body["changes_since"][0]["operation"], "stock_adjustment");

    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(read["stock"], 39, "the stale adjustment was not applied");
}

async fn adjustment_with_if_match_is_a_compare_and_swap(app: TestApp) {
    let product = app.create_product("ADJ-IFM", 40).await;
    let path = adjustments_path(&product);
    let sale = json!({"delta": -1, "reason": "sale"});
    let post = |if_match: &'static str, body: Value| {
        app.request(reqwest::Method::POST, &path)
            .header("If-Match", if_match)
            .json(&body)
            .send()
    };
    assert_eq!(post("\"1\"", sale.clone()).await.unwrap().status(), 200);
    let stale = post("\"1\"", sale.clone()).await.unwrap();
    let body = problem(stale, 412, "stale-version").await;
    assert_eq!(body["current_version"], 2);
    let disagreeing = post(
        "\"2\"",
        json!({"delta": -1, "reason": "sale", "expected_version": 1}),
    )
    .await
    .unwrap();
    let body = problem(disagreeing, 400, "malformed-request").await;
    assert_eq!(pointers(&body), vec!["/expected_version", "If-Match"]);
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        (read["stock"].as_i64(), read["version"].as_i64()),
        (Some(39), Some(2))
    );
}

async fn adjustment_below_zero_is_insufficient_stock(app: TestApp) {
    let product = app.create_product("ADJ-3", 2).await;
    let response = app
        .post_json(
            &adjustments_path(&product),
            &json!({"delta": -3, "reason": "sale"}),
        )
        .await;
    let body = problem(response, 409, "insufficient-stock").await;
    assert_eq!(body["current_stock"], 2);
    assert_eq!(body["current"]["version"], 1);
    assert!(body["detail"].as_str().unwrap().contains("below 0"));
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        (read["stock"].as_i64(), read["version"].as_i64()),
        (Some(2), Some(1))
    );

    let exact = app
        .post_json(
            &adjustments_path(&product),
            &json!({"delta": -2, "reason": "last two"}),
        )
        .await;
    let emptied: Value = exact.json().await.unwrap();
    assert_eq!(emptied["stock"], 0);
}

async fn adjustment_above_the_maximum_is_422(app: TestApp) {
    let product = app.create_product("ADJ-4", 999_999_999).await;
    let response = app
        .post_json(
            &adjustments_path(&product),
            &json!({"delta": 2, "reason": "delivery"}),
        )
        .await;
    let body = problem(response, 422, "validation").await;
    assert_eq!(pointers(&body), vec!["/delta"]);
    assert!(body["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("above the maximum"));
}

async fn bad_adjustments_are_422_with_every_rule(app: TestApp) {
    let product = app.create_product("ADJ-5", 5).await;
    let path = adjustments_path(&product);
    let body = json!({"delta": 0, "reason": "", "expected_version": 0, "note": "x"});
    let errors = problem(app.post_json(&path, &body).await, 422, "validation").await;
    assert_eq!(
        pointers(&errors),
        vec!["/delta", "/reason", "/expected_version", "/note"]
    );

    let cases = [
        (json!({"reason": "r"}), "/delta"),
        (json!({"delta": -1}), "/reason"),
        (json!({"delta": 1.5, "reason": "r"}), "/delta"),
        (json!({"delta": "1", "reason": "r"}), "/delta"),
        (json!({"delta": i64::MIN, "reason": "r"}), "/delta"),
        (json!({"delta": i64::MAX, "reason": "r"}), "/delta"),
        (json!({"delta": 1_000_000_001, "reason": "r"}), "/delta"),
        (json!({"delta": 1, "reason": "r".repeat(201)}), "/reason"),
        (json!({"delta": 1, "reason": "bad\u{1}reason"}), "/reason"),
    ];
    for (body, pointer) in cases {
        let errors = problem(app.post_json(&path, &body).await, 422, "validation").await;
        assert_eq!(pointers(&errors), vec![pointer], "{body}");
    }
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(read["version"], 1);
}

async fn adjustment_of_unknown_or_deleted_product_is_404(app: TestApp) {
    let body = json!({"delta": 1, "reason": "r"});
    let unknown = format!("/v1/products/{}/stock-adjustments", uuid::Uuid::now_v7());
    problem(app.post_json(&unknown, &body).await, 404, "not-found").await;

    let product = app.create_product("ADJ-6", 5).await;
    let deleted = app
        .request(
            reqwest::Method::DELETE,
            &format!("{}?version=1", product_path(&product)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    problem(
        app.post_json(&adjustments_path(&product), &body).await,
        404,
        "not-found",
    )
    .await;
}

/// 60 concurrent sales of one unit against 25 in stock, while a reader
/// watches the stock: exactly 25 sell, the rest are refused, and the stock
/// is never seen below 0.
async fn sixty_sales_of_twenty_five_in_stock_sell_exactly_twenty_five(app: TestApp) {
    let product = app.create_product("SALE-1", 25).await;
    let url = format!("{}{}", app.address, adjustments_path(&product));
    let product_url = format!("{}{}", app.address, product_path(&product));

    let selling = Arc::new(AtomicBool::new(true));
    let lowest_seen = Arc::new(AtomicI64::new(i64::MAX));
    let watcher = {
        let (selling, lowest_seen, client, product_url) = (
            selling.clone(),
            lowest_seen.clone(),
            app.client.clone(),
            product_url.clone(),
        );
        tokio::spawn(async move {
            let mut reads = 0;
            while selling.load(Ordering::SeqCst) && reads < 2000 {
                let read: Value = client
                    .get(&product_url)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                lowest_seen.fetch_min(read["stock"].as_i64().unwrap(), Ordering::SeqCst);
                reads += 1;
            }
        })
    };
    let sales: Vec<_> = (0..60)
        .map(|n| {
            let (client, url) = (app.client.clone(), url.clone());
            tokio::spawn(async move {
                let response = client
                    .post(url)
                    .json(&json!({"delta": -1, "reason": format!("sale {n}")}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let mut sold = 0;
    let mut refused = 0;
    for sale in sales {
        let (status, body) = sale.await.unwrap();
        match status {
            200 => {
                sold += 1;
                lowest_seen.fetch_min(body["stock"].as_i64().unwrap(), Ordering::SeqCst);
            }
            409 => {
                assert_eq!(body["type"], "/problems/insufficient-stock", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    selling.store(false, Ordering::SeqCst);
    watcher.await.unwrap();

    assert_eq!((sold, refused), (25, 35));
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        (read["stock"].as_i64(), read["version"].as_i64()),
        (Some(0), Some(26))
    );
    assert!(
        lowest_seen.load(Ordering::SeqCst) >= 0,
        "stock was never seen below 0"
    );
}

async fn concurrent_deltas_without_versions_sum_exactly(app: TestApp) {
    let product = app.create_product("SUM-1", 500).await;
    let url = format!("{}{}", app.address, adjustments_path(&product));
    let deltas: Vec<i64> = (0..40).map(|n| if n % 2 == 0 { 7 } else { -5 }).collect();
    let tasks: Vec<_> = deltas
        .iter()
        .map(|delta| {
            let (client, url, delta) = (app.client.clone(), url.clone(), *delta);
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({"delta": delta, "reason": "till"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        read["stock"].as_i64().unwrap(),
        500 + deltas.iter().sum::<i64>()
    );
    assert_eq!(read["version"].as_i64().unwrap(), 1 + deltas.len() as i64);
}
