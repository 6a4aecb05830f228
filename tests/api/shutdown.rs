//! SIGTERM, as systemd, Kubernetes or Ctrl-C send it: the request in
//! flight is answered, new connections are refused, and the process exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

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
