//! Concurrent writers: a deterministic race, and a storm of clients doing
//! read-modify-write with retry, checked against the invariants of
//! compare-and-swap.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use crate::api_tests;
use inventory_api::domain::access::Role;

use crate::helpers::{problem, product_path, release_writes, TestApp};

api_tests!(
    first_writer_wins_and_the_second_sees_its_change,
    writers_in_flight_together_see_one_win,
    storm_of_writers_keeps_every_invariant,
    storm_across_two_servers_keeps_every_invariant
);

async fn first_writer_wins_and_the_second_sees_its_change(app: TestApp) {
    let product = app.create_product("RACE-1", 40).await;
    let url = format!("{}{}", app.address, product_path(&product));
    let alice = app.client_for(&app.make_token(Role::Manager, "alice").secret);
    let bob = app.client_for(&app.make_token(Role::Manager, "bob").secret);

    let alice_copy: Value = alice.get(&url).send().await.unwrap().json().await.unwrap();
    let bob_copy: Value = bob.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (alice_copy["version"].as_i64(), bob_copy["version"].as_i64()),
        (Some(1), Some(1))
    );

    let alice_write = alice
        .patch(&url)
        .json(&json!({"version": 1, "price_minor": 1300}))
        .send()
        .await
        .unwrap();
    assert_eq!(alice_write.status(), 200);

    let bob_write = bob
        .patch(&url)
        .json(&json!({"version": 1, "price_minor": 1400}))
        .send()
        .await
        .unwrap();
    let conflict = problem(bob_write, 409, "stale-version").await;
    assert_eq!(
        conflict["changes_since"][0]["actor"], "alice",
        "the token's name is the actor"
    );
    assert_eq!(conflict["changes_since"].as_array().unwrap().len(), 1);
    assert_eq!(conflict["changes_since"][0]["version"], 2);
    assert_eq!(
        conflict["changes_since"][0]["changes"],
        json!({"price_minor": {"from": 1250, "to": 1300}})
    );
    assert_eq!(conflict["conflicting_fields"], json!(["price_minor"]));
    assert_eq!(conflict["rebase_safe"], false);

    let held: Value = app.get(&product_path(&product)).await.json().await.unwrap();
    assert_eq!(
        (held["price_minor"].as_i64(), held["version"].as_i64()),
        (Some(1300), Some(2)),
        "Alice's change is what the database holds"
    );

    // A stale change to a field nobody else touched is safe to rebase.
    let bob_rename = bob
        .patch(&url)
        .json(&json!({"version": 1, "name": "Renamed"}))
        .send()
        .await
        .unwrap();
    let conflict = problem(bob_rename, 409, "stale-version").await;
    assert_eq!(conflict["conflicting_fields"], json!([]));
    assert_eq!(conflict["rebase_safe"], true);
    let rebased = json!({"version": conflict["current_version"], "name": "Renamed"});
    let retried: Value = bob
        .patch(&url)
        .json(&rebased)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (retried["name"].as_str(), retried["price_minor"].as_i64()),
        (Some("Renamed"), Some(1300))
    );
}

