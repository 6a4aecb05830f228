//! Spawns the real server on a free port with a database of its own, and
//! speaks to it over HTTP like any client.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use inventory_api::config::Settings;
use inventory_api::domain::access::Role;
use inventory_api::startup::Application;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use uuid::Uuid;

/// Runs each named test once on SQLite and once on PostgreSQL (when
/// `TEST_DATABASE_URL` is set), each on a fresh database with the default
/// test settings.
#[macro_export]
macro_rules! api_tests {
    ($($name:ident),* $(,)?) => {$(
        $crate::api_test_with_settings!($name, $name, |_| {});
    )*};
}

/// Runs `test` as the module `name`, on both backends, with `customize`
/// applied to the server's settings.
#[macro_export]
macro_rules! api_test_with_settings {
    ($name:ident, $test:ident, $customize:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$test($crate::helpers::TestApp::sqlite_with($customize).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::helpers::TestApp::postgres_with($customize).await {
                    Some(app) => super::$test(app).await,
                    None => $crate::helpers::skip_without_postgres(),
                }
            }
        }
    };
}

/// For a PostgreSQL test that found no `TEST_DATABASE_URL`: fails in CI,
/// which must test PostgreSQL; elsewhere the test is skipped.
pub fn skip_without_postgres() {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must test PostgreSQL: set TEST_DATABASE_URL"
    );
    eprintln!("TEST_DATABASE_URL is not set: PostgreSQL run skipped");
}

pub struct TestApp {
    pub address: String,
    /// A client that sends the admin token.
    pub client: reqwest::Client,
    pub admin: TestToken,
    pub database: TestDatabase,
}

/// A token made for a test, with its secret.
pub struct TestToken {
    pub id: Uuid,
    pub secret: String,
}

/// The name of the admin token every test app has.
pub const ADMIN_NAME: &str = "test-admin";

/// The test's own database, removed when the test ends.
pub enum TestDatabase {
    Sqlite { path: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A new, empty database on the PostgreSQL server `TEST_DATABASE_URL`
    /// names, when it names one. With `TEST_POSTGRES_SERIALIZABLE=1` its
    /// transactions default to serializable isolation, as on a distributed
    /// SQL engine: concurrent ones may then be refused with 40001.
    pub fn fresh_postgres() -> Option<TestDatabase> {
        let serializable = std::env::var("TEST_POSTGRES_SERIALIZABLE").is_ok_and(|on| on == "1");
        TestDatabase::fresh_postgres_at(serializable)
    }

    /// `fresh_postgres`, serializable when `serializable` says so.
    pub fn fresh_postgres_at(serializable: bool) -> Option<TestDatabase> {
        let admin_url = std::env::var("TEST_DATABASE_URL").ok()?;
        // Before this process's first libpq connection (see the function).
        inventory_api::db::keep_openssl_until_exit();
        let name = format!("inventory_test_{}", Uuid::now_v7().simple());
        let mut admin = PgConnection::establish(&admin_url).expect("connect to TEST_DATABASE_URL");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create the test database");
        if serializable {
            admin
                .batch_execute(&format!(
                    "ALTER DATABASE \"{name}\" SET default_transaction_isolation = 'serializable'"
                ))
                .expect("make the test database serializable");
        }
        Some(TestDatabase::Postgres { admin_url, name })
    }

    /// The SQLite file, for a test that looks at it beside the server.
    pub fn sqlite_path(&self) -> &Path {
        match self {
            TestDatabase::Sqlite { path } => path,
            TestDatabase::Postgres { .. } => panic!("not an SQLite database"),
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDatabase::Sqlite { path } => format!("sqlite://{}", path.display()),
            TestDatabase::Postgres { admin_url, name } => database_url(admin_url, name),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDatabase::Postgres { .. })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            TestDatabase::Postgres { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
                }
            }
        }
    }
}

/// `admin_url` (which names a database) with that name replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let (url, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{base}/{name}{query}")
}

