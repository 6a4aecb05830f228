//! What others hear of holds: a sale under them is an `oversold` event,
//! and every change of a hold is an event of its own.

use serde_json::{json, Value};

use super::{commit, create_hold, hold_of, hold_path, ids, level_at, release, stock_of, HOLDS};
use crate::api_tests;
use crate::events::EventReader;
use crate::helpers::{problem, product_path, TestApp};

api_tests!(
    a_sale_under_holds_oversells_and_says_which_holds,
    every_change_of_a_hold_reaches_the_event_stream,
);

/// A sale may take stock from under holds: available goes below 0, new
/// holds are refused, and an `oversold` event names the holds at that
/// level, oldest first, so someone can decide which order to short.
async fn a_sale_under_holds_oversells_and_says_which_holds(app: TestApp) {
    let product = app.create_product("HOLD-OVER", 10).await;
    let url = format!("{}/v1/events", app.address);
    let mut stream = EventReader::open(&app.client, url, None).await;
    assert_eq!(stream.next().await.name, "ready");

    let older = create_hold(&app, &hold_of("HOLD-OVER", 4)).await;
    let newer = create_hold(&app, &hold_of("HOLD-OVER", 3)).await;
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 7, 3)
    );

    let sale = json!({"delta": -6, "reason": "sale"});
    let path = format!("{}/stock-adjustments", product_path(&product));
    let response = app.post_json(&path, &sale).await;
    assert_eq!(response.status(), 200, "holds never refuse a sale");
    let sold: Value = response.json().await.unwrap();
    assert_eq!(stock_of(&sold["level"]), (4, 7, -3));
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (4, 7, -3)
    );

    let refusal = problem(
        app.post_json(HOLDS, &hold_of("HOLD-OVER", 1)).await,
        409,
        "insufficient-available",
    )
    .await;
    assert_eq!(stock_of(&refusal["level"]), (4, 7, -3));

    let mut oversold = None;
    for _ in 0..20 {
        let event = stream.next().await;
        if event.name == "oversold" {
            oversold = Some(event.data);
            break;
        }
    }
    let oversold = oversold.expect("an oversold event");
    assert_eq!(
        (
            &oversold["product_id"],
            &oversold["sku"],
            &oversold["location"]
        ),
        (&product["id"], &json!("HOLD-OVER"), &json!("MAIN"))
    );
    assert_eq!(stock_of(&oversold), (4, 7, -3));
    let holds = oversold["holds"].as_array().unwrap();
    assert_eq!(
        ids(holds),
        [older["id"].as_str().unwrap(), newer["id"].as_str().unwrap()],
        "oldest first"
    );
    assert!(holds.iter().all(|hold| hold["status"] == "active"));
}

/// Each change of a hold is an `event: hold` carrying the hold as changed,
/// the sweeper's expiry included.
async fn every_change_of_a_hold_reaches_the_event_stream(app: TestApp) {
    app.create_product("HOLD-FEED", 10).await;
    let url = format!("{}/v1/events", app.address);
    let mut stream = EventReader::open(&app.client, url, None).await;
    assert_eq!(stream.next().await.name, "ready");

    let kept = create_hold(&app, &hold_of("HOLD-FEED", 2)).await;
    let patched = app
        .patch_json(&hold_path(&kept), &json!({"version": 1, "quantity": 3}))
        .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(commit(&app, &kept, 2).await.status(), 200);
    let dropped = create_hold(&app, &hold_of("HOLD-FEED", 1)).await;
    assert_eq!(release(&app, &dropped, 1).await.status(), 200);
    let brief = create_hold(
        &app,
        &json!({"sku": "HOLD-FEED", "quantity": 1, "expires_in": 1}),
    )
    .await;

    // (hold, status, quantity, version) of each change, in order.
    let expected = [
        (&kept, "active", 2, 1),
        (&kept, "active", 3, 2),
        (&kept, "committed", 3, 3),
        (&dropped, "active", 1, 1),
        (&dropped, "released", 1, 2),
        (&brief, "active", 1, 1),
        (&brief, "expired", 1, 0),
    ];
    let mut seen = Vec::new();
    // The commit is a `product` event too, which is skipped; the sweeper's
    // expiry comes within a few seconds.
    for _ in 0..30 {
        if seen.len() == expected.len() {
            break;
        }
        let event = stream.next().await;
        if event.name == "hold" {
            seen.push(event.data);
        }
    }
    assert_eq!(seen.len(), expected.len(), "{seen:?}");
    for (hold, (made, status, quantity, version)) in seen.iter().zip(expected) {
        assert_eq!(
            (&hold["id"], &hold["status"], &hold["quantity"]),
            (&made["id"], &json!(status), &json!(quantity)),
            "{hold}"
        );
        // The sweeper's version of an expired hold is its own business.
        if status != "expired" {
            assert_eq!(hold["version"], version, "{hold}");
        }
    }
}
