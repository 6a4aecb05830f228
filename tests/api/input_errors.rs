//! Bad input of every kind gets the right 4xx problem, never a 500.

use reqwest::Method;
use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{pointers, problem, product_body, product_path, TestApp};

api_tests!(
    broken_json_is_400,
    body_that_is_not_an_object_is_422,
    every_broken_rule_is_listed_with_its_pointer,
    fractions_for_money_and_counts_are_422,
    whole_numbers_written_as_floats_are_integers,
    out_of_range_numbers_are_422,
    unknown_and_server_fields_are_422,
    nulls_are_422,
    control_characters_are_422,
    very_long_strings_are_422,
    bad_uuid_in_path_is_400,
    oversized_body_is_413,
    wrong_content_type_is_415,
    bad_input_on_patch_is_reported_the_same_way,
    unknown_query_parameters_are_400_everywhere,
);

async fn post_raw(
    app: &TestApp,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app.request(Method::POST, "/v1/products").body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    request.send().await.unwrap()
}

async fn broken_json_is_400(app: TestApp) {
    for body in ["{", "{\"sku\": }", "", "nul", "{\"sku\": \"A\",}", "\u{0}"] {
        let response = post_raw(&app, Some("application/json"), body).await;
        problem(response, 400, "malformed-request").await;
    }
}

async fn body_that_is_not_an_object_is_422(app: TestApp) {
    for body in ["[]", "42", "\"text\"", "null"] {
        let response = post_raw(&app, Some("application/json"), body).await;
        let problem = problem(response, 422, "validation").await;
        assert_eq!(pointers(&problem), vec![""], "{body}");
    }
}

async fn every_broken_rule_is_listed_with_its_pointer(app: TestApp) {
    let body =
        json!({"sku": "-bad", "name": "", "price_minor": -1, "currency": "eur", "stock": "many"});
    let response = app.post_json("/v1/products", &body).await;
    let problem = problem(response, 422, "validation").await;
    assert_eq!(
        pointers(&problem),
        vec!["/sku", "/name", "/price_minor", "/currency", "/stock"]
    );
    let details: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert!(
        details[3].contains("\"EUR\""),
        "the currency error says what to send: {details:?}"
    );
    assert!(details[4].contains("integer"), "{details:?}");

    let missing = app.post_json("/v1/products", &json!({})).await;
    let problem = crate::helpers::problem(missing, 422, "validation").await;
    assert_eq!(
        pointers(&problem),
        vec!["/sku", "/name", "/price_minor", "/currency"]
    );
}

