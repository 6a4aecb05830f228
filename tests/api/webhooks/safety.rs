//! What a subscription may point at: no private, loopback or link-local
//! targets without `--webhook-allow-private`, no plain http without
//! `--webhook-allow-http`; redirects are never followed.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::{json, Value};

use super::{webhook_path, Answer, Api, Receiver, DELIVERY_DEADLINE, WEBHOOKS};
use crate::helpers::{pointers, problem, TestApp};
use crate::{api_test_with_settings, api_tests};

api_test_with_settings!(
    private_targets_are_refused_without_the_flag,
    private_targets_are_refused_without_the_flag,
    |settings| settings.webhook_allow_private = false
);

api_test_with_settings!(
    plain_http_is_refused_without_the_flag,
    plain_http_is_refused_without_the_flag,
    |settings| settings.webhook_allow_http = false
);

api_tests!(
    a_redirect_is_a_failed_delivery_and_is_not_followed,
    a_receiver_that_does_not_answer_is_logged_with_an_error,
);

/// Creating a subscription to `url` must be refused 422 at `/url`. Should
/// it be accepted, it is deleted at once, before the test fails, so that
/// nothing is ever sent there.
async fn refused(app: &TestApp, url: &str) {
    let body = json!({"url": url, "events": ["product"]});
    let response = app.post_json(WEBHOOKS, &body).await;
    if response.status() == 201 {
        let webhook: Value = response.json().await.unwrap();
        let deleted = app.delete_if_match(&webhook_path(&webhook), "\"1\"").await;
        panic!(
            "a subscription to {url} was accepted (deleted again: {})",
            deleted.status()
        );
    }
    let refusal = problem(response, 422, "validation").await;
    assert_eq!(pointers(&refusal), ["/url"], "{url}: {refusal}");
}

async fn private_targets_are_refused_without_the_flag(app: TestApp) {
    let receiver = Receiver::accepting();
    for url in [
        receiver.url("/hooks"),
        "http://127.0.0.1/".to_owned(),
        "http://127.1/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://172.16.0.1/".to_owned(),
        "http://192.168.1.1/hooks".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://0.0.0.0/".to_owned(),
        "http://224.0.0.1/".to_owned(),
        "http://[::1]/".to_owned(),
        "http://[::]/".to_owned(),
        "http://[fe80::1]/".to_owned(),
        "http://[fc00::1]/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
        "http://localhost/".to_owned(),
        format!(
            "http://localhost:{}/hooks",
            receiver.address.rsplit(':').next().unwrap()
        ),
    ] {
        refused(&app, &url).await;
    }
    let listed: Value = app.get(WEBHOOKS).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "none was made");
    assert!(receiver.arrivals().is_empty());
}

async fn plain_http_is_refused_without_the_flag(app: TestApp) {
    refused(&app, "http://127.0.0.1:9/hooks").await;
    // https to the same place is allowed (private targets are, here).
    let body = json!({"url": "https://127.0.0.1:9/hooks", "events": ["product"], "enabled": false});
    let response = app.post_json(WEBHOOKS, &body).await;
    assert_eq!(response.status(), 201);
    let webhook: Value = response.json().await.unwrap();
    let patch = json!({"version": 1, "url": "http://127.0.0.1:9/hooks"});
    let refusal = problem(
        app.patch_json(&webhook_path(&webhook), &patch).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(pointers(&refusal), ["/url"]);
}

async fn a_redirect_is_a_failed_delivery_and_is_not_followed(app: TestApp) {
    let api = Api::of(&app);
    let receiver = Receiver::start(|seen| match seen.path {
        "/moved" => Answer::status(302),
        "/moved-307" => Answer::status(307),
        _ => Answer::ok(),
    });
    let found = api.subscribe(&receiver, "/moved", &["product"]).await;
    let temporary = api.subscribe(&receiver, "/moved-307", &["product"]).await;
    api.create_product("MOVED-1", 1).await;
    for (webhook, status) in [(&found, 302), (&temporary, 307)] {
        let deadline = std::time::Instant::now() + DELIVERY_DEADLINE;
        let log = loop {
            let log = api.deliveries(webhook).await;
            if log.len() >= 3 {
                break log;
            }
            assert!(std::time::Instant::now() < deadline, "{log:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        for delivery in &log {
            assert_eq!(
                (&delivery["succeeded"], &delivery["status"]),
                (&json!(false), &json!(status)),
                "{delivery}"
            );
        }
        let attempts: Vec<&Value> = log.iter().map(|delivery| &delivery["attempt"]).collect();
        assert_eq!(attempts[..3], [&json!(1), &json!(2), &json!(3)]);
        let now = api.webhook(webhook).await;
        assert_eq!(now["delivered_through"], webhook["delivered_through"]);
        assert!(now["failing_since"].is_string(), "{now}");
    }
    assert!(
        receiver.arrivals_at("/redirected").is_empty(),
        "the redirect was followed"
    );
}

async fn a_receiver_that_does_not_answer_is_logged_with_an_error(app: TestApp) {
    let api = Api::of(&app);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let body = json!({"url": format!("http://127.0.0.1:{port}/nobody"), "events": ["product"]});
    let (status, webhook) = api.post(WEBHOOKS, &body).await;
    assert_eq!(status, 201, "{webhook}");
    api.create_product("NOBODY-1", 1).await;
    let deadline = std::time::Instant::now() + DELIVERY_DEADLINE;
    let log = loop {
        let log = api.deliveries(&webhook).await;
        if log.len() >= 2 {
            break log;
        }
        assert!(std::time::Instant::now() < deadline, "{log:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for delivery in &log {
        assert_eq!(delivery["succeeded"], false, "{delivery}");
        assert_eq!(delivery["status"], Value::Null, "{delivery}");
        assert!(
            delivery["error"]
                .as_str()
                .is_some_and(|error| !error.is_empty()),
            "{delivery}"
        );
    }
    let now = api.webhook(&webhook).await;
    assert!(now["failing_since"].is_string(), "{now}");
}
