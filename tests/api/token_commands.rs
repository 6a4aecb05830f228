//! The binary's token commands and first start, run as a store operator
//! would: as processes, reading what they print.

use std::process::{Command, Output};

use crate::process::{database_url, Server, BINARY};

fn cli(database_url: &str, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .args(["--database-url", database_url])
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn token_create_list_and_revoke() {
    let (url, database) = database_url();
    let created = cli(
        &url,
        &["token", "create", "--role", "manager", "--name", "store-ui"],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let secret = text(&created.stdout).trim().to_owned();
    assert!(secret.starts_with("inv_") && secret.len() == 68, "{secret}");
    let log = format!("{}-wal", database.sqlite_path().display());
    assert!(
        !std::path::Path::new(&log).exists(),
        "the command closed the database, folding SQLite's log into it"
    );

    let listed = text(&cli(&url, &["token", "list"]).stdout);
    assert!(!listed.contains(&secret), "token list never shows a secret");
    let line = listed
        .lines()
        .find(|line| line.ends_with("store-ui"))
        .expect("the token is listed");
    assert!(line.contains("manager") && line.contains("live"), "{line}");
    let id = line.split_whitespace().next().unwrap().to_owned();

    let revoked = cli(&url, &["token", "revoke", &id]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let listed = text(&cli(&url, &["token", "list"]).stdout);
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with(&id) && line.contains("revoked")),
        "{listed}"
    );
    assert!(
        !cli(&url, &["token", "revoke", &id]).status.success(),
        "a revoked token cannot be revoked again"
    );
    assert!(
        !cli(&url, &["token", "create", "--role", "root", "--name", "x"])
            .status
            .success()
    );
}

/// `token create --location` limits the token's stock writes to locations
/// that exist, and `token list` says so.
#[test]
fn a_token_limited_to_locations_names_them() {
    let (url, _database) = database_url();
    let unknown = cli(
        &url,
        &[
            "token",
            "create",
            "--role",
            "sync",
            "--name",
            "van-till",
            "--location",
            "VAN",
        ],
    );
    assert!(!unknown.status.success(), "VAN does not exist yet");
    assert!(
        text(&unknown.stderr).contains("--location VAN"),
        "{}",
        text(&unknown.stderr)
    );

    let args = [
        "token",
        "create",
        "--role",
        "sync",
        "--name",
        "main-till",
        "--location",
        "main",
    ];
    let created = cli(&url, &args);
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(
        text(&created.stderr).contains("writing stock only at main"),
        "{}",
        text(&created.stderr)
    );
    let listed = text(&cli(&url, &["token", "list"]).stdout);
    let line = listed
        .lines()
        .find(|line| line.ends_with("main-till"))
        .unwrap();
    assert!(line.contains(" main "), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_prints_one_admin_token_and_no_log_or_response_shows_a_token() {
    let (url, _cleanup) = database_url();
    let server = Server::start(&url);
    server.wait_until_ready().await;
    let secret = server.printed_admin_token();

    let client = reqwest::Client::new();
    let mut bodies = Vec::new();
    for request in [
        client
            .get(format!("{}/v1/products", server.address))
            .bearer_auth(&secret),
        client
            .post(format!("{}/v1/products", server.address))
            .bearer_auth(&secret)
            .json(&crate::helpers::product_body("LOG-1", 1)),
        client
            .get(format!("{}/v1/products", server.address))
            .bearer_auth("inv_wrong-secret-0123"),
        client
            .get(format!("{}/v1/products", server.address))
            .header("Authorization", format!("Basic {secret}")),
    ] {
        let response = request.send().await.unwrap();
        let headers = format!("{:?}", response.headers());
        bodies.push(format!("{headers}\n{}", response.text().await.unwrap()));
    }
    assert!(
        bodies[0].contains("\"items\""),
        "the admin token works: {}",
        bodies[0]
    );
    let (printed, logs) = server.stop();

    assert!(logs.contains("answered"), "the logs were captured: {logs}");
    for leaked in [secret.as_str(), "inv_wrong-secret-0123"] {
        assert!(!logs.contains(leaked), "a token appears in the logs");
        assert!(
            !bodies.iter().any(|body| body.contains(leaked)),
            "a token appears in a response"
        );
    }
    assert!(
        !printed.contains(&secret),
        "the admin token is printed once"
    );

    // A second start finds a token and makes none.
    let again = Server::start(&url);
    again.wait_until_ready().await;
    let (printed, _) = again.stop();
    assert!(
        !printed.contains("inv_"),
        "no second admin token: {printed}"
    );
}
