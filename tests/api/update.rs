use reqwest::Method;
use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{pointers, problem, product_path, TestApp};

api_tests!(
    patch_with_body_version_applies_and_bumps_the_version,
    patch_with_if_match_applies,
    patch_accepts_merge_patch_media_type,
    patch_that_changes_nothing_keeps_the_version,
    stale_body_version_is_409_with_what_changed,
    stale_if_match_is_412_with_the_same_body,
    version_ahead_of_the_product_is_stale_too,
    write_without_a_version_is_428,
    if_match_star_is_not_a_precondition,
    disagreeing_versions_are_400,
    malformed_if_match_is_400,
    patch_of_unknown_product_is_404,
);

async fn patch_with_body_version_applies_and_bumps_the_version(app: TestApp) {
    let product = app.create_product("UPD-1", 40).await;
    let path = product_path(&product);
    let response = app
        .patch_json(
            &path,
            &json!({"version": 1, "price_minor": 1300, "name": "Bigger mug"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["price_minor"], 1300);
    assert_eq!(updated["name"], "Bigger mug");
    assert_eq!(updated["stock"], 40, "fields not sent keep their value");
    assert_eq!(updated["created_at"], product["created_at"]);
    // RFC 3339 in UTC with fixed digits sorts as text.
    assert!(updated["updated_at"].as_str() >= product["updated_at"].as_str());

    let read: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(read, updated);
}

async fn patch_with_if_match_applies(app: TestApp) {
    let product = app.create_product("UPD-2", 40).await;
    let response = app
        .patch_if_match(&product_path(&product), "\"1\"", &json!({"stock": 41}))
        .await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(
        (updated["version"].as_i64(), updated["stock"].as_i64()),
        (Some(2), Some(41))
    );

    // Body and header may both be sent when they agree.
    let both = app
        .patch_if_match(
            &product_path(&product),
            "\"2\"",
            &json!({"version": 2, "stock": 42}),
        )
        .await;
    assert_eq!(both.status(), 200);
}

async fn patch_accepts_merge_patch_media_type(app: TestApp) {
    let product = app.create_product("UPD-3", 40).await;
    let response = app
        .request(Method::PATCH, &product_path(&product))
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"version": 1, "description": "Now with a handle"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["description"], "Now with a handle");
}

async fn patch_that_changes_nothing_keeps_the_version(app: TestApp) {
    let product = app.create_product("SAME-1", 40).await;
    let path = product_path(&product);
    let same = json!({"version": 1, "sku": "SAME-1", "stock": 40, "price_minor": 1250, "name": "  Product SAME-1 "});
    let response = app.patch_json(&path, &same).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, product, "nothing changed, not even updated_at");

    let history: Value = app
        .get(&format!("{path}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        1,
        "no history entry for a no-op"
    );
}

/// Two edits since version 1: the stale request changes the price, which
/// one of them changed too.
async fn stale_setup(app: &TestApp) -> String {
    let product = app.create_product("STALE-1", 40).await;
    let path = product_path(&product);
    assert_eq!(
        app.patch_json(&path, &json!({"version": 1, "stock": 35}))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.patch_json(&path, &json!({"version": 2, "price_minor": 1300}))
            .await
            .status(),
        200
    );
    path
}

fn assert_stale_body(body: &Value, status: u16) {
    assert_eq!(body["status"], status);
    assert_eq!(body["title"], "The product was changed by someone else");
    assert_eq!(
        body["detail"],
        "You sent version 1, but the product is now at version 3. Refresh it and apply your change again."
    );
    assert_eq!(body["your_version"], 1);
    assert_eq!(body["current_version"], 3);
    assert_eq!(body["current"]["version"], 3);
    assert_eq!(body["current"]["price_minor"], 1300);
    assert_eq!(body["current"]["stock"], 35);
    let changes = body["changes_since"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["version"], 2);
    assert_eq!(changes[0]["operation"], "update");
    assert_eq!(changes[0]["actor"], crate::helpers::ADMIN_NAME);
    assert_eq!(
        changes[0]["changes"],
        json!({"stock": {"from": 40, "to": 35}})
    );
    assert_eq!(changes[1]["version"], 3);
    assert_eq!(
        changes[1]["changes"],
        json!({"price_minor": {"from": 1250, "to": 1300}})
    );
    assert!(changes[1]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["conflicting_fields"], json!(["price_minor"]));
    assert_eq!(body["rebase_safe"], false);
}

async fn stale_body_version_is_409_with_what_changed(app: TestApp) {
    let path = stale_setup(&app).await;
    let response = app
        .patch_json(
            &path,
            &json!({"version": 1, "price_minor": 1400, "name": "Renamed"}),
        )
        .await;
    assert_eq!(response.headers()["etag"], "\"3\"");
    let body = problem(response, 409, "stale-version").await;
    assert_stale_body(&body, 409);

    let read: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(
        (read["version"].as_i64(), read["name"].as_str()),
        (Some(3), Some("Product STALE-1")),
        "the stale write was not applied"
    );
}

async fn stale_if_match_is_412_with_the_same_body(app: TestApp) {
    let path = stale_setup(&app).await;
    let response = app
        .patch_if_match(&path, "\"1\"", &json!({"price_minor": 1400}))
        .await;
    assert_eq!(response.headers()["etag"], "\"3\"");
    let body = problem(response, 412, "stale-version").await;
    assert_stale_body(&body, 412);
}

async fn version_ahead_of_the_product_is_stale_too(app: TestApp) {
    let product = app.create_product("AHEAD-1", 1).await;
    let response = app
        .patch_json(&product_path(&product), &json!({"version": 9, "stock": 2}))
        .await;
    let body = problem(response, 409, "stale-version").await;
    assert_eq!(body["your_version"], 9);
    assert_eq!(body["current_version"], 1);
    assert_eq!(body["changes_since"], json!([]));
    assert_eq!(body["rebase_safe"], true);
}

async fn write_without_a_version_is_428(app: TestApp) {
    let product = app.create_product("NOVER-1", 1).await;
    let response = app
        .patch_json(&product_path(&product), &json!({"stock": 2}))
        .await;
    problem(response, 428, "version-required").await;
    let read: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        read["stock"], 1,
        "a write without a precondition is never applied"
    );
}

