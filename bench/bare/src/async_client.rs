//! tokio-postgres on each HTTP worker's own runtime: a statement's answer
//! wakes the worker that sent it, and no thread waits for it.

use std::cell::Cell;

use actix_web::{web, HttpResponse};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use serde_json::Value;
use tokio::sync::OnceCell;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use crate::statements::{CREATE, CURRENT_SINCE, FIND_LIVE, SWAP};
use crate::{answer, created, found, now_micros, patched, stock_changes, version_and_stock};
use crate::{CurrentSince, Failure, NewProduct, Outcome, Product};

/// Connections per HTTP worker: with actix's two workers on two cores,
/// eight in all, as pgbench has for `hot`.
const CONNECTIONS_PER_WORKER: usize = 4;

/// A connection with its statements prepared.
struct Connection {
    client: Client,
    find_live: Statement,
    swap: Statement,
    current_since: Statement,
    create: Statement,
}

/// One HTTP worker's connections, each opened on first use, taken in turn.
struct Connections {
    url: String,
    open: [OnceCell<Connection>; CONNECTIONS_PER_WORKER],
    next: Cell<usize>,
}

pub fn routes(routes: &mut web::ServiceConfig, url: String) {
    // Made once per HTTP worker, which calls this on its own thread.
    let connections = Connections {
        url,
        open: Default::default(),
        next: Cell::new(0),
    };
    routes
        .app_data(web::Data::new(connections))
        .route("/v1/products", web::post().to(create))
        .route("/v1/products/{id}", web::get().to(read))
        .route("/v1/products/{id}", web::patch().to(update));
}

impl Connections {
    async fn next(&self) -> Result<&Connection, Failure> {
        let n = self.next.get();
        self.next.set((n + 1) % CONNECTIONS_PER_WORKER);
        self.open[n].get_or_try_init(|| open(&self.url)).await
    }
}

/// TLS, as libpq's default `sslmode=prefer` gives the API and pgbench on
/// this machine; like `prefer`, without checking the certificate.
async fn open(url: &str) -> Result<Connection, Failure> {
    let mut tls = SslConnector::builder(SslMethod::tls())?;
    tls.set_verify(SslVerifyMode::NONE);
    let (client, driver) = tokio_postgres::connect(url, MakeTlsConnector::new(tls.build())).await?;
    // On this worker's runtime, so that the answers wake this worker.
    actix_web::rt::spawn(driver);
    Ok(Connection {
        find_live: client.prepare(FIND_LIVE).await?,
        swap: client.prepare(SWAP).await?,
        current_since: client.prepare(CURRENT_SINCE).await?,
        create: client.prepare(CREATE).await?,
        client,
    })
}

fn product(row: &Row) -> Product {
    Product {
        id: row.get(0),
        sku: row.get(1),
        name: row.get(2),
        description: row.get(3),
        price_minor: row.get(4),
        currency: row.get(5),
        stock: row.get(6),
        version: row.get(7),
        created_at: row.get(8),
        updated_at: row.get(9),
    }
}

async fn create(connections: web::Data<Connections>, body: web::Json<Value>) -> HttpResponse {
    answer(
        async {
            let conn = connections.next().await?;
            let new = NewProduct::from_json(&body);
            let id = uuid::Uuid::now_v7().to_string();
            let binds: [&(dyn ToSql + Sync); 6] = [
                &id,
                &new.sku,
                &new.price_minor,
                &new.currency,
                &new.stock,
                &now_micros(),
            ];
            conn.client.execute(&conn.create, &binds).await?;
            Ok(created(&id, &new))
        }
        .await,
    )
}

async fn read(connections: web::Data<Connections>, id: web::Path<String>) -> HttpResponse {
    answer(
        async {
            let conn = connections.next().await?;
            let row = conn.client.query_opt(&conn.find_live, &[&*id]).await?;
            Ok(found(row.as_ref().map(product)))
        }
        .await,
    )
}

async fn update(
    connections: web::Data<Connections>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    answer(
        async {
            let conn = connections.next().await?;
            let (expected, stock) = version_and_stock(&body);
            Ok(patched(swap(conn, &id, expected, stock).await?))
        }
        .await,
    )
}

/// The API's PATCH: its read, then its swap.
async fn swap(conn: &Connection, id: &str, expected: i64, stock: i64) -> Result<Outcome, Failure> {
    let Some((mut product, since)) = current_since(conn, id, expected).await? else {
        return Ok(Outcome::NotFound);
    };
    if product.version != expected {
        return Ok(Outcome::Stale(product, since));
    }
    let (version, at) = (expected + 1, now_micros());
    let changes = stock_changes(product.stock, stock);
    let binds: [&(dyn ToSql + Sync); 11] = [
        &id,
        &product.sku,
        &product.name,
        &product.description,
        &product.price_minor,
        &product.currency,
        &stock,
        &version,
        &at,
        &expected,
        &changes,
    ];
    if conn.client.execute(&conn.swap, &binds).await? == 0 {
        return Ok(Outcome::moved_on(current_since(conn, id, expected).await?));
    }
    (product.stock, product.version, product.updated_at) = (stock, version, at);
    Ok(Outcome::Updated(product))
}

/// The API's read before a write: the product now, and its history since
/// `expected`, as the 409 would carry them.
async fn current_since(
    conn: &Connection,
    id: &str,
    expected: i64,
) -> Result<CurrentSince, Failure> {
    let rows = conn
        .client
        .query(&conn.current_since, &[&id, &expected])
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let since = rows
        .iter()
        .filter_map(|row| Some((row.get::<_, Option<i64>>(10)?, row.get(11))))
        .collect();
    Ok(Some((product(first), since)))
}
