//! A PostgreSQL database whose transactions are serializable, as every
//! distributed SQL engine's are: writers racing for the same rows are
//! refused with a serialization failure (40001), and the server runs them
//! again rather than answer 5xx.

use serde_json::{json, Value};

use crate::helpers::{product_path, skip_without_postgres, TestApp};

const SALES: i64 = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_racing_on_a_serializable_database_are_run_again_not_refused() {
    let Some(app) = TestApp::serializable_postgres().await else {
        return skip_without_postgres();
    };
    let product = app.create_product("SERIAL-1", SALES).await;
    let path = product_path(&product);
    let url = format!("{}{path}/stock-adjustments", app.address);
    let retried_before = serialization_retries(&app).await;

    // Sixty sales of one at once, without a version, every other one with
    // a key: each must apply once, however often the database refused it.
    let sale = |n: i64| {
        let mut request = app
            .client
            .post(&url)
            .json(&json!({"delta": -1, "reason": "till"}));
        if n % 2 == 0 {
            request = request.header("Idempotency-Key", format!("serial-{n}"));
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let sales: Vec<_> = (0..SALES).map(|n| tokio::spawn(sale(n))).collect();
    for sale in sales {
        assert_eq!(sale.await.unwrap(), 200);
    }
    // The keyed ones again, as after lost answers: replayed, not applied.
    for n in (0..SALES).step_by(2).take(5) {
        assert_eq!(sale(n).await, 200);
    }

    let now: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(now["stock"], json!(0));
    assert_eq!(now["version"], json!(SALES + 1));
    assert_eq!(app.history_versions(&path).await.len() as i64, SALES + 1);
    let retried = serialization_retries(&app).await;
    assert!(
        retried > retried_before,
        "the race made the database refuse some, and they were run again: {retried_before} then {retried}"
    );
}

/// `inventory_db_retries_total{reason="serialization_failure"}`.
async fn serialization_retries(app: &TestApp) -> f64 {
    let page = app.get("/metrics").await.text().await.unwrap();
    page.lines()
        .find_map(|line| {
            line.strip_prefix(r#"inventory_db_retries_total{reason="serialization_failure"} "#)
        })
        .expect("the retries counter")
        .parse()
        .unwrap()
}
