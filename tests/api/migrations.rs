use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use diesel::backend::Backend;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use inventory_api::db::DbConnection;
use serde_json::json;

use crate::api_tests;
use crate::events::EventReader;
use crate::helpers::{get_json, product_path, skip_without_postgres, TestApp};

api_tests!(
    an_upgrade_past_the_foreign_keys_keeps_history_and_the_feed,
    a_database_from_before_locations_has_all_its_stock_at_main,
);

/// The migration that brought locations.
const STOCK_BY_LOCATION: &str = "20261207000008";

/// A database written by the release before locations (here: reverted to
/// it, and written by hand as that release wrote) upgrades with every
/// product's stock at MAIN, its history intact and its stock changes in
/// the ledger at MAIN.
async fn a_database_from_before_locations_has_all_its_stock_at_main(app: TestApp) {
    let mug = app.create_product("OLD-MUG", 5).await;
    let bowl = app.create_product("OLD-BOWL", 0).await;
    let mug_path = product_path(&mug);
    let response = app
        .patch_json(
            &mug_path,
            &json!({"version": 1, "stock": 9, "name": "Old mug"}),
        )
        .await;
    assert_eq!(response.status(), 200);

    let mut conn = app.direct_connection();
    revert_through(&mut conn, STOCK_BY_LOCATION);
    // The earlier release kept stock on the product alone.
    let updated = match &mut conn {
        DbConnection::Pg(pg) => {
            diesel::sql_query("UPDATE products SET stock = 4 WHERE sku = 'OLD-BOWL'").execute(pg)
        }
        DbConnection::Sqlite(sqlite) => {
            diesel::sql_query("UPDATE products SET stock = 4 WHERE sku = 'OLD-BOWL'")
                .execute(sqlite)
        }
    };
    assert_eq!(updated.unwrap(), 1);
    let upgraded = app.another_server();

    for (product, stock) in [(&mug, 9), (&bowl, 4)] {
        let url = format!("{upgraded}{}/levels", product_path(product));
        let levels = get_json(&app.client, &url).await;
        assert_eq!(
            levels["items"],
            json!([{
                "location": "MAIN",
                "on_hand": stock,
                "reserved": 0,
                "available": stock,
                "version": 1,
                "updated_at": levels["items"][0]["updated_at"],
                "last_counted_at": null,
                "reorder_point": null,
            }]),
            "{levels}"
        );
        assert!(levels["items"][0]["updated_at"].is_string());
    }
    let history = get_json(&app.client, &format!("{upgraded}{mug_path}/history")).await;
    let entries = history["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{history}");
    assert_eq!(entries[0]["changes"]["name"]["to"], "Old mug");
    assert_eq!(
        entries[0]["ledger"],
        json!({"location": "MAIN", "level_version": null, "delta": 4, "on_hand": 9, "kind": "set", "reference": null})
    );
    assert_eq!(entries[1]["ledger"]["delta"], 5);

    // And it goes on from there: a sale at MAIN is the level's version 2.
    let response = app
        .client
        .post(format!("{upgraded}{mug_path}/stock-adjustments"))
        .json(&json!({"delta": -2, "reason": "sale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let adjusted: serde_json::Value = response.json().await.unwrap();
    assert_eq!(adjusted["stock"], 7);
    assert_eq!(adjusted["level"]["version"], 2);
}

/// The folder of one backend's migrations ("postgres" or "sqlite").
fn migrations_folder(backend: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend)
}

fn migration_names(backend: &str) -> BTreeSet<String> {
    std::fs::read_dir(migrations_folder(backend))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_backends_have_the_same_migrations() {
    let postgres = migration_names("postgres");
    assert!(!postgres.is_empty());
    assert_eq!(postgres, migration_names("sqlite"));
    for name in &postgres {
        for backend in ["postgres", "sqlite"] {
            for file in ["up.sql", "down.sql"] {
                let path = migrations_folder(backend).join(name).join(file);
                assert!(path.is_file(), "{} is missing", path.display());
            }
        }
    }
}

/// Instances started together on a new PostgreSQL database (a rolling
/// deploy, or a scaled-out start) each find the migrations pending; they
/// take turns, and every one starts.
#[test]
fn instances_started_together_all_migrate() {
    let Some(database) = crate::helpers::TestDatabase::fresh_postgres() else {
        return skip_without_postgres();
    };
    let url = database.url();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                inventory_api::db::Database::open(&url, 1)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    for start in starts {
        assert_eq!(start.join().unwrap(), Ok(()));
    }
}

/// On PostgreSQL the products table leaves half of each page free, so a
/// row's next version fits beside it and needs no new index entries (see
/// the migration).
#[test]
fn postgresql_products_leave_room_for_their_next_versions() {
    let Some(database) = crate::helpers::TestDatabase::fresh_postgres() else {
        return skip_without_postgres();
    };
    let url = database.url();
    inventory_api::db::Database::open(&url, 1).unwrap();
    let mut conn = diesel::PgConnection::establish(&url).unwrap();
    let options: Vec<TableOption> = diesel::sql_query(
        "SELECT unnest(reloptions) AS option FROM pg_class WHERE relname = 'products'",
    )
    .load(&mut conn)
    .unwrap();
    let options: Vec<&str> = options.iter().map(|row| row.option.as_str()).collect();
    assert_eq!(options, ["fillfactor=50"]);
}

#[derive(QueryableByName)]
struct TableOption {
    #[diesel(sql_type = Text)]
    option: String,
}

/// The migration that drops the foreign keys of history and the feed
/// rebuilds both tables on SQLite. Reverted and applied again, as a
/// database written before it is upgraded, it keeps every history entry and
/// every feed number, and the feed numbers on after them.
async fn an_upgrade_past_the_foreign_keys_keeps_history_and_the_feed(app: TestApp) {
    let product = app.create_product("UPGRADE-1", 5).await;
    let path = product_path(&product);
    for (version, stock) in [(1, 6), (2, 7)] {
        let response = app
            .patch_json(&path, &json!({"version": version, "stock": stock}))
            .await;
        assert_eq!(response.status(), 200);
    }
    let history = get_json(&app.client, &format!("{}{path}/history", app.address)).await;
    let entries = history["items"].as_array().map(Vec::len);
    assert_eq!(entries, Some(3), "one history entry per version: {history}");
    let feed = whole_feed(&app.client, &app.address).await;
    assert_eq!(feed.len(), 3, "one change per version");

    let mut conn = app.direct_connection();
    revert_through_foreign_keys_migration(&mut conn);
    assert_eq!(foreign_keys(&mut conn), 2, "the revert restored both");
    // A server started on the reverted database applies the migration again.
    let upgraded = app.another_server();
    assert_eq!(foreign_keys(&mut conn), 0, "the upgrade dropped both");

    let history_after = get_json(&app.client, &format!("{upgraded}{path}/history")).await;
    // Reverting the later migration of locations dropped the ledger's
    // columns, and upgrading rebuilt the ledger from each entry's changes,
    // without the level versions; the rest is as it was.
    assert_eq!(without_ledgers(history_after), without_ledgers(history));
    assert_eq!(whole_feed(&app.client, &upgraded).await, feed);
    let response = app
        .client
        .patch(format!("{upgraded}{path}"))
        .json(&json!({"version": 3, "stock": 8}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let feed_after = whole_feed(&app.client, &upgraded).await;
    assert_eq!(feed_after[..feed.len()], feed[..]);
    let (newest, version) = feed_after[feed.len()];
    assert!(
        newest > feed[feed.len() - 1].0,
        "numbers go on after the old ones"
    );
    assert_eq!(version, 4);
}

/// Every change in the feed, from the start: (number, product version).
async fn whole_feed(client: &reqwest::Client, address: &str) -> Vec<(i64, i64)> {
    let url = format!("{address}/v1/events");
    // A new stream's first event carries the newest number; a resumed
    // one's, the number it resumes after.
    let newest = EventReader::open(client, url.clone(), None)
        .await
        .next()
        .await
        .id;
    let mut stream = EventReader::open(client, url, Some(0)).await;
    stream.next().await;
    let mut changes = Vec::new();
    while changes.last().is_none_or(|&(number, _)| number < newest) {
        let event = stream.next().await;
        changes.push((event.id, event.data["version"].as_i64().unwrap()));
    }
    changes
}

/// The version of the migration that dropped the keys.
const WITHOUT_FOREIGN_KEYS: &str = "20261126000006";

/// Reverts migrations, newest first, through the one that dropped the keys.
fn revert_through_foreign_keys_migration(conn: &mut DbConnection) {
    revert_through(conn, WITHOUT_FOREIGN_KEYS);
}

/// Reverts migrations, newest first, down to and including `name`.
fn revert_through(conn: &mut DbConnection, name: &str) {
    fn revert<DB: Backend>(conn: &mut impl MigrationHarness<DB>, backend: &str, name: &str) {
        let migrations = FileBasedMigrations::from_path(migrations_folder(backend)).unwrap();
        loop {
            let reverted = conn.revert_last_migration(migrations.clone()).unwrap();
            if reverted.to_string() == name {
                break;
            }
        }
    }
    match conn {
        DbConnection::Pg(pg) => revert(pg, "postgres", name),
        DbConnection::Sqlite(sqlite) => {
            // As the server's own connections do.
            sqlite.batch_execute("PRAGMA foreign_keys = ON").unwrap();
            revert(sqlite, "sqlite", name);
        }
    }
}

/// A history page with each entry's ledger left out.
fn without_ledgers(mut page: serde_json::Value) -> serde_json::Value {
    for entry in page["items"].as_array_mut().unwrap() {
        entry.as_object_mut().unwrap().remove("ledger");
    }
    page
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// How many foreign keys history and the feed have.
fn foreign_keys(conn: &mut DbConnection) -> i64 {
    let rows: Vec<Count> = match conn {
        DbConnection::Pg(pg) => diesel::sql_query(
            "SELECT count(*) AS count FROM information_schema.table_constraints \
             WHERE constraint_type = 'FOREIGN KEY' \
             AND table_name IN ('product_history', 'product_events')",
        )
        .load(pg),
        DbConnection::Sqlite(sqlite) => diesel::sql_query(
            "SELECT count(DISTINCT id) AS count FROM pragma_foreign_key_list('product_history') \
             UNION ALL \
             SELECT count(DISTINCT id) FROM pragma_foreign_key_list('product_events')",
        )
        .load(sqlite),
    }
    .unwrap();
    rows.iter().map(|row| row.count).sum()
}
