//! `GET /v1/changes`: the numbered feed in pages, the same events the
//! stream carries, with the same numbers, types and data.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use futures::future::join_all;
use inventory_api::domain::access::Role;
use serde_json::{json, Value};

use super::{Answer, Api, Receiver};
use crate::events::EventReader;
use crate::helpers::{problem, product_body, TestApp};
use crate::{api_test_with_settings, api_tests};

api_tests!(
    the_change_list_pages_through_what_the_stream_carries,
    bad_change_list_parameters_are_400_and_limits_hold,
);

api_test_with_settings!(
    the_purge_keeps_what_an_enabled_subscription_has_yet_to_deliver,
    the_purge_keeps_what_an_enabled_subscription_has_yet_to_deliver,
    |settings| {
        settings.feed_retention_days = 1;
        settings.idempotency_purge_interval = 1;
    }
);

/// Checks what an item's `id` and `version` say against its data.
fn assert_subject(item: &Value) {
    let data = &item["data"];
    let (id, version) = match item["type"].as_str().unwrap() {
        "product" => (&data["id"], &data["version"]),
        "hold" => (&data["id"], &data["version"]),
        "location" => (&data["location"]["id"], &data["location"]["version"]),
        "oversold" => (&data["product_id"], &data["version"]),
        "stock.low" | "stock.ok" => (&data["product_id"], &data["level"]["version"]),
        other => panic!("no such type {other}: {item}"),
    };
    assert_eq!((&item["id"], &item["version"]), (id, version), "{item}");
}

async fn the_change_list_pages_through_what_the_stream_carries(app: TestApp) {
    let api = Api::of(&app);
    let url = format!("{}/v1/events", app.address);
    let mut stream = EventReader::open(&app.client, url.clone(), None).await;
    let start = stream.next().await.id;

    api.mixed_changes("FEED").await;
    let product = api.create_product("FEED-OVER", 3).await;
    let hold = json!({"sku": "FEED-OVER", "quantity": 3, "expires_in": 600});
    api.send(reqwest::Method::POST, "/v1/holds", &hold, 201)
        .await;
    api.adjust(&product, -2).await;
    let transfer = json!({"sku": "FEED-1", "from": "FEED-SHOP", "to": "MAIN", "quantity": 1, "reason": "close"});
    api.send(reqwest::Method::POST, "/v1/transfers", &transfer, 200)
        .await;
    let deleted = app
        .request(reqwest::Method::DELETE, "/v1/locations/FEED-SHOP?version=2")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    // Pages of three, each continuing from the one before's `next`.
    let mut paged = Vec::new();
    let mut after = start;
    loop {
        let page = api
            .read(&format!("/v1/changes?after={after}&limit=3"))
            .await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3, "{page}");
        if items.is_empty() {
            assert_eq!(page["next"], after, "caught up: {page}");
            break;
        }
        assert_eq!(page["next"], items.last().unwrap()["number"], "{page}");
        paged.extend(items.iter().cloned());
        after = page["next"].as_i64().unwrap();
    }
    assert_eq!(paged, api.changes_after(start).await, "pages of any size");
    let numbers: Vec<i64> = paged
        .iter()
        .map(|item| item["number"].as_i64().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|pair| pair[0] < pair[1]),
        "{numbers:?}"
    );
    assert!(numbers[0] > start);
    let types: std::collections::BTreeSet<&str> = paged
        .iter()
        .map(|item| item["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        std::collections::BTreeSet::from([
            "hold",
            "location",
            "oversold",
            "product",
            "stock.low",
            "stock.ok"
        ])
    );
    let operations: Vec<&Value> = paged
        .iter()
        .filter(|item| item["type"] == "location")
        .map(|item| &item["data"]["operation"])
        .collect();
    assert_eq!(operations, ["create", "rename", "delete"]);
    for item in &paged {
        let keys: std::collections::BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            std::collections::BTreeSet::from(["data", "id", "number", "type", "version"]),
            "{item}"
        );
    }

    // The stream open all along, and one resumed from the start, say the same.
    let mut resumed = EventReader::open(&app.client, url, Some(start)).await;
    assert_eq!(resumed.next().await.name, "ready");
    for reader in [&mut stream, &mut resumed] {
        for item in &paged {
            let event = reader.next().await;
            let streamed = json!({"number": event.id, "type": event.name, "data": event.data});
            let listed =
                json!({"number": item["number"], "type": item["type"], "data": item["data"]});
            super::assert_same_event(&streamed, &listed);
        }
    }

    // Viewers read it too.
    let viewer = app.client_for(&app.make_token(Role::Viewer, "feed-viewer").secret);
    let page = viewer
        .get(api.url(&format!("/v1/changes?after={start}&limit=2")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    for (read, item) in page["items"].as_array().unwrap().iter().zip(&paged) {
        super::assert_same_event(read, item);
    }

    // What each item's `id` and `version` name.
    for item in &paged {
        assert_subject(item);
    }
}

async fn bad_change_list_parameters_are_400_and_limits_hold(app: TestApp) {
    let api = Api::of(&app);
    let start = api.newest().await;
    let app_ref = &app;
    let creates = (0..105).map(|n| async move {
        let response = app_ref
            .post_json("/v1/products", &product_body(&format!("MANY-{n}"), 1))
            .await;
        response.status()
    });
    for status in join_all(creates).await {
        assert_eq!(status, 201);
    }
    let page = api.read(&format!("/v1/changes?after={start}")).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 100, "100 by default");
    assert_eq!(page["next"], items[99]["number"]);
    let rest = api
        .read(&format!("/v1/changes?after={}", page["next"]))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 5);
    let one = api
        .read(&format!("/v1/changes?after={start}&limit=1"))
        .await;
    assert_eq!(one["items"].as_array().unwrap()[..], items[..1]);
    let most = api
        .read(&format!("/v1/changes?after={start}&limit=1000"))
        .await;
    assert_eq!(most["items"].as_array().unwrap().len(), 105);
    let from_zero = api.read("/v1/changes?limit=1000").await;
    assert_eq!(from_zero, api.read("/v1/changes?after=0&limit=1000").await);
    assert_eq!(from_zero["items"][0]["number"], 1, "after defaults to 0");

    let newest = most["next"].as_i64().unwrap();
    for after in [newest, newest + 1000] {
        let caught_up = api.read(&format!("/v1/changes?after={after}")).await;
        assert_eq!(caught_up, json!({"items": [], "next": after}));
    }

    for bad in [
        "after=-1",
        "after=x",
        "after=1.5",
        "after=99999999999999999999",
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=x",
        "colour=blue",
        "cursor=abc",
    ] {
        let response = app.get(&format!("/v1/changes?{bad}")).await;
        problem(response, 400, "malformed-request").await;
    }
}

