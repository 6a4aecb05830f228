//! Delivery: every wanted event, in feed order, signed, at least once; a
//! refused one is sent again (and nothing after it before it succeeds),
//! with growing delays; the log shows every attempt.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    assert_delivered_in_order, until, wanted, webhook_path, Answer, Api, Arrival, Receiver,
    DELIVERY_DEADLINE,
};
use crate::helpers::{pointers, problem, TestApp};
use crate::{api_test_with_settings, api_tests};

api_tests!(
    every_event_arrives_in_order_signed_and_each_refusal_is_sent_again,
    during_a_rotation_deliveries_carry_both_signatures,
    a_failing_subscription_backs_off_and_enabling_it_again_retries_at_once,
    redeliver_sends_every_wanted_event_again_in_order,
);

api_test_with_settings!(
    a_subscription_failing_past_the_limit_is_disabled_until_enabled,
    a_subscription_failing_past_the_limit_is_disabled_until_enabled,
    |settings| settings.webhook_give_up_after = 2
);

const EVERYTHING: [&str; 6] = [
    "product",
    "hold",
    "oversold",
    "location",
    "stock.low",
    "stock.ok",
];

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("no time: {value}")))
        .unwrap_or_else(|_| panic!("not RFC 3339: {value}"))
        .with_timezone(&Utc)
}

/// A sale under a hold: an `oversold` event.
async fn oversell(api: &Api, sku: &str) {
    let product = api.create_product(sku, 3).await;
    let hold = json!({"sku": sku, "quantity": 3, "expires_in": 600});
    api.send(reqwest::Method::POST, "/v1/holds", &hold, 201)
        .await;
    api.adjust(&product, -2).await;
}

/// The log's attempts, as the receiver saw them: (number, attempt, status).
async fn assert_log_matches(api: &Api, webhook: &Value, arrivals: &[Arrival]) {
    let expected: Vec<(i64, usize, u16)> = arrivals
        .iter()
        .map(|arrival| (arrival.number.unwrap(), arrival.attempt, arrival.status))
        .collect();
    let deadline = std::time::Instant::now() + DELIVERY_DEADLINE;
    let log = loop {
        let log = api.deliveries(webhook).await;
        if log.len() >= arrivals.len() || std::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let logged: Vec<(i64, usize, u16)> = log
        .iter()
        .map(|delivery| {
            (
                delivery["event_number"].as_i64().unwrap(),
                delivery["attempt"].as_u64().unwrap() as usize,
                delivery["status"].as_u64().unwrap_or(0) as u16,
            )
        })
        .collect();
    assert_eq!(logged, expected, "the log has every attempt, oldest last");
    for (delivery, arrival) in log.iter().zip(arrivals) {
        assert_eq!(delivery["event_type"], arrival.body["type"], "{delivery}");
        assert_eq!(delivery["succeeded"], arrival.succeeded(), "{delivery}");
        let answered = if arrival.succeeded() { "ok" } else { "refused" };
        assert_eq!(delivery["response"], answered, "{delivery}");
        assert_eq!(delivery["error"], Value::Null, "{delivery}");
        assert!(delivery["latency_ms"].as_i64().is_some_and(|ms| ms >= 0));
        assert!(delivery["id"].is_i64(), "{delivery}");
        instant(&delivery["at"]);
    }
    let ids: BTreeSet<i64> = log.iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), log.len(), "each delivery has an id of its own");
}