/// A server's settings for a test: any free port, a small pool, no limits.
fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::for_database(database_url);
    settings.bind = "127.0.0.1:0".into();
    settings.workers = Some(2);
    settings.pool_size = 8;
    // Limits are tested on their own; elsewhere they would only add noise.
    settings.rate_limit = 0;
    settings.auth_failure_limit = 0;
    // Webhook receivers in tests are plain http on 127.0.0.1, and retries
    // come quickly.
    settings.webhook_allow_private = true;
    settings.webhook_allow_http = true;
    settings.webhook_retry_base_ms = 50;
    settings
}

/// Builds and runs a server; its address.
fn serve(settings: &Settings) -> String {
    let application = Application::build(settings).expect("build the application");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    address
}

impl TestApp {
    /// A server on a fresh SQLite file, with `customize` applied to its settings.
    pub async fn sqlite_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
        let path = std::env::temp_dir().join(format!("inventory-test-{}.db", Uuid::now_v7()));
        TestApp::spawn(TestDatabase::Sqlite { path }, customize)
    }

    /// A server on a fresh PostgreSQL database, when `TEST_DATABASE_URL` names a server.
    pub async fn postgres_with(customize: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        Some(TestApp::spawn(TestDatabase::fresh_postgres()?, customize))
    }

    /// A server on a fresh PostgreSQL database whose transactions are
    /// serializable, when `TEST_DATABASE_URL` names a server.
    pub async fn serializable_postgres() -> Option<TestApp> {
        Some(TestApp::spawn(
            TestDatabase::fresh_postgres_at(true)?,
            |_| {},
        ))
    }

    fn spawn(database: TestDatabase, customize: impl FnOnce(&mut Settings)) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            inventory_api::telemetry::init("debug", inventory_api::telemetry::LogFormat::Text);
        }
        let mut settings = test_settings(&database.url());
        customize(&mut settings);
        let address = serve(&settings);
        let mut app = TestApp {
            address,
            client: reqwest::Client::new(),
            admin: TestToken {
                id: Uuid::nil(),
                secret: String::new(),
            },
            database,
        };
        app.admin = app.make_token(Role::Admin, ADMIN_NAME);
        app.client = app.client_for(&app.admin.secret);
        app
    }

    /// The address of another server on this test's database, as a second
    /// instance behind a load balancer would be.
    pub fn another_server(&self) -> String {
        serve(&test_settings(&self.database.url()))
    }

    /// Makes a token of this role, as `inventory-api token create` does.
    pub fn make_token(&self, role: Role, name: &str) -> TestToken {
        self.token_for(role, name, None)
    }

    /// A token whose stock writes are limited to these locations, as
    /// `token create --location` makes.
    pub fn make_limited_token(&self, role: Role, name: &str, locations: &[&str]) -> TestToken {
        let codes: Vec<String> = locations.iter().map(|code| code.to_string()).collect();
        self.token_for(role, name, Some(&codes))
    }

    fn token_for(&self, role: Role, name: &str, locations: Option<&[String]>) -> TestToken {
        let mut conn = self.direct_connection();
        let (token, secret) =
            inventory_api::store::tokens::create(&mut conn, name, role, locations)
                .expect("make a token");
        TestToken {
            id: token.id,
            secret,
        }
    }

    /// A client that sends `secret` as its bearer token.
    pub fn client_for(&self, secret: &str) -> reqwest::Client {
        bearer_client(secret)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("send GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("send POST")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("send PATCH")
    }

    /// A PATCH whose precondition is `If-Match: <if_match>`.
    pub async fn patch_if_match(&self, path: &str, if_match: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path)
            .header("If-Match", if_match)
            .json(body)
            .send()
            .await
            .expect("send PATCH")
    }

    /// A DELETE whose precondition is `If-Match: <if_match>`.
    pub async fn delete_if_match(&self, path: &str, if_match: &str) -> Response {
        self.request(Method::DELETE, path)
            .header("If-Match", if_match)
            .send()
            .await
            .expect("send DELETE")
    }

    /// The versions in a product's history (its first 200), newest first.
    pub async fn history_versions(&self, product_path: &str) -> Vec<i64> {
        let history: Value = self
            .get(&format!("{product_path}/history?limit=200"))
            .await
            .json()
            .await
            .expect("history JSON");
        let items = history["items"].as_array().expect("history items");
        items
            .iter()
            .map(|entry| entry["version"].as_i64().expect("version"))
            .collect()
    }

    /// Creates a product and returns its body.
    pub async fn create_product(&self, sku: &str, stock: i64) -> Value {
        create_product_at(&self.client, &self.address, sku, stock).await
    }

    /// Creates a location with this code, as an admin.
    pub async fn create_location(&self, code: &str) -> Value {
        let response = self
            .post_json(
                "/v1/locations",
                &json!({"code": code, "name": format!("Place {code}")}),
            )
            .await;
        assert_eq!(response.status(), 201, "creating location {code}");
        response.json().await.expect("location JSON")
    }

    /// Holds the product's row lock (on SQLite: the write lock) on a
    /// connection of the test's own, so that writes of it wait until
    /// `release_writes`: writes sent meanwhile are in flight together.
    pub fn hold_writes(&self, product_id: &str) -> inventory_api::db::DbConnection {
        let mut blocker = self.direct_connection();
        let lock = if self.database.is_postgres() {
            format!("BEGIN; SELECT 1 FROM products WHERE id = '{product_id}' FOR UPDATE")
        } else {
            "BEGIN IMMEDIATE".to_owned()
        };
        blocker.batch_execute(&lock).expect("take the lock");
        blocker
    }

    /// Opens a connection of the test's own to the server's database.
    pub fn direct_connection(&self) -> inventory_api::db::DbConnection {
        let url = self.database.url();
        match &self.database {
            TestDatabase::Sqlite { path } => inventory_api::db::DbConnection::Sqlite(
                diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .expect("open the SQLite file"),
            ),
            TestDatabase::Postgres { .. } => inventory_api::db::DbConnection::Pg(
                PgConnection::establish(&url).expect("connect to the test database"),
            ),
        }
    }
}

