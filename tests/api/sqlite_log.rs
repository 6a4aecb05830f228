//! SQLite's write-ahead log is checkpointed in the background, and started
//! over from its beginning once it has grown past its limit and been wholly
//! copied: under steady reads and writes it stays about that size, instead
//! of growing with everything ever written.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{product_path, TestApp, TestDatabase};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_starts_over_under_steady_reads_and_writes() {
    // 1 MiB: what the writes below fill in a fraction of a second.
    let app = TestApp::sqlite_with(|settings| settings.sqlite_log_limit = 1).await;
    let TestDatabase::Sqlite { path } = &app.database else {
        unreachable!("an SQLite app")
    };
    let product = app.create_product("LOG-1", 0).await;
    let product_url = format!("{}{}", app.address, product_path(&product));
    let salt_before = log_salt(path);
    let until = Instant::now() + Duration::from_secs(3);

    let mut clients = Vec::new();
    for writer in [true, true, true, true, false, false, false, false] {
        let (client, url) = (app.client.clone(), product_url.clone());
        clients.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < until {
                let response = if writer {
                    client
                        .post(format!("{url}/stock-adjustments"))
                        .json(&json!({"delta": 1, "reason": "count"}))
                        .send()
                        .await
                } else {
                    client.get(&url).send().await
                };
                assert_eq!(response.unwrap().status(), 200);
                done += u64::from(writer);
            }
            done
        }));
    }
    let mut writes = 0;
    for client in clients {
        writes += client.await.unwrap();
    }

    let started_over = log_salt(path).wrapping_sub(salt_before);
    assert!(writes > 100, "only {writes} writes were made");
    assert!(
        started_over >= 2,
        "the log was started over {started_over} times in 3 s ({writes} writes); \
         it has grown to {} bytes",
        std::fs::metadata(format!("{}-wal", path.display()))
            .unwrap()
            .len()
    );
}

/// The log header's first salt, which SQLite adds one to each time it
/// starts the log over (a big-endian u32 at byte 16).
fn log_salt(database: &Path) -> u32 {
    let log = std::fs::read(format!("{}-wal", database.display())).unwrap();
    u32::from_be_bytes(log[16..20].try_into().unwrap())
}
