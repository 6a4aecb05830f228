//! A primary with a synchronous streaming standby, each a PostgreSQL
//! server of the test's own. The API runs on a multi-host URL that asks
//! for the host taking writes; the primary is killed under load and the
//! standby promoted. Every acknowledged write is there once, no answer is
//! a 5xx other than 503, and writes work again within 5 s of the promotion.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::helpers::{bearer_client, create_product_at};
use crate::load_through_outage::{
    assert_each_key_applied_once, assert_served_through, Load, RECOVERY,
};
use crate::private_postgres::PrivatePostgres;
use crate::process::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_primary_killed_under_load_and_the_standby_promoted_loses_nothing_acknowledged() {
    let Some(primary) = PrivatePostgres::create() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the failover test: install PostgreSQL's server (initdb, pg_ctl)"
        );
        eprintln!("PostgreSQL's server programs are not installed: failover test skipped");
        return;
    };
    primary.start();
    let standby = PrivatePostgres::standby_of(&primary);
    standby.start();
    make_standby_synchronous(&primary.url());

    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write",
        primary.port(),
        standby.port()
    );
    let server = Server::start_with(&url, &["--rate-limit", "0"]);
    server.wait_until_ready().await;
    let client = bearer_client(&server.printed_admin_token());
    let created = create_product_at(&client, &server.address, "FAILOVER-1", 0).await;
    let adjust_url = format!(
        "{}/v1/products/{}/stock-adjustments",
        server.address,
        created["id"].as_str().unwrap()
    );

    let load = Load::start(&client, &server.address, &adjust_url, "failover");
    tokio::time::sleep(Duration::from_secs(1)).await;
    primary.kill();
    // No host takes writes until the promotion: longer than a request
    // waits for a connection (3 s), so that the outage shows.
    tokio::time::sleep(Duration::from_secs(4)).await;
    standby.promote();
    let promoted = Instant::now();
    tokio::time::sleep(RECOVERY + Duration::from_secs(2)).await;
    let (answers, probes) = load.finish().await;

    let ready_again = assert_served_through(&answers, &probes, promoted);
    let writing_again = answers
        .iter()
        .filter(|answer| answer.sent_at > promoted && answer.status == 200)
        .map(|answer| answer.sent_at.duration_since(promoted))
        .min()
        .expect("writes work on the promoted standby");
    assert!(
        writing_again <= RECOVERY,
        "writes again after {writing_again:?}"
    );
    let refused = answers.iter().filter(|answer| answer.status == 503).count();
    eprintln!(
        "failover: {} requests, {refused} answered 503; writes again {writing_again:?} and ready \
         {ready_again:?} after the promotion",
        answers.len()
    );

    // The synchronous standby had every acknowledged write; the refused
    // ones, resent with their keys, apply once each.
    assert_each_key_applied_once(&client, &adjust_url, &answers).await;
    server.stop();
}

/// Makes the primary wait for the standby at every commit (set on the
/// primary only, as after a failover the new primary has no standby), and
/// waits until the standby streams synchronously.
fn make_standby_synchronous(primary_url: &str) {
    let mut primary = PgConnection::establish(primary_url).unwrap();
    // One statement per call: ALTER SYSTEM refuses a transaction block.
    primary
        .batch_execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
        .unwrap();
    primary.batch_execute("SELECT pg_reload_conf()").unwrap();
    for _ in 0..100 {
        let synchronous: i64 = diesel::sql_query(
            "SELECT count(*) AS count FROM pg_stat_replication WHERE sync_state = 'sync'",
        )
        .get_result::<Count>(&mut primary)
        .unwrap()
        .count;
        if synchronous == 1 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the standby never streamed synchronously");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}