/// Two writers that both read version 1 reach the compare-and-swap at the
/// same moment: a lock held from outside the server keeps both waiting at
/// the UPDATE until it is released. Exactly one wins; the other is refused
/// with the winner's change, and the winner's change is what is stored.
async fn writers_in_flight_together_see_one_win(app: TestApp) {
    let product = app.create_product("INFLIGHT-1", 40).await;
    let path = product_path(&product);
    let id = product["id"].as_str().unwrap().to_owned();

    let blocker = app.hold_writes(&id);

    let send = |price: i64| {
        let (client, url) = (app.client.clone(), format!("{}{path}", app.address));
        tokio::spawn(async move {
            let response = client
                .patch(url)
                .json(&json!({"version": 1, "price_minor": price}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (price, status, response.json::<Value>().await.unwrap())
        })
    };
    let (first, second) = (send(1300), send(1400));
    // Both have read version 1 and wait at the write lock.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    release_writes(blocker);
    let mut answers = vec![first.await.unwrap(), second.await.unwrap()];
    answers.sort_by_key(|(_, status, _)| *status);

    let [(winner_price, 200, won), (_, 409, refused)] = &answers[..] else {
        panic!("expected one 200 and one 409, got {answers:?}");
    };
    assert_eq!(won["version"], 2);
    assert_eq!(refused["type"], "/problems/stale-version");
    assert_eq!(refused["current_version"], 2);
    assert_eq!(
        refused["changes_since"][0]["changes"]["price_minor"]["to"],
        *winner_price
    );
    assert_eq!(refused["conflicting_fields"], json!(["price_minor"]));
    let stored: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(
        (stored["price_minor"].as_i64(), stored["version"].as_i64()),
        (Some(*winner_price), Some(2))
    );
}

const CLIENTS: usize = 12;
const PRODUCTS: usize = 3;
const INCREMENTS_PER_CLIENT: usize = 8;
/// Bound on tries per increment, so a broken server fails the test
/// instead of hanging it.
const MAX_TRIES: usize = 500;

#[derive(Default)]
struct ClientLog {
    /// (product index, version sent) of every write answered 200.
    successes: Vec<(usize, i64)>,
    conflicts: usize,
    unexpected: Vec<u16>,
}

async fn storm_of_writers_keeps_every_invariant(app: TestApp) {
    let addresses = [app.address.clone()];
    storm(&app, &addresses).await;
}

/// Two instances on one database, as behind a load balancer: clients spread
/// across both keep the same invariants as on one.
async fn storm_across_two_servers_keeps_every_invariant(app: TestApp) {
    let addresses = [app.address.clone(), app.another_server()];
    storm(&app, &addresses).await;
}

/// Clients, each sending to one of `addresses` in turn, increment products'
/// stock with read-modify-write; the products are then checked.
async fn storm(app: &TestApp, addresses: &[String]) {
    let mut paths = Vec::new();
    let mut start_stock = Vec::new();
    for n in 0..PRODUCTS {
        let product = app
            .create_product(&format!("STORM-{n}"), 100 * n as i64)
            .await;
        paths.push(product_path(&product));
        start_stock.push(product["stock"].as_i64().unwrap());
    }
    let mut clients = Vec::new();
    for client_number in 0..CLIENTS {
        let address = addresses[client_number % addresses.len()].clone();
        let (paths, client) = (paths.clone(), app.client.clone());
        clients.push(tokio::spawn(async move {
            let mut log = ClientLog::default();
            for increment in 0..INCREMENTS_PER_CLIENT {
                let target = (client_number + increment) % PRODUCTS;
                let url = format!("{address}{}", paths[target]);
                increment_stock(&client, &url, target, &mut log).await;
            }
            log
        }));
    }
    let mut logs = Vec::new();
    for client in clients {
        logs.push(client.await.unwrap());
    }

    let unexpected: Vec<u16> = logs.iter().flat_map(|log| log.unexpected.clone()).collect();
    assert_eq!(
        unexpected,
        Vec::<u16>::new(),
        "no 5xx and no other surprise"
    );
    let successes: Vec<(usize, i64)> = logs.iter().flat_map(|log| log.successes.clone()).collect();
    assert_eq!(successes.len(), CLIENTS * INCREMENTS_PER_CLIENT);
    let distinct: HashSet<&(usize, i64)> = successes.iter().collect();
    assert_eq!(
        distinct.len(),
        successes.len(),
        "no two successes from the same sent version"
    );
    let conflicts: usize = logs.iter().map(|log| log.conflicts).sum();
    eprintln!(
        "storm: {} writes applied, {conflicts} refused as stale",
        successes.len()
    );

    let mut per_product: HashMap<usize, i64> = HashMap::new();
    for (target, _) in &successes {
        *per_product.entry(*target).or_default() += 1;
    }
    for (target, path) in paths.iter().enumerate() {
        let product: Value = app.get(path).await.json().await.unwrap();
        let applied = per_product.get(&target).copied().unwrap_or(0);
        assert_eq!(
            product["version"].as_i64().unwrap() - 1,
            applied,
            "successful writes = final version - 1"
        );
        assert_eq!(
            product["stock"].as_i64().unwrap(),
            start_stock[target] + applied,
            "no increment lost or doubled"
        );

        let versions = app.history_versions(path).await;
        let expected: Vec<i64> = (1..=applied + 1).rev().collect();
        assert_eq!(
            versions, expected,
            "history holds every version, without a gap"
        );
    }
}

/// Reads the product and writes stock + 1 on the version read, until a
/// write is applied.
async fn increment_stock(client: &reqwest::Client, url: &str, target: usize, log: &mut ClientLog) {
    for _ in 0..MAX_TRIES {
        let read = client.get(url).send().await.unwrap();
        if read.status() != 200 {
            log.unexpected.push(read.status().as_u16());
            return;
        }
        let product: Value = read.json().await.unwrap();
        let version = product["version"].as_i64().unwrap();
        let stock = product["stock"].as_i64().unwrap();
        let write = client
            .patch(url)
            .json(&json!({"version": version, "stock": stock + 1}))
            .send()
            .await
            .unwrap();
        match write.status().as_u16() {
            200 => {
                log.successes.push((target, version));
                return;
            }
            409 => {
                let problem: Value = write.json().await.unwrap();
                if problem["type"] != "/problems/stale-version" {
                    log.unexpected.push(409);
                    return;
                }
                log.conflicts += 1;
            }
            other => {
                log.unexpected.push(other);
                return;
            }
        }
    }
    panic!("no write applied after {MAX_TRIES} tries");
}
