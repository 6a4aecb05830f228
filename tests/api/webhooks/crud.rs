//! Webhook subscriptions as resources: made, read, listed, changed by
//! compare-and-swap and deleted, by admins alone; the secret shown only
//! when it is made.

use chrono::{DateTime, Utc};
use inventory_api::domain::access::Role;
use reqwest::Method;
use serde_json::{json, Value};

use super::{webhook_path, Api, Receiver, WEBHOOKS};
use crate::api_tests;
use crate::helpers::{pointers, problem, TestApp};

api_tests!(
    a_subscription_is_made_read_and_listed,
    a_subscription_changes_by_its_version,
    a_subscription_is_deleted_by_its_version,
    bad_subscriptions_are_422,
    unknown_subscriptions_are_404,
    only_admins_manage_subscriptions,
    a_retried_create_makes_one_subscription,
);

const ALL_EVENTS: [&str; 7] = [
    "product",
    "level",
    "hold",
    "oversold",
    "location",
    "stock.low",
    "stock.ok",
];

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("no time: {value}")))
        .unwrap_or_else(|_| panic!("not RFC 3339: {value}"))
        .with_timezone(&Utc)
}

/// The webhook without its secret, as reads show it.
fn without_secret(webhook: &Value) -> Value {
    let mut webhook = webhook.clone();
    webhook.as_object_mut().unwrap().remove("secret");
    webhook
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let response = app.post_json(WEBHOOKS, body).await;
    assert_eq!(response.status(), 201, "{body}");
    response.json().await.unwrap()
}

async fn a_subscription_is_made_read_and_listed(app: TestApp) {
    let api = Api::of(&app);
    let receiver = Receiver::accepting();
    app.create_product("CRUD-1", 1).await;
    let newest = api.newest().await;
    let before = Utc::now();
    let body = json!({"url": receiver.url("/crud"), "events": ["product", "hold"]});
    let response = app.post_json(WEBHOOKS, &body).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let webhook: Value = response.json().await.unwrap();
    assert_eq!(location, webhook_path(&webhook));
    uuid::Uuid::parse_str(webhook["id"].as_str().unwrap()).unwrap();
    let secret = webhook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{webhook}");
    standardwebhooks::Webhook::new(secret).expect("a base64 key after whsec_");
    assert_eq!(
        without_secret(&webhook),
        json!({
            "id": webhook["id"], "version": 1,
            "url": receiver.url("/crud"), "events": ["product", "hold"],
            "enabled": true, "disabled_reason": null,
            "delivered_through": newest,
            "failing_since": null, "next_attempt_at": null,
            "previous_secret_expires_at": null,
            "created_at": webhook["created_at"], "updated_at": webhook["created_at"],
        })
    );
    let created = instant(&webhook["created_at"]);
    assert!(created >= before - chrono::TimeDelta::milliseconds(1) && created <= Utc::now());

    let read = app.get(&location).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["etag"], "\"1\"");
    let read: Value = read.json().await.unwrap();
    assert_eq!(read, without_secret(&webhook), "no secret once made");

    let second = create(
        &app,
        &json!({"url": receiver.url("/crud-2"), "events": ALL_EVENTS, "enabled": false}),
    )
    .await;
    assert_eq!(second["enabled"], false);
    assert_eq!(second["events"], json!(ALL_EVENTS));
    assert_ne!(second["secret"], webhook["secret"], "a secret of its own");
    let listed: Value = app.get(WEBHOOKS).await.json().await.unwrap();
    assert_eq!(
        listed,
        json!({"items": [without_secret(&webhook), without_secret(&second)]}),
        "oldest first, no secrets"
    );
}