async fn if_match_star_is_not_a_precondition(app: TestApp) {
    let product = app.create_product("STAR-1", 1).await;
    let response = app
        .patch_if_match(&product_path(&product), "*", &json!({"stock": 2}))
        .await;
    problem(response, 428, "version-required").await;
}

async fn disagreeing_versions_are_400(app: TestApp) {
    let product = app.create_product("TWO-1", 1).await;
    let response = app
        .patch_if_match(
            &product_path(&product),
            "\"2\"",
            &json!({"version": 1, "stock": 2}),
        )
        .await;
    let body = problem(response, 400, "malformed-request").await;
    assert_eq!(pointers(&body), vec!["/version", "If-Match"]);
}

async fn malformed_if_match_is_400(app: TestApp) {
    let product = app.create_product("BADTAG-1", 1).await;
    for tag in ["1", "W/\"1\"", "\"1\", \"2\"", "\"abc\"", "\"0\""] {
        let response = app
            .patch_if_match(&product_path(&product), tag, &json!({"stock": 2}))
            .await;
        let body = problem(response, 400, "malformed-request").await;
        assert_eq!(pointers(&body), vec!["If-Match"], "{tag}");
    }
}

async fn patch_of_unknown_product_is_404(app: TestApp) {
    let path = format!("/v1/products/{}", uuid::Uuid::now_v7());
    problem(
        app.patch_json(&path, &json!({"version": 1, "stock": 2}))
            .await,
        404,
        "not-found",
    )
    .await;
}
