//! A hold's life through the API: created, read, listed, patched,
//! committed or released, retried once, refused when bad, and limited by
//! the token's role and location.

use chrono::{TimeDelta, Utc};
use inventory_api::domain::access::Role;
use reqwest::Method;
use serde_json::{json, Value};

use super::{
    commit, create_hold, hold_of, hold_path, ids, instant, level_at, listed, read_product, release,
    send_json, stock_of, HOLDS,
};
use crate::api_tests;
use crate::helpers::{pointers, problem, product_path, TestApp, ADMIN_NAME};

api_tests!(
    a_hold_is_created_read_and_counted_in_reserved,
    holds_list_by_product_location_status_and_reference_in_pages,
    a_patch_extends_or_resizes_a_hold_by_its_version,
    a_commit_is_a_sale_with_a_ledger_entry_of_its_own,
    a_released_hold_is_no_longer_active,
    a_retried_hold_or_commit_is_applied_once,
    bad_holds_are_422_and_unknown_places_404,
    a_viewer_reads_holds_but_makes_none,
    a_token_limited_to_a_location_holds_only_there,
);

async fn a_hold_is_created_read_and_counted_in_reserved(app: TestApp) {
    let product = app.create_product("HOLD-1", 10).await;
    let before = Utc::now();
    let body = json!({"product_id": product["id"], "location": "main", "quantity": 3,
        "expires_in": 600, "reference": "ORDER-1"});
    let response = app.post_json(HOLDS, &body).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let hold: Value = response.json().await.unwrap();
    assert_eq!(location, hold_path(&hold));
    assert_eq!(
        (
            &hold["version"],
            &hold["product_id"],
            &hold["sku"],
            &hold["location"],
            &hold["quantity"],
            &hold["status"],
            &hold["reference"],
            &hold["actor"],
        ),
        (
            &json!(1),
            &product["id"],
            &json!("HOLD-1"),
            &json!("MAIN"),
            &json!(3),
            &json!("active"),
            &json!("ORDER-1"),
            &json!(ADMIN_NAME),
        )
    );
    let expires_at = instant(&hold["expires_at"]);
    assert!(
        expires_at >= before + TimeDelta::seconds(599)
            && expires_at <= Utc::now() + TimeDelta::seconds(601)
    );
    assert_eq!(hold["created_at"], hold["updated_at"]);

    let read = app.get(&hold_path(&hold)).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["etag"], "\"1\"");
    assert_eq!(read.json::<Value>().await.unwrap(), hold);

    // Holds count in reserved but never move a version.
    let level = level_at(&app, &product, "MAIN").await;
    assert_eq!(
        (stock_of(&level), &level["version"]),
        ((10, 3, 7), &json!(1))
    );
    let totals = read_product(&app, &product).await;
    assert_eq!(
        (
            totals["stock"].as_i64(),
            totals["reserved"].as_i64(),
            totals["available"].as_i64(),
            totals["version"].as_i64()
        ),
        (Some(10), Some(3), Some(7), Some(1))
    );
    let page: Value = app
        .get("/v1/locations/MAIN/levels")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stock_of(&page["items"][0]["level"]), (10, 3, 7));

    let unknown = format!("{HOLDS}/{}", uuid::Uuid::now_v7());
    problem(app.get(&unknown).await, 404, "not-found").await;
}

