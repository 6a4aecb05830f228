use std::collections::BTreeSet;
use std::path::Path;

fn migration_names(backend: &str) -> BTreeSet<String> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&folder)
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
                let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("migrations")
                    .join(backend)
                    .join(name)
                    .join(file);
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
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        assert!(std::env::var_os("CI").is_none(), "CI must test PostgreSQL");
        return;
    };
    let name = format!("inventory_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = diesel::PgConnection::establish(&admin_url).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .unwrap();
    let database = crate::helpers::TestDatabase::Postgres { admin_url, name };
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
