//! SIGTERM, as systemd, Kubernetes or Ctrl-C send it: the request in
//! flight is answered, new connections are refused, the database
//! connections are closed (not cut off by the exit), and the process exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, OptionalExtension, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{json, Value};

use crate::helpers::{
    bearer_client, create_product_at, get_json, skip_without_postgres, TestDatabase,
};
use crate::process::{database_url, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0() {
    let (url, _cleanup) = database_url();
    let server = Server::start(&url);
    server.wait_until_ready().await;
    let token = server.printed_admin_token();
    let port = server.port();

    // A create whose body is still arriving when the signal comes: the
    // server holds the request, half read.
    let body = r#"{"sku": "LATE-1", "name": "Sent slowly", "price_minor": 100, "currency": "EUR", "stock": 3}"#;
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut in_flight = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        in_flight,
        "POST /v1/products HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first_half}",
        body.len()
    )
    .unwrap();
    in_flight.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stopping = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(20)));
    let refused = wait_until_refused(port, Duration::from_secs(5));
    assert!(refused, "new connections are refused once stopping");

    in_flight.write_all(second_half.as_bytes()).unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = in_flight.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight is answered: {answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "and its connection is closed: {answer}"
    );

    let status = stopping
        .await
        .unwrap()
        .expect("the server exits within 20 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{status}");

    let restarted = Server::start(&url);
    restarted.wait_until_ready().await;
    let created = reqwest::Client::new()
        .get(format!("{}/v1/products?sku=LATE-1", restarted.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        created["items"][0]["stock"], 3,
        "and what it answered was kept"
    );
    restarted.stop();
}

/// Whether connecting to the port fails within `limit`.
fn wait_until_refused(port: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// After a stop, SQLite's log has been folded into the database file and
/// removed: the file alone holds every write, as an operator who copies it
/// expects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigterm_the_sqlite_file_alone_holds_every_write() {
    let (url, database) = database_url();
    let path = database.sqlite_path();
    let server = Server::start(&url);
    server.wait_until_ready().await;
    let client = bearer_client(&server.printed_admin_token());
    create_together(&client, &server.address, 16).await;
    terminate_cleanly(server).await;
    for suffix in ["-wal", "-shm"] {
        let left = format!("{}{suffix}", path.display());
        assert!(!Path::new(&left).exists(), "{left} was removed");
    }

    let (copy_url, copy_database) = database_url();
    std::fs::copy(path, copy_database.sqlite_path()).unwrap();
    let copy = Server::start(&copy_url);
    copy.wait_until_ready().await;
    let listed = get_json(&client, &format!("{}/v1/products?limit=100", copy.address)).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(16),
        "{listed}"
    );
    copy.stop();
}

/// After a stop, PostgreSQL saw each of the server's connections ended by
/// the server, none lost as a crashed client's would be (which it logs as
/// "Connection reset by peer").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigterm_postgresql_saw_every_connection_closed() {
    let Some(database) = TestDatabase::fresh_postgres() else {
        return skip_without_postgres();
    };
    let TestDatabase::Postgres { admin_url, name } = &database else {
        unreachable!("a PostgreSQL database")
    };
    let server = Server::start(&database.url());
    server.wait_until_ready().await;
    let client = bearer_client(&server.printed_admin_token());
    let products = create_together(&client, &server.address, 16).await;
    // Reads and PATCHes go over the HTTP workers' own connections.
    patch_together(&client, &server.address, &products).await;
    terminate_cleanly(server).await;

    let mut admin = PgConnection::establish(admin_url).unwrap();
    let sessions = wait_for_sessions_ended(&mut admin, name);
    assert!(
        sessions.sessions >= 5,
        "the migration's connection, several pooled ones and the workers' own: {}",
        sessions.sessions
    );
    assert_eq!(sessions.sessions_abandoned, 0, "none was cut off");
}

/// `count` products created at once, so that the server opens several
/// connections.
async fn create_together(client: &reqwest::Client, address: &str, count: usize) -> Vec<Value> {
    let creates = (0..count).map(|n| {
        let (client, address) = (client.clone(), address.to_owned());
        tokio::spawn(async move {
            create_product_at(&client, &address, &format!("TOGETHER-{n}"), 1).await
        })
    });
    futures::future::join_all(creates)
        .await
        .into_iter()
        .map(|created| created.unwrap())
        .collect()
}

/// Each product read and PATCHed, all at once.
async fn patch_together(client: &reqwest::Client, address: &str, products: &[Value]) {
    let patches = products.iter().map(|product| {
        let url = format!("{address}/v1/products/{}", product["id"].as_str().unwrap());
        let client = client.clone();
        tokio::spawn(async move {
            let read = get_json(&client, &url).await;
            let patched = client
                .patch(&url)
                .json(&json!({"version": read["version"], "stock": 2}))
                .send()
                .await
                .unwrap();
            assert_eq!(patched.status(), 200);
        })
    });
    for patched in futures::future::join_all(patches).await {
        patched.unwrap();
    }
}

async fn terminate_cleanly(server: Server) {
    let status = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(20)))
        .await
        .unwrap()
        .expect("the server exits within 20 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{status}");
}

/// A database's session counts in PostgreSQL's statistics.
#[derive(QueryableByName)]
struct Sessions {
    #[diesel(sql_type = BigInt)]
    sessions: i64,
    #[diesel(sql_type = BigInt)]
    sessions_abandoned: i64,
}

/// The session counts of database `name`, once none of its sessions is
/// left: a session's end is counted before it leaves `pg_stat_activity`.
fn wait_for_sessions_ended(admin: &mut PgConnection, name: &str) -> Sessions {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counted = diesel::sql_query(
            "SELECT d.sessions, d.sessions_abandoned FROM pg_stat_database d \
             WHERE d.datname = $1 \
             AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
        )
        .bind::<Text, _>(name)
        .get_result::<Sessions>(admin)
        .optional()
        .unwrap();
        if let Some(sessions) = counted {
            return sessions;
        }
        assert!(
            Instant::now() < deadline,
            "the server's sessions did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
