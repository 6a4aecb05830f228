//! Low stock: a level's reorder point, and one `stock.low` each time a
//! write takes its `available` below it, one `stock.ok` each time one
//! brings it back, as the change list shows them.

use std::time::{Duration, Instant};

use inventory_api::domain::access::Role;
use reqwest::Method;
use serde_json::{json, Value};

use super::{reorder_path, Api};
use crate::api_tests;
use crate::helpers::{pointers, problem, product_path, TestApp};

api_tests!(
    each_crossing_of_the_reorder_point_is_one_event,
    holds_counts_transfers_and_the_point_itself_cross_too,
    below_reorder_point_lists_exactly_the_low_products,
    a_reorder_point_is_a_setting_of_the_level,
);

/// The stock alerts of `product` after feed number `after`, oldest first:
/// (type, the level's available, its reorder point).
async fn alerts(api: &Api, after: i64, product: &Value) -> Vec<(String, i64, Value)> {
    let mut found = Vec::new();
    for item in api.changes_after(after).await {
        let kind = item["type"].as_str().unwrap();
        if !kind.starts_with("stock.") || item["id"] != product["id"] {
            continue;
        }
        let data = &item["data"];
        assert_eq!(data["product_id"], product["id"], "{item}");
        assert_eq!(data["sku"], product["sku"], "{item}");
        assert_eq!(item["version"], data["level"]["version"], "{item}");
        found.push((
            kind.to_owned(),
            data["level"]["available"].as_i64().unwrap(),
            data["level"]["reorder_point"].clone(),
        ));
    }
    found
}

/// Every stock alert after `after` is a StockAlert: `product_id`, `sku`,
/// `low` (true for `stock.low`) and `level`, with its `reorder_point`.
async fn assert_alerts_are_stock_alerts(api: &Api, after: i64) {
    for item in api.changes_after(after).await {
        if !item["type"].as_str().unwrap().starts_with("stock.") {
            continue;
        }
        let kind = item["type"].as_str().unwrap();
        let data = &item["data"];
        let keys: std::collections::BTreeSet<&str> = data
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected = ["level", "low", "product_id", "sku"];
        assert_eq!(keys, std::collections::BTreeSet::from(expected), "{item}");
        assert_eq!(data["low"], kind == "stock.low", "{item}");
        assert!(data["level"]["location"].is_string(), "{item}");
    }
}

fn low(available: i64, point: i64) -> (String, i64, Value) {
    ("stock.low".to_owned(), available, json!(point))
}

fn ok(available: i64, point: i64) -> (String, i64, Value) {
    ("stock.ok".to_owned(), available, json!(point))
}

async fn each_crossing_of_the_reorder_point_is_one_event(app: TestApp) {
    let api = Api::of(&app);
    let product = api.create_product("LOW-1", 20).await;
    let start = api.newest().await;
    let set = api.reorder_point(&product, "MAIN", Some(10)).await;
    assert_eq!(set["level"]["reorder_point"], 10, "{set}");
    assert_eq!(set["level"]["location"], "MAIN");
    assert_eq!(set["level"]["version"], 1, "a setting moves no version");
    assert_eq!(set["product"]["version"], 1, "a setting moves no version");
    assert_eq!(set["product"]["id"], product["id"]);
    for delta in [-5, -6, -2, 5, 1, -4, -1, 2, 1] {
        api.adjust(&product, delta).await;
    }
    // 20 -> 15 -> 9 (low) -> 7 -> 12 (ok) -> 13 -> 9 (low) -> 8 -> 10 (ok) -> 11
    assert_eq!(
        alerts(&api, start, &product).await,
        [low(9, 10), ok(12, 10), low(9, 10), ok(10, 10)]
    );
    // Other products' writes tell nothing of this one.
    let other = api.create_product("LOW-2", 1).await;
    api.adjust(&other, -1).await;
    assert_eq!(alerts(&api, start, &product).await.len(), 4);
    assert!(
        alerts(&api, start, &other).await.is_empty(),
        "no point, no alert"
    );
    assert_alerts_are_stock_alerts(&api, start).await;
}

