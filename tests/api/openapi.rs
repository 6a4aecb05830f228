use serde_json::Value;

use crate::api_tests;
use crate::helpers::{problem, TestApp};

const COMMITTED: &str = include_str!("../../openapi.yaml");

#[test]
fn committed_openapi_yaml_is_what_the_code_generates() {
    let generated = inventory_api::openapi::yaml().unwrap();
    assert!(
        generated == COMMITTED,
        "openapi.yaml is out of date: run `cargo run -- openapi > openapi.yaml`"
    );
}

#[test]
fn the_binary_prints_the_committed_document() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_inventory-api"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        output.stdout == COMMITTED.as_bytes(),
        "`inventory-api openapi` prints another document than openapi.yaml"
    );
}

api_tests!(
    the_server_serves_its_own_document,
    the_api_reference_is_served_from_the_binary,
    the_stale_version_example_has_the_shape_of_a_real_409
);

fn document() -> Value {
    serde_json::from_str(&inventory_api::openapi::json().unwrap()).unwrap()
}

fn has_example(media_type: &Value) -> bool {
    media_type.get("example").is_some() || media_type.get("examples").is_some()
}

#[test]
fn every_operation_is_described_with_examples_of_requests_and_conflicts() {
    let document = document();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            for field in ["operationId", "summary", "description"] {
                assert!(operation[field].is_string(), "{name} has no {field}");
            }
            if let Some(content) = operation["requestBody"]["content"].as_object() {
                for (media_type, body) in content {
                    assert!(
                        has_example(body),
                        "{name} has no {media_type} request example"
                    );
                }
            }
            if let Some(content) = operation["responses"]["409"]["content"].as_object() {
                for body in content.values() {
                    assert!(has_example(body), "{name} has no 409 example");
                }
            }
        }
    }
}

#[test]
fn request_schemas_forbid_unknown_properties() {
    let document = document();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let requests = [
        "CreateProductRequest",
        "UpdateProductRequest",
        "StockAdjustmentRequest",
        "CreateLocationRequest",
        "UpdateLocationRequest",
        "UpdateLevelRequest",
        "TransferRequest",
        "CreateHoldRequest",
        "HoldItemRequest",
        "UpdateHoldRequest",
        "EndHoldRequest",
        "ReorderPointRequest",
        "CreateWebhookRequest",
        "UpdateWebhookRequest",
        "RotateSecretRequest",
        "RedeliverRequest",
    ];
    let more = [
        "StockSyncRequest",
        "VersionedStockCount",
        "ForcedStockCount",
        "TimedStockCount",
    ];
    for name in requests.into_iter().chain(more) {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
}

#[test]
fn links_name_operations_that_exist() {
    let document = document();
    let operation_ids: Vec<&Value> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|operation| &operation["operationId"])
        .collect();
    let created = &document["paths"]["/v1/products"]["post"]["responses"]["201"]["links"];
    let links = created.as_object().unwrap();
    for target in [
        "read_product",
        "update_product",
        "adjust_stock",
        "delete_product",
    ] {
        assert!(
            links.values().any(|link| link["operationId"] == target),
            "no link from create to {target}"
        );
    }
    for link in links.values() {
        assert!(operation_ids.contains(&&link["operationId"]), "{link}");
    }
}

/// A value's shape: its keys, recursively, and the type of each leaf.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(object) => object
            .iter()
            .map(|(key, item)| (key.clone(), shape(item)))
            .collect(),
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::String(_) => "string".into(),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "boolean".into(),
        Value::Null => "null".into(),
    }
}

async fn the_stale_version_example_has_the_shape_of_a_real_409(app: TestApp) {
    let product = app.create_product("EXAMPLE-1", 40).await;
    let path = format!("/v1/products/{}", product["id"].as_str().unwrap());
    let updated = app
        .patch_json(
            &path,
            &serde_json::json!({"version": 1, "price_minor": 1300}),
        )
        .await;
    assert_eq!(updated.status(), 200);
    let stale = app
        .patch_json(
            &path,
            &serde_json::json!({"version": 1, "price_minor": 1400}),
        )
        .await;
    let real = problem(stale, 409, "stale-version").await;
    let example = inventory_api::openapi::examples::stale_version();
    assert_eq!(
        shape(&example),
        shape(&real),
        "example: {example}\nreal: {real}"
    );
}

async fn the_server_serves_its_own_document(app: TestApp) {
    let yaml = app.get("/openapi.yaml").await;
    assert_eq!(yaml.status(), 200);
    assert_eq!(yaml.text().await.unwrap(), COMMITTED);

    let json: Value = app.get("/openapi.json").await.json().await.unwrap();
    let paths = json["paths"].as_object().unwrap();
    for path in [
        "/v1/products/{id}/stock-adjustments",
        "/v1/stock-sync",
        "/v1/products",
        "/v1/products/{id}",
        "/v1/products/{id}/history",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    // Every documented response names the X-Request-Id header.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["headers"]["X-Request-Id"].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    let patch = &json["paths"]["/v1/products/{id}"]["patch"]["responses"];
    for status in [
        "200", "400", "404", "409", "412", "413", "415", "422", "428", "500", "503",
    ] {
        assert!(patch[status].is_object(), "PATCH documents {status}");
    }
    let conflict = &patch["409"]["content"]["application/problem+json"]["schema"];
    assert_eq!(
        conflict["$ref"],
        "#/components/schemas/UpdateConflictProblem"
    );
    let one_of = &json["components"]["schemas"]["UpdateConflictProblem"]["oneOf"];
    assert_eq!(
        one_of.as_array().map(Vec::len),
        Some(3),
        "stale-version, duplicate-sku or stock-at-several-locations"
    );
    for post in [
        "/v1/products",
        "/v1/products/{id}/stock-adjustments",
        "/v1/stock-sync",
    ] {
        let operation = &json["paths"][post]["post"];
        let parameters = operation["parameters"].as_array().unwrap();
        assert!(
            parameters.iter().any(|p| p["name"] == "Idempotency-Key"),
            "{post} takes Idempotency-Key"
        );
        let success = operation["responses"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(status, _)| status.starts_with('2'))
            .unwrap()
            .1;
        assert!(
            success["headers"]["Idempotent-Replayed"].is_object(),
            "{post} documents replays"
        );
        for (status, problem) in [
            ("409", "IdempotencyKeyInUseProblem"),
            ("422", "IdempotencyKeyReusedProblem"),
        ] {
            let schema = operation["responses"][status]["content"]["application/problem+json"]
                ["schema"]
                .to_string();
            assert!(
                schema.contains(problem),
                "{post} {status} may be {problem}: {schema}"
            );
        }
    }
    let patch_body = &json["paths"]["/v1/products/{id}"]["patch"]["requestBody"]["content"];
    for media_type in ["application/json", "application/merge-patch+json"] {
        assert!(
            patch_body[media_type].is_object(),
            "PATCH accepts {media_type}"
        );
    }
}

async fn the_api_reference_is_served_from_the_binary(app: TestApp) {
    let not_following = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare = not_following
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(bare.headers()["location"], "/docs/");

    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"));
    // Everything the page loads comes from this server.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        assert!(html.contains(asset), "the page does not load {asset}");
        let file = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(file.status(), 200, "{asset}");
        assert!(!file.bytes().await.unwrap().is_empty(), "{asset}");
    }
    let initializer = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "{initializer}"
    );
}
