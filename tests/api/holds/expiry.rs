//! Expiry: a hold past its expires_at is expired, reserves nothing and
//! can no longer be committed.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use super::{
    commit, create_hold, hold_path, ids, instant, level_at, listed, read_product, release, stock_of,
};
use crate::api_tests;
use crate::helpers::{problem, TestApp};

api_tests!(
    a_hold_past_its_expiry_reads_expired_and_reserves_nothing,
    an_expired_hold_cannot_be_committed,
);

/// Waits until the clock is past `moment`.
async fn wait_past(moment: DateTime<Utc>) {
    let left = moment - Utc::now();
    if let Ok(left) = left.to_std() {
        tokio::time::sleep(left).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// A hold whose expires_at has passed reads as expired and reserves
/// nothing at once, whether or not the sweeper has marked it yet.
async fn a_hold_past_its_expiry_reads_expired_and_reserves_nothing(app: TestApp) {
    let product = app.create_product("HOLD-BRIEF", 10).await;
    let hold = create_hold(
        &app,
        &json!({"sku": "HOLD-BRIEF", "quantity": 2, "expires_in": 1}),
    )
    .await;
    let expires_at = instant(&hold["expires_at"]);
    let lifetime = expires_at - instant(&hold["created_at"]);
    assert!(
        (900..=1100).contains(&lifetime.num_milliseconds()),
        "expires_in counts from creation: {hold}"
    );
    let level = level_at(&app, &product, "MAIN").await;
    if Utc::now() < expires_at {
        assert_eq!(stock_of(&level), (10, 2, 8), "held at once");
    }

    // Reads until one is sent after expires_at; that one must see it expired.
    let give_up = expires_at + TimeDelta::seconds(4);
    loop {
        assert!(Utc::now() < give_up, "no read after expires_at");
        let sent = Utc::now();
        let read: Value = app.get(&hold_path(&hold)).await.json().await.unwrap();
        let level = level_at(&app, &product, "MAIN").await;
        if sent > expires_at {
            assert_eq!(read["status"], "expired", "{read}");
            assert_eq!(stock_of(&level), (10, 0, 10));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = product["id"].as_str().unwrap();
    let expired = listed(&app, &format!("product={id}&status=expired")).await;
    assert_eq!(ids(&expired), [hold["id"].as_str().unwrap()]);
    assert_eq!(
        listed(&app, &format!("product={id}&status=active"))
            .await
            .len(),
        0
    );
    let now = read_product(&app, &product).await;
    assert_eq!(
        (now["reserved"].as_i64(), now["available"].as_i64()),
        (Some(0), Some(10))
    );
}

async fn an_expired_hold_cannot_be_committed(app: TestApp) {
    let product = app.create_product("HOLD-LATE", 10).await;
    let hold = create_hold(
        &app,
        &json!({"sku": "HOLD-LATE", "quantity": 2, "expires_in": 1}),
    )
    .await;
    let expires_at = instant(&hold["expires_at"]);
    wait_past(expires_at).await;

    let refusal = problem(commit(&app, &hold, 1).await, 409, "hold-not-active").await;
    assert_eq!(refusal["hold"]["status"], "expired", "{refusal}");
    assert!(
        refusal["detail"].as_str().unwrap().contains("expired"),
        "{refusal}"
    );
    let expired_at = instant(&refusal["expired_at"]);
    assert!(
        expired_at >= expires_at && expired_at <= Utc::now(),
        "{refusal}"
    );
    problem(release(&app, &hold, 1).await, 409, "hold-not-active").await;
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 0, 10)
    );
}
