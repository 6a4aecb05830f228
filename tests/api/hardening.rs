//! What one client, with a token or without, can do to everyone else:
//! stalled bodies, crowds of connections, huge error lists, streams that
//! outlive their token, stored responses without end, and requests that
//! read one way to a person and another to the server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use futures::future::join_all;
use inventory_api::domain::access::Role;
use serde_json::{json, Value};

use crate::api_test_with_settings;
use crate::api_tests;
use crate::events::EventReader;
use crate::helpers::{problem, product_path, TestApp};

api_tests!(
    a_huge_stock_sync_answers_one_small_422,
    long_unknown_keys_and_long_error_lists_are_cut,
    a_member_named_twice_is_400,
    invisible_format_characters_are_refused_in_names_and_reasons,
    several_if_match_lines_are_one_list,
    the_api_reference_has_the_pages_headers_and_answers_head,
    api_answers_are_never_stored,
    a_body_that_does_not_decode_says_what_to_fix,
);

api_test_with_settings!(
    stalled_bodies,
    stalled_bodies_are_cut_and_the_server_keeps_answering,
    |settings: &mut inventory_api::config::Settings| settings.body_timeout = 1
);
api_test_with_settings!(
    crowded_address,
    connections_beyond_an_addresss_cap_are_refused_and_closed,
    |settings: &mut inventory_api::config::Settings| settings.max_connections_per_address = 5
);
api_test_with_settings!(
    revoked_stream,
    a_revoked_tokens_stream_ends_within_about_a_second,
    |_| {}
);
api_test_with_settings!(
    stream_caps,
    streams_beyond_the_caps_are_refused,
    |settings: &mut inventory_api::config::Settings| {
        settings.max_streams = 3;
        settings.max_streams_per_token = 2;
    }
);
api_test_with_settings!(
    key_quota,
    new_idempotency_keys_beyond_the_quota_are_429_and_replays_still_work,
    |settings: &mut inventory_api::config::Settings| settings.idempotency_keys_per_token = 3
);