async fn a_subscription_changes_by_its_version(app: TestApp) {
    let receiver = Receiver::accepting();
    let webhook = create(
        &app,
        &json!({"url": receiver.url("/patched"), "events": ["product"]}),
    )
    .await;
    let path = webhook_path(&webhook);

    let response = app
        .patch_json(&path, &json!({"version": 1, "events": ["hold", "level"]}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let changed: Value = response.json().await.unwrap();
    assert!(changed.get("secret").is_none(), "{changed}");
    assert_eq!(
        (&changed["version"], &changed["events"], &changed["url"]),
        (&json!(2), &json!(["hold", "level"]), &webhook["url"])
    );
    assert_eq!(changed["created_at"], webhook["created_at"]);
    assert!(instant(&changed["updated_at"]) >= instant(&webhook["updated_at"]));

    let response = app
        .patch_if_match(
            &path,
            "\"2\"",
            &json!({"enabled": false, "url": receiver.url("/moved")}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let disabled: Value = response.json().await.unwrap();
    assert_eq!(
        (&disabled["version"], &disabled["enabled"], &disabled["url"]),
        (&json!(3), &json!(false), &json!(receiver.url("/moved")))
    );
    let current: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(current, disabled);

    let stale = app
        .patch_json(&path, &json!({"version": 1, "enabled": true}))
        .await;
    let conflict = problem(stale, 409, "stale-version").await;
    assert_eq!(
        (&conflict["your_version"], &conflict["current_version"]),
        (&json!(1), &json!(3))
    );
    assert_eq!(conflict["current"], current, "{conflict}");
    let stale = app
        .patch_if_match(&path, "\"2\"", &json!({"enabled": true}))
        .await;
    problem(stale, 412, "stale-version").await;
    let unversioned = app.patch_json(&path, &json!({"enabled": true})).await;
    problem(unversioned, 428, "version-required").await;
    for (bad, pointer) in [
        (json!({"version": 3, "url": "ftp://127.0.0.1/"}), "/url"),
        (json!({"version": 3, "events": []}), "/events"),
        (json!({"version": 3, "enabled": "yes"}), "/enabled"),
        (json!({"version": 3, "secret": "whsec_AAAA"}), "/secret"),
        (
            json!({"version": 3, "delivered_through": 0}),
            "/delivered_through",
        ),
    ] {
        let refusal = problem(app.patch_json(&path, &bad).await, 422, "validation").await;
        assert_eq!(pointers(&refusal), [pointer], "{bad}: {refusal}");
    }
    let unchanged: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(unchanged, current, "refusals change nothing");
}

async fn a_subscription_is_deleted_by_its_version(app: TestApp) {
    let receiver = Receiver::accepting();
    let webhook = create(
        &app,
        &json!({"url": receiver.url("/deleted"), "events": ["product"]}),
    )
    .await;
    let path = webhook_path(&webhook);
    let unversioned = app.request(Method::DELETE, &path).send().await.unwrap();
    problem(unversioned, 428, "version-required").await;
    problem(
        app.delete_if_match(&path, "\"2\"").await,
        412,
        "stale-version",
    )
    .await;
    assert_eq!(app.get(&path).await.status(), 200, "still there");

    let deleted = app.delete_if_match(&path, "\"1\"").await;
    assert_eq!(deleted.status(), 204);
    problem(app.get(&path).await, 404, "not-found").await;
    problem(app.delete_if_match(&path, "\"1\"").await, 404, "not-found").await;
    let listed: Value = app.get(WEBHOOKS).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]));
    // Nothing is sent for it any more.
    app.create_product("DELETED-1", 1).await;
    let api = Api::of(&app);
    api.changes_after(0).await;
    assert!(receiver.arrivals().is_empty());
}

async fn bad_subscriptions_are_422(app: TestApp) {
    let good = "http://127.0.0.1:9/hooks";
    let long = format!("http://127.0.0.1:9/{}", "a".repeat(2000));
    let mut cases = vec![
        (
            json!({"url": "ftp://127.0.0.1/hooks", "events": ["product"]}),
            "/url",
        ),
        (
            json!({"url": "127.0.0.1/hooks", "events": ["product"]}),
            "/url",
        ),
        (json!({"url": "/hooks", "events": ["product"]}), "/url"),
        (json!({"url": "not a url", "events": ["product"]}), "/url"),
        (json!({"url": "", "events": ["product"]}), "/url"),
        (
            json!({"url": "http://user:pw@127.0.0.1:9/hooks", "events": ["product"]}),
            "/url",
        ),
        (
            json!({"url": "http://127.0.0.1:9/hooks#part", "events": ["product"]}),
            "/url",
        ),
        (json!({"url": long, "events": ["product"]}), "/url"),
        (json!({"url": 42, "events": ["product"]}), "/url"),
        (json!({"events": ["product"]}), "/url"),
        (json!({"url": good, "events": []}), "/events"),
        (
            json!({"url": good, "events": ["product", "product"]}),
            "/events",
        ),
        (json!({"url": good, "events": ["products"]}), "/events"),
        (json!({"url": good, "events": ["Product"]}), "/events"),
        (json!({"url": good, "events": "product"}), "/events"),
        (json!({"url": good, "events": [1]}), "/events"),
        (json!({"url": good}), "/events"),
        (
            json!({"url": good, "events": ["product"], "enabled": 1}),
            "/enabled",
        ),
        (
            json!({"url": good, "events": ["product"], "colour": "red"}),
            "/colour",
        ),
        (
            json!({"url": good, "events": ["product"], "secret": "whsec_AAAA"}),
            "/secret",
        ),
    ];
    // Exactly 2000 characters is allowed.
    let longest = format!("http://127.0.0.1:9/{}", "a".repeat(2000 - 19));
    assert_eq!(longest.len(), 2000);
    cases.push((
        json!({"url": longest, "events": ["product"], "enabled": false}),
        "",
    ));
    for (body, pointer) in cases {
        let response = app.post_json(WEBHOOKS, &body).await;
        if pointer.is_empty() {
            assert_eq!(response.status(), 201, "{body}");
            continue;
        }
        let refusal = problem(response, 422, "validation").await;
        let found = pointers(&refusal);
        // A bad event type may be pointed at within the list.
        let within = |found: &str| pointer == "/events" && found.starts_with("/events/");
        assert!(
            found.len() == 1 && (found[0] == pointer || within(&found[0])),
            "{body}: {refusal}"
        );
    }
    let listed: Value = app.get(WEBHOOKS).await.json().await.unwrap();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "only the good one"
    );
    let not_json = app
        .request(Method::POST, WEBHOOKS)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    problem(not_json, 400, "malformed-request").await;
}

