//! Counts that know when they were taken: the stock sync rebases a count
//! on every movement recorded at its level since, so a sale made while the
//! count travelled is kept, not wiped out.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_path, TestApp};

api_tests!(
    a_count_taken_before_a_sale_keeps_the_sale_where_force_loses_it,
    an_older_count_is_superseded_and_an_equal_one_changes_nothing,
    counts_at_main_by_default_and_several_locations_in_one_batch,
    counted_at_must_be_recent_and_alone,
);

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn sync(app: &TestApp, items: Value) -> Value {
    let response = app
        .post_json(
            "/v1/stock-sync",
            &json!({"items": items, "reason": "shelf count"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn sell(app: &TestApp, product: &Value, location: &str, quantity: i64) {
    let sale = json!({"delta": -quantity, "reason": "sale", "location": location});
    let path = format!("{}/stock-adjustments", product_path(product));
    assert_eq!(app.post_json(&path, &sale).await.status(), 200);
}

async fn on_hand(app: &TestApp, product: &Value, location: &str) -> i64 {
    let levels: Value = app
        .get(&format!("{}/levels", product_path(product)))
        .await
        .json()
        .await
        .unwrap();
    let level = levels["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location"] == location)
        .unwrap();
    level["on_hand"].as_i64().unwrap()
}

/// The count race: the books say 10, the shelf holds 11 when counted at
/// T; a sale of 2 is made at T+1; the count reaches the server after it.
async fn a_count_taken_before_a_sale_keeps_the_sale_where_force_loses_it(app: TestApp) {
    app.create_location("SHOP-1").await;
    let timed = app.create_product("COUNT-TIMED", 0).await;
    let forced = app.create_product("COUNT-FORCED", 0).await;
    for product in [&timed, &forced] {
        let path = format!("{}/levels/SHOP-1", product_path(product));
        assert_eq!(
            app.patch_json(&path, &json!({"version": 0, "on_hand": 10}))
                .await
                .status(),
            200
        );
    }
    let counted_at = now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    sell(&app, &timed, "SHOP-1", 2).await;
    sell(&app, &forced, "SHOP-1", 2).await;

    let outcome = sync(
        &app,
        json!([
            {"sku": "COUNT-TIMED", "location": "SHOP-1", "stock": 11, "counted_at": counted_at},
            {"sku": "COUNT-FORCED", "location": "SHOP-1", "stock": 11, "force": true},
        ]),
    )
    .await;
    let timed_result = &outcome["results"][0];
    assert_eq!(timed_result["status"], "rebased");
    let replayed = timed_result["replayed"].as_array().unwrap();
    assert_eq!(replayed.len(), 1, "{timed_result}");
    assert_eq!(
        (replayed[0]["delta"].as_i64(), replayed[0]["kind"].as_str()),
        (Some(-2), Some("adjust"))
    );
    assert_eq!(timed_result["level"]["on_hand"], 9);
    assert_eq!(
        timed_result["level"]["last_counted_at"]
            .as_str()
            .map(|at| &at[..19]),
        Some(&counted_at[..19])
    );
    assert_eq!(outcome["results"][1]["status"], "updated");
    assert_eq!(outcome["summary"]["rebased"], 1);

    assert_eq!(on_hand(&app, &timed, "SHOP-1").await, 9, "the sale is kept");
    assert_eq!(
        on_hand(&app, &forced, "SHOP-1").await,
        11,
        "the forced count wiped the sale out"
    );
    let history: Value = app
        .get(&format!("{}/history", product_path(&timed)))
        .await
        .json()
        .await
        .unwrap();
    let ledger = &history["items"][0]["ledger"];
    assert_eq!(
        (
            ledger["kind"].as_str(),
            ledger["delta"].as_i64(),
            ledger["on_hand"].as_i64()
        ),
        (Some("count"), Some(1), Some(9))
    );

    // A count that finds what the books say since writes nothing, and
    // still says what it replayed.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let counted_at = now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    sell(&app, &timed, "SHOP-1", 1).await;
    let outcome = sync(
        &app,
        json!([{"sku": "COUNT-TIMED", "location": "SHOP-1", "stock": 9, "counted_at": counted_at}]),
    )
    .await;
    assert_eq!(outcome["results"][0]["status"], "rebased");
    assert_eq!(
        outcome["results"][0]["replayed"].as_array().unwrap().len(),
        1
    );
    assert_eq!(outcome["results"][0]["level"]["on_hand"], 8);
}

async fn an_older_count_is_superseded_and_an_equal_one_changes_nothing(app: TestApp) {
    let product = app.create_product("COUNT-ORDER", 10).await;
    let earlier = now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let later = now();
    let first = sync(
        &app,
        json!([{"sku": "COUNT-ORDER", "stock": 7, "counted_at": later}]),
    )
    .await;
    assert_eq!(first["results"][0]["status"], "rebased");
    assert_eq!(first["results"][0]["replayed"], json!([]));
    let version = first["results"][0]["version"].as_i64().unwrap();

    // The earlier count arrives late: it is older than what the shelf said
    // since, so it applies nothing.
    let late = sync(
        &app,
        json!([{"sku": "COUNT-ORDER", "stock": 3, "counted_at": earlier}]),
    )
    .await;
    assert_eq!(late["results"][0]["status"], "superseded");
    assert_eq!(late["results"][0]["level"]["on_hand"], 7);
    assert_eq!(late["summary"]["superseded"], 1);

    tokio::time::sleep(Duration::from_millis(5)).await;
    let same = sync(
        &app,
        json!([{"sku": "COUNT-ORDER", "stock": 7, "counted_at": now()}]),
    )
    .await;
    assert_eq!(same["results"][0]["status"], "unchanged");
    let product_now: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        (
            product_now["stock"].as_i64(),
            product_now["version"].as_i64()
        ),
        (Some(7), Some(version))
    );
}

async fn counts_at_main_by_default_and_several_locations_in_one_batch(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("COUNT-MANY", 10).await;
    let at = now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    sell(&app, &product, "MAIN", 1).await;
    let outcome = sync(
        &app,
        json!([
            {"sku": "COUNT-MANY", "stock": 9, "counted_at": at},
            {"sku": "count-many", "location": "shop-1", "stock": 4, "counted_at": at},
            {"sku": "COUNT-MANY", "location": "NOWHERE", "stock": 1, "force": true},
        ]),
    )
    .await;
    let statuses: Vec<&str> = outcome["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["rebased", "rebased", "location_not_found"]);
    assert_eq!(
        on_hand(&app, &product, "MAIN").await,
        8,
        "9 counted, less the sale of 1 since"
    );
    assert_eq!(on_hand(&app, &product, "SHOP-1").await, 4);
    let product_now: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(product_now["stock"], 12);
    assert_eq!(
        outcome["results"][1]["stock"], 12,
        "the product's total after the batch so far"
    );
}

async fn counted_at_must_be_recent_and_alone(app: TestApp) {
    app.create_product("COUNT-BAD", 1).await;
    let old = (Utc::now() - chrono::TimeDelta::days(8)).to_rfc3339();
    let ahead = (Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let cases = [
        json!({"sku": "COUNT-BAD", "stock": 1, "counted_at": old}),
        json!({"sku": "COUNT-BAD", "stock": 1, "counted_at": ahead}),
        json!({"sku": "COUNT-BAD", "stock": 1, "counted_at": "yesterday"}),
        json!({"sku": "COUNT-BAD", "stock": 1, "counted_at": now(), "force": true}),
        json!({"sku": "COUNT-BAD", "stock": 1, "counted_at": now(), "expected_version": 1}),
    ];
    let pointers = [
        "/items/0/counted_at",
        "/items/0/counted_at",
        "/items/0/counted_at",
        "/items/0",
        "/items/0",
    ];
    for (item, pointer) in cases.into_iter().zip(pointers) {
        let response = app
            .post_json("/v1/stock-sync", &json!({"items": [item]}))
            .await;
        let refusal = problem(response, 422, "validation").await;
        // A broken counted_at is reported there alone, not also as a
        // missing precondition.
        assert_eq!(
            crate::helpers::pointers(&refusal),
            [pointer],
            "{item}: {refusal}"
        );
    }
}
