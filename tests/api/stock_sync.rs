use reqwest::Method;
use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{pointers, problem, product_path, TestApp};

api_tests!(
    best_effort_batch_answers_every_item_in_order,
    atomic_batch_with_a_stale_item_changes_nothing,
    atomic_batch_without_failures_applies_every_item,
    every_updated_item_gets_one_version_and_one_history_entry,
    bad_batches_are_422,
    oversized_batch_is_413,
    a_dry_run_answers_every_item_and_applies_nothing,
);

async fn a_dry_run_answers_every_item_and_applies_nothing(app: TestApp) {
    let product = app.create_product("DRY-1", 10).await;
    let items = json!([
        {"sku": "DRY-1", "stock": 4, "force": true},
        {"sku": "DRY-1", "location": "NOWHERE", "stock": 1, "force": true},
        {"sku": "NO-SUCH", "stock": 1, "force": true},
    ]);
    let response = sync(&app, &json!({"items": items, "dry_run": true})).await;
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    let statuses: Vec<&str> = outcome["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["updated", "location_not_found", "not_found"]);
    assert_eq!(
        (
            outcome["results"][0]["stock"].as_i64(),
            outcome["results"][0]["version"].as_i64()
        ),
        (Some(4), Some(2))
    );

    let now = read(&app, &product).await;
    assert_eq!(
        (now["stock"].as_i64(), now["version"].as_i64()),
        (Some(10), Some(1)),
        "nothing applied"
    );
    assert_eq!(app.history_versions(&product_path(&product)).await, [1]);
    // The same batch for real does what the dry run said.
    let response = sync(&app, &json!({"items": [items[0].clone()]})).await;
    let applied: Value = response.json().await.unwrap();
    assert_eq!(applied["results"][0]["stock"], 4);
}

async fn sync(app: &TestApp, body: &Value) -> reqwest::Response {
    app.post_json("/v1/stock-sync", body).await
}

async fn read(app: &TestApp, product: &Value) -> Value {
    app.get(&product_path(product)).await.json().await.unwrap()
}

async fn best_effort_batch_answers_every_item_in_order(app: TestApp) {
    let blue = app.create_product("MUG-BLUE-01", 40).await;
    let red = app.create_product("MUG-RED-01", 12).await;
    let green = app.create_product("MUG-GREEN-01", 5).await;
    app.patch_json(&product_path(&green), &json!({"version": 1, "stock": 6}))
        .await;

    let body = json!({
        "items": [
            {"sku": "mug-blue-01", "stock": 35, "expected_version": 1},
            {"sku": "MUG-RED-01", "stock": 12, "force": true},
            {"sku": "MUG-GREEN-01", "stock": 9, "expected_version": 1},
            {"sku": "NO-SUCH-SKU", "stock": 1, "force": true},
        ],
        "reason": "nightly count"
    });
    let response = sync(&app, &body).await;
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    let results = outcome["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);

    let level = |result: &Value| result["level"].clone();
    assert_eq!(
        results[0],
        json!({"sku": "mug-blue-01", "status": "updated", "product_id": blue["id"], "version": 2, "stock": 35, "level": level(&results[0])})
    );
    assert_eq!(
        (
            level(&results[0])["location"].as_str(),
            level(&results[0])["on_hand"].as_i64(),
            level(&results[0])["version"].as_i64()
        ),
        (Some("MAIN"), Some(35), Some(2))
    );
    assert_eq!(
        results[1],
        json!({"sku": "MUG-RED-01", "status": "unchanged", "product_id": red["id"], "version": 1, "stock": 12, "level": level(&results[1])})
    );
    assert_eq!(
        level(&results[1])["version"],
        1,
        "unchanged keeps the level's version"
    );
    assert_eq!(results[2]["status"], "conflict");
    assert_eq!(results[2]["current_version"], 2);
    assert_eq!(results[2]["current"]["stock"], 6);
    assert_eq!(
        results[3],
        json!({"sku": "NO-SUCH-SKU", "status": "not_found"})
    );
    assert_eq!(
        outcome["summary"],
        json!({"updated": 1, "rebased": 0, "unchanged": 1, "superseded": 0, "conflict": 1, "not_found": 1})
    );

    let blue_now = read(&app, &blue).await;
    assert_eq!(
        (blue_now["stock"].as_i64(), blue_now["version"].as_i64()),
        (Some(35), Some(2))
    );
    assert_eq!(
        read(&app, &red).await["version"],
        1,
        "unchanged keeps its version"
    );
    assert_eq!(
        read(&app, &green).await["stock"],
        6,
        "the conflicting item was not applied"
    );

    let history: Value = app
        .get(&format!("{}/history", product_path(&blue)))
        .await
        .json()
        .await
        .unwrap();
    let entry = &history["items"][0];
    assert_eq!(
        (entry["operation"].as_str(), entry["reason"].as_str()),
        (Some("stock_sync"), Some("nightly count"))
    );
    assert_eq!(entry["changes"], json!({"stock": {"from": 40, "to": 35}}));
}

async fn atomic_batch_with_a_stale_item_changes_nothing(app: TestApp) {
    let first = app.create_product("ATOM-1", 10).await;
    let second = app.create_product("ATOM-2", 20).await;
    app.patch_json(
        &product_path(&second),
        &json!({"version": 1, "name": "Renamed"}),
    )
    .await;

    let body = json!({
        "mode": "atomic",
        "items": [
            {"sku": "ATOM-1", "stock": 11, "expected_version": 1},
            {"sku": "ATOM-2", "stock": 21, "expected_version": 1},
            {"sku": "ATOM-3", "stock": 1, "force": true},
        ]
    });
    let response = sync(&app, &body).await;
    let conflict = problem(response, 409, "stock-sync-conflict").await;
    let statuses: Vec<&str> = conflict["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["not_applied", "conflict", "not_found"]);
    assert_eq!(conflict["results"][1]["current_version"], 2);
    assert_eq!(
        conflict["summary"],
        json!({"updated": 0, "rebased": 0, "unchanged": 0, "superseded": 0, "conflict": 1, "not_found": 1})
    );

    let first_now = read(&app, &first).await;
    assert_eq!(
        (first_now["stock"].as_i64(), first_now["version"].as_i64()),
        (Some(10), Some(1))
    );
    let history: Value = app
        .get(&format!("{}/history", product_path(&first)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        1,
        "no history either"
    );
}

async fn atomic_batch_without_failures_applies_every_item(app: TestApp) {
    let first = app.create_product("ALL-1", 10).await;
    let second = app.create_product("ALL-2", 20).await;
    let body = json!({"mode": "atomic", "items": [
        {"sku": "ALL-1", "stock": 0, "expected_version": 1},
        {"sku": "ALL-2", "stock": 25, "force": true},
    ]});
    let response = sync(&app, &body).await;
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(
        outcome["summary"],
        json!({"updated": 2, "rebased": 0, "unchanged": 0, "superseded": 0, "conflict": 0, "not_found": 0})
    );
    assert_eq!(read(&app, &first).await["stock"], 0);
    assert_eq!(read(&app, &second).await["stock"], 25);
}

async fn every_updated_item_gets_one_version_and_one_history_entry(app: TestApp) {
    let mut products = Vec::new();
    for n in 0..50 {
        products.push(app.create_product(&format!("BULK-{n:03}"), n).await);
    }
    let items: Vec<Value> = (0..50)
        .map(|n| json!({"sku": format!("bulk-{n:03}"), "stock": n * 2, "force": true}))
        .collect();
    let outcome: Value = sync(&app, &json!({"items": items}))
        .await
        .json()
        .await
        .unwrap();
    // BULK-000 had stock 0, which 0 * 2 leaves as it is.
    assert_eq!(
        outcome["summary"],
        json!({"updated": 49, "rebased": 0, "unchanged": 1, "superseded": 0, "conflict": 0, "not_found": 0})
    );
    for (n, product) in products.iter().enumerate() {
        let n = n as i64;
        let now = read(&app, product).await;
        let expected_version = if n == 0 { 1 } else { 2 };
        assert_eq!(
            (now["stock"].as_i64(), now["version"].as_i64()),
            (Some(n * 2), Some(expected_version))
        );
        let versions = app.history_versions(&product_path(product)).await;
        assert_eq!(versions, (1..=expected_version).rev().collect::<Vec<_>>());
    }
}

async fn bad_batches_are_422(app: TestApp) {
    app.create_product("BAD-1", 1).await;
    let cases = [
        (
            json!({"items": [{"sku": "BAD-1", "stock": 2}]}),
            vec!["/items/0"],
        ),
        (
            json!({"items": [{"sku": "BAD-1", "stock": 2, "force": false}]}),
            vec!["/items/0"],
        ),
        (
            json!({"items": [{"sku": "BAD-1", "stock": 2, "force": true, "expected_version": 1}]}),
            vec!["/items/0"],
        ),
        (
            json!({"items": [{"sku": "BAD-1", "stock": 2, "force": true}, {"sku": "bad-1", "stock": 3, "force": true}]}),
            vec!["/items/1/sku"],
        ),
        (json!({"items": []}), vec!["/items"]),
        (json!({}), vec!["/items"]),
        (
            json!({"items": [{"sku": "BAD-1", "stock": -1, "force": true, "colour": "red"}]}),
            vec!["/items/0/stock", "/items/0/colour"],
        ),
        (
            json!({"items": [{"sku": "BAD-1", "stock": 2, "force": true}], "mode": "all_or_nothing"}),
            vec!["/mode"],
        ),
        (json!({"items": ["BAD-1"]}), vec!["/items/0"]),
    ];
    for (body, expected) in cases {
        let errors = problem(sync(&app, &body).await, 422, "validation").await;
        assert_eq!(pointers(&errors), expected, "{body}");
    }
    let too_many: Vec<Value> = (0..1001)
        .map(|n| json!({"sku": format!("S-{n}"), "stock": 1, "force": true}))
        .collect();
    let errors = problem(
        sync(&app, &json!({"items": too_many})).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(pointers(&errors), vec!["/items"]);
    assert!(errors["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("at most 1000 items"));
}

async fn oversized_batch_is_413(app: TestApp) {
    let padding = "x".repeat(2 * 1024 * 1024);
    let body = format!(
        r#"{{"items": [{{"sku": "BIG", "stock": 1, "force": true}}], "reason": "{padding}"}}"#
    );
    let response = app
        .request(Method::POST, "/v1/stock-sync")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    problem(response, 413, "payload-too-large").await;
}