/// A client that sends `secret` as its bearer token. Its timeout turns a
/// server that never answers into a failed test rather than a hung one.
pub fn bearer_client(secret: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {secret}")).expect("header");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client")
}

/// Creates a product through the server at `address`; the product.
pub async fn create_product_at(
    client: &reqwest::Client,
    address: &str,
    sku: &str,
    stock: i64,
) -> Value {
    let response = client
        .post(format!("{address}/v1/products"))
        .json(&product_body(sku, stock))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 201, "creating {sku}");
    response.json().await.expect("product JSON")
}

/// The JSON answer to a GET of `url`.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let response = client.get(url).send().await.expect("an answer");
    response.json().await.expect("a JSON answer")
}

pub fn product_body(sku: &str, stock: i64) -> Value {
    json!({"sku": sku, "name": format!("Product {sku}"), "price_minor": 1250, "currency": "EUR", "stock": stock})
}

pub fn product_path(product: &Value) -> String {
    format!(
        "/v1/products/{}",
        product["id"].as_str().expect("product id")
    )
}

/// Reads a problem response, checking what every problem carries.
pub async fn problem(response: Response, status: u16, slug: &str) -> Value {
    assert_eq!(response.status(), status, "status of a {slug} problem");
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("content type")
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("request id")
        .to_owned();
    let path = response.url().path().to_owned();
    let body: Value = response.json().await.expect("problem JSON");
    assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert_eq!(body["instance"], path, "{body}");
    assert_eq!(body["request_id"], request_id, "{body}");
    body
}

/// The JSON pointers a 400 or 422 problem lists.
pub fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors list")
        .iter()
        .map(|error| error["pointer"].as_str().expect("pointer").to_owned())
        .collect()
}

/// Lets the writes `TestApp::hold_writes` held go on.
pub fn release_writes(mut blocker: inventory_api::db::DbConnection) {
    blocker.batch_execute("ROLLBACK").expect("release the lock");
}