async fn holds_list_by_product_location_status_and_reference_in_pages(app: TestApp) {
    app.create_location("SHOP-1").await;
    let mug = app.create_product("LIST-MUG", 10).await;
    let bowl = app.create_product("LIST-BOWL", 10).await;
    let shop = format!("{}/levels/SHOP-1", product_path(&mug));
    assert_eq!(
        app.patch_json(&shop, &json!({"version": 0, "on_hand": 5}))
            .await
            .status(),
        200
    );
    let at = |sku: &str, location: &str, reference: Option<&str>| {
        let mut body = json!({"sku": sku, "location": location, "quantity": 1, "expires_in": 600});
        if let Some(reference) = reference {
            body["reference"] = json!(reference);
        }
        body
    };
    let mut made = Vec::new();
    for body in [
        at("LIST-MUG", "MAIN", Some("R-1")),
        at("LIST-MUG", "SHOP-1", Some("R-2")),
        at("LIST-BOWL", "MAIN", Some("R-1")),
        at("LIST-MUG", "MAIN", Some("R-2")),
        at("LIST-MUG", "SHOP-1", None),
    ] {
        made.push(create_hold(&app, &body).await);
    }
    assert_eq!(made[4]["reference"], Value::Null);
    assert_eq!(release(&app, &made[3], 1).await.status(), 200);
    let id = |n: usize| made[n]["id"].as_str().unwrap();
    let (mug_id, bowl_id) = (mug["id"].as_str().unwrap(), bowl["id"].as_str().unwrap());

    let cases = [
        (String::new(), vec![id(0), id(1), id(2), id(3), id(4)]),
        (
            format!("product={mug_id}"),
            vec![id(0), id(1), id(3), id(4)],
        ),
        (format!("product={bowl_id}"), vec![id(2)]),
        (
            format!("product={mug_id}&location=SHOP-1"),
            vec![id(1), id(4)],
        ),
        ("status=released".to_owned(), vec![id(3)]),
        (
            format!("product={mug_id}&status=active"),
            vec![id(0), id(1), id(4)],
        ),
        ("reference=R-1".to_owned(), vec![id(0), id(2)]),
        ("reference=R-2&status=active".to_owned(), vec![id(1)]),
        ("status=committed".to_owned(), vec![]),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(&listed(&app, &query).await), expected, "?{query}");
    }

    // Pages of 2, oldest first, until next_cursor is null.
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    let mut path = format!("{HOLDS}?limit=2");
    loop {
        let page: Value = app.get(&path).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        sizes.push(items.len());
        seen.extend(ids(items).into_iter().map(str::to_owned));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{HOLDS}?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(sizes.len() < 10);
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(seen, (0..5).map(id).collect::<Vec<_>>());

    for (query, pointer) in [
        ("limit=0", "?limit"),
        ("limit=201", "?limit"),
        ("status=held", "?status"),
    ] {
        let body = problem(
            app.get(&format!("{HOLDS}?{query}")).await,
            400,
            "malformed-request",
        )
        .await;
        assert_eq!(pointers(&body), [pointer], "{query}");
    }

    // A filter no code or reference could be (a NUL byte) names no hold.
    for query in ["location=%00", "reference=a%00b"] {
        let response = app.get(&format!("{HOLDS}?{query}")).await;
        assert_eq!(response.status(), 200, "{query}");
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["items"], json!([]), "{query}");
    }
}

async fn a_patch_extends_or_resizes_a_hold_by_its_version(app: TestApp) {
    let product = app.create_product("HOLD-PATCH", 10).await;
    let hold = create_hold(&app, &hold_of("HOLD-PATCH", 2)).await;
    let path = hold_path(&hold);

    let extended = app
        .patch_json(&path, &json!({"version": 1, "expires_in": 3600}))
        .await;
    assert_eq!(extended.status(), 200);
    let extended: Value = extended.json().await.unwrap();
    assert_eq!(
        (&extended["version"], &extended["quantity"]),
        (&json!(2), &json!(2))
    );
    assert!(
        instant(&extended["expires_at"]) > instant(&hold["expires_at"]) + TimeDelta::seconds(2900)
    );

    let resized = app
        .patch_if_match(&path, "\"2\"", &json!({"quantity": 5}))
        .await;
    assert_eq!(resized.status(), 200);
    let resized: Value = resized.json().await.unwrap();
    assert_eq!(
        (&resized["version"], &resized["quantity"]),
        (&json!(3), &json!(5))
    );
    assert_eq!(resized["expires_at"], extended["expires_at"], "kept");
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 5, 5)
    );

    let stale = app
        .patch_json(&path, &json!({"version": 1, "quantity": 4}))
        .await;
    let conflict = problem(stale, 409, "stale-version").await;
    assert_eq!(
        (&conflict["your_version"], &conflict["current_version"]),
        (&json!(1), &json!(3))
    );
    assert_eq!(conflict["current"], resized);
    let unversioned = app.patch_json(&path, &json!({"quantity": 4})).await;
    problem(unversioned, 428, "version-required").await;
    let mismatched = app
        .patch_if_match(&path, "\"1\"", &json!({"quantity": 4}))
        .await;
    assert_eq!(mismatched.status(), 412);

    // Growing is guarded like a new hold: 5 held, 5 more free, 6 asked.
    let greedy = app
        .patch_json(&path, &json!({"version": 3, "quantity": 11}))
        .await;
    problem(greedy, 409, "insufficient-available").await;
    let shrunk = app
        .patch_json(&path, &json!({"version": 3, "quantity": 1}))
        .await;
    assert_eq!(shrunk.status(), 200);
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 1, 9)
    );
    let now: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!((&now["version"], &now["quantity"]), (&json!(4), &json!(1)));

    let unknown = format!("{HOLDS}/{}", uuid::Uuid::now_v7());
    let missing = app
        .patch_json(&unknown, &json!({"version": 1, "quantity": 1}))
        .await;
    problem(missing, 404, "not-found").await;
}

