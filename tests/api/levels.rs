//! Levels: each product's stock at each location, written by
//! compare-and-swap on the level's own version, summed into the product.

use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_path, release_writes, TestApp};

api_tests!(
    a_level_write_moves_the_level_and_the_product,
    a_stale_level_write_gets_the_level_and_its_ledger_since,
    level_writers_in_flight_together_see_one_win,
    the_product_stock_is_written_only_while_it_is_all_at_main,
    adjustments_at_a_location_guard_that_level,
    a_location_lists_every_product_level,
);

async fn levels(app: &TestApp, product: &Value) -> Value {
    let url = format!("{}/levels", product_path(product));
    app.get(&url).await.json().await.unwrap()
}

async fn a_level_write_moves_the_level_and_the_product(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("LEVEL-1", 10).await;
    let path = format!("{}/levels/shop-1", product_path(&product));

    let response = app
        .patch_json(
            &path,
            &json!({"version": 0, "on_hand": 4, "reason": "opening count", "reference": "C-1"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let written: Value = response.json().await.unwrap();
    assert_eq!(
        (
            written["level"]["on_hand"].as_i64(),
            written["level"]["version"].as_i64()
        ),
        (Some(4), Some(1))
    );
    assert_eq!(
        (
            written["product"]["stock"].as_i64(),
            written["product"]["version"].as_i64()
        ),
        (Some(14), Some(2))
    );

    let all = levels(&app, &product).await;
    let shown: Vec<(String, i64, i64)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["location"].as_str().unwrap().to_owned(),
                l["on_hand"].as_i64().unwrap(),
                l["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [("MAIN".to_owned(), 10, 1), ("SHOP-1".to_owned(), 4, 1)]
    );

    let history: Value = app
        .get(&format!("{}/history", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    let newest = &history["items"][0];
    assert_eq!(newest["operation"], "level_update");
    assert_eq!(newest["reason"], "opening count");
    assert_eq!(newest["changes"], json!({"stock": {"from": 10, "to": 14}}));
    assert_eq!(
        newest["ledger"],
        json!({"location": "SHOP-1", "level_version": 1, "delta": 4, "on_hand": 4, "kind": "set", "reference": "C-1"})
    );

    // The same value again changes nothing: no version moves.
    let same = app
        .patch_json(&path, &json!({"version": 1, "on_hand": 4}))
        .await;
    assert_eq!(same.status(), 200);
    let same: Value = same.json().await.unwrap();
    assert_eq!(
        (
            same["level"]["version"].as_i64(),
            same["product"]["version"].as_i64()
        ),
        (Some(1), Some(2))
    );

    // A price edit based on the version before the level write is stale.
    let stale = app
        .patch_json(
            &product_path(&product),
            &json!({"version": 1, "price_minor": 999}),
        )
        .await;
    let conflict = problem(stale, 409, "stale-version").await;
    assert_eq!(conflict["changes_since"][0]["ledger"]["location"], "SHOP-1");
    assert_eq!(conflict["rebase_safe"], true, "the price was not touched");

    let nowhere = app
        .patch_json(
            &format!("{}/levels/NOWHERE", product_path(&product)),
            &json!({"version": 0, "on_hand": 1}),
        )
        .await;
    problem(nowhere, 404, "not-found").await;
    let unversioned = app.patch_json(&path, &json!({"on_hand": 1})).await;
    problem(unversioned, 428, "version-required").await;
    let negative = app
        .patch_json(&path, &json!({"version": 1, "on_hand": -1}))
        .await;
    problem(negative, 422, "validation").await;
}

async fn a_stale_level_write_gets_the_level_and_its_ledger_since(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("LEVEL-2", 0).await;
    let path = format!("{}/levels/SHOP-1", product_path(&product));
    assert_eq!(
        app.patch_json(&path, &json!({"version": 0, "on_hand": 10}))
            .await
            .status(),
        200
    );
    let sale = json!({"delta": -3, "reason": "sale #7", "location": "SHOP-1"});
    let adjustments = format!("{}/stock-adjustments", product_path(&product));
    assert_eq!(app.post_json(&adjustments, &sale).await.status(), 200);

    // Set from version 1, made before the sale: the sale is in the way.
    let stale = app
        .patch_json(&path, &json!({"version": 1, "on_hand": 12}))
        .await;
    assert_eq!(stale.headers()["etag"], "\"2\"");
    let conflict = problem(stale, 409, "stale-version").await;
    assert_eq!(
        (
            conflict["your_version"].as_i64(),
            conflict["current_version"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(conflict["current"]["on_hand"], 7);
    let since = conflict["changes_since"].as_array().unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0]["reason"], "sale #7");
    assert_eq!(since[0]["ledger"]["delta"], -3);
    assert_eq!(conflict["conflicting_fields"], json!(["on_hand"]));
    assert_eq!(conflict["rebase_safe"], false);

    let if_match = app
        .patch_if_match(&path, "\"1\"", &json!({"on_hand": 12}))
        .await;
    problem(if_match, 412, "stale-version").await;
    let current = app
        .patch_if_match(&path, "\"2\"", &json!({"on_hand": 12}))
        .await;
    assert_eq!(current.status(), 200);
    let product_now: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(product_now["stock"], 12);
}

/// Two writes of one level from the same version, held at the lock until
/// both are in flight: one wins, the other gets the winner's change.
async fn level_writers_in_flight_together_see_one_win(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("LEVEL-RACE", 5).await;
    let id = product["id"].as_str().unwrap().to_owned();
    let path = format!("{}/levels/SHOP-1", product_path(&product));
    assert_eq!(
        app.patch_json(&path, &json!({"version": 0, "on_hand": 3}))
            .await
            .status(),
        200
    );

    let blocker = app.hold_writes(&id);
    let send = |on_hand: i64| {
        let (client, url) = (app.client.clone(), format!("{}{path}", app.address));
        tokio::spawn(async move {
            let response = client
                .patch(url)
                .json(&json!({"version": 1, "on_hand": on_hand}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (on_hand, status, response.json::<Value>().await.unwrap())
        })
    };
    let (first, second) = (send(8), send(9));
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    release_writes(blocker);
    let mut answers = vec![first.await.unwrap(), second.await.unwrap()];
    answers.sort_by_key(|(_, status, _)| *status);
    let [(winner, 200, won), (_, 409, refused)] = &answers[..] else {
        panic!("expected one 200 and one 409, got {answers:?}");
    };
    assert_eq!(won["level"]["version"], 2);
    assert_eq!(refused["current"]["on_hand"], *winner);
    assert_eq!(refused["changes_since"][0]["ledger"]["on_hand"], *winner);
    assert_eq!(refused["conflicting_fields"], json!(["on_hand"]));
    let stored: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(stored["stock"], 5 + winner);
}

async fn the_product_stock_is_written_only_while_it_is_all_at_main(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("SPLIT-1", 10).await;
    let path = product_path(&product);
    // All at MAIN: PATCH of stock sets MAIN's level, as before locations.
    let response = app
        .patch_json(&path, &json!({"version": 1, "stock": 12}))
        .await;
    assert_eq!(response.status(), 200);
    let all = levels(&app, &product).await;
    assert_eq!(
        (
            all["items"][0]["on_hand"].as_i64(),
            all["items"][0]["version"].as_i64()
        ),
        (Some(12), Some(2))
    );

    let transfer = json!({"product_id": product["id"], "from": "MAIN", "to": "SHOP-1", "quantity": 2, "reason": "restock"});
    assert_eq!(
        app.post_json("/v1/transfers", &transfer).await.status(),
        200
    );
    let response = app
        .patch_json(&path, &json!({"version": 4, "stock": 20}))
        .await;
    let refusal = problem(response, 409, "stock-at-several-locations").await;
    let held: Vec<i64> = refusal["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["on_hand"].as_i64().unwrap())
        .collect();
    assert_eq!(held, [10, 2]);
    // Other fields still change, and stock sent unchanged is no write of it.
    let response = app
        .patch_json(
            &path,
            &json!({"version": 4, "stock": 12, "name": "Split mug"}),
        )
        .await;
    assert_eq!(response.status(), 200);

    let back = json!({"product_id": product["id"], "from": "SHOP-1", "to": "MAIN", "quantity": 2, "reason": "return"});
    assert_eq!(app.post_json("/v1/transfers", &back).await.status(), 200);
    let response = app
        .patch_json(&path, &json!({"version": 7, "stock": 20}))
        .await;
    assert_eq!(response.status(), 200, "all at MAIN again");
}

async fn adjustments_at_a_location_guard_that_level(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("ADJ-LOC", 50).await;
    let adjustments = format!("{}/stock-adjustments", product_path(&product));
    let delivery =
        json!({"delta": 4, "reason": "delivery", "location": "SHOP-1", "reference": "DN-1"});
    let response = app.post_json(&adjustments, &delivery).await;
    assert_eq!(response.status(), 200);
    let adjusted: Value = response.json().await.unwrap();
    assert_eq!(
        (
            adjusted["stock"].as_i64(),
            adjusted["level"]["on_hand"].as_i64()
        ),
        (Some(54), Some(4))
    );

    // MAIN holds 50, but SHOP-1 only 4: the shop's sale of 5 is refused.
    let sale = json!({"delta": -5, "reason": "sale", "location": "SHOP-1"});
    let refusal = problem(
        app.post_json(&adjustments, &sale).await,
        409,
        "insufficient-stock",
    )
    .await;
    assert_eq!(refusal["level"]["location"], "SHOP-1");
    assert_eq!(refusal["level"]["on_hand"], 4);
    assert_eq!(refusal["current_stock"], 54);

    // With a location, expected_version is the level's.
    let guarded =
        json!({"delta": -1, "reason": "sale", "location": "SHOP-1", "expected_version": 2});
    let stale = app.post_json(&adjustments, &guarded).await;
    let conflict = problem(stale, 409, "stale-version").await;
    assert_eq!(conflict["current"]["location"], "SHOP-1");
    let guarded =
        json!({"delta": -1, "reason": "sale", "location": "SHOP-1", "expected_version": 1});
    assert_eq!(app.post_json(&adjustments, &guarded).await.status(), 200);
    // Without one, the product's, as before locations.
    let guarded = json!({"delta": -1, "reason": "sale", "expected_version": 3});
    assert_eq!(app.post_json(&adjustments, &guarded).await.status(), 200);
    let history: Value = app
        .get(&format!("{}/history", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"][2]["ledger"]["reference"], "DN-1");
}

async fn a_location_lists_every_product_level(app: TestApp) {
    app.create_location("SHOP-1").await;
    let mug = app.create_product("LIST-MUG", 3).await;
    app.create_product("LIST-BOWL", 1).await;
    let path = format!("{}/levels/SHOP-1", product_path(&mug));
    assert_eq!(
        app.patch_json(&path, &json!({"version": 0, "on_hand": 6}))
            .await
            .status(),
        200
    );

    let page: Value = app
        .get("/v1/locations/shop-1/levels")
        .await
        .json()
        .await
        .unwrap();
    let rows: Vec<(&str, i64, i64)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["product"]["sku"].as_str().unwrap(),
                row["level"]["on_hand"].as_i64().unwrap(),
                row["level"]["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [("LIST-MUG", 6, 1), ("LIST-BOWL", 0, 0)]);
    let page: Value = app
        .get("/v1/locations/SHOP-1/levels?sku=list-bowl")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let page: Value = app
        .get("/v1/locations/SHOP-1/levels?q=MUG&limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["product"]["sku"], "LIST-MUG");
    problem(
        app.get("/v1/locations/NOWHERE/levels").await,
        404,
        "not-found",
    )
    .await;
}
