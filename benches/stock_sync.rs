//! One 1000-item stock sync against 1000 single-item PATCH requests on the
//! same products, over real HTTP, on SQLite and (when BENCH_DATABASE_URL or
//! TEST_DATABASE_URL names a PostgreSQL server) on PostgreSQL.
//!
//! Run: `cargo bench --bench stock_sync`. Prints each timing and the ratio;
//! both sides run in the same process, against the same server and data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use inventory_api::config::Settings;
use inventory_api::db::Database;
use inventory_api::domain::access::Role;
use inventory_api::startup::Application;
use serde_json::{json, Value};

const PRODUCTS: usize = 1000;
const ROUNDS: usize = 5;

#[tokio::main]
async fn main() {
    let sqlite_path =
        std::env::temp_dir().join(format!("inventory-bench-{}.db", uuid::Uuid::now_v7()));
    bench("SQLite", &format!("sqlite://{}", sqlite_path.display())).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_path.display()));
    }

    let admin_url =
        std::env::var("BENCH_DATABASE_URL").or_else(|_| std::env::var("TEST_DATABASE_URL"));
    match admin_url {
        Ok(admin_url) => {
            let name = format!("inventory_bench_{}", uuid::Uuid::now_v7().simple());
            let mut admin = PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
            admin
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .expect("create the bench database");
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            bench("PostgreSQL", &format!("{base}/{name}")).await;
            admin
                .batch_execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                .expect("drop the bench database");
        }
        Err(_) => println!("PostgreSQL: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)"),
    }
}

async fn bench(backend: &str, database_url: &str) {
    let mut settings = Settings::for_database(database_url);
    settings.bind = "127.0.0.1:0".into();
    // The bench measures the work, not the limit on one token's rate.
    settings.rate_limit = 0;
    let application = Application::build(&settings).expect("build the application");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    let database = Database::open(database_url, 1).expect("open the database");
    let (_, secret) = database
        .write_now(|conn| inventory_api::store::tokens::create(conn, "bench", Role::Manager, None))
        .expect("make a token");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {secret}").parse().unwrap(),
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();

    let mut products = Vec::with_capacity(PRODUCTS);
    for n in 0..PRODUCTS {
        let body = json!({"sku": format!("BENCH-{n:04}"), "name": format!("Bench {n}"), "price_minor": 100, "currency": "EUR", "stock": 0});
        let created: Value = client
            .post(format!("{address}/v1/products"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        products.push(created);
    }

    let mut singles = Vec::new();
    let mut batches = Vec::new();
    let mut stock = 0;
    for _ in 0..ROUNDS {
        // 1000 PATCH requests, one after another, each setting one stock.
        stock += 1;
        let started = Instant::now();
        for product in &mut products {
            let url = format!("{address}/v1/products/{}", product["id"].as_str().unwrap());
            let body = json!({"version": product["version"], "stock": stock});
            let response = client.patch(url).json(&body).send().await.unwrap();
            assert_eq!(response.status(), 200);
            *product = response.json().await.unwrap();
        }
        singles.push(started.elapsed());

        // One stock sync setting the same 1000 stocks.
        stock += 1;
        let items: Vec<Value> = products
            .iter()
            .map(|p| json!({"sku": p["sku"], "stock": stock, "expected_version": p["version"]}))
            .collect();
        let started = Instant::now();
        let response = client
            .post(format!("{address}/v1/stock-sync"))
            .json(&json!({"items": items}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let outcome: Value = response.json().await.unwrap();
        batches.push(started.elapsed());
        assert_eq!(outcome["summary"]["updated"], PRODUCTS);
        for (product, result) in products
            .iter_mut()
            .zip(outcome["results"].as_array().unwrap())
        {
            product["version"] = result["version"].clone();
        }
    }
    let single = median(&mut singles);
    let batch = median(&mut batches);
    println!(
        "{backend}: {PRODUCTS} single PATCH requests {:.1} ms, one {PRODUCTS}-item stock sync {:.1} ms, \
         batch is {:.1}x faster (median of {ROUNDS} rounds)",
        single.as_secs_f64() * 1000.0,
        batch.as_secs_f64() * 1000.0,
        single.as_secs_f64() / batch.as_secs_f64()
    );
}

fn median(timings: &mut [Duration]) -> Duration {
    timings.sort();
    timings[timings.len() / 2]
}
