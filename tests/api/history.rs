use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_path, TestApp};

api_tests!(
    history_lists_every_version_newest_first_without_gaps,
    history_of_unknown_product_is_404
);

async fn history_lists_every_version_newest_first_without_gaps(app: TestApp) {
    let product = app.create_product("HIST-1", 0).await;
    let path = product_path(&product);
    for version in 1..=6 {
        let response = app
            .patch_json(&path, &json!({"version": version, "stock": version * 10}))
            .await;
        assert_eq!(response.status(), 200);
    }

    let mut versions = Vec::new();
    let mut next = format!("{path}/history?limit=3");
    for _ in 0..10 {
        let page: Value = app.get(&next).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            versions.push(item["version"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}/history?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(versions, vec![7, 6, 5, 4, 3, 2, 1]);

    let first_page: Value = app
        .get(&format!("{path}/history?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    let newest = &first_page["items"][0];
    assert_eq!(newest["operation"], "update");
    assert_eq!(newest["actor"], crate::helpers::ADMIN_NAME);
    assert_eq!(newest["reason"], Value::Null);
    assert_eq!(newest["changes"], json!({"stock": {"from": 50, "to": 60}}));

    let all: Value = app
        .get(&format!("{path}/history?limit=200"))
        .await
        .json()
        .await
        .unwrap();
    let created = &all["items"][6];
    assert_eq!(created["operation"], "create");
    assert_eq!(
        created["changes"]["sku"],
        json!({"from": null, "to": "HIST-1"})
    );
}

async fn history_of_unknown_product_is_404(app: TestApp) {
    let path = format!("/v1/products/{}/history", uuid::Uuid::now_v7());
    problem(app.get(&path).await, 404, "not-found").await;
}
