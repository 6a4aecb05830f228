//! PostgreSQL down at start-up and restarted under load, on a PostgreSQL
//! server of the test's own: the API waits for it at start, answers 503
//! with `Retry-After` while it is away (never a hang, never a 500), and
//! serves again within 5 seconds of its return, without a restart. Nothing
//! acknowledged is lost, and resent requests apply once.

use std::time::{Duration, Instant};

use crate::helpers::{bearer_client, create_product_at};
use crate::load_through_outage::{
    assert_each_key_applied_once, assert_served_through, Load, RECOVERY,
};
use crate::private_postgres::PrivatePostgres;
use crate::process::Server;

/// The longest a request may take while the database is away: the pool's
/// 3 s wait for a connection, with room for a slow machine.
const LONGEST_ANSWER: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_down_at_start_and_restarted_under_load() {
    let Some(postgres) = PrivatePostgres::create() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the outage test: install PostgreSQL's server (initdb, pg_ctl)"
        );
        eprintln!("PostgreSQL's server programs are not installed: outage test skipped");
        return;
    };

    // Down at start: the server waits for the database instead of exiting.
    let mut server = Server::start_with(&postgres.url(), &["--rate-limit", "0"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(server.is_running(), "the server waits for the database");
    postgres.start();
    server.wait_until_ready().await;
    let token = server.printed_admin_token();
    let client = bearer_client(&token);
    let created = create_product_at(&client, &server.address, "OUTAGE-1", 0).await;
    let adjust_url = format!(
        "{}/v1/products/{}/stock-adjustments",
        server.address,
        created["id"].as_str().unwrap()
    );

    // Writers and a readiness probe run throughout the restart.
    let load = Load::start(&client, &server.address, &adjust_url, "outage");
    tokio::time::sleep(Duration::from_secs(1)).await;
    postgres.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    postgres.start();
    let back = Instant::now();
    tokio::time::sleep(RECOVERY + Duration::from_secs(2)).await;
    let (answers, probes) = load.finish().await;

    let ready_again = assert_served_through(&answers, &probes, back);
    for answer in &answers {
        assert!(
            answer.took < LONGEST_ANSWER,
            "a request hung for {:?}",
            answer.took
        );
        if answer.status == 503 {
            assert!(answer.retry_after, "a 503 carries Retry-After");
            assert_eq!(
                answer.problem_type.as_deref(),
                Some("/problems/unavailable")
            );
        }
    }
    let refused = answers.iter().filter(|answer| answer.status == 503).count();
    assert!(refused > 0, "requests during the outage were refused");
    eprintln!(
        "outage: {} requests, {refused} answered 503; ready {ready_again:?} after the database's return",
        answers.len()
    );

    // Refused requests applied nothing: resent with their keys, each applies
    // once, and the stock counts every key exactly once.
    assert_each_key_applied_once(&client, &adjust_url, &answers).await;

    let (_, logs) = server.stop();
    assert!(
        logs.contains("the database is unreachable; waiting for it"),
        "waiting at start-up is logged: {logs}"
    );
    assert!(logs.contains("attempt=2"), "and retried: {logs}");
}