/// The server's host and port, for raw connections.
fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Opens a connection and sends a write's headers and the start of a
/// chunked body that never ends.
fn stalled(app: &TestApp, token: Option<&str>) -> TcpStream {
    let mut stream = TcpStream::connect(host(app)).unwrap();
    let authorization = token.map_or(String::new(), |secret| {
        format!("Authorization: Bearer {secret}\r\n")
    });
    let head = format!(
        "POST /v1/products HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n{authorization}\r\n5\r\n{{"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

/// Everything the server sends until it closes the connection, failing
/// the test if it stays open past `within`.
fn read_until_closed(mut stream: TcpStream, within: Duration) -> String {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return String::from_utf8_lossy(&answer).into_owned(),
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                return String::from_utf8_lossy(&answer).into_owned()
            }
            Err(error) => panic!(
                "still open after {within:?} ({error}); read so far: {}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
}

/// 200 connections stall their bodies, half without a token: those are
/// answered 401 and closed at once, the others 408 once the body timeout
/// (1 s here) passes; `/healthz` answers all along.
async fn stalled_bodies_are_cut_and_the_server_keeps_answering(app: TestApp) {
    let token = app.make_token(Role::Manager, "staller");
    let started = Instant::now();
    let connections: Vec<(bool, TcpStream)> = (0..200)
        .map(|n| {
            let with_token = n % 2 == 0;
            let secret = with_token.then_some(token.secret.as_str());
            (with_token, stalled(&app, secret))
        })
        .collect();
    let readers: Vec<_> = connections
        .into_iter()
        .map(|(with_token, stream)| {
            std::thread::spawn(move || {
                (
                    with_token,
                    read_until_closed(stream, Duration::from_secs(10)),
                )
            })
        })
        .collect();
    for _ in 0..5 {
        assert_eq!(app.get("/healthz").await.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for reader in readers {
        let (with_token, answer) = reader.join().unwrap();
        let expected = if with_token {
            "HTTP/1.1 408"
        } else {
            "HTTP/1.1 401"
        };
        assert!(answer.starts_with(expected), "{answer}");
        if with_token {
            assert!(answer.contains("/problems/request-timeout"), "{answer}");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(app.get("/healthz").await.status(), 200);
}

/// Beyond five connections from one address, a request on a further one
/// is answered 429 and that connection closed; the first five still work.
async fn connections_beyond_an_addresss_cap_are_refused_and_closed(app: TestApp) {
    let held: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(host(&app)).unwrap())
        .collect();
    // Counted as accepted: give the server a moment to see them all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sixth = TcpStream::connect(host(&app)).unwrap();
    sixth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let answer = read_until_closed(sixth, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.contains("/problems/too-many-connections"),
        "{answer}"
    );
    let mut first = held.into_iter().next().unwrap();
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let answer = read_until_closed(first, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// 349,518 empty items fill a 1 MiB body: one 422 naming the limit, not
/// a million errors.
async fn a_huge_stock_sync_answers_one_small_422(app: TestApp) {
    let items = vec!["{}"; 349_518].join(",");
    let body = format!("{{\"items\":[{items}]}}");
    assert!(body.len() <= 1024 * 1024);
    let response = app
        .request(reqwest::Method::POST, "/v1/stock-sync")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let problem = problem(response, 422, "validation").await;
    assert_eq!(
        problem["errors"],
        json!([{"pointer": "/items", "detail": "must hold at most 1000 items (it holds more)"}])
    );
    assert!(problem.to_string().len() < 1000, "{problem}");
}

/// 1,000 items, each with a 900-character unknown key and no fields: the
/// answer names the keys by their start and lists the first 100 errors.
async fn long_unknown_keys_and_long_error_lists_are_cut(app: TestApp) {
    let key = "k".repeat(900);
    let items: Vec<Value> = (0..1000).map(|_| json!({ key.clone(): 1 })).collect();
    let response = app
        .post_json("/v1/stock-sync", &json!({"items": items}))
        .await;
    let text_length = response.content_length();
    let problem = problem(response, 422, "validation").await;
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 100);
    assert!(
        problem["more_errors"].as_u64().unwrap() >= 1900,
        "{}",
        problem["more_errors"]
    );
    let unknown = errors
        .iter()
        .find(|error| error["detail"] == "is not a field of this request")
        .unwrap();
    assert_eq!(
        unknown["pointer"],
        format!("/items/0/{}…", "k".repeat(40)),
        "the key is named by its start"
    );
    assert!(text_length.unwrap_or(0) < 20_000, "{text_length:?}");
    assert!(problem.to_string().len() < 20_000);
}

/// `{"version": 999, "version": 1}` would pass as version 1 if the last
/// member won: it is refused, naming the member.
async fn a_member_named_twice_is_400(app: TestApp) {
    let product = app.create_product("TWICE-1", 5).await;
    let response = app
        .request(reqwest::Method::PATCH, &product_path(&product))
        .header("content-type", "application/json")
        .body(r#"{"version": 999, "price_minor": 5, "version": 1}"#)
        .send()
        .await
        .unwrap();
    let twice = problem(response, 400, "malformed-request").await;
    assert_eq!(twice["errors"][0]["pointer"], "/version");
    assert!(twice["detail"].as_str().unwrap().contains("/version"));
    let nested = app
        .request(reqwest::Method::POST, "/v1/stock-sync")
        .header("content-type", "application/json")
        .body(r#"{"items": [{"sku": "TWICE-1", "stock": 1, "stock": 2, "force": true}]}"#)
        .send()
        .await
        .unwrap();
    let twice = problem(nested, 400, "malformed-request").await;
    assert_eq!(twice["errors"][0]["pointer"], "/items/0/stock");
    let current = app.get(&product_path(&product)).await;
    let current: Value = current.json().await.unwrap();
    assert_eq!(current["version"], 1, "nothing was applied");
}

/// A direction override (U+202E) or another invisible format character
/// would show a name other than the one stored.
async fn invisible_format_characters_are_refused_in_names_and_reasons(app: TestApp) {
    for name in ["gpj\u{202e}.exe", "Mug\u{200b}", "\u{2066}Mug\u{2069}"] {
        let mut body = crate::helpers::product_body("FORMAT-1", 1);
        body["name"] = json!(name);
        let response = app.post_json("/v1/products", &body).await;
        let problem = problem(response, 422, "validation").await;
        assert_eq!(problem["errors"][0]["pointer"], "/name", "{name:?}");
    }
    let product = app.create_product("FORMAT-2", 3).await;
    let response = app
        .post_json(
            &format!("{}/stock-adjustments", product_path(&product)),
            &json!({"delta": 1, "reason": "sale \u{202e}1042"}),
        )
        .await;
    let problem = problem(response, 422, "validation").await;
    assert_eq!(problem["errors"][0]["pointer"], "/reason");
    // Joiners are part of writing some scripts and emoji.
    let mut body = crate::helpers::product_body("FORMAT-3", 1);
    body["name"] = json!("Family \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467} mug");
    assert_eq!(app.post_json("/v1/products", &body).await.status(), 201);
}

/// A second If-Match line is read as part of one list, and a list is
/// refused as one that names two versions would be.
async fn several_if_match_lines_are_one_list(app: TestApp) {
    let product = app.create_product("IFMATCH-1", 5).await;
    let response = app
        .request(reqwest::Method::PATCH, &product_path(&product))
        .header("content-type", "application/json")
        .header("if-match", "\"1\"")
        .header("if-match", "\"7\"")
        .body(r#"{"price_minor": 5}"#)
        .send()
        .await
        .unwrap();
    let problem = problem(response, 400, "malformed-request").await;
    assert_eq!(problem["errors"][0]["pointer"], "If-Match");
}

/// `/docs/` and its files carry the page's security headers, and HEAD
/// answers as GET does without a body.
async fn the_api_reference_has_the_pages_headers_and_answers_head(app: TestApp) {
    for path in [
        "/docs/",
        "/docs/swagger-initializer.js",
        "/docs/swagger-ui.css",
    ] {
        for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
            let response = app.request(method.clone(), path).send().await.unwrap();
            assert_eq!(response.status(), 200, "{method} {path}");
            let headers = response.headers();
            for name in [
                "content-security-policy",
                "x-content-type-options",
                "referrer-policy",
                "x-frame-options",
            ] {
                assert!(headers.contains_key(name), "{method} {path}: {name}");
            }
        }
    }
}

/// The API's JSON answers, problems included, may not be stored.
async fn api_answers_are_never_stored(app: TestApp) {
    let product = app.create_product("NOSTORE-1", 5).await;
    for path in [
        "/v1/products".to_owned(),
        product_path(&product),
        "/v1/products/00000000-0000-7000-8000-000000000000".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
}

/// gzip that is not gzip: a 400 a person can act on, with no Rust
/// internals in it.
async fn a_body_that_does_not_decode_says_what_to_fix(app: TestApp) {
    let response = app
        .request(reqwest::Method::POST, "/v1/products")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(b"\x1f\x8b\x08\x00not really gzip".to_vec())
        .send()
        .await
        .unwrap();
    let problem = problem(response, 400, "malformed-request").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("Content-Encoding"), "{detail}");
    assert!(
        !detail.contains("Custom {") && !detail.contains("Some("),
        "{detail}"
    );
}

/// A stream opened with a token ends within about a second of the token's
/// revocation, as its new requests are refused.
async fn a_revoked_tokens_stream_ends_within_about_a_second(app: TestApp) {
    let token = app.make_token(Role::Viewer, "watcher");
    let client = app.client_for(&token.secret);
    let mut stream = EventReader::open(&client, format!("{}/v1/events", app.address), None).await;
    assert_eq!(stream.next().await.name, "ready");
    let mut conn = app.direct_connection();
    assert!(inventory_api::store::tokens::revoke(&mut conn, &token.id).unwrap());
    let revoked = Instant::now();
    assert!(stream.ended_within(Duration::from_secs(5)).await);
    let took = revoked.elapsed();
    assert!(took < Duration::from_millis(2500), "ended after {took:?}");
}

/// Beyond two streams per token and three per server: 429 and 503, and a
/// closed stream frees its place.
async fn streams_beyond_the_caps_are_refused(app: TestApp) {
    let url = format!("{}/v1/events", app.address);
    let first = EventReader::open(&app.client, url.clone(), None).await;
    let _second = EventReader::open(&app.client, url.clone(), None).await;
    let third = app.client.get(&url).send().await.unwrap();
    problem(third, 429, "too-many-streams").await;
    let other = app.make_token(Role::Viewer, "other-reader");
    let other = app.client_for(&other.secret);
    let _fourth = EventReader::open(&other, url.clone(), None).await;
    let full = other.get(&url).send().await.unwrap();
    assert!(full.headers().contains_key("retry-after"));
    problem(full, 503, "unavailable").await;
    drop(first);
    // The server notices the closed stream when it next writes to it.
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in 0.. {
        app.create_product(&format!("NUDGE-{n}"), 1).await;
        let again = app.client.get(&url).send().await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// With a quota of three keys, a fourth new key is refused with nothing
/// applied, while a retry of an answered request is still replayed.
async fn new_idempotency_keys_beyond_the_quota_are_429_and_replays_still_work(app: TestApp) {
    let product = app.create_product("QUOTA-1", 100).await;
    let path = format!("{}/stock-adjustments", product_path(&product));
    let adjust = |key: String| {
        app.request(reqwest::Method::POST, &path)
            .header("idempotency-key", key)
            .json(&json!({"delta": -1, "reason": "sale"}))
            .send()
    };
    let answers = join_all((0..3).map(|n| adjust(format!("quota-{n}")))).await;
    for answer in answers {
        assert_eq!(answer.unwrap().status(), 200);
    }
    let refused = adjust("quota-3".into()).await.unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    problem(refused, 429, "idempotency-quota-exceeded").await;
    let replayed = adjust("quota-0".into()).await.unwrap();
    assert_eq!(replayed.status(), 200);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    let current: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(current["stock"], 97, "three applied, the refused one not");
}
