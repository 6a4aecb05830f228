//! What operators see: `/metrics` and the structured request log.

use std::collections::HashMap;

use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::{MetricFamily, PrometheusType, PrometheusValue};
use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_path, skip_without_postgres, TestApp};
use crate::process::{database_url, Server};

api_tests!(
    metrics_count_requests_problems_and_pool_use,
    the_metrics_page_parses_as_prometheus_text
);

/// Each sample of a Prometheus text page, keyed by its name and labels as
/// written (`name{label="value",...}`).
fn samples(page: &str) -> HashMap<String, f64> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').expect("a sample is `key value`");
            (
                key.to_owned(),
                value.parse().expect("a sample's value is a number"),
            )
        })
        .collect()
}

/// The `/metrics` page's text.
async fn metrics_page(app: &TestApp) -> String {
    reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn metrics_count_requests_problems_and_pool_use(app: TestApp) {
    let product = app.create_product("METRICS-1", 5).await;
    let path = product_path(&product);
    for _ in 0..3 {
        assert_eq!(app.get(&path).await.status(), 200);
    }
    assert_eq!(
        app.patch_json(&path, &json!({"version": 1, "stock": 6}))
            .await
            .status(),
        200
    );
    let stale = app
        .patch_json(&path, &json!({"version": 1, "stock": 7}))
        .await;
    problem(stale, 409, "stale-version").await;
    let nowhere = app
        .get(&format!("/v1/no-such-thing-{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(nowhere.status(), 404);

    let response = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "no token needed");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let page = response.text().await.unwrap();
    let samples = samples(&page);
    let sample = |key: &str| {
        *samples
            .get(key)
            .unwrap_or_else(|| panic!("no sample {key} in\n{page}"))
    };

    let reads = r#"route="/v1/products/{id}",method="GET",status="200""#;
    assert_eq!(
        sample(&format!("inventory_http_requests_total{{{reads}}}")),
        3.0
    );
    assert_eq!(
        sample(&format!(
            "inventory_http_request_duration_seconds_count{{{reads}}}"
        )),
        3.0
    );
    assert_eq!(
        sample(&format!(
            "inventory_http_request_duration_seconds_bucket{{{reads},le=\"+Inf\"}}"
        )),
        3.0
    );
    assert!(
        sample(&format!(
            "inventory_http_request_duration_seconds_sum{{{reads}}}"
        )) > 0.0
    );
    let conflicts = r#"route="/v1/products/{id}",method="PATCH",status="409""#;
    assert_eq!(
        sample(&format!("inventory_http_requests_total{{{conflicts}}}")),
        1.0
    );
    assert_eq!(
        sample(r#"inventory_problems_total{type="stale-version",status="409"}"#),
        1.0
    );
    assert_eq!(
        sample(r#"inventory_http_requests_total{route="unmatched",method="GET",status="404"}"#),
        1.0
    );
    assert!(
        !page.contains("no-such-thing"),
        "paths a client makes up never become labels"
    );
    assert_eq!(sample("inventory_db_pool_max_connections"), 8.0);
    let open = sample(r#"inventory_db_pool_connections{state="in_use"}"#)
        + sample(r#"inventory_db_pool_connections{state="idle"}"#);
    assert!((1.0..=8.0).contains(&open), "{open} connections open");
    // The reads and PATCHes went over the HTTP workers' own connections
    // on PostgreSQL (two workers, four each at most); SQLite has none.
    let worker_connections = sample("inventory_db_worker_connections");
    if app.database.is_postgres() {
        assert!(
            (1.0..=8.0).contains(&worker_connections),
            "{worker_connections} worker connections open"
        );
    } else {
        assert_eq!(worker_connections, 0.0);
    }
}

/// The page read by a Prometheus text parser, as a scraper reads it: each
/// family has the type, labels, help and buckets operators' queries and
/// dashboards rely on.
async fn the_metrics_page_parses_as_prometheus_text(app: TestApp) {
    let product = app.create_product("SCRAPE-1", 5).await;
    assert_eq!(app.get(&product_path(&product)).await.status(), 200);
    let missing = format!("/v1/products/{}", uuid::Uuid::now_v7());
    problem(app.get(&missing).await, 404, "not-found").await;

    let page = metrics_page(&app).await;
    let exposition = parse_prometheus(&page)
        .unwrap_or_else(|error| panic!("not Prometheus text ({error:?}):\n{page}"));
    let family = |name: &str, kind: PrometheusType, labels: &[&str]| {
        let family = exposition
            .families
            .get(name)
            .unwrap_or_else(|| panic!("no family {name} in\n{page}"));
        assert_eq!(family.family_type, kind, "{name}");
        // The parser keeps label names sorted.
        let mut expected = labels.to_vec();
        expected.sort_unstable();
        assert_eq!(family.get_label_names(), expected, "{name}");
        family
    };
    let value = |family: &'_ MetricFamily<PrometheusType, PrometheusValue>,
                 labels: &[(&str, &str)]| {
        family
            .iter_samples()
            .find(|sample| {
                let set = sample.get_labelset().unwrap();
                labels
                    .iter()
                    .all(|(name, value)| set.get_label_value(name) == Some(*value))
            })
            .unwrap_or_else(|| panic!("no {} with {labels:?} in\n{page}", family.family_name))
            .value
            .clone()
    };
    let number = |value: PrometheusValue| match value {
        PrometheusValue::Counter(counter) => counter.value.as_f64(),
        PrometheusValue::Gauge(gauge) => gauge.as_f64(),
        other => panic!("not a counter or gauge: {other:?}"),
    };

    let request_labels = ["route", "method", "status"];
    let requests = family(
        "inventory_http_requests_total",
        PrometheusType::Counter,
        &request_labels,
    );
    assert_eq!(
        requests.help,
        "HTTP requests answered, by matched route, method and status."
    );
    let reads = [
        ("route", "/v1/products/{id}"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(number(value(requests, &reads)), 1.0);
    let created = [
        ("route", "/v1/products"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert_eq!(number(value(requests, &created)), 1.0);

    let durations = family(
        "inventory_http_request_duration_seconds",
        PrometheusType::Histogram,
        &request_labels,
    );
    let PrometheusValue::Histogram(read_durations) = value(durations, &reads) else {
        panic!("the request duration is not a histogram in\n{page}");
    };
    let bounds: Vec<f64> = read_durations
        .buckets
        .iter()
        .map(|bucket| bucket.upper_bound)
        .collect();
    assert_eq!(
        bounds,
        [
            0.0005,
            0.001,
            0.0025,
            0.005,
            0.01,
            0.025,
            0.05,
            0.1,
            0.25,
            0.5,
            1.0,
            5.0,
            f64::INFINITY
        ]
    );
    assert_eq!(read_durations.count, Some(1));
    assert!(read_durations.sum.is_some_and(|sum| sum.as_f64() > 0.0));

    let problems = family(
        "inventory_problems_total",
        PrometheusType::Counter,
        &["type", "status"],
    );
    let not_found = [("type", "not-found"), ("status", "404")];
    assert_eq!(number(value(problems, &not_found)), 1.0);

    let pool = family(
        "inventory_db_pool_connections",
        PrometheusType::Gauge,
        &["state"],
    );
    assert!(number(value(pool, &[("state", "idle")])) >= 0.0);
    let most = family(
        "inventory_db_pool_max_connections",
        PrometheusType::Gauge,
        &[],
    );
    assert_eq!(number(value(most, &[])), 8.0);
    let started = family("process_start_time_seconds", PrometheusType::Gauge, &[]);
    assert!(number(value(started, &[])) > 1.7e9);
}

/// A PostgreSQL URL with an option libpq knows and tokio-postgres does
/// not: the HTTP workers open no connections of their own, and reads and
/// PATCHes, 409s among them, go over the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_only_libpq_understands_serves_reads_and_patches_over_the_pool() {
    let libpq_only = |settings: &mut inventory_api::config::Settings| {
        let joint = if settings.database_url.contains('?') {
            '&'
        } else {
            '?'
        };
        settings.database_url = format!(
            "{}{joint}fallback_application_name=inventory",
            settings.database_url
        );
    };
    let Some(app) = TestApp::postgres_with(libpq_only).await else {
        return skip_without_postgres();
    };
    let product = app.create_product("LIBPQ-1", 5).await;
    let path = product_path(&product);
    assert_eq!(app.get(&path).await.status(), 200);
    let patched = app
        .patch_json(&path, &json!({"version": 1, "stock": 6}))
        .await;
    assert_eq!(patched.status(), 200);
    let stale = app
        .patch_json(&path, &json!({"version": 1, "stock": 7}))
        .await;
    let stale = problem(stale, 409, "stale-version").await;
    assert_eq!(stale["current"]["stock"], 6);

    let page = metrics_page(&app).await;
    assert_eq!(samples(&page)["inventory_db_worker_connections"], 0.0);
}

/// `--log-format json`: one JSON object per line, each answer with its
/// request id, route, status, latency and actor, and never a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_name_the_request_and_never_the_token() {
    let (url, _cleanup) = database_url();
    let server = Server::start_with(&url, &["--log-format", "json"]);
    server.wait_until_ready().await;
    let token = server.printed_admin_token();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/products", server.address))
        .bearer_auth(&token)
        .header("X-Request-Id", "log-check-1")
        .json(&json!({"sku": "LOG-1", "name": "Logged", "price_minor": 100, "currency": "EUR", "stock": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let (_, logs) = server.stop();

    assert!(!logs.contains(&token), "the token never reaches the log");
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let answered = lines
        .iter()
        .find(|line| line["message"] == "answered" && line["span"]["request_id"] == "log-check-1")
        .unwrap_or_else(|| panic!("no answer logged for the request in\n{logs}"));
    assert_eq!(answered["status"], 201);
    assert_eq!(answered["route"], "/v1/products");
    assert_eq!(answered["span"]["method"], "POST");
    assert_eq!(
        answered["span"]["actor"], "admin",
        "the token's name, not its secret"
    );
    assert!(answered["latency_ms"].as_f64().unwrap() > 0.0);
    let latency = answered["latency_ms"].to_string();
    assert!(
        latency
            .split_once('.')
            .is_none_or(|(_, decimals)| decimals.len() <= 3),
        "latency to the microsecond, not {latency}"
    );
    assert_eq!(answered["level"], "INFO");
}
