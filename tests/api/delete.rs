use reqwest::Method;
use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_body, product_path, TestApp};

api_tests!(
    delete_with_current_version_answers_204_and_frees_the_sku,
    deleted_product_is_404_to_every_read_and_write,
    stale_delete_is_refused_with_what_changed,
    delete_with_if_match,
    delete_without_a_version_is_428,
);

async fn delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.request(Method::DELETE, path).send().await.unwrap()
}

async fn delete_with_current_version_answers_204_and_frees_the_sku(app: TestApp) {
    let product = app.create_product("GONE-1", 5).await;
    let response = delete(&app, &format!("{}?version=1", product_path(&product))).await;
    assert_eq!(response.status(), 204);

    let again = app
        .post_json("/v1/products", &product_body("gone-1", 1))
        .await;
    assert_eq!(again.status(), 201, "the SKU is free again");
}

async fn deleted_product_is_404_to_every_read_and_write(app: TestApp) {
    let product = app.create_product("GONE-2", 5).await;
    let path = product_path(&product);
    assert_eq!(
        delete(&app, &format!("{path}?version=1")).await.status(),
        204
    );

    problem(app.get(&path).await, 404, "not-found").await;
    problem(
        app.patch_json(&path, &json!({"version": 2, "stock": 1}))
            .await,
        404,
        "not-found",
    )
    .await;
    problem(
        delete(&app, &format!("{path}?version=2")).await,
        404,
        "not-found",
    )
    .await;
    // Even a write that names no version: existence is checked first.
    problem(
        app.patch_json(&path, &json!({"stock": 1})).await,
        404,
        "not-found",
    )
    .await;
    problem(delete(&app, &path).await, 404, "not-found").await;
    let listed: Value = app.get("/v1/products").await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]));

    let history: Value = app
        .get(&format!("{path}/history"))
        .await
        .json()
        .await
        .unwrap();
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the history stays readable");
    assert_eq!(items[0]["operation"], "delete");
    assert_eq!(items[0]["version"], 2);
    assert_eq!(items[0]["changes"], json!({}));
}

async fn stale_delete_is_refused_with_what_changed(app: TestApp) {
    let product = app.create_product("GONE-3", 5).await;
    let path = product_path(&product);
    app.patch_json(&path, &json!({"version": 1, "stock": 6}))
        .await;

    let response = delete(&app, &format!("{path}?version=1")).await;
    assert_eq!(response.headers()["etag"], "\"2\"");
    let body = problem(response, 409, "stale-version").await;
    assert_eq!(body["current_version"], 2);
    assert_eq!(body["conflicting_fields"], json!(["stock"]));
    assert_eq!(body["rebase_safe"], false);
    assert_eq!(
        app.get(&path).await.status(),
        200,
        "the product is still there"
    );
}

async fn delete_with_if_match(app: TestApp) {
    let product = app.create_product("GONE-4", 5).await;
    let path = product_path(&product);
    let stale = app.delete_if_match(&path, "\"7\"").await;
    problem(stale, 412, "stale-version").await;
    let current = app.delete_if_match(&path, "\"1\"").await;
    assert_eq!(current.status(), 204);
}

async fn delete_without_a_version_is_428(app: TestApp) {
    let product = app.create_product("GONE-5", 5).await;
    problem(
        delete(&app, &product_path(&product)).await,
        428,
        "version-required",
    )
    .await;
    let bad = delete(&app, &format!("{}?version=zero", product_path(&product))).await;
    problem(bad, 400, "malformed-request").await;
    assert_eq!(app.get(&product_path(&product)).await.status(), 200);
}
