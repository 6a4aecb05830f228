//! Access control: who may call what, who is recorded, and the limits.

use std::collections::BTreeSet;
use std::time::Duration;

use inventory_api::domain::access::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{problem, product_body, product_path, TestApp};
use crate::{api_test_with_settings, api_tests};

api_tests!(
    every_route_answers_every_role_as_the_contract_says,
    sync_may_patch_stock_alone,
    the_token_name_is_the_actor,
    public_routes_need_no_token,
    a_token_revoked_while_in_use_stops_working_within_a_second,
    a_token_limited_to_a_location_writes_stock_only_there,
);

/// `token create --location SHOP-1`: the token's stock writes at any other
/// location (MAIN included, where writes naming none act) are 403, through
/// every write of stock; its reads and its writes at SHOP-1 go through.
async fn a_token_limited_to_a_location_writes_stock_only_there(app: TestApp) {
    app.create_location("SHOP-1").await;
    app.create_location("SHOP-2").await;
    let product = app.create_product("LIMITED-1", 10).await;
    let path = product_path(&product);
    let token = app.make_limited_token(Role::Sync, "shop-1-till", &["shop-1"]);
    let client = app.client_for(&token.secret);
    let url = |path: &str| format!("{}{path}", app.address);

    let transfer = |from: &str, to: &str| json!({"sku": "LIMITED-1", "from": from, "to": to, "quantity": 1, "reason": "move"});
    let refused = [
        (
            Method::POST,
            format!("{path}/stock-adjustments"),
            json!({"delta": -1, "reason": "sale"}),
        ),
        (
            Method::POST,
            format!("{path}/stock-adjustments"),
            json!({"delta": -1, "reason": "sale", "location": "SHOP-2"}),
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({"version": 1, "stock": 3}),
        ),
        (
            Method::PATCH,
            format!("{path}/levels/SHOP-2"),
            json!({"version": 0, "on_hand": 3}),
        ),
        (
            Method::POST,
            "/v1/transfers".to_owned(),
            transfer("MAIN", "SHOP-1"),
        ),
        (
            Method::POST,
            "/v1/stock-sync".to_owned(),
            json!({"items": [
                {"sku": "LIMITED-1", "location": "SHOP-1", "stock": 1, "force": true},
                {"sku": "LIMITED-1", "stock": 1, "force": true},
            ]}),
        ),
    ];
    for (method, path, body) in refused {
        let response = client
            .request(method.clone(), url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let refusal = problem(response, 403, "forbidden").await;
        assert!(
            refusal["detail"].as_str().unwrap().contains("shop-1"),
            "{method} {path}: {refusal}"
        );
    }
    let unchanged = app.get(&path).await.json::<Value>().await.unwrap();
    assert_eq!(
        (unchanged["stock"].as_i64(), unchanged["version"].as_i64()),
        (Some(10), Some(1))
    );

    // Its own location it writes, whatever case the code is sent in.
    let response = client
        .patch(url(&format!("{path}/levels/shop-1")))
        .json(&json!({"version": 0, "on_hand": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .post(url(&format!("{path}/stock-adjustments")))
        .json(&json!({"delta": -1, "reason": "sale", "location": "SHOP-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let adjusted: Value = response.json().await.unwrap();
    assert_eq!(
        (
            adjusted["stock"].as_i64(),
            adjusted["level"]["on_hand"].as_i64()
        ),
        (Some(13), Some(3))
    );
    // And reads everything.
    let levels = client
        .get(url(&format!("{path}/levels")))
        .send()
        .await
        .unwrap();
    assert_eq!(levels.status(), 200);
    let levels = client
        .get(url("/v1/locations/SHOP-2/levels"))
        .send()
        .await
        .unwrap();
    assert_eq!(levels.status(), 200);
}

/// Who sends the request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Principal {
    NoToken,
    Revoked,
    Role(Role),
    /// A sync token whose stock writes are limited to a location none of
    /// the requests names.
    SyncElsewhere,
}

/// One route of the table: its method and path, the least role it needs,
/// and what a caller with that role gets.
struct Rule {
    method: Method,
    path: &'static str,
    least: Role,
    success: u16,
}

impl Rule {
    /// Whether the request writes stock (at MAIN or the test's location),
    /// which a token limited to another location may not.
    fn writes_stock(&self) -> bool {
        matches!(
            (self.method.as_str(), self.path),
            ("PATCH", "/v1/products/{id}")
                | ("POST", "/v1/products/{id}/stock-adjustments")
                | ("POST", "/v1/stock-sync")
                | ("PATCH", "/v1/products/{id}/levels/{code}")
                | ("POST", "/v1/transfers")
                | ("POST", "/v1/holds")
                | ("PATCH", "/v1/holds/{id}")
                | ("POST", "/v1/holds/{id}/commit")
                | ("POST", "/v1/holds/{id}/release")
                | ("PUT", "/v1/products/{id}/levels/{code}/reorder-point")
        )
    }
}

/// The whole /v1 surface. A route the server documents but this table
/// lacks fails `the_table_covers_every_documented_route`.
fn rules() -> Vec<Rule> {
    let rule = |method, path, least, success| Rule {
        method,
        path,
        least,
        success,
    };
    vec![
        rule(Method::GET, "/v1/products", Role::Viewer, 200),
        rule(Method::POST, "/v1/products", Role::Manager, 201),
        rule(Method::GET, "/v1/products/{id}", Role::Viewer, 200),
        rule(Method::PATCH, "/v1/products/{id}", Role::Sync, 200),
        rule(Method::DELETE, "/v1/products/{id}", Role::Manager, 204),
        rule(Method::GET, "/v1/products/{id}/history", Role::Viewer, 200),
        rule(Method::GET, "/v1/events", Role::Viewer, 200),
        rule(
            Method::POST,
            "/v1/products/{id}/stock-adjustments",
            Role::Sync,
            200,
        ),
        rule(Method::POST, "/v1/stock-sync", Role::Sync, 200),
        rule(Method::GET, "/v1/locations", Role::Viewer, 200),
        rule(Method::POST, "/v1/locations", Role::Manager, 201),
        rule(Method::GET, "/v1/locations/{code}", Role::Viewer, 200),
        rule(Method::PATCH, "/v1/locations/{code}", Role::Manager, 200),
        rule(Method::DELETE, "/v1/locations/{code}", Role::Manager, 204),
        rule(
            Method::GET,
            "/v1/locations/{code}/levels",
            Role::Viewer,
            200,
        ),
        rule(Method::GET, "/v1/products/{id}/levels", Role::Viewer, 200),
        rule(
            Method::PATCH,
            "/v1/products/{id}/levels/{code}",
            Role::Sync,
            200,
        ),
        rule(Method::POST, "/v1/transfers", Role::Sync, 200),
        rule(Method::GET, "/v1/holds", Role::Viewer, 200),
        rule(Method::POST, "/v1/holds", Role::Sync, 201),
        rule(Method::GET, "/v1/holds/{id}", Role::Viewer, 200),
        rule(Method::PATCH, "/v1/holds/{id}", Role::Sync, 200),
        rule(Method::POST, "/v1/holds/{id}/commit", Role::Sync, 200),
        rule(Method::POST, "/v1/holds/{id}/release", Role::Sync, 200),
        rule(Method::GET, "/v1/changes", Role::Viewer, 200),
        rule(
            Method::PUT,
            "/v1/products/{id}/levels/{code}/reorder-point",
            Role::Manager,
            200,
        ),
        rule(Method::GET, "/v1/webhooks", Role::Admin, 200),
        rule(Method::POST, "/v1/webhooks", Role::Admin, 201),
        rule(Method::GET, "/v1/webhooks/{id}", Role::Admin, 200),
        rule(Method::PATCH, "/v1/webhooks/{id}", Role::Admin, 200),
        rule(Method::DELETE, "/v1/webhooks/{id}", Role::Admin, 204),
        rule(
            Method::POST,
            "/v1/webhooks/{id}/rotate-secret",
            Role::Admin,
            200,
        ),
        rule(
            Method::GET,
            "/v1/webhooks/{id}/deliveries",
            Role::Admin,
            200,
        ),
        rule(
            Method::POST,
            "/v1/webhooks/{id}/redeliver",
            Role::Admin,
            200,
        ),
    ]
}

/// Sends the rule's request, valid in every other way, on a fresh product.
async fn send(app: &TestApp, rule: &Rule, client: &reqwest::Client, n: usize) -> reqwest::Response {
    let product = app.create_product(&format!("MATRIX-{n}"), 10).await;
    let location = app.create_location(&format!("LOC-{n}")).await;
    // A hold's routes name a hold of the product, made by the admin; a
    // webhook's, a (disabled) subscription the admin made.
    let mut webhook = Value::Null;
    let id = if rule.path.starts_with("/v1/holds/") {
        let hold = json!({"product_id": product["id"], "quantity": 1, "expires_in": 600});
        let response = app.post_json("/v1/holds", &hold).await;
        assert_eq!(response.status(), 201, "holding for the matrix");
        response.json::<Value>().await.unwrap()["id"].clone()
    } else if rule.path.starts_with("/v1/webhooks/") {
        let response = app.post_json("/v1/webhooks", &webhook_body(n)).await;
        assert_eq!(response.status(), 201, "subscribing for the matrix");
        webhook = response.json::<Value>().await.unwrap();
        webhook["id"].clone()
    } else {
        product["id"].clone()
    };
    // A reorder point is set on a level the product has: MAIN's.
    let code = if rule.path.ends_with("/reorder-point") {
        "MAIN"
    } else {
        location["code"].as_str().unwrap()
    };
    let path = rule
        .path
        .replace("{id}", id.as_str().unwrap())
        .replace("{code}", code);
    let url = format!("{}{path}", app.address);
    let request = client.request(rule.method.clone(), url);
    let request = match (rule.method.as_str(), rule.path) {
        ("POST", "/v1/products") => request.json(&product_body(&format!("NEW-{n}"), 1)),
        ("POST", "/v1/locations") => {
            request.json(&json!({"code": format!("NEWLOC-{n}"), "name": "A new place"}))
        }
        ("PATCH", "/v1/locations/{code}") => {
            request.json(&json!({"version": 1, "name": "Renamed"}))
        }
        ("PATCH", "/v1/products/{id}/levels/{code}") => {
            request.json(&json!({"version": 0, "on_hand": 2}))
        }
        ("POST", "/v1/transfers") => request.json(&json!({
            "product_id": product["id"], "from": "MAIN", "to": location["code"],
            "quantity": 1, "reason": "matrix",
        })),
        ("POST", "/v1/holds") => request.json(&json!({
            "product_id": product["id"], "quantity": 1, "expires_in": 600,
        })),
        ("PATCH", "/v1/holds/{id}") => request.json(&json!({"version": 1, "expires_in": 1200})),
        ("PUT", "/v1/products/{id}/levels/{code}/reorder-point") => {
            request.json(&json!({"reorder_point": 5}))
        }
        ("POST", "/v1/webhooks") => request.json(&webhook_body(n)),
        ("PATCH", "/v1/webhooks/{id}") => request.json(&json!({"version": 1, "events": ["hold"]})),
        ("DELETE", "/v1/webhooks/{id}") => request.header("If-Match", "\"1\""),
        ("POST", "/v1/webhooks/{id}/rotate-secret") => request.json(&json!({})),
        ("POST", "/v1/webhooks/{id}/redeliver") => request.json(&json!({
            "from": webhook["delivered_through"].as_i64().unwrap() + 1,
        })),
        ("POST", "/v1/holds/{id}/commit" | "/v1/holds/{id}/release") => {
            request.json(&json!({"version": 1}))
        }
        ("PATCH", _) => request.json(&json!({"version": 1, "stock": 11})),
        ("DELETE", _) => request.query(&[("version", "1")]),
        ("POST", "/v1/products/{id}/stock-adjustments") => {
            request.json(&json!({"delta": 1, "reason": "matrix"}))
        }
        ("POST", "/v1/stock-sync") => {
            request.json(&json!({"items": [{"sku": product["sku"], "stock": 3, "force": true}]}))
        }
        _ => request,
    };
    request.send().await.unwrap()
}

/// A subscription that sends nothing (disabled), for the matrix.
fn webhook_body(n: usize) -> Value {
    json!({"url": format!("http://127.0.0.1:9/matrix-{n}"), "events": ["product"], "enabled": false})
}

/// The server trusts a token it checked for one second (README, tokens):
/// a token revoked while in use is refused once that second has passed.
async fn a_token_revoked_while_in_use_stops_working_within_a_second(app: TestApp) {
    let token = app.make_token(Role::Viewer, "soon-revoked");
    let client = app.client_for(&token.secret);
    let list = format!("{}/v1/products", app.address);
    assert_eq!(client.get(&list).send().await.unwrap().status(), 200);
    let mut conn = app.direct_connection();
    assert!(inventory_api::store::tokens::revoke(&mut conn, &token.id).unwrap());

    tokio::time::sleep(inventory_api::http::known_tokens::REMEMBER_FOR).await;
    problem(client.get(&list).send().await.unwrap(), 401, "unauthorized").await;
}

async fn every_route_answers_every_role_as_the_contract_says(app: TestApp) {
    let revoked = app.make_token(Role::Admin, "revoked-admin");
    let mut conn = app.direct_connection();
    assert!(inventory_api::store::tokens::revoke(&mut conn, &revoked.id).unwrap());

    let mut principals = vec![
        (Principal::NoToken, reqwest::Client::new()),
        (Principal::Revoked, app.client_for(&revoked.secret)),
    ];
    for role in Role::ALL {
        let token = app.make_token(role, &format!("matrix-{}", role.as_str()));
        principals.push((Principal::Role(role), app.client_for(&token.secret)));
    }
    app.create_location("ELSEWHERE").await;
    let elsewhere = app.make_limited_token(Role::Sync, "matrix-elsewhere", &["elsewhere"]);
    principals.push((Principal::SyncElsewhere, app.client_for(&elsewhere.secret)));
    let mut n = 0;
    for rule in rules() {
        for (principal, client) in &principals {
            n += 1;
            let response = send(&app, &rule, client, n).await;
            let expected = match principal {
                Principal::NoToken | Principal::Revoked => 401,
                Principal::Role(role) if *role < rule.least => 403,
                Principal::Role(_) => rule.success,
                Principal::SyncElsewhere if Role::Sync < rule.least || rule.writes_stock() => 403,
                Principal::SyncElsewhere => rule.success,
            };
            let what = format!("{} {} as {principal:?}", rule.method, rule.path);
            assert_eq!(response.status(), expected, "{what}");
            match expected {
                401 => {
                    assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
                    problem(response, 401, "unauthorized").await;
                }
                403 => {
                    problem(response, 403, "forbidden").await;
                }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn the_table_covers_every_documented_route() {
    let document: Value = serde_json::from_str(&inventory_api::openapi::json().unwrap()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if path.starts_with("/v1/") && method != "parameters" {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let ruled: BTreeSet<(String, String)> = rules()
        .iter()
        .map(|rule| (rule.method.to_string(), rule.path.to_owned()))
        .collect();
    assert_eq!(
        documented, ruled,
        "every /v1 route needs a row in the access table"
    );
}

async fn sync_may_patch_stock_alone(app: TestApp) {
    let sync = app.client_for(&app.make_token(Role::Sync, "till-7").secret);
    let product = app.create_product("SYNCPATCH-1", 5).await;
    let url = format!("{}{}", app.address, product_path(&product));
    let price = sync
        .patch(&url)
        .json(&json!({"version": 1, "price_minor": 1}))
        .send()
        .await
        .unwrap();
    problem(price, 403, "forbidden").await;
    let both = sync
        .patch(&url)
        .json(&json!({"version": 1, "stock": 6, "name": "x"}))
        .send()
        .await
        .unwrap();
    problem(both, 403, "forbidden").await;
    let stock = sync
        .patch(&url)
        .json(&json!({"version": 1, "stock": 6}))
        .send()
        .await
        .unwrap();
    assert_eq!(stock.status(), 200);
}

async fn the_token_name_is_the_actor(app: TestApp) {
    let till = app.client_for(&app.make_token(Role::Sync, "till-7").secret);
    let product = app.create_product("ACTOR-1", 5).await;
    let url = format!(
        "{}{}/stock-adjustments",
        app.address,
        product_path(&product)
    );
    let response = till
        .post(url)
        .json(&json!({"delta": -1, "reason": "sale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let history: Value = app
        .get(&format!("{}/history", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    let actors: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, vec!["till-7", crate::helpers::ADMIN_NAME]);
}

async fn public_routes_need_no_token(app: TestApp) {
    let anonymous = reqwest::Client::new();
    for path in [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/openapi.yaml",
        "/problems/unauthorized",
    ] {
        let response = anonymous
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

/// A token over its rate gets 429 with Retry-After, then recovers.
async fn rate_limit_answers_429_then_recovers(app: TestApp) {
    let mut limited = Vec::new();
    for _ in 0..6 {
        let response = app.get("/v1/products").await;
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry_after >= 1);
            problem(response, 429, "rate-limited").await;
            limited.push(retry_after);
        } else {
            assert_eq!(response.status(), 200);
        }
    }
    assert!(
        !limited.is_empty(),
        "6 requests at once exceed a burst of 3"
    );
    // Another token has a bucket of its own.
    let other = app.client_for(&app.make_token(Role::Viewer, "other").secret);
    assert_eq!(
        other
            .get(format!("{}/v1/products", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    tokio::time::sleep(Duration::from_secs(limited[0])).await;
    assert_eq!(
        app.get("/v1/products").await.status(),
        200,
        "recovered after Retry-After"
    );
}

/// An address that keeps failing to authenticate is refused for a while;
/// its valid tokens are not.
async fn failed_authentications_are_limited_per_address(app: TestApp) {
    let guesser = app.client_for("inv_not-a-real-token");
    for _ in 0..3 {
        let response = guesser
            .get(format!("{}/v1/products", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let blocked = guesser
        .get(format!("{}/v1/products", app.address))
        .send()
        .await
        .unwrap();
    assert!(blocked.headers().contains_key("retry-after"));
    problem(blocked, 429, "rate-limited").await;
    // A valid token from the same address (behind a proxy, everyone's) passes.
    assert_eq!(app.get("/v1/products").await.status(), 200);
}

/// Browsers may call the API only from the listed origins.
async fn cors_allows_only_listed_origins(app: TestApp) {
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(Method::OPTIONS, format!("{}/v1/products", app.address))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "PATCH")
            .header(
                "Access-Control-Request-Headers",
                "authorization, if-match, content-type",
            )
            .send()
    };
    let allowed = preflight("https://ui.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://ui.example"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

api_test_with_settings!(
    rate_limit,
    rate_limit_answers_429_then_recovers,
    |settings: &mut inventory_api::config::Settings| {
        settings.rate_limit = 1;
        settings.rate_limit_burst = 3;
    }
);
api_test_with_settings!(
    auth_failures,
    failed_authentications_are_limited_per_address,
    |settings: &mut inventory_api::config::Settings| {
        settings.auth_failure_limit = 3;
    }
);
api_test_with_settings!(
    cors,
    cors_allows_only_listed_origins,
    |settings: &mut inventory_api::config::Settings| {
        settings.cors_origins = vec!["https://ui.example".into()];
    }
);
