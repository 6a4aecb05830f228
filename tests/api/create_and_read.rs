use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_body, product_path, TestApp};

api_tests!(
    create_answers_201_with_location_etag_and_version_1,
    create_defaults_description_and_stock,
    sku_is_unique_among_live_products_ignoring_case,
    read_answers_the_product_with_its_etag,
    read_answers_304_when_if_none_match_is_current,
    read_of_unknown_product_is_404,
);

async fn create_answers_201_with_location_etag_and_version_1(app: TestApp) {
    let body = json!({"sku": "MUG-BLUE-01", "name": "  Blue mug  ", "description": "Holds tea",
                      "price_minor": 1250, "currency": "EUR", "stock": 40});
    let response = app.post_json("/v1/products", &body).await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let product: Value = response.json().await.unwrap();
    assert_eq!(location, product_path(&product));
    assert_eq!(product["sku"], "MUG-BLUE-01");
    assert_eq!(product["name"], "Blue mug", "the name is stored trimmed");
    assert_eq!(product["description"], "Holds tea");
    assert_eq!(product["price_minor"], 1250);
    assert_eq!(product["currency"], "EUR");
    assert_eq!(product["stock"], 40);
    assert_eq!(product["version"], 1);
    assert_eq!(product["created_at"], product["updated_at"]);
    let id = uuid::Uuid::parse_str(product["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);

    let read: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(read, product);
}

async fn create_defaults_description_and_stock(app: TestApp) {
    let body = json!({"sku": "JPY-1", "name": "Tea", "price_minor": 500, "currency": "JPY"});
    let response = app.post_json("/v1/products", &body).await;
    assert_eq!(response.status(), 201);
    let product: Value = response.json().await.unwrap();
    assert_eq!(product["description"], "");
    assert_eq!(product["stock"], 0);
}

async fn sku_is_unique_among_live_products_ignoring_case(app: TestApp) {
    let first = app.create_product("mug-1", 1).await;

    let clash = app
        .post_json("/v1/products", &product_body("MUG-1", 1))
        .await;
    let body = problem(clash, 409, "duplicate-sku").await;
    assert_eq!(body["existing_id"], first["id"]);
    assert!(body["detail"].as_str().unwrap().contains("MUG-1"));

    let other = app.create_product("MUG-2", 1).await;
    let rename = app
        .patch_json(
            &product_path(&other),
            &json!({"version": 1, "sku": "Mug-1"}),
        )
        .await;
    let body = problem(rename, 409, "duplicate-sku").await;
    assert_eq!(body["existing_id"], first["id"]);

    // The SKU is kept as first written, and a change of case only is no clash.
    let recase = app
        .patch_json(
            &product_path(&first),
            &json!({"version": 1, "sku": "MUG-1"}),
        )
        .await;
    assert_eq!(recase.status(), 200);
    let recased: Value = recase.json().await.unwrap();
    assert_eq!(recased["sku"], "MUG-1");
}

async fn read_answers_the_product_with_its_etag(app: TestApp) {
    let product = app.create_product("READ-1", 3).await;
    let response = app.get(&product_path(&product)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(response.headers()["content-type"], "application/json");
    let read: Value = response.json().await.unwrap();
    assert_eq!(read, product);
}

async fn read_answers_304_when_if_none_match_is_current(app: TestApp) {
    let product = app.create_product("CACHE-1", 3).await;
    let path = product_path(&product);

    let cached = app
        .request(reqwest::Method::GET, &path)
        .header("If-None-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"], "\"1\"");

    let weak = app
        .request(reqwest::Method::GET, &path)
        .header("If-None-Match", "\"7\", W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(
        weak.status(),
        304,
        "If-None-Match compares weakly and takes a list"
    );

    app.patch_json(&path, &json!({"version": 1, "stock": 4}))
        .await;
    let changed = app
        .request(reqwest::Method::GET, &path)
        .header("If-None-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.headers()["etag"], "\"2\"");
}

async fn read_of_unknown_product_is_404(app: TestApp) {
    let path = format!("/v1/products/{}", uuid::Uuid::now_v7());
    problem(app.get(&path).await, 404, "not-found").await;
}
