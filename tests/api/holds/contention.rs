//! Holds sent at once: they never take more than is available, lines
//! are held whole or not at all, and of a commit and a release sent
//! together one wins.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use inventory_api::domain::access::Role;
use reqwest::Method;
use serde_json::{json, Value};

use super::{
    create_hold, hold_of, hold_path, ledger, level_at, listed, quantities, read_levels,
    read_product, send_json, stock_of, HOLDS,
};
use crate::api_tests;
use crate::helpers::{problem, product_path, release_writes, TestApp};

api_tests!(
    sixty_holds_of_one_against_twenty_five_available_hold_exactly_twenty_five,
    two_lines_on_one_level_are_summed_and_refused_whole,
    a_hold_of_several_lines_holds_each_in_order_or_none,
    commit_and_release_sent_together_see_one_win,
);

/// 60 one-unit holds at once against 25 available, while a reader watches
/// the level: exactly 25 hold, the rest are refused, and available is
/// never seen below 0 (holds never oversell).
async fn sixty_holds_of_one_against_twenty_five_available_hold_exactly_twenty_five(app: TestApp) {
    let product = app.create_product("HOLD-RUSH", 25).await;
    let levels_url = format!("{}{}/levels", app.address, product_path(&product));

    let holding = Arc::new(AtomicBool::new(true));
    let lowest_available = Arc::new(AtomicI64::new(i64::MAX));
    let watcher = {
        let (holding, lowest, client) = (
            holding.clone(),
            lowest_available.clone(),
            app.client.clone(),
        );
        tokio::spawn(async move {
            let mut reads = 0;
            while holding.load(Ordering::SeqCst) && reads < 2000 {
                let levels = read_levels(&client, &levels_url).await;
                let (on_hand, reserved, available) = stock_of(&levels[0]);
                assert_eq!(on_hand, 25, "holds never change on_hand");
                assert_eq!(available, on_hand - reserved, "{}", levels[0]);
                lowest.fetch_min(available, Ordering::SeqCst);
                reads += 1;
            }
            reads
        })
    };
    let holds: Vec<_> = (0..60)
        .map(|n| {
            let (client, url) = (app.client.clone(), format!("{}{HOLDS}", app.address));
            let body = json!({"sku": "HOLD-RUSH", "quantity": 1, "expires_in": 3600, "reference": format!("order {n}")});
            tokio::spawn(async move { send_json(&client, Method::POST, &url, &body).await })
        })
        .collect();
    let (mut held, mut refused) = (0, 0);
    for hold in holds {
        match hold.await.unwrap() {
            (201, _) => held += 1,
            (409, body) => {
                assert_eq!(body["type"], "/problems/insufficient-available", "{body}");
                assert_eq!(body["requested"], 1, "{body}");
                // Refused because nothing was left, never because of a
                // level seen below 0.
                assert_eq!(body["level"]["available"], 0, "{body}");
                refused += 1;
            }
            (status, body) => panic!("unexpected {status}: {body}"),
        }
    }
    holding.store(false, Ordering::SeqCst);
    let reads = watcher.await.unwrap();

    assert_eq!((held, refused), (25, 35));
    assert!(reads > 0);
    assert!(
        lowest_available.load(Ordering::SeqCst) >= 0,
        "available was never seen below 0"
    );
    let level = level_at(&app, &product, "MAIN").await;
    assert_eq!(stock_of(&level), (25, 25, 0));
    assert_eq!(level["version"], 1, "holds never change a level's version");
    let now = read_product(&app, &product).await;
    assert_eq!(
        (
            now["stock"].as_i64(),
            now["reserved"].as_i64(),
            now["available"].as_i64(),
            now["version"].as_i64()
        ),
        (Some(25), Some(25), Some(0), Some(1))
    );
    let active = listed(
        &app,
        &format!("product={}&status=active", product["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!((active.len(), quantities(&active)), (25, 25));
}

/// Lines on the same product and location are summed before the check:
/// 3 + 3 against 5 available is refused whole, and nothing is held.
async fn two_lines_on_one_level_are_summed_and_refused_whole(app: TestApp) {
    let product = app.create_product("HOLD-PAIR", 5).await;
    let id = product["id"].as_str().unwrap();
    let body = json!({"items": [
        {"sku": "HOLD-PAIR", "quantity": 3},
        {"product_id": id, "location": "MAIN", "quantity": 3},
    ], "expires_in": 600, "reference": "ORDER-2"});
    let refusal = problem(
        app.post_json(HOLDS, &body).await,
        409,
        "insufficient-available",
    )
    .await;
    assert_eq!(refusal["requested"], 6, "{refusal}");
    assert_eq!(
        (
            &refusal["product_id"],
            &refusal["sku"],
            &refusal["location"]
        ),
        (&product["id"], &json!("HOLD-PAIR"), &json!("MAIN"))
    );
    assert_eq!(stock_of(&refusal["level"]), (5, 0, 5));

    assert_eq!(
        listed(&app, &format!("product={id}")).await,
        Vec::<Value>::new()
    );
    assert_eq!(stock_of(&level_at(&app, &product, "MAIN").await), (5, 0, 5));

    // 3 + 2 fits exactly: both lines hold.
    let body = json!({"items": [
        {"sku": "HOLD-PAIR", "quantity": 3},
        {"sku": "HOLD-PAIR", "quantity": 2},
    ], "expires_in": 600});
    let response = app.post_json(HOLDS, &body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let held: Vec<i64> = created["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hold| hold["quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(held, [3, 2]);
    assert_eq!(stock_of(&level_at(&app, &product, "MAIN").await), (5, 5, 0));
}

/// Lines on different products and locations: each becomes a hold, in
/// the items' order; one line short refuses them all.
async fn a_hold_of_several_lines_holds_each_in_order_or_none(app: TestApp) {
    app.create_location("SHOP-1").await;
    let mug = app.create_product("LINES-MUG", 10).await;
    let bowl = app.create_product("LINES-BOWL", 0).await;
    let shop = format!("{}/levels/SHOP-1", product_path(&bowl));
    let stocked = app
        .patch_json(&shop, &json!({"version": 0, "on_hand": 4}))
        .await;
    assert_eq!(stocked.status(), 200);

    let short = json!({"items": [
        {"sku": "LINES-MUG", "quantity": 2},
        {"product_id": bowl["id"], "location": "SHOP-1", "quantity": 5},
    ], "expires_in": 600});
    let refusal = problem(
        app.post_json(HOLDS, &short).await,
        409,
        "insufficient-available",
    )
    .await;
    assert_eq!(
        (&refusal["sku"], &refusal["location"], &refusal["requested"]),
        (&json!("LINES-BOWL"), &json!("SHOP-1"), &json!(5))
    );
    assert_eq!(
        stock_of(&level_at(&app, &mug, "MAIN").await),
        (10, 0, 10),
        "the mug line was not held either"
    );

    let body = json!({"items": [
        {"sku": "LINES-MUG", "quantity": 2},
        {"product_id": bowl["id"], "location": "shop-1", "quantity": 4},
    ], "expires_in": 600, "reference": "ORDER-3"});
    let response = app.post_json(HOLDS, &body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let holds = created["holds"].as_array().unwrap();
    let lines: Vec<(&str, &str, i64)> = holds
        .iter()
        .map(|hold| {
            (
                hold["sku"].as_str().unwrap(),
                hold["location"].as_str().unwrap(),
                hold["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [("LINES-MUG", "MAIN", 2), ("LINES-BOWL", "SHOP-1", 4)]
    );
    assert_ne!(holds[0]["id"], holds[1]["id"]);
    for hold in holds {
        assert_eq!(
            (&hold["status"], &hold["reference"], &hold["version"]),
            (&json!("active"), &json!("ORDER-3"), &json!(1))
        );
        assert_eq!(hold["expires_at"], holds[0]["expires_at"]);
    }
    assert_eq!(stock_of(&level_at(&app, &mug, "MAIN").await), (10, 2, 8));
    assert_eq!(stock_of(&level_at(&app, &bowl, "SHOP-1").await), (4, 4, 0));
}

/// A commit and a release of one hold from the same version, held at the
/// lock until both are in flight: one wins, the other is refused with the
/// hold as the winner left it, and the level is exact either way.
async fn commit_and_release_sent_together_see_one_win(app: TestApp) {
    let product = app.create_product("HOLD-RACE", 40).await;
    let id = product["id"].as_str().unwrap().to_owned();
    let committer = app.client_for(&app.make_token(Role::Sync, "till-commit").secret);
    let releaser = app.client_for(&app.make_token(Role::Sync, "till-release").secret);
    let mut on_hand = 40;
    for round in 0..4 {
        let quantity = 2 + round;
        let hold = create_hold(&app, &hold_of("HOLD-RACE", quantity)).await;
        let url = format!("{}{}", app.address, hold_path(&hold));
        let send = |client: &reqwest::Client, action: &str| {
            let (client, url) = (client.clone(), format!("{url}/{action}"));
            tokio::spawn(async move {
                send_json(&client, Method::POST, &url, &json!({"version": 1})).await
            })
        };

        let blocker = app.hold_writes(&id);
        let (committing, releasing) = (send(&committer, "commit"), send(&releaser, "release"));
        tokio::time::sleep(Duration::from_millis(700)).await;
        release_writes(blocker);
        let (committed, released) = (committing.await.unwrap(), releasing.await.unwrap());

        let (winner, loser) = match (&committed, &released) {
            ((200, won), (409, lost)) => {
                assert_eq!(won["hold"]["status"], "committed", "{won}");
                on_hand -= quantity;
                ("committed", lost)
            }
            ((409, lost), (200, won)) => {
                assert_eq!(won["status"], "released", "{won}");
                ("released", lost)
            }
            _ => panic!("expected one 200 and one 409, got {committed:?} and {released:?}"),
        };
        let current = match loser["type"].as_str() {
            Some("/problems/hold-not-active") => &loser["hold"],
            Some("/problems/stale-version") => &loser["current"],
            _ => panic!("unexpected refusal {loser}"),
        };
        assert_eq!(
            (&current["id"], &current["status"], &current["version"]),
            (&hold["id"], &json!(winner), &json!(2)),
            "round {round}: {loser}"
        );
        let stored: Value = app.get(&hold_path(&hold)).await.json().await.unwrap();
        assert_eq!(
            (&stored["status"], &stored["version"]),
            (&json!(winner), &json!(2))
        );
        let level = level_at(&app, &product, "MAIN").await;
        assert_eq!(
            stock_of(&level),
            (on_hand, 0, on_hand),
            "round {round}: {winner}"
        );
    }
    // Only the commits moved the product: one version and one ledger line each.
    let commits = ledger(&app, &product)
        .await
        .iter()
        .filter(|(_, line)| line["kind"] == "commit")
        .count() as i64;
    let totals = read_product(&app, &product).await;
    assert_eq!(totals["stock"], on_hand);
    assert_eq!(totals["version"].as_i64().unwrap(), 1 + commits);
}
