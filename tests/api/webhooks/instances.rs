//! Two instances on one database: one at a time delivers a subscription,
//! so a receiver never has two of its requests in flight at once, and
//! everything arrives in order.

use std::time::Duration;

use super::{assert_delivered_in_order, wanted, Answer, Api, Receiver};
use crate::api_tests;
use crate::helpers::TestApp;

api_tests!(two_instances_deliver_a_subscription_one_request_at_a_time);

const EVENTS: [&str; 5] = ["product", "hold", "location", "stock.low", "stock.ok"];
const PATHS: [&str; 3] = ["/one", "/two", "/three"];

async fn two_instances_deliver_a_subscription_one_request_at_a_time(app: TestApp) {
    let servers = [Api::of(&app), {
        let mut other = Api::of(&app);
        other.address = app.another_server();
        other
    }];
    // A short wait in every answer, and a refusal now and then, so that
    // both instances have time to reach for the same subscription.
    let receiver = Receiver::start(|seen| {
        let answer = if seen.number.is_some_and(|n| n % 5 == 0) && seen.attempt == 1 {
            Answer::refuse()
        } else {
            Answer::ok()
        };
        answer.after(Duration::from_millis(100))
    });
    let mut webhooks = Vec::new();
    for (n, path) in PATHS.iter().enumerate() {
        webhooks.push(servers[n % 2].subscribe(&receiver, path, &EVENTS).await);
    }
    let start = webhooks
        .iter()
        .map(|webhook| webhook["delivered_through"].as_i64().unwrap())
        .min()
        .unwrap();
    futures::join!(
        servers[0].mixed_changes("TWO-A"),
        servers[1].mixed_changes("TWO-B")
    );
    let items = servers[0].changes_after(start).await;
    let newest = items.last().unwrap()["number"].as_i64().unwrap();
    for (n, (webhook, path)) in webhooks.iter().zip(PATHS).enumerate() {
        servers[n % 2]
            .delivered_within(webhook, newest, Duration::from_secs(60))
            .await;
        let after = webhook["delivered_through"].as_i64().unwrap();
        let mine: Vec<serde_json::Value> = items
            .iter()
            .filter(|item| item["number"].as_i64().unwrap() > after)
            .cloned()
            .collect();
        let arrivals = receiver.arrivals_at(path);
        let most = arrivals.iter().map(|a| a.concurrent).max().unwrap_or(0);
        assert_eq!(most, 1, "{path}: {most} requests at once");
        assert_delivered_in_order(&arrivals, &wanted(&mine, &EVENTS), None);
    }
}