async fn fractions_for_money_and_counts_are_422(app: TestApp) {
    for (field, value) in [
        ("price_minor", json!(12.5)),
        ("price_minor", json!(0.1)),
        ("stock", json!(1.5e-1)),
    ] {
        let mut body = product_body("FLOAT-1", 1);
        body[field] = value;
        let problem = problem(
            app.post_json("/v1/products", &body).await,
            422,
            "validation",
        )
        .await;
        assert_eq!(pointers(&problem), vec![format!("/{field}")]);
        assert!(problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("not a fraction"));
    }
    let as_string = json!({"sku": "S-1", "name": "n", "price_minor": "1250", "currency": "EUR"});
    let problem = problem(
        app.post_json("/v1/products", &as_string).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(pointers(&problem), vec!["/price_minor"]);
}

/// JSON Schema counts 1250.0 as an integer, and clients that compute a
/// price in floating point send it so: each write takes it as 1250.
async fn whole_numbers_written_as_floats_are_integers(app: TestApp) {
    let body = json!({"sku": "WHOLE-1", "name": "Mug", "price_minor": 1250.0, "currency": "EUR", "stock": 4e1});
    let response = app.post_json("/v1/products", &body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        (&created["price_minor"], &created["stock"]),
        (&json!(1250), &json!(40))
    );
    let path = product_path(&created);

    let patch = json!({"version": 1.0, "price_minor": 1.3e3});
    let response = app.patch_json(&path, &patch).await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(
        (&updated["version"], &updated["price_minor"]),
        (&json!(2), &json!(1300))
    );

    let sale = json!({"delta": -3.0, "reason": "sale", "expected_version": 2.0});
    let response = app
        .post_json(&format!("{path}/stock-adjustments"), &sale)
        .await;
    assert_eq!(response.status(), 200);
    let adjusted: Value = response.json().await.unwrap();
    assert_eq!(
        (&adjusted["stock"], &adjusted["version"]),
        (&json!(37), &json!(3))
    );
}

async fn out_of_range_numbers_are_422(app: TestApp) {
    let cases = [
        ("price_minor", "1000000000001"),
        ("price_minor", "-1"),
        ("price_minor", "18446744073709551615"),
        ("price_minor", "-99999999999999999999"),
        ("price_minor", "1e400"),
        ("stock", "1000000001"),
        ("stock", "-5"),
    ];
    for (field, number) in cases {
        let (price, stock) = if field == "price_minor" {
            (number, "0")
        } else {
            ("1", number)
        };
        let body = format!(
            r#"{{"sku":"N-1","name":"n","price_minor":{price},"currency":"EUR","stock":{stock}}}"#
        );
        let response = post_raw(&app, Some("application/json"), body.clone()).await;
        if number == "1e400" {
            // Beyond any float: serde_json refuses it as malformed JSON.
            problem(response, 400, "malformed-request").await;
            continue;
        }
        let problem = problem(response, 422, "validation").await;
        assert_eq!(pointers(&problem), vec![format!("/{field}")], "{body}");
        let detail = problem["errors"][0]["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("must be at") || detail.starts_with("is far too"),
            "{number}: {detail}"
        );
    }
    let at_the_limits = json!({"sku": "MAX-1", "name": "n", "price_minor": 1_000_000_000_000_i64, "currency": "EUR", "stock": 1_000_000_000});
    assert_eq!(
        app.post_json("/v1/products", &at_the_limits).await.status(),
        201
    );
}

async fn unknown_and_server_fields_are_422(app: TestApp) {
    let mut body = product_body("EXTRA-1", 1);
    body["version"] = json!(1);
    body["id"] = json!("01937b3e-8c1a-7d5e-9f10-2b3c4d5e6f70");
    body["created_at"] = json!("2026-01-01T00:00:00Z");
    body["colour"] = json!("blue");
    body["a/b~c"] = json!(1);
    let problem = problem(
        app.post_json("/v1/products", &body).await,
        422,
        "validation",
    )
    .await;
    let mut found = pointers(&problem);
    found.sort();
    assert_eq!(
        found,
        vec!["/a~1b~0c", "/colour", "/created_at", "/id", "/version"]
    );
    let version_error = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["pointer"] == "/version")
        .unwrap();
    assert!(version_error["detail"]
        .as_str()
        .unwrap()
        .contains("set by the server"));
}

