//! A server killed with SIGKILL while a delivery is in flight, then
//! started again on the same database: once the dead one's lease lapses,
//! delivery goes on from where it was, in order, and nothing is lost (the
//! event in flight may arrive twice).

use std::time::Duration;

use super::{assert_delivered_in_order, until, wanted, Answer, Api, Receiver};
use crate::helpers::{bearer_client, skip_without_postgres, TestDatabase};
use crate::process::Server;

const FLAGS: [&str; 4] = [
    "--webhook-allow-private",
    "--webhook-allow-http",
    "--webhook-retry-base-ms",
    "50",
];

const EVENTS: [&str; 2] = ["product", "location"];

mod sigkill_mid_delivery_loses_nothing {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let (url, _database) = crate::process::database_url();
        super::sigkill_mid_delivery_loses_nothing(&url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        match TestDatabase::fresh_postgres() {
            Some(database) => super::sigkill_mid_delivery_loses_nothing(&database.url()).await,
            None => skip_without_postgres(),
        }
    }
}

async fn sigkill_mid_delivery_loses_nothing(url: &str) {
    // Slow enough that a delivery is in flight whenever the server dies.
    let receiver = Receiver::start(|_| Answer::ok().after(Duration::from_secs(1)));
    let server = Server::start_with(url, &FLAGS);
    server.wait_until_ready().await;
    let token = server.printed_admin_token();
    let mut api = Api {
        client: bearer_client(&token),
        address: server.address.clone(),
    };
    let webhook = api.subscribe(&receiver, "/slow", &EVENTS).await;
    let start = webhook["delivered_through"].as_i64().unwrap();
    api.mixed_changes("CRASH").await;

    until(
        Duration::from_secs(30),
        "two deliveries and a third in flight",
        || {
            let arrivals = receiver.arrivals_at("/slow");
            arrivals.len() >= 3 && arrivals.last().is_some_and(|last| !last.finished)
        },
    )
    .await;
    let (_, logs) = server.stop();
    let in_flight = receiver.arrivals_at("/slow").last().unwrap().number;
    eprintln!(
        "webhook crash: killed with {in_flight:?} in flight, after {} deliveries",
        receiver.arrivals_at("/slow").len() - 1
    );

    let restarted = Server::start_with(url, &FLAGS);
    restarted.wait_until_ready().await;
    api.address = restarted.address.clone();
    api.create_product("CRASH-AFTER", 1).await;
    let items = api.changes_after(start).await;
    let newest = items.last().unwrap()["number"].as_i64().unwrap();
    // The lease lapses after 12 s; then about ten deliveries of 1 s.
    api.delivered_within(&webhook, newest, Duration::from_secs(60))
        .await;
    let arrivals = receiver.arrivals_at("/slow");
    let wanted = wanted(&items, &EVENTS);
    assert!(wanted.len() >= 10, "{}", wanted.len());
    assert_delivered_in_order(&arrivals, &wanted, in_flight);
    let (_, restarted_logs) = restarted.stop();
    assert!(
        !restarted_logs.contains("panicked"),
        "{logs}\n{restarted_logs}"
    );
}
