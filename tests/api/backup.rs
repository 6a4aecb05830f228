//! `inventory-api backup`: an SQLite copy taken while the server writes,
//! which a server then runs on as it was.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{bearer_client, create_product_at, get_json};
use crate::process::{database_url, Server, BINARY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_sqlite_backup_is_consistent_and_serves() {
    let (url, _cleanup) = database_url();
    let server = Server::start_with(&url, &["--rate-limit", "0"]);
    server.wait_until_ready().await;
    let token = server.printed_admin_token();
    let client = bearer_client(&token);
    let product = create_product_at(&client, &server.address, "BACKUP-1", 0).await;
    let path = format!("/v1/products/{}", product["id"].as_str().unwrap());

    // Writes go on while the copy is taken.
    let writer = {
        let (client, url) = (
            client.clone(),
            format!("{}{path}/stock-adjustments", server.address),
        );
        tokio::spawn(async move {
            for _ in 0..100 {
                let response = client
                    .post(&url)
                    .json(&json!({"delta": 1, "reason": "delivery"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let copy = std::env::temp_dir().join(format!("inventory-backup-{}.db", Uuid::now_v7()));
    let backup = back_up(&url, &copy);
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    writer.await.unwrap();
    server.stop();

    let again = back_up(&url, &copy);
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let copy_url = format!("sqlite://{}", copy.display());
    let restored = Server::start_with(&copy_url, &[]);
    restored.wait_until_ready().await;
    let read = get_json(&client, &format!("{}{path}", restored.address)).await;
    let version = read["version"].as_i64().unwrap();
    assert_eq!(read["stock"].as_i64().unwrap(), version - 1, "{read}");
    let history = get_json(
        &client,
        &format!("{}{path}/history?limit=200", restored.address),
    )
    .await;
    let versions: Vec<i64> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["version"].as_i64().unwrap())
        .collect();
    assert_eq!(
        versions,
        (1..=version).rev().collect::<Vec<_>>(),
        "history and product agree"
    );
    restored.stop();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
}

/// Runs `inventory-api backup` of the database at `url` to `to`.
fn back_up(url: &str, to: &Path) -> Output {
    Command::new(BINARY)
        .args(["backup", "--database-url", url, "--to"])
        .arg(to)
        .output()
        .unwrap()
}

#[test]
fn a_postgres_database_is_pointed_to_pg_dump() {
    let output = back_up(
        "postgres://postgres@127.0.0.1:1/none",
        Path::new("/tmp/never-written.db"),
    );
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("pg_dump"), "{said}");
}