async fn a_commit_is_a_sale_with_a_ledger_entry_of_its_own(app: TestApp) {
    let product = app.create_product("HOLD-SALE", 10).await;
    let hold = create_hold(
        &app,
        &json!({"sku": "HOLD-SALE", "quantity": 3, "expires_in": 600, "reference": "ORDER-9"}),
    )
    .await;
    let response = commit(&app, &hold, 1).await;
    assert_eq!(response.status(), 200);
    let committed: Value = response.json().await.unwrap();
    assert_eq!(
        (&committed["hold"]["status"], &committed["hold"]["version"]),
        (&json!("committed"), &json!(2))
    );
    assert_eq!(
        (
            committed["product"]["stock"].as_i64(),
            committed["product"]["reserved"].as_i64(),
            committed["product"]["available"].as_i64(),
            committed["product"]["version"].as_i64()
        ),
        (Some(7), Some(0), Some(7), Some(2))
    );
    assert_eq!(
        (
            stock_of(&committed["level"]),
            &committed["level"]["version"]
        ),
        ((7, 0, 7), &json!(2))
    );

    let history: Value = app
        .get(&format!("{}/history", product_path(&product)))
        .await
        .json()
        .await
        .unwrap();
    let newest = &history["items"][0];
    assert_eq!(newest["version"], 2);
    assert_eq!(newest["actor"], ADMIN_NAME);
    assert_eq!(newest["changes"], json!({"stock": {"from": 10, "to": 7}}));
    assert_eq!(
        newest["ledger"],
        json!({"location": "MAIN", "level_version": 2, "delta": -3, "on_hand": 7, "kind": "commit", "reference": "ORDER-9"})
    );
    let stored: Value = app.get(&hold_path(&hold)).await.json().await.unwrap();
    assert_eq!(stored, committed["hold"]);
}

async fn a_released_hold_is_no_longer_active(app: TestApp) {
    let product = app.create_product("HOLD-FREE", 10).await;
    let hold = create_hold(&app, &hold_of("HOLD-FREE", 2)).await;
    let response = release(&app, &hold, 1).await;
    assert_eq!(response.status(), 200);
    let released: Value = response.json().await.unwrap();
    assert_eq!(
        (&released["status"], &released["version"]),
        (&json!("released"), &json!(2))
    );
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 0, 10)
    );

    let again = problem(release(&app, &hold, 2).await, 409, "hold-not-active").await;
    assert_eq!(again["hold"], released);
    let commit_after = problem(commit(&app, &hold, 2).await, 409, "hold-not-active").await;
    assert_eq!(commit_after["hold"]["status"], "released");
    let patch_after = app
        .patch_json(&hold_path(&hold), &json!({"version": 2, "quantity": 1}))
        .await;
    problem(patch_after, 409, "hold-not-active").await;
    let totals = read_product(&app, &product).await;
    assert_eq!(
        (totals["stock"].as_i64(), totals["version"].as_i64()),
        (Some(10), Some(1)),
        "a release sells nothing"
    );
}