async fn unknown_subscriptions_are_404(app: TestApp) {
    let path = format!("{WEBHOOKS}/{}", uuid::Uuid::now_v7());
    problem(app.get(&path).await, 404, "not-found").await;
    problem(
        app.patch_json(&path, &json!({"version": 1, "enabled": false}))
            .await,
        404,
        "not-found",
    )
    .await;
    problem(app.delete_if_match(&path, "\"1\"").await, 404, "not-found").await;
    for (action, body) in [
        ("rotate-secret", json!({})),
        ("redeliver", json!({"from": 1})),
    ] {
        let response = app.post_json(&format!("{path}/{action}"), &body).await;
        problem(response, 404, "not-found").await;
    }
    problem(
        app.get(&format!("{path}/deliveries")).await,
        404,
        "not-found",
    )
    .await;
    // As a hold's: an id that is not a UUID names no webhook.
    problem(
        app.get(&format!("{WEBHOOKS}/not-a-uuid")).await,
        404,
        "not-found",
    )
    .await;
}

async fn only_admins_manage_subscriptions(app: TestApp) {
    let webhook = create(
        &app,
        &json!({"url": "http://127.0.0.1:9/admin", "events": ["product"], "enabled": false}),
    )
    .await;
    let path = webhook_path(&webhook);
    let manager = app.client_for(&app.make_token(Role::Manager, "not-admin").secret);
    let url = |path: &str| format!("{}{path}", app.address);
    let body = json!({"url": "http://127.0.0.1:9/other", "events": ["product"]});
    let requests = [
        manager.get(url(WEBHOOKS)),
        manager.post(url(WEBHOOKS)).json(&body),
        manager.get(url(&path)),
        manager
            .patch(url(&path))
            .json(&json!({"version": 1, "enabled": true})),
        manager.delete(url(&path)).header("If-Match", "\"1\""),
        manager
            .post(url(&format!("{path}/rotate-secret")))
            .json(&json!({})),
        manager.get(url(&format!("{path}/deliveries"))),
        manager
            .post(url(&format!("{path}/redeliver")))
            .json(&json!({"from": 1})),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let refusal = problem(response, 403, "forbidden").await;
        assert!(refusal.get("secret").is_none());
    }
    let read: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(read, without_secret(&webhook), "nothing changed");
}

async fn a_retried_create_makes_one_subscription(app: TestApp) {
    let body = json!({"url": "http://127.0.0.1:9/once", "events": ["product"], "enabled": false});
    let send = || {
        app.request(Method::POST, WEBHOOKS)
            .header("Idempotency-Key", "webhook-once")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let made: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location);
    let replayed: Value = again.json().await.unwrap();
    assert_eq!(replayed["id"], made["id"], "the same subscription");
    assert_eq!(without_secret(&replayed), without_secret(&made));
    let listed: Value = app.get(WEBHOOKS).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([without_secret(&made)]));

    let other = json!({"url": "http://127.0.0.1:9/twice", "events": ["product"]});
    let reused = app
        .request(Method::POST, WEBHOOKS)
        .header("Idempotency-Key", "webhook-once")
        .json(&other)
        .send()
        .await
        .unwrap();
    problem(reused, 422, "idempotency-key-reused").await;
}
