use serde_json::Value;

use crate::api_tests;
use crate::helpers::{pointers, problem, TestApp};

api_tests!(
    list_pages_oldest_first_until_next_cursor_is_null,
    list_filters_by_exact_sku_ignoring_case,
    list_filters_by_substring_of_name_or_sku,
    list_rejects_bad_query_parameters,
    every_kind_of_page_leaves_out_deleted_products,
);

async fn list_pages_oldest_first_until_next_cursor_is_null(app: TestApp) {
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(app.create_product(&format!("PAGE-{n}"), n).await["id"].clone());
    }
    let pages = pages_of(&app, "limit=2").await;
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|items| items.len() <= 2));
    let seen: Vec<Value> = pages.concat();
    assert_eq!(seen, created, "every product once, oldest first");

    let default_page: Value = app.get("/v1/products").await.json().await.unwrap();
    assert_eq!(default_page["items"].as_array().unwrap().len(), 5);
    assert_eq!(default_page["next_cursor"], Value::Null);
}

/// A first page and a later one, each with and without a filter, are
/// different statements: each pages in id order without deleted products.
async fn every_kind_of_page_leaves_out_deleted_products(app: TestApp) {
    let mut shelves = Vec::new();
    for n in 0..4 {
        let product = app.create_product(&format!("SHELF-{n}"), n).await;
        let path = format!("/v1/products/{}", product["id"].as_str().unwrap());
        if n == 1 {
            assert_eq!(app.delete_if_match(&path, "\"1\"").await.status(), 204);
        } else {
            shelves.push(product["id"].clone());
        }
    }
    let other = app.create_product("TABLE-1", 1).await["id"].clone();
    let every_live = [shelves.clone(), vec![other]].concat();

    for (filter, expected) in [("", every_live), ("&q=shelf", shelves)] {
        let seen = pages_of(&app, &format!("limit=1{filter}")).await.concat();
        assert_eq!(seen, expected, "pages with filter {filter:?}");
    }
}

/// The ids on each page of `/v1/products?{query}`, following `next_cursor`
/// for at most ten pages.
async fn pages_of(app: &TestApp, query: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut path = format!("/v1/products?{query}");
    for _ in 0..10 {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        pages.push(items.iter().map(|item| item["id"].clone()).collect());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/products?{query}&cursor={cursor}"),
            None => break,
        }
    }
    pages
}

async fn list_filters_by_exact_sku_ignoring_case(app: TestApp) {
    let wanted = app.create_product("Mug-Blue", 1).await;
    app.create_product("Mug-Blue-2", 1).await;
    let page: Value = app
        .get("/v1/products?sku=MUG-BLUE")
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], wanted["id"]);
}

async fn list_filters_by_substring_of_name_or_sku(app: TestApp) {
    let mug = app.create_product("MUG-1", 1).await;
    let plate = app.create_product("PLATE-1", 1).await;
    let percent = app.create_product("CUP_100", 1).await;

    let by_sku: Value = app.get("/v1/products?q=mug").await.json().await.unwrap();
    assert_eq!(by_sku["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_sku["items"][0]["id"], mug["id"]);

    let by_name: Value = app
        .get("/v1/products?q=product%20plate")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_name["items"][0]["id"], plate["id"]);
    assert_eq!(by_name["items"].as_array().unwrap().len(), 1);

    // `_` and `%` match themselves, not any character.
    let underscore: Value = app.get("/v1/products?q=e_1").await.json().await.unwrap();
    assert_eq!(underscore["items"].as_array().unwrap().len(), 0);
    let literal: Value = app.get("/v1/products?q=cup_").await.json().await.unwrap();
    assert_eq!(literal["items"][0]["id"], percent["id"]);
    let wildcard: Value = app.get("/v1/products?q=%25").await.json().await.unwrap();
    assert_eq!(wildcard["items"].as_array().unwrap().len(), 0);

    // Text beyond ASCII matches itself on both backends.
    let mut eclair = crate::helpers::product_body("ECLAIR-1", 1);
    eclair["name"] = serde_json::json!("Éclair au café");
    let eclair: Value = app
        .post_json("/v1/products", &eclair)
        .await
        .json()
        .await
        .unwrap();
    let found: Value = app
        .get("/v1/products?q=%C3%89clair%20au%20CAF%C3%A9")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"][0]["id"], eclair["id"]);
}

async fn list_rejects_bad_query_parameters(app: TestApp) {
    for (query, pointer) in [
        ("limit=0", "?limit"),
        ("limit=201", "?limit"),
        ("limit=ten", "?limit"),
        ("limit=1.5", "?limit"),
        ("cursor=not-a-cursor", "?cursor"),
        ("cursor=AAAAAAAAAAE", "?cursor"), // a history cursor (version 1)
        ("colour=blue", "?colour"),
        ("limit=1&limit=2", "?limit"),
    ] {
        let response = app.get(&format!("/v1/products?{query}")).await;
        let body = problem(response, 400, "malformed-request").await;
        assert_eq!(pointers(&body), vec![pointer.to_owned()], "{query}");
    }
    for control in ["%00", "a%0Ab", "%7F"] {
        let response = app.get(&format!("/v1/products?q={control}")).await;
        let body = problem(response, 400, "malformed-request").await;
        assert_eq!(pointers(&body), vec!["?q"], "{control}");
        let response = app.get(&format!("/v1/products?sku={control}")).await;
        problem(response, 400, "malformed-request").await;
    }
    let long = "x".repeat(201);
    let response = app.get(&format!("/v1/products?q={long}")).await;
    problem(response, 400, "malformed-request").await;
}