async fn holds_counts_transfers_and_the_point_itself_cross_too(app: TestApp) {
    let api = Api::of(&app);
    app.create_location("LOW-SHOP").await;
    let product = api.create_product("LOW-3", 10).await;
    let path = product_path(&product);
    let start = api.newest().await;
    api.reorder_point(&product, "MAIN", Some(5)).await;
    let hold = |quantity: i64, expires_in: i64| json!({"sku": "LOW-3", "quantity": quantity, "expires_in": expires_in});
    let end = |hold: &Value, how: &str| format!("/v1/holds/{}/{how}", hold["id"].as_str().unwrap());

    let first = api
        .send(Method::POST, "/v1/holds", &hold(6, 600), 201)
        .await; // 4: low
    api.send(
        Method::POST,
        &end(&first, "release"),
        &json!({"version": 1}),
        200,
    )
    .await; // 10: ok
    let second = api
        .send(Method::POST, "/v1/holds", &hold(6, 600), 201)
        .await; // 4: low
    api.send(
        Method::POST,
        &end(&second, "commit"),
        &json!({"version": 1}),
        200,
    )
    .await; // on hand 4, 4: still low
    let now = api.read(&path).await;
    let version = now["version"].as_i64().unwrap();
    api.send(
        Method::PATCH,
        &path,
        &json!({"version": version, "stock": 12}),
        200,
    )
    .await; // 12: ok, told by the sweep (a PATCH of stock stays one statement)
    let deadline = Instant::now() + Duration::from_secs(10);
    while alerts(&api, start, &product).await.len() < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let levels = api.read(&format!("{path}/levels")).await;
    let main = levels["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|level| level["location"] == "MAIN")
        .unwrap()
        .clone();
    assert_eq!(main["reorder_point"], 5, "{main}");
    let level = json!({"version": main["version"], "on_hand": 3});
    api.send(Method::PATCH, &format!("{path}/levels/MAIN"), &level, 200)
        .await; // 3: low
    api.reorder_point(&product, "MAIN", Some(3)).await; // 3 >= 3: ok
    api.reorder_point(&product, "MAIN", Some(4)).await; // low
    api.reorder_point(&product, "MAIN", None).await; // no point: ok
    api.reorder_point(&product, "MAIN", Some(2)).await; // 3 >= 2: nothing
    let transfer = json!({"sku": "LOW-3", "from": "MAIN", "to": "LOW-SHOP", "quantity": 2, "reason": "restock"});
    api.send(Method::POST, "/v1/transfers", &transfer, 200)
        .await; // 1: low
    let count = json!({"items": [{"sku": "LOW-3", "stock": 10, "force": true}], "reason": "count"});
    api.send(Method::POST, "/v1/stock-sync", &count, 200).await; // 10: ok

    // A hold that expires: low at once, ok with the expiry sweep.
    api.send(Method::POST, "/v1/holds", &hold(9, 1), 201).await; // 1: low

    let mut expected = vec![
        low(4, 5),
        ok(10, 5),
        low(4, 5),
        ok(12, 5),
        low(3, 5),
        ok(3, 3),
        low(3, 4),
        ok(3, 0),
        low(1, 2),
        ok(10, 2),
        low(1, 2),
        ok(10, 2),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let seen = alerts(&api, start, &product).await;
        if seen.len() >= expected.len() || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Cleared, the point the level crossed back over is not asked after.
    assert!(seen.len() > 7, "{seen:?}");
    expected[7].2 = seen[7].2.clone();
    assert_eq!(seen, expected);
    // The SHOP level has no point: nothing was told of it.
    for item in api.changes_after(start).await {
        if item["type"].as_str().unwrap().starts_with("stock.") {
            assert_eq!(item["data"]["level"]["location"], "MAIN", "{item}");
        }
    }
    assert_alerts_are_stock_alerts(&api, start).await;
}

async fn below_reorder_point_lists_exactly_the_low_products(app: TestApp) {
    let api = Api::of(&app);
    app.create_location("LIST-SHOP").await;
    let plenty = api.create_product("LIST-PLENTY", 10).await;
    let short = api.create_product("LIST-SHORT", 3).await;
    api.create_product("LIST-NONE", 0).await;
    let elsewhere = api.create_product("LIST-ELSEWHERE", 10).await;
    let shorter = api.create_product("LIST-SHORTER", 1).await;
    api.reorder_point(&plenty, "MAIN", Some(5)).await;
    api.reorder_point(&short, "MAIN", Some(5)).await;
    api.reorder_point(&shorter, "MAIN", Some(5)).await;
    // Low at the shop alone; plenty at MAIN.
    api.send(
        Method::PATCH,
        &format!("{}/levels/LIST-SHOP", product_path(&elsewhere)),
        &json!({"version": 0, "on_hand": 1}),
        200,
    )
    .await;
    api.reorder_point(&elsewhere, "LIST-SHOP", Some(2)).await;

    let ids = |products: &[&Value]| -> Vec<Value> {
        products
            .iter()
            .map(|product| product["id"].clone())
            .collect()
    };
    let listed = |query: &str| {
        let api = api.clone();
        let query = query.to_owned();
        async move {
            let mut seen = Vec::new();
            let mut path = format!("/v1/products?{query}");
            for _ in 0..20 {
                let page = api.read(&path).await;
                for product in page["items"].as_array().unwrap() {
                    seen.push(product["id"].clone());
                }
                match page["next_cursor"].as_str() {
                    Some(cursor) => path = format!("/v1/products?{query}&cursor={cursor}"),
                    None => return seen,
                }
            }
            panic!("too many pages of {query}");
        }
    };
    let low = ids(&[&short, &elsewhere, &shorter]);
    assert_eq!(listed("below_reorder_point=true").await, low);
    assert_eq!(listed("below_reorder_point=true&limit=1").await, low);
    assert_eq!(listed("below_reorder_point=false").await.len(), 5);
    assert_eq!(listed("limit=200").await.len(), 5);
    assert_eq!(
        listed("below_reorder_point=true&q=shorter").await,
        ids(&[&shorter])
    );
    assert_eq!(
        listed("below_reorder_point=true&sku=list-short").await,
        ids(&[&short])
    );

    api.adjust(&short, 2).await; // 5: no longer low
    assert_eq!(
        listed("below_reorder_point=true").await,
        ids(&[&elsewhere, &shorter])
    );
    api.reorder_point(&shorter, "MAIN", None).await;
    assert_eq!(listed("below_reorder_point=true").await, ids(&[&elsewhere]));
    for bad in [
        "below_reorder_point=yes",
        "below_reorder_point=",
        "below_reorder_point=1",
    ] {
        problem(
            app.get(&format!("/v1/products?{bad}")).await,
            400,
            "malformed-request",
        )
        .await;
    }
}

async fn a_reorder_point_is_a_setting_of_the_level(app: TestApp) {
    let api = Api::of(&app);
    app.create_location("SET-SHOP").await;
    let product = api.create_product("SET-1", 10).await;
    let levels = api
        .read(&format!("{}/levels", product_path(&product)))
        .await;
    let main = &levels["items"][0];
    assert!(
        main.get("reorder_point").is_some_and(Value::is_null),
        "always present, null when none: {main}"
    );

    let path = reorder_path(&product, "main");
    let first = api
        .send(Method::PUT, &path, &json!({"reorder_point": 7}), 200)
        .await;
    let again = api
        .send(Method::PUT, &path, &json!({"reorder_point": 7}), 200)
        .await;
    assert_eq!(
        first["level"], again["level"],
        "the same PUT, the same state"
    );
    assert_eq!(first["product"]["version"], 1);
    let last = api
        .send(Method::PUT, &path, &json!({"reorder_point": 0}), 200)
        .await;
    assert_eq!(last["level"]["reorder_point"], 0, "the last one wins");
    let top = api
        .send(
            Method::PUT,
            &path,
            &json!({"reorder_point": 1_000_000_000}),
            200,
        )
        .await;
    assert_eq!(top["level"]["reorder_point"], 1_000_000_000);
    let cleared = api
        .send(Method::PUT, &path, &json!({"reorder_point": null}), 200)
        .await;
    assert_eq!(cleared["level"]["reorder_point"], Value::Null);
    assert_eq!(cleared["level"]["version"], 1);
    let read = api.read(&product_path(&product)).await;
    assert_eq!(read["version"], 1, "no version moved: {read}");
    assert_eq!(
        app.history_versions(&product_path(&product)).await,
        [1],
        "nothing in the history"
    );

    for bad in [
        json!({"reorder_point": -1}),
        json!({"reorder_point": 1_000_000_001}),
        json!({"reorder_point": "5"}),
        json!({"reorder_point": 1.5}),
        json!({}),
    ] {
        let refusal = problem(
            app.request(Method::PUT, &path)
                .json(&bad)
                .send()
                .await
                .unwrap(),
            422,
            "validation",
        )
        .await;
        assert_eq!(pointers(&refusal), ["/reorder_point"], "{bad}: {refusal}");
    }
    let unknown = json!({"reorder_point": 5, "colour": "red"});
    let refusal = problem(
        app.request(Method::PUT, &path)
            .json(&unknown)
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    assert_eq!(pointers(&refusal), ["/colour"]);

    let nowhere = reorder_path(&product, "NOWHERE");
    let response = app
        .request(Method::PUT, &nowhere)
        .json(&json!({"reorder_point": 1}))
        .send()
        .await
        .unwrap();
    problem(response, 404, "not-found").await;
    let no_product = format!(
        "/v1/products/{}/levels/MAIN/reorder-point",
        uuid::Uuid::now_v7()
    );
    let response = app
        .request(Method::PUT, &no_product)
        .json(&json!({"reorder_point": 1}))
        .send()
        .await
        .unwrap();
    problem(response, 404, "not-found").await;

    // Managers set it; a manager limited to a location, only there.
    let level = json!({"version": 0, "on_hand": 2});
    let shop_level = format!("{}/levels/SET-SHOP", product_path(&product));
    api.send(Method::PATCH, &shop_level, &level, 200).await;
    let sync = app.client_for(&app.make_token(Role::Sync, "low-sync").secret);
    let limited = app.make_limited_token(Role::Manager, "shop-manager", &["set-shop"]);
    let limited = app.client_for(&limited.secret);
    let body = json!({"reorder_point": 3});
    let sent = sync.put(api.url(&path)).json(&body).send().await.unwrap();
    problem(sent, 403, "forbidden").await;
    let sent = limited
        .put(api.url(&path))
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(sent, 403, "forbidden").await;
    let shop = reorder_path(&product, "SET-SHOP");
    let sent = limited
        .put(api.url(&shop))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let set: Value = sent.json().await.unwrap();
    assert_eq!(
        (&set["level"]["location"], &set["level"]["reorder_point"]),
        (&json!("SET-SHOP"), &json!(3))
    );
}