async fn nulls_are_422(app: TestApp) {
    let body =
        json!({"sku": null, "name": "n", "price_minor": 1, "currency": "EUR", "description": null});
    let problem = problem(
        app.post_json("/v1/products", &body).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(pointers(&problem), vec!["/sku", "/description"]);
}

async fn control_characters_are_422(app: TestApp) {
    let mut body = product_body("CTRL-1", 1);
    body["name"] = json!("Blue\u{0}mug");
    body["description"] = json!("bell \u{7} here");
    let problem = problem(
        app.post_json("/v1/products", &body).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(pointers(&problem), vec!["/name", "/description"]);

    let mut fine = product_body("CTRL-2", 1);
    fine["description"] = json!("Line one\nLine two\twith a tab");
    assert_eq!(app.post_json("/v1/products", &fine).await.status(), 201);
}

async fn very_long_strings_are_422(app: TestApp) {
    let body = json!({
        "sku": "S".repeat(65),
        "name": "n".repeat(201),
        "description": "d".repeat(2001),
        "price_minor": 1,
        "currency": "E".repeat(100_000),
    });
    let problem = problem(
        app.post_json("/v1/products", &body).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        vec!["/sku", "/name", "/description", "/currency"]
    );

    let unicode = json!({"sku": "U-1", "name": "é".repeat(200), "description": "🙂".repeat(2000), "price_minor": 1, "currency": "EUR"});
    assert_eq!(
        app.post_json("/v1/products", &unicode).await.status(),
        201,
        "limits count characters, not bytes"
    );
}

async fn bad_uuid_in_path_is_400(app: TestApp) {
    for path in [
        "/v1/products/42",
        "/v1/products/not-a-uuid",
        "/v1/products/01937b3e-8c1a-7d5e-9f10-2b3c4d5e6f7",
        "/v1/products/%00",
    ] {
        problem(app.get(path).await, 400, "malformed-request").await;
        problem(
            app.get(&format!("{path}/history")).await,
            400,
            "malformed-request",
        )
        .await;
        let patch = app.patch_json(path, &json!({"version": 1})).await;
        problem(patch, 400, "malformed-request").await;
    }
}

async fn oversized_body_is_413(app: TestApp) {
    let huge = format!(
        r#"{{"sku":"BIG-1","name":"n","price_minor":1,"currency":"EUR","description":"{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    problem(
        post_raw(&app, Some("application/json"), huge).await,
        413,
        "payload-too-large",
    )
    .await;

    let product = app.create_product("BIG-2", 1).await;
    let huge_patch = format!(
        r#"{{"version":1,"description":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let response = app
        .request(Method::PATCH, &product_path(&product))
        .header("Content-Type", "application/json")
        .body(huge_patch)
        .send()
        .await
        .unwrap();
    problem(response, 413, "payload-too-large").await;
}

async fn wrong_content_type_is_415(app: TestApp) {
    let body = product_body("CT-1", 1).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/merge-patch+json"),
        None,
    ] {
        let response = post_raw(&app, content_type, body.clone()).await;
        problem(response, 415, "unsupported-media-type").await;
    }
    let with_charset = post_raw(&app, Some("application/json; charset=utf-8"), body).await;
    assert_eq!(with_charset.status(), 201);
}

async fn bad_input_on_patch_is_reported_the_same_way(app: TestApp) {
    let product = app.create_product("PBAD-1", 1).await;
    let path = product_path(&product);
    let body = json!({"version": 0, "price_minor": 0.5, "currency": "XYZ", "stock": null, "id": "x", "created_at": 1});
    let problem = problem(app.patch_json(&path, &body).await, 422, "validation").await;
    let mut found = pointers(&problem);
    found.sort();
    assert_eq!(
        found,
        vec![
            "/created_at",
            "/currency",
            "/id",
            "/price_minor",
            "/stock",
            "/version"
        ]
    );

    let text = app
        .request(Method::PATCH, &path)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    crate::helpers::problem(text, 415, "unsupported-media-type").await;
    let broken = app
        .request(Method::PATCH, &path)
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    crate::helpers::problem(broken, 400, "malformed-request").await;

    let read: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(read["version"], 1, "nothing was applied");
}

async fn unknown_query_parameters_are_400_everywhere(app: TestApp) {
    let product = app.create_product("QUERY-1", 1).await;
    let path = product_path(&product);
    let create = app
        .post_json("/v1/products?dry_run=true", &product_body("QUERY-2", 1))
        .await;
    assert_eq!(
        pointers(&problem(create, 400, "malformed-request").await),
        vec!["?dry_run"]
    );
    let read = app.get(&format!("{path}?fields=sku")).await;
    assert_eq!(
        pointers(&problem(read, 400, "malformed-request").await),
        vec!["?fields"]
    );
    // A version in the query of a PATCH is not silently ignored.
    let patch = app
        .patch_json(&format!("{path}?version=1"), &json!({"stock": 2}))
        .await;
    assert_eq!(
        pointers(&problem(patch, 400, "malformed-request").await),
        vec!["?version"]
    );
    let listed: Value = app.get("/v1/products").await.json().await.unwrap();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "the refused create made nothing"
    );
}