async fn a_retried_hold_or_commit_is_applied_once(app: TestApp) {
    let product = app.create_product("HOLD-ONCE", 10).await;
    let send = |path: String, key: &'static str, body: Value| {
        app.request(Method::POST, &path)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let body = json!({"sku": "HOLD-ONCE", "quantity": 4, "expires_in": 600});
    let first = send(HOLDS.to_owned(), "hold-once-1", body.clone())
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let hold: Value = first.json().await.unwrap();
    let retry = send(HOLDS.to_owned(), "hold-once-1", body).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), hold, "the same hold");
    let id = product["id"].as_str().unwrap();
    assert_eq!(
        ids(&listed(&app, &format!("product={id}")).await),
        [hold["id"].as_str().unwrap()]
    );
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (10, 4, 6)
    );

    let path = format!("{}/commit", hold_path(&hold));
    let first = send(path.clone(), "commit-once-1", json!({"version": 1}))
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let committed: Value = first.json().await.unwrap();
    let retry = send(path, "commit-once-1", json!({"version": 1}))
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.json::<Value>().await.unwrap(), committed);
    assert_eq!(
        stock_of(&level_at(&app, &product, "MAIN").await),
        (6, 0, 6),
        "sold once"
    );
}

async fn bad_holds_are_422_and_unknown_places_404(app: TestApp) {
    let product = app.create_product("HOLD-BAD", 100).await;
    let soon = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
    let past = (Utc::now() - TimeDelta::minutes(1)).to_rfc3339();
    let too_far = (Utc::now() + TimeDelta::days(8)).to_rfc3339();
    let line = json!({"sku": "HOLD-BAD", "quantity": 1});
    let hold = |extra: Value| {
        let mut body = json!({"sku": "HOLD-BAD", "quantity": 1});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    // (body, the pointer when one field alone is wrong)
    let cases = [
        (
            hold(json!({"quantity": 0, "expires_in": 600})),
            Some("/quantity"),
        ),
        (
            hold(json!({"quantity": 1_000_000_001, "expires_in": 600})),
            Some("/quantity"),
        ),
        (hold(json!({"expires_in": 0})), Some("/expires_in")),
        (hold(json!({"expires_in": 604_801})), Some("/expires_in")),
        (hold(json!({"expires_at": past})), Some("/expires_at")),
        (hold(json!({"expires_at": too_far})), Some("/expires_at")),
        (
            hold(json!({"expires_in": 600, "reference": "r".repeat(201)})),
            Some("/reference"),
        ),
        (hold(json!({"expires_in": 600, "expires_at": soon})), None),
        (hold(json!({})), None),
        (
            hold(json!({"expires_in": 600, "items": [line.clone()]})),
            None,
        ),
        (json!({"items": [], "expires_in": 600}), Some("/items")),
        (
            json!({"items": vec![line.clone(); 101], "expires_in": 600}),
            Some("/items"),
        ),
        (
            json!({"items": [{"sku": "HOLD-BAD", "quantity": 0}], "expires_in": 600}),
            Some("/items/0/quantity"),
        ),
    ];
    for (body, pointer) in cases {
        let refusal = problem(app.post_json(HOLDS, &body).await, 422, "validation").await;
        let listed_pointers = pointers(&refusal);
        match pointer {
            Some(pointer) => assert_eq!(listed_pointers, [pointer], "{body}"),
            None => assert!(!listed_pointers.is_empty(), "{body}"),
        }
    }
    // 100 lines is the most one hold may have.
    let hundred = json!({"items": vec![line; 100], "expires_in": 600});
    assert_eq!(app.post_json(HOLDS, &hundred).await.status(), 201);
    let id = product["id"].as_str().unwrap();
    let held = listed(&app, &format!("product={id}")).await;
    assert_eq!(held.len(), 100, "only the 100-line hold was made");

    let nobody = json!({"sku": "NO-SUCH", "quantity": 1, "expires_in": 600});
    problem(app.post_json(HOLDS, &nobody).await, 404, "not-found").await;
    let nowhere =
        json!({"sku": "HOLD-BAD", "location": "NOWHERE", "quantity": 1, "expires_in": 600});
    problem(app.post_json(HOLDS, &nowhere).await, 404, "not-found").await;
}

async fn a_viewer_reads_holds_but_makes_none(app: TestApp) {
    app.create_product("HOLD-VIEW", 10).await;
    let hold = create_hold(&app, &hold_of("HOLD-VIEW", 1)).await;
    let viewer = app.client_for(&app.make_token(Role::Viewer, "viewer").secret);
    let url = |path: &str| format!("{}{path}", app.address);

    for path in [HOLDS.to_owned(), hold_path(&hold)] {
        let read = viewer.get(url(&path)).send().await.unwrap();
        assert_eq!(read.status(), 200, "GET {path}");
    }
    let writes = [
        (Method::POST, HOLDS.to_owned(), hold_of("HOLD-VIEW", 1)),
        (
            Method::PATCH,
            hold_path(&hold),
            json!({"version": 1, "quantity": 2}),
        ),
        (
            Method::POST,
            format!("{}/commit", hold_path(&hold)),
            json!({"version": 1}),
        ),
        (
            Method::POST,
            format!("{}/release", hold_path(&hold)),
            json!({"version": 1}),
        ),
    ];
    for (method, path, body) in writes {
        let response = viewer
            .request(method, url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        problem(response, 403, "forbidden").await;
    }
    let unchanged: Value = app.get(&hold_path(&hold)).await.json().await.unwrap();
    assert_eq!(unchanged, hold);
}

/// `token create --location SHOP-1`: holds, commits and releases at any
/// other location (MAIN included, where a hold naming none is) are 403.
async fn a_token_limited_to_a_location_holds_only_there(app: TestApp) {
    app.create_location("SHOP-1").await;
    app.create_location("SHOP-2").await;
    let product = app.create_product("HOLD-LIMITED", 10).await;
    for shop in ["SHOP-1", "SHOP-2"] {
        let path = format!("{}/levels/{shop}", product_path(&product));
        let stocked = app
            .patch_json(&path, &json!({"version": 0, "on_hand": 5}))
            .await;
        assert_eq!(stocked.status(), 200);
    }
    let till = app.client_for(
        &app.make_limited_token(Role::Sync, "shop-1-till", &["shop-1"])
            .secret,
    );
    let url = |path: &str| format!("{}{path}", app.address);
    let at = |location: &str| json!({"sku": "HOLD-LIMITED", "location": location, "quantity": 1, "expires_in": 600});
    let at_main = create_hold(&app, &at("MAIN")).await;

    let refused = [
        (Method::POST, HOLDS.to_owned(), hold_of("HOLD-LIMITED", 1)),
        (Method::POST, HOLDS.to_owned(), at("SHOP-2")),
        (
            Method::POST,
            HOLDS.to_owned(),
            json!({"items": [
                {"sku": "HOLD-LIMITED", "location": "SHOP-1", "quantity": 1},
                {"sku": "HOLD-LIMITED", "location": "SHOP-2", "quantity": 1},
            ], "expires_in": 600}),
        ),
        (
            Method::POST,
            format!("{}/commit", hold_path(&at_main)),
            json!({"version": 1}),
        ),
        (
            Method::POST,
            format!("{}/release", hold_path(&at_main)),
            json!({"version": 1}),
        ),
    ];
    for (method, path, body) in refused {
        let response = till
            .request(method.clone(), url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        problem(response, 403, "forbidden").await;
    }
    let id = product["id"].as_str().unwrap();
    assert_eq!(
        ids(&listed(&app, &format!("product={id}")).await),
        [at_main["id"].as_str().unwrap()]
    );
    let unchanged: Value = app.get(&hold_path(&at_main)).await.json().await.unwrap();
    assert_eq!(unchanged, at_main);

    // At its own location it holds and commits; it reads everywhere.
    let (status, own) = send_json(&till, Method::POST, &url(HOLDS), &at("shop-1")).await;
    assert_eq!(status, 201, "{own}");
    let commit_url = url(&format!("{}/commit", hold_path(&own)));
    let (status, committed) =
        send_json(&till, Method::POST, &commit_url, &json!({"version": 1})).await;
    assert_eq!(status, 200, "{committed}");
    assert_eq!(
        stock_of(&level_at(&app, &product, "SHOP-1").await),
        (4, 0, 4)
    );
    let read = till.get(url(&hold_path(&at_main))).send().await.unwrap();
    assert_eq!(read.status(), 200);
}
