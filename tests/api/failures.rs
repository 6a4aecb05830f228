//! Failures on the server's side: health checks, a busy or unreachable
//! database (503, then recovery), and a broken one (500 without internals).

use std::time::Duration;

use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use crate::api_tests;
use crate::helpers::{problem, product_path, TestApp, TestDatabase};

api_tests!(
    health_checks_answer,
    broken_database_is_500_without_internals,
    busy_database_is_503_never_500
);

async fn health_checks_answer(app: TestApp) {
    let live = app.get("/healthz").await;
    assert_eq!(live.status(), 200);
    assert_eq!(live.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );
}

async fn broken_database_is_500_without_internals(app: TestApp) {
    let product = app.create_product("BROKEN-1", 1).await;
    let mut conn = app.direct_connection();
    // The feed refers to history, so it goes first.
    conn.batch_execute("DROP TABLE product_events; DROP TABLE product_history")
        .unwrap();

    let response = app
        .patch_json(&product_path(&product), &json!({"version": 1, "stock": 2}))
        .await;
    let text = problem_text(response, 500).await;
    for internal in [
        "product_history",
        "SQL",
        "sql",
        "diesel",
        "table",
        "src/",
        "panicked",
    ] {
        assert!(
            !text.contains(internal),
            "the 500 leaks {internal:?}: {text}"
        );
    }
}

async fn problem_text(response: reqwest::Response, status: u16) -> String {
    let body = problem(response, status, "internal").await;
    body.to_string()
}

/// A writer that holds the database's write lock longer than the server
/// waits for it: the server answers 503 with Retry-After (SQLite) or keeps
/// waiting (PostgreSQL row locks), never 500, and recovers once it is gone.
async fn busy_database_is_503_never_500(app: TestApp) {
    let product = app.create_product("BUSY-1", 1).await;
    let path = product_path(&product);
    if app.database.is_postgres() {
        return unreachable_postgres_is_503_then_recovers(app, path).await;
    }
    let mut blocker = app.direct_connection();
    blocker.batch_execute("BEGIN IMMEDIATE").unwrap();

    let response = app
        .patch_json(&path, &json!({"version": 1, "stock": 2}))
        .await;
    assert_eq!(response.headers()["retry-after"], "2");
    problem(response, 503, "unavailable").await;
    let read = app.get(&path).await;
    assert_eq!(
        read.status(),
        200,
        "reads go on while a writer holds the lock"
    );

    blocker.batch_execute("ROLLBACK").unwrap();
    let retried = app
        .patch_json(&path, &json!({"version": 1, "stock": 2}))
        .await;
    assert_eq!(
        retried.status(),
        200,
        "the refused write was not applied, so the retry is"
    );
}

async fn unreachable_postgres_is_503_then_recovers(app: TestApp, path: String) {
    let TestDatabase::Postgres { admin_url, name } = &app.database else {
        unreachable!()
    };
    let mut admin = <diesel::PgConnection as diesel::Connection>::establish(admin_url).unwrap();
    let hidden = format!("{name}_away");
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .unwrap();
    admin
        .batch_execute(&format!("ALTER DATABASE \"{name}\" RENAME TO \"{hidden}\""))
        .unwrap();

    let ready = app.get("/readyz").await;
    assert_eq!(ready.headers()["retry-after"], "2");
    problem(ready, 503, "unavailable").await;
    problem(app.get(&path).await, 503, "unavailable").await;

    admin
        .batch_execute(&format!("ALTER DATABASE \"{hidden}\" RENAME TO \"{name}\""))
        .unwrap();
    let mut recovered = false;
    for _ in 0..20 {
        if app.get("/readyz").await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "the server reconnects by itself");
    assert_eq!(app.get(&path).await.status(), 200);
}
