//! What every response carries: problem documents, request ids, and the
//! answers for paths and methods that do not exist.

use reqwest::Method;

use crate::api_tests;
use crate::helpers::{problem, TestApp};

api_tests!(
    unknown_route_is_404_problem,
    wrong_method_is_405_with_allow,
    head_answers_like_get_without_a_body,
    every_problem_type_is_explained,
    request_id_is_echoed_when_sane_and_made_otherwise,
);

async fn unknown_route_is_404_problem(app: TestApp) {
    for path in [
        "/index.html",
        "/v2/products",
        "/v1/products/extra/deep/path",
        "/problems",
    ] {
        problem(app.get(path).await, 404, "not-found").await;
    }
}

async fn wrong_method_is_405_with_allow(app: TestApp) {
    let id = uuid::Uuid::now_v7();
    let cases = [
        (Method::PUT, "/v1/products".to_owned(), "GET, HEAD, POST"),
        (Method::DELETE, "/v1/products".to_owned(), "GET, HEAD, POST"),
        (
            Method::POST,
            format!("/v1/products/{id}"),
            "GET, HEAD, PATCH, DELETE",
        ),
        (
            Method::PUT,
            format!("/v1/products/{id}"),
            "GET, HEAD, PATCH, DELETE",
        ),
        (
            Method::POST,
            format!("/v1/products/{id}/history"),
            "GET, HEAD",
        ),
        (Method::POST, "/healthz".to_owned(), "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let response = app.request(method.clone(), &path).send().await.unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        problem(response, 405, "method-not-allowed").await;
    }
}

async fn head_answers_like_get_without_a_body(app: TestApp) {
    let product = app.create_product("HEAD-1", 1).await;
    let path = crate::helpers::product_path(&product);
    let response = app.request(Method::HEAD, &path).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let get = app.get(&path).await;
    assert_eq!(
        response.headers()["content-length"],
        get.headers()["content-length"]
    );
    let missing = app
        .request(Method::HEAD, "/v1/products/not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
}

async fn every_problem_type_is_explained(app: TestApp) {
    for problem_type in inventory_api::http::problem::ALL {
        let response = app.get(&problem_type.uri()).await;
        assert_eq!(response.status(), 200, "{}", problem_type.slug);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = response.text().await.unwrap();
        assert!(text.contains(problem_type.title), "{text}");
        assert!(
            text.contains(&problem_type.status.as_u16().to_string()),
            "{text}"
        );
    }
    problem(app.get("/problems/no-such-problem").await, 404, "not-found").await;
}

async fn request_id_is_echoed_when_sane_and_made_otherwise(app: TestApp) {
    let sent = app
        .request(Method::GET, "/healthz")
        .header("X-Request-Id", "sync-job-42")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.headers()["x-request-id"], "sync-job-42");

    let error = app
        .request(Method::GET, "/nowhere")
        .header("X-Request-Id", "trace-7")
        .send()
        .await
        .unwrap();
    assert_eq!(error.headers()["x-request-id"], "trace-7");
    let body = problem(error, 404, "not-found").await;
    assert_eq!(body["request_id"], "trace-7");

    for insane in ["has space".to_owned(), "x".repeat(129), String::new()] {
        let response = app
            .request(Method::GET, "/healthz")
            .header("X-Request-Id", insane.as_str())
            .send()
            .await
            .unwrap();
        let made = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(made, insane);
        assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    }
    let none = app.get("/healthz").await;
    assert!(uuid::Uuid::parse_str(none.headers()["x-request-id"].to_str().unwrap()).is_ok());
}
