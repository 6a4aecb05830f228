//! Locations: made, read, renamed and deleted by compare-and-swap, with
//! MAIN always there and codes that name one place forever.

use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_path, TestApp};

api_tests!(
    a_fresh_database_has_main_alone,
    locations_are_made_read_and_listed_by_code_ignoring_case,
    a_rename_is_a_compare_and_swap,
    a_location_is_deleted_only_when_empty_and_its_code_stays_taken,
    main_cannot_be_deleted,
);

async fn a_fresh_database_has_main_alone(app: TestApp) {
    let page: Value = app.get("/v1/locations").await.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(
        (items[0]["code"].as_str(), items[0]["version"].as_i64()),
        (Some("MAIN"), Some(1))
    );
    assert_eq!(page["next_cursor"], Value::Null);

    // A product's stock starts at MAIN, as level version 1.
    let product = app.create_product("FRESH-1", 7).await;
    let levels: Value = app
        .get(&format!("{}/levels", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(levels["items"][0]["location"], "MAIN");
    assert_eq!(levels["items"][0]["on_hand"], 7);
    assert_eq!(levels["items"][0]["version"], 1);
}

async fn locations_are_made_read_and_listed_by_code_ignoring_case(app: TestApp) {
    let response = app
        .post_json(
            "/v1/locations",
            &json!({"code": "Shop-1", "name": "  High Street  "}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], "/v1/locations/Shop-1");
    assert_eq!(response.headers()["etag"], "\"1\"");
    let shop: Value = response.json().await.unwrap();
    assert_eq!(
        (shop["code"].as_str(), shop["name"].as_str()),
        (Some("Shop-1"), Some("High Street"))
    );

    let read = app.get("/v1/locations/SHOP-1").await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.json::<Value>().await.unwrap()["id"], shop["id"]);

    let clash = app
        .post_json(
            "/v1/locations",
            &json!({"code": "shop-1", "name": "Another"}),
        )
        .await;
    problem(clash, 409, "duplicate-location").await;
    let bad = app
        .post_json("/v1/locations", &json!({"code": "no spaces", "name": ""}))
        .await;
    let refusal = problem(bad, 422, "validation").await;
    assert_eq!(crate::helpers::pointers(&refusal), ["/code", "/name"]);

    app.create_location("VAN").await;
    let page: Value = app.get("/v1/locations?limit=2").await.json().await.unwrap();
    let codes: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["MAIN", "Shop-1"]);
    let next = page["next_cursor"].as_str().unwrap();
    let page: Value = app
        .get(&format!("/v1/locations?limit=2&cursor={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["code"], "VAN");
    assert_eq!(page["next_cursor"], Value::Null);

    problem(app.get("/v1/locations/NOWHERE").await, 404, "not-found").await;
    // A code no location could have is answered without the database
    // (PostgreSQL refuses NUL in text).
    for path in [
        "/v1/locations/%00",
        "/v1/locations/a%20b/levels",
        "/v1/locations/%E2%80%AE",
    ] {
        problem(app.get(path).await, 404, "not-found").await;
    }
}

async fn a_rename_is_a_compare_and_swap(app: TestApp) {
    app.create_location("SHOP-1").await;
    let renamed = app
        .patch_json(
            "/v1/locations/shop-1",
            &json!({"version": 1, "name": "Corner shop"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    assert_eq!(renamed.headers()["etag"], "\"2\"");

    let stale = app
        .patch_json(
            "/v1/locations/SHOP-1",
            &json!({"version": 1, "name": "Kiosk"}),
        )
        .await;
    let conflict = problem(stale, 409, "stale-version").await;
    assert_eq!(
        (
            conflict["your_version"].as_i64(),
            conflict["current_version"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(conflict["current"]["name"], "Corner shop");
    assert_eq!(conflict["conflicting_fields"], json!(["name"]));
    assert_eq!(conflict["rebase_safe"], false);

    let same = app
        .patch_json(
            "/v1/locations/SHOP-1",
            &json!({"version": 1, "name": "Corner shop"}),
        )
        .await;
    let conflict = problem(same, 409, "stale-version").await;
    assert_eq!(
        conflict["rebase_safe"], true,
        "the same name overwrites nobody"
    );

    let if_match = app
        .patch_if_match("/v1/locations/SHOP-1", "\"1\"", &json!({"name": "Kiosk"}))
        .await;
    problem(if_match, 412, "stale-version").await;
    let unversioned = app
        .patch_json("/v1/locations/SHOP-1", &json!({"name": "Kiosk"}))
        .await;
    problem(unversioned, 428, "version-required").await;
    let code_is_fixed = app
        .patch_json(
            "/v1/locations/SHOP-1",
            &json!({"version": 2, "name": "Kiosk", "code": "K"}),
        )
        .await;
    problem(code_is_fixed, 422, "validation").await;
}

async fn a_location_is_deleted_only_when_empty_and_its_code_stays_taken(app: TestApp) {
    app.create_location("VAN").await;
    let product = app.create_product("VAN-MUG", 5).await;
    let transfer = json!({"sku": "VAN-MUG", "from": "MAIN", "to": "VAN", "quantity": 2, "reason": "load the van"});
    assert_eq!(
        app.post_json("/v1/transfers", &transfer).await.status(),
        200
    );

    let full = app
        .request(reqwest::Method::DELETE, "/v1/locations/VAN?version=1")
        .send()
        .await
        .unwrap();
    let refusal = problem(full, 409, "location-not-empty").await;
    assert_eq!(refusal["products_held"], 1);

    let back =
        json!({"sku": "VAN-MUG", "from": "VAN", "to": "MAIN", "quantity": 2, "reason": "unload"});
    assert_eq!(app.post_json("/v1/transfers", &back).await.status(), 200);
    let stale = app.delete_if_match("/v1/locations/VAN", "\"7\"").await;
    problem(stale, 412, "stale-version").await;
    let deleted = app
        .request(reqwest::Method::DELETE, "/v1/locations/van?version=1")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    problem(app.get("/v1/locations/VAN").await, 404, "not-found").await;
    let levels: Value = app
        .get(&format!("{}/levels", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = levels["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["location"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["MAIN"], "a deleted location holds no level");
    let again = app
        .post_json("/v1/locations", &json!({"code": "VAN", "name": "New van"}))
        .await;
    problem(again, 409, "duplicate-location").await;
    let to_deleted = app.post_json("/v1/transfers", &transfer).await;
    problem(to_deleted, 404, "not-found").await;
}

async fn main_cannot_be_deleted(app: TestApp) {
    let response = app
        .request(reqwest::Method::DELETE, "/v1/locations/MAIN?version=1")
        .send()
        .await
        .unwrap();
    problem(response, 409, "default-location").await;
    let renamed = app
        .patch_json(
            "/v1/locations/MAIN",
            &json!({"version": 1, "name": "Warehouse"}),
        )
        .await;
    assert_eq!(renamed.status(), 200, "it can be renamed");
}