/// Changes older than the retention are purged, and a page after a purged
/// one is 410; but not those an enabled subscription has yet to deliver,
/// which go once it is deleted.
async fn the_purge_keeps_what_an_enabled_subscription_has_yet_to_deliver(app: TestApp) {
    let api = Api::of(&app);
    let receiver = Receiver::start(|_| Answer::refuse());
    api.create_product("PURGE-1", 1).await;
    api.create_product("PURGE-2", 1).await;
    let stuck = api.subscribe(&receiver, "/stuck", &["product"]).await;
    let through = stuck["delivered_through"].as_i64().unwrap();
    assert_eq!(through, 2, "{stuck}");
    api.create_product("PURGE-3", 1).await;
    api.create_product("PURGE-4", 1).await;
    assert_eq!(api.newest().await, 4);
    // Made two days ago, as far as the purge can tell.
    // On SQLite, the server's delivery of the stuck event may hold the
    // write lock for a moment: wait for it as the server does.
    let wait = if app.database.is_postgres() {
        ""
    } else {
        "PRAGMA busy_timeout = 10000;"
    };
    app.direct_connection()
        .batch_execute(&format!(
            "{wait} UPDATE product_history SET at = at - 172800000000"
        ))
        .unwrap();

    let gone_after = |after: i64| {
        let api = api.clone();
        async move {
            for _ in 0..150 {
                let response = api
                    .client
                    .get(api.url(&format!("/v1/changes?after={after}")))
                    .send()
                    .await
                    .unwrap();
                if response.status() == 410 {
                    return response;
                }
                assert_eq!(response.status(), 200);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("changes after {after} were not purged within 15 s");
        }
    };
    let gone = gone_after(1).await;
    problem(gone, 410, "events-purged").await;
    // 3 and 4 stay: the subscription has yet to deliver them.
    let kept = api.read(&format!("/v1/changes?after={through}")).await;
    let numbers: Vec<&Value> = kept["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["number"])
        .collect();
    assert_eq!(numbers, [3, 4]);

    let deleted = app
        .delete_if_match(&super::webhook_path(&stuck), "\"1\"")
        .await;
    assert_eq!(deleted.status(), 204);
    problem(gone_after(through).await, 410, "events-purged").await;
    // The newest is always kept.
    let newest = api.read("/v1/changes?after=3").await;
    assert_eq!(newest["items"][0]["number"], 4);
}
