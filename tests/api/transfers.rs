//! Transfers: stock moved between locations in one transaction, never
//! below 0 at the origin, the product's total unchanged.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_path, TestApp};

api_tests!(
    a_transfer_moves_stock_and_leaves_two_ledger_entries,
    a_transfer_retried_with_its_key_is_applied_once,
    a_transfer_never_takes_the_origin_below_zero,
    concurrent_transfers_and_sales_keep_every_invariant,
);

fn transfer(from: &str, to: &str, quantity: i64) -> Value {
    json!({"sku": "MOVE-1", "from": from, "to": to, "quantity": quantity, "reason": "restock", "reference": "TR-1"})
}

async fn a_transfer_moves_stock_and_leaves_two_ledger_entries(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("MOVE-1", 10).await;
    let response = app
        .post_json("/v1/transfers", &transfer("main", "shop-1", 4))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"3\"");
    let moved: Value = response.json().await.unwrap();
    assert_eq!(
        (
            moved["from"]["location"].as_str(),
            moved["from"]["on_hand"].as_i64(),
            moved["from"]["version"].as_i64()
        ),
        (Some("MAIN"), Some(6), Some(2))
    );
    assert_eq!(
        (
            moved["to"]["location"].as_str(),
            moved["to"]["on_hand"].as_i64(),
            moved["to"]["version"].as_i64()
        ),
        (Some("SHOP-1"), Some(4), Some(1))
    );
    assert_eq!(
        (
            moved["product"]["stock"].as_i64(),
            moved["product"]["version"].as_i64()
        ),
        (Some(10), Some(3))
    );

    let history: Value = app
        .get(&format!("{}/history", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    let ledger: Vec<&Value> = history["items"].as_array().unwrap()[..2]
        .iter()
        .map(|e| &e["ledger"])
        .collect();
    assert_eq!(
        *ledger[1],
        json!({"location": "MAIN", "level_version": 2, "delta": -4, "on_hand": 6, "kind": "transfer-out", "reference": "TR-1"})
    );
    assert_eq!(
        *ledger[0],
        json!({"location": "SHOP-1", "level_version": 1, "delta": 4, "on_hand": 4, "kind": "transfer-in", "reference": "TR-1"})
    );
    assert_eq!(history["items"][0]["operation"], "transfer");
    // Each side is a version of its own; the two together leave the total
    // as it was, and no reader sees the one between (one transaction).
    assert_eq!(
        history["items"][1]["changes"],
        json!({"stock": {"from": 10, "to": 6}})
    );
    assert_eq!(
        history["items"][0]["changes"],
        json!({"stock": {"from": 6, "to": 10}})
    );

    let same_place = app
        .post_json("/v1/transfers", &transfer("SHOP-1", "shop-1", 1))
        .await;
    problem(same_place, 422, "validation").await;
    let both = json!({"sku": "MOVE-1", "product_id": product["id"], "from": "MAIN", "to": "SHOP-1", "quantity": 1, "reason": "x"});
    problem(
        app.post_json("/v1/transfers", &both).await,
        422,
        "validation",
    )
    .await;
    let zero = app
        .post_json("/v1/transfers", &transfer("MAIN", "SHOP-1", 0))
        .await;
    problem(zero, 422, "validation").await;
    let nowhere = app
        .post_json("/v1/transfers", &transfer("MAIN", "NOWHERE", 1))
        .await;
    problem(nowhere, 404, "not-found").await;
    let no_product =
        json!({"sku": "NO-SUCH", "from": "MAIN", "to": "SHOP-1", "quantity": 1, "reason": "x"});
    problem(
        app.post_json("/v1/transfers", &no_product).await,
        404,
        "not-found",
    )
    .await;
}

async fn a_transfer_retried_with_its_key_is_applied_once(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("MOVE-1", 10).await;
    let send = || {
        app.request(reqwest::Method::POST, "/v1/transfers")
            .header("Idempotency-Key", "transfer-2041")
            .json(&transfer("MAIN", "SHOP-1", 3))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let retry = send().await.unwrap();
    assert_eq!(retry.status(), 200);
    assert_eq!(
        retry.json::<Value>().await.unwrap(),
        first,
        "the same answer"
    );
    let levels: Value = app
        .get(&format!("{}/levels", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    let on_hand: Vec<i64> = levels["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["on_hand"].as_i64().unwrap())
        .collect();
    assert_eq!(on_hand, [7, 3], "moved once");
}

async fn a_transfer_never_takes_the_origin_below_zero(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("MOVE-1", 2).await;
    let response = app
        .post_json("/v1/transfers", &transfer("MAIN", "SHOP-1", 3))
        .await;
    let refusal = problem(response, 409, "insufficient-stock").await;
    assert_eq!(
        (
            refusal["level"]["location"].as_str(),
            refusal["level"]["on_hand"].as_i64()
        ),
        (Some("MAIN"), Some(2))
    );
    let now: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        (now["stock"].as_i64(), now["version"].as_i64()),
        (Some(2), Some(1)),
        "nothing applied"
    );
}

const TRANSFERS: usize = 40;
const SALES_PER_LOCATION: usize = 20;

/// 40 transfers back and forth between two locations and 20 sales at
/// each, all at once: whatever order they commit in, the levels add up to
/// the product's total, which is the start less the sales that went
/// through; no level goes below 0; and each change is in the ledger once,
/// each entry following from the one before at its level.
async fn concurrent_transfers_and_sales_keep_every_invariant(app: TestApp) {
    app.create_location("SHOP-1").await;
    let product = app.create_product("MOVE-1", 40).await;
    let path = product_path(&product);
    assert_eq!(
        app.post_json("/v1/transfers", &transfer("MAIN", "SHOP-1", 20))
            .await
            .status(),
        200
    );

    let mut tasks = Vec::new();
    for n in 0..TRANSFERS {
        let (from, to) = if n % 2 == 0 {
            ("MAIN", "SHOP-1")
        } else {
            ("SHOP-1", "MAIN")
        };
        let request = app
            .request(reqwest::Method::POST, "/v1/transfers")
            .json(&transfer(from, to, 1 + (n % 3) as i64));
        tasks.push(tokio::spawn(async move {
            ("transfer", request.send().await.unwrap().status().as_u16())
        }));
    }
    for n in 0..2 * SALES_PER_LOCATION {
        let location = if n % 2 == 0 { "MAIN" } else { "SHOP-1" };
        let sale = json!({"delta": -1, "reason": "sale", "location": location});
        let request = app
            .request(reqwest::Method::POST, &format!("{path}/stock-adjustments"))
            .json(&sale);
        tasks.push(tokio::spawn(async move {
            ("sale", request.send().await.unwrap().status().as_u16())
        }));
    }
    let mut done: HashMap<(&str, u16), usize> = HashMap::new();
    for task in tasks {
        *done.entry(task.await.unwrap()).or_default() += 1;
    }
    let applied = |kind| done.get(&(kind, 200)).copied().unwrap_or(0);
    let refused = |kind| done.get(&(kind, 409)).copied().unwrap_or(0);
    assert_eq!(
        applied("transfer") + refused("transfer"),
        TRANSFERS,
        "{done:?}"
    );
    assert_eq!(
        applied("sale") + refused("sale"),
        2 * SALES_PER_LOCATION,
        "{done:?}"
    );

    let product_now: Value = app.get(&path).await.json().await.unwrap();
    let levels: Value = app
        .get(&format!("{path}/levels"))
        .await
        .json()
        .await
        .unwrap();
    let on_hand: Vec<i64> = levels["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["on_hand"].as_i64().unwrap())
        .collect();
    assert!(on_hand.iter().all(|n| *n >= 0), "{on_hand:?}");
    assert_eq!(
        on_hand.iter().sum::<i64>(),
        product_now["stock"].as_i64().unwrap()
    );
    assert_eq!(
        product_now["stock"].as_i64().unwrap(),
        40 - applied("sale") as i64
    );

    // The ledger, oldest first: one entry per change, each level's entries
    // chained (each on_hand is the one before plus its delta).
    let history: Value = app
        .get(&format!("{path}/history?limit=200"))
        .await
        .json()
        .await
        .unwrap();
    let mut entries: Vec<&Value> = history["items"].as_array().unwrap().iter().collect();
    entries.reverse();
    let versions: Vec<i64> = entries
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    assert_eq!(
        versions,
        (1..=product_now["version"].as_i64().unwrap()).collect::<Vec<_>>()
    );
    let count = |kind: &str| {
        entries
            .iter()
            .filter(|e| e["ledger"]["kind"] == kind)
            .count()
    };
    assert_eq!(count("transfer-out"), 1 + applied("transfer"));
    assert_eq!(count("transfer-in"), 1 + applied("transfer"));
    assert_eq!(count("adjust"), applied("sale"));
    let mut level: HashMap<String, (i64, i64)> = HashMap::new();
    for entry in &entries {
        let ledger = &entry["ledger"];
        let location = ledger["location"].as_str().unwrap().to_owned();
        let (before, version) = level.get(&location).copied().unwrap_or((0, 0));
        let after = ledger["on_hand"].as_i64().unwrap();
        assert_eq!(before + ledger["delta"].as_i64().unwrap(), after, "{entry}");
        assert_eq!(
            ledger["level_version"].as_i64().unwrap(),
            version + 1,
            "{entry}"
        );
        assert!(after >= 0);
        level.insert(location, (after, version + 1));
    }
    assert_eq!(level["MAIN"].0, on_hand[0]);
    assert_eq!(level["SHOP-1"].0, on_hand[1]);
}