async fn every_event_arrives_in_order_signed_and_each_refusal_is_sent_again(app: TestApp) {
    let api = Api::of(&app);
    let first_requests = AtomicUsize::new(0);
    let level_numbers = std::sync::Mutex::new(Vec::<i64>::new());
    let receiver = Receiver::start(move |seen| {
        let number = seen.number.unwrap_or(0);
        let refused = match seen.path {
            // The first three requests, and the first of every third number.
            "/all" => {
                first_requests.fetch_add(1, Ordering::SeqCst) < 3
                    || (number % 3 == 0 && seen.attempt == 1)
            }
            // The first two attempts of every other event.
            "/level" => {
                let mut numbers = level_numbers.lock().unwrap();
                if !numbers.contains(&number) {
                    numbers.push(number);
                }
                let order = numbers.iter().position(|n| *n == number).unwrap();
                order % 2 == 0 && seen.attempt <= 2
            }
            _ => false,
        };
        if refused {
            Answer::refuse()
        } else {
            Answer::ok()
        }
    });
    let all = api.subscribe(&receiver, "/all", &EVERYTHING).await;
    let holds = api.subscribe(&receiver, "/holds", &["hold"]).await;
    let levels = api.subscribe(&receiver, "/level", &["level"]).await;
    for webhook in [&all, &holds, &levels] {
        assert_eq!(webhook["delivered_through"], all["delivered_through"]);
    }
    let start = all["delivered_through"].as_i64().unwrap();

    api.mixed_changes("DLV").await;
    oversell(&api, "DLV-OVER").await;
    let items = api.changes_after(start).await;
    let newest = items.last().unwrap()["number"].as_i64().unwrap();
    let types: BTreeSet<&str> = items
        .iter()
        .map(|item| item["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(EVERYTHING),
        "the changes make every kind of event"
    );

    for (webhook, path, events) in [
        (&all, "/all", &EVERYTHING[..]),
        (&holds, "/holds", &["hold"][..]),
        (&levels, "/level", &["level"][..]),
    ] {
        let now = api.delivered(webhook, newest).await;
        assert_eq!(now["delivered_through"], newest, "{path}");
        assert_eq!(now["failing_since"], Value::Null, "{path}: {now}");
        assert_eq!(now["next_attempt_at"], Value::Null, "{path}: {now}");
        let wanted = wanted(&items, events);
        let arrivals = receiver.arrivals_at(path);
        assert_delivered_in_order(&arrivals, &wanted, None);
        assert_log_matches(&api, webhook, &arrivals).await;
    }

    let refused = |path: &str| {
        receiver
            .arrivals_at(path)
            .iter()
            .filter(|arrival| !arrival.succeeded())
            .count()
    };
    assert!(
        refused("/all") >= 4,
        "the test refused some: {}",
        refused("/all")
    );
    assert!(refused("/level") >= 2);
    assert_eq!(refused("/holds"), 0);
    let hold_types: BTreeSet<String> = receiver
        .arrivals_at("/holds")
        .iter()
        .map(|arrival| arrival.body["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hold_types, BTreeSet::from(["hold".to_owned()]));
    for arrival in receiver.arrivals_at("/level") {
        assert_eq!(
            arrival.body["type"], "product",
            "a level event is a product event"
        );
        assert!(
            !arrival.body["data"]["ledger"].is_null(),
            "{:?}",
            arrival.body
        );
    }
    assert_eq!(receiver.arrivals().len(), {
        let at = |path| receiver.arrivals_at(path).len();
        at("/all") + at("/holds") + at("/level")
    });
}

async fn during_a_rotation_deliveries_carry_both_signatures(app: TestApp) {
    let api = Api::of(&app);
    let receiver = Receiver::accepting();
    let webhook = api.subscribe(&receiver, "/rotated", &["product"]).await;
    let first = webhook["secret"].as_str().unwrap().to_owned();
    assert!(first.starts_with("whsec_"), "{webhook}");

    let product = api.create_product("ROTATE-1", 1).await;
    let newest = api.newest().await;
    api.delivered(&webhook, newest).await;
    let before = receiver.arrivals_at("/rotated");
    assert_eq!(before.len(), 1);
    assert_eq!(
        before[0].signatures().len(),
        1,
        "{:?}",
        before[0].signatures()
    );
    assert!(before[0].verifies_with(&first));

    let rotate = format!("{}/rotate-secret", webhook_path(&webhook));
    let asked = Utc::now();
    let rotated = api
        .send(reqwest::Method::POST, &rotate, &json!({}), 200)
        .await;
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert!(second.starts_with("whsec_") && second != first, "{rotated}");
    assert_eq!(rotated["id"], webhook["id"]);
    let expires = instant(&rotated["previous_secret_expires_at"]);
    let grace = (expires - asked).num_seconds();
    assert!(
        (86_390..=86_410).contains(&grace),
        "a day's grace: {rotated}"
    );
    let read = api.webhook(&webhook).await;
    assert!(read.get("secret").is_none(), "shown only on rotate: {read}");
    assert!(!before[0].verifies_with(&second));

    receiver.trust("/rotated", &[&first, &second]);
    let path = crate::helpers::product_path(&product);
    let patch = json!({"version": 1, "price_minor": 5});
    api.send(reqwest::Method::PATCH, &path, &patch, 200).await;
    let newest = api.newest().await;
    api.delivered(&webhook, newest).await;
    let during = receiver.arrivals_at("/rotated")[1].clone();
    let signatures = during.signatures();
    assert_eq!(signatures.len(), 2, "{signatures:?}");
    assert!(signatures
        .iter()
        .all(|signature| signature.starts_with("v1,")));
    assert!(during.verifies_with(&first), "the old secret verifies");
    assert!(during.verifies_with(&second), "the new secret verifies");

    // No grace: the old secret signs no more.
    let now = api
        .send(
            reqwest::Method::POST,
            &rotate,
            &json!({"grace_seconds": 0}),
            200,
        )
        .await;
    let third = now["secret"].as_str().unwrap().to_owned();
    assert_ne!(third, second);
    if let Some(expired) = now["previous_secret_expires_at"].as_str() {
        assert!(instant(&json!(expired)) <= Utc::now(), "{now}");
    }
    receiver.trust("/rotated", &[&third]);
    let patch = json!({"version": 2, "price_minor": 6});
    api.send(reqwest::Method::PATCH, &path, &patch, 200).await;
    let newest = api.newest().await;
    api.delivered(&webhook, newest).await;
    let after = receiver.arrivals_at("/rotated")[2].clone();
    assert_eq!(after.signatures().len(), 1, "{:?}", after.signatures());
    assert!(after.verifies_with(&third));
    assert!(!after.verifies_with(&second) && !after.verifies_with(&first));
    let arrivals = receiver.arrivals_at("/rotated");
    let items = api
        .changes_after(webhook["delivered_through"].as_i64().unwrap())
        .await;
    assert_delivered_in_order(&arrivals, &wanted(&items, &["product"]), None);

    for bad in [
        json!({"grace_seconds": -1}),
        json!({"grace_seconds": 604_801}),
        json!({"grace": 1}),
    ] {
        let response = api
            .client
            .post(api.url(&rotate))
            .json(&bad)
            .send()
            .await
            .unwrap();
        let refusal = problem(response, 422, "validation").await;
        assert!(!pointers(&refusal).is_empty(), "{refusal}");
    }
}

/// Delays grow (each at least half of base * 2^(n-1)); the subscription
/// says since when it fails and when it tries next; `enabled: true` tries
/// at once, before that.
async fn a_failing_subscription_backs_off_and_enabling_it_again_retries_at_once(app: TestApp) {
    let api = Api::of(&app);
    let accepting = Arc::new(AtomicBool::new(false));
    let receiver = Receiver::start({
        let accepting = accepting.clone();
        move |_| {
            if accepting.load(Ordering::SeqCst) {
                Answer::ok()
            } else {
                Answer::refuse()
            }
        }
    });
    let webhook = api.subscribe(&receiver, "/flaky", &["product"]).await;
    let before = Utc::now();
    api.create_product("FLAKY-1", 1).await;
    until(Duration::from_secs(30), "nine refused attempts", || {
        receiver.arrivals_at("/flaky").len() >= 9
    })
    .await;
    let arrivals = receiver.arrivals_at("/flaky");
    for (n, pair) in arrivals.windows(2).enumerate() {
        let gap = pair[1].at - pair[0].at;
        let least = Duration::from_millis(25 << n);
        assert!(
            gap >= least,
            "retry {} came after {gap:?}, before {least:?}",
            n + 1
        );
        assert_eq!(pair[0].number, pair[1].number, "the same event again");
    }

    // Waiting on a retry at least three seconds ahead.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let waiting = loop {
        let now = api.webhook(&webhook).await;
        if let Some(next) = now["next_attempt_at"].as_str() {
            if instant(&json!(next)) > Utc::now() + chrono::TimeDelta::seconds(3) {
                break now;
            }
        }
        assert!(std::time::Instant::now() < deadline, "{now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let failing_since = instant(&waiting["failing_since"]);
    assert!(
        failing_since >= before && failing_since <= Utc::now(),
        "{waiting}"
    );
    assert_eq!(waiting["enabled"], true);
    assert!(waiting["delivered_through"].as_i64() < Some(api.newest().await));
    let next_attempt = instant(&waiting["next_attempt_at"]);

    // Disabled and enabled again: the failure is cleared and the event
    // tried at once, before the retry it was waiting for.
    accepting.store(true, Ordering::SeqCst);
    let version = waiting["version"].as_i64().unwrap();
    let disabled = api
        .send(
            reqwest::Method::PATCH,
            &webhook_path(&webhook),
            &json!({"version": version, "enabled": false}),
            200,
        )
        .await;
    assert_eq!(disabled["enabled"], false, "{disabled}");
    let enabled = api
        .send(
            reqwest::Method::PATCH,
            &webhook_path(&webhook),
            &json!({"version": version + 1, "enabled": true}),
            200,
        )
        .await;
    assert_eq!(
        (
            &enabled["enabled"],
            &enabled["failing_since"],
            &enabled["disabled_reason"]
        ),
        (&json!(true), &Value::Null, &Value::Null),
        "{enabled}"
    );
    let newest = api.newest().await;
    let now = api.delivered(&webhook, newest).await;
    assert_eq!(
        (&now["failing_since"], &now["next_attempt_at"]),
        (&Value::Null, &Value::Null)
    );
    let log = api.deliveries(&webhook).await;
    let success = log.last().unwrap();
    assert_eq!(success["succeeded"], true, "{success}");
    assert!(
        instant(&success["at"]) < next_attempt,
        "tried at once, not at {next_attempt}: {success}"
    );
    let arrivals = receiver.arrivals_at("/flaky");
    let items = api
        .changes_after(webhook["delivered_through"].as_i64().unwrap())
        .await;
    assert_delivered_in_order(&arrivals, &wanted(&items, &["product"]), None);
    // The log: the nine refusals, then the success (whose attempt count
    // may start again: enabling starts the event afresh).
    let logged: Vec<(i64, u64)> = log
        .iter()
        .map(|delivery| {
            let status = delivery["status"].as_u64().unwrap();
            (delivery["event_number"].as_i64().unwrap(), status)
        })
        .collect();
    let seen: Vec<(i64, u64)> = arrivals
        .iter()
        .map(|arrival| (arrival.number.unwrap(), u64::from(arrival.status)))
        .collect();
    assert_eq!(logged, seen);
    let attempts: Vec<i64> = log
        .iter()
        .map(|delivery| delivery["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(attempts[..9], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

async fn a_subscription_failing_past_the_limit_is_disabled_until_enabled(app: TestApp) {
    let api = Api::of(&app);
    let accepting = Arc::new(AtomicBool::new(false));
    let receiver = Receiver::start({
        let accepting = accepting.clone();
        move |_| {
            if accepting.load(Ordering::SeqCst) {
                Answer::ok()
            } else {
                Answer::refuse()
            }
        }
    });
    let webhook = api.subscribe(&receiver, "/doomed", &["product"]).await;
    api.create_product("DOOMED-1", 1).await;
    let deadline = std::time::Instant::now() + DELIVERY_DEADLINE;
    let disabled = loop {
        let now = api.webhook(&webhook).await;
        if now["enabled"] == false {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never disabled: {now}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(disabled["version"], 2, "disabling is a change: {disabled}");
    assert!(
        disabled["disabled_reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty()),
        "{disabled}"
    );
    assert!(disabled["failing_since"].is_string(), "{disabled}");
    let refused = receiver.arrivals_at("/doomed").len();
    assert!(refused >= 2, "retried before giving up: {refused}");
    let log = api.deliveries(&webhook).await;
    assert!(log
        .iter()
        .all(|delivery| delivery["succeeded"] == false && delivery["status"] == 500));
    api.create_product("DOOMED-2", 1).await;

    accepting.store(true, Ordering::SeqCst);
    let enabled = api
        .send(
            reqwest::Method::PATCH,
            &webhook_path(&webhook),
            &json!({"version": 2, "enabled": true}),
            200,
        )
        .await;
    assert_eq!(
        (
            &enabled["enabled"],
            &enabled["disabled_reason"],
            &enabled["failing_since"],
            &enabled["version"]
        ),
        (&json!(true), &Value::Null, &Value::Null, &json!(3)),
        "{enabled}"
    );
    let newest = api.newest().await;
    api.delivered(&webhook, newest).await;
    let items = api
        .changes_after(webhook["delivered_through"].as_i64().unwrap())
        .await;
    let wanted = wanted(&items, &["product"]);
    assert_eq!(
        wanted.len(),
        2,
        "both creates, the second made while disabled"
    );
    assert_delivered_in_order(&receiver.arrivals_at("/doomed"), &wanted, None);
}

async fn redeliver_sends_every_wanted_event_again_in_order(app: TestApp) {
    let api = Api::of(&app);
    let receiver = Receiver::accepting();
    let webhook = api
        .subscribe(&receiver, "/again", &["product", "location"])
        .await;
    let start = webhook["delivered_through"].as_i64().unwrap();
    api.mixed_changes("AGAIN").await;
    let items = api.changes_after(start).await;
    let newest = items.last().unwrap()["number"].as_i64().unwrap();
    api.delivered(&webhook, newest).await;
    let wanted_all = wanted(&items, &["product", "location"]);
    assert_delivered_in_order(&receiver.arrivals_at("/again"), &wanted_all, None);
    let first_time = receiver.arrivals_at("/again").len();

    let redeliver = format!("{}/redeliver", webhook_path(&webhook));
    for bad in [
        json!({"from": 0}),
        json!({"from": newest + 2}),
        json!({}),
        json!({"from": "1"}),
    ] {
        let response = api
            .client
            .post(api.url(&redeliver))
            .json(&bad)
            .send()
            .await
            .unwrap();
        problem(response, 422, "validation").await;
    }
    let nothing = api
        .send(
            reqwest::Method::POST,
            &redeliver,
            &json!({"from": newest + 1}),
            200,
        )
        .await;
    assert_eq!(nothing["id"], webhook["id"]);

    // From the fourth wanted event on: that one and every wanted one after.
    let from = wanted_all[3]["number"].as_i64().unwrap();
    let answer = api
        .send(
            reqwest::Method::POST,
            &redeliver,
            &json!({"from": from}),
            200,
        )
        .await;
    assert_eq!(answer["id"], webhook["id"], "{answer}");
    let again: Vec<&Value> = wanted_all
        .iter()
        .copied()
        .filter(|item| item["number"].as_i64().unwrap() >= from)
        .collect();
    until(DELIVERY_DEADLINE, "the redelivery", || {
        receiver.arrivals_at("/again").len() >= first_time + again.len()
    })
    .await;
    api.delivered(&webhook, newest).await;
    let arrivals = receiver.arrivals_at("/again");
    assert_delivered_in_order(&arrivals[first_time..], &again, None);
}
