//! The least HTTP server that serves the load generator's `hot` scenario
//! (create, GET and a compare-and-swap PATCH of stock, 409s carrying the
//! current product and what changed) with the API's own statements. No
//! tokens, validation, problem documents, logs or metrics. What it keeps
//! of pgbench's speed is a ceiling for any HTTP layer doing this work on
//! the same machine; bench/bare.sh measures it beside the API.
//!
//! It reaches PostgreSQL in one of two ways, so that the cost of the way
//! the API does it can be told from the cost of the rest of its work:
//! - `CLIENT=async` (the default): tokio-postgres on each HTTP worker's
//!   own runtime; no thread hops, and no thread sleeps per statement.
//! - `CLIENT=blocking`: diesel through an r2d2 pool on actix's blocking
//!   threads, one hop per request, as the API does.
//!
//!   DATABASE_URL=postgres://... BIND=127.0.0.1:8090 CLIENT=async inventory-bare

mod async_client;
mod blocking_client;
mod prepared_sql;
mod statements;

use actix_web::{App, HttpResponse, HttpServer};
use serde_json::{json, Value};

pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A product row, as both clients read it.
pub struct Product {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
    pub stock: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Product {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id, "sku": self.sku, "name": self.name,
            "description": self.description, "price_minor": self.price_minor,
            "currency": self.currency, "stock": self.stock, "version": self.version,
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }
}

/// What a PATCH came to.
pub enum Outcome {
    Updated(Product),
    /// The product as it is now, and the changes of each version since
    /// the client's.
    Stale(Product, Vec<(i64, String)>),
    NotFound,
}

/// The read before a write: the product now, and the changes of each
/// version since the client's. `None` when the product is not live.
pub type CurrentSince = Option<(Product, Vec<(i64, String)>)>;

impl Outcome {
    /// The answer to a swap that matched no row, from a read after it.
    fn moved_on(found: CurrentSince) -> Outcome {
        match found {
            Some((current, since)) => Outcome::Stale(current, since),
            None => Outcome::NotFound,
        }
    }
}

/// What a swap records as its history entry's changes.
pub fn stock_changes(from: i64, to: i64) -> String {
    json!({"stock": {"from": from, "to": to}}).to_string()
}

pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
        })
}

/// The body of a create: what the load generator sends.
pub struct NewProduct {
    pub sku: String,
    pub price_minor: i64,
    pub currency: String,
    pub stock: i64,
}

impl NewProduct {
    fn from_json(body: &Value) -> NewProduct {
        NewProduct {
            sku: body["sku"].as_str().unwrap_or_default().to_owned(),
            price_minor: body["price_minor"].as_i64().unwrap_or_default(),
            currency: body["currency"].as_str().unwrap_or("EUR").to_owned(),
            stock: body["stock"].as_i64().unwrap_or_default(),
        }
    }
}

fn created(id: &str, new: &NewProduct) -> HttpResponse {
    HttpResponse::Created()
        .json(json!({"id": id, "sku": new.sku, "version": 1, "stock": new.stock}))
}

fn found(product: Option<Product>) -> HttpResponse {
    match product {
        Some(product) => HttpResponse::Ok().json(product.to_json()),
        None => HttpResponse::NotFound().finish(),
    }
}

fn patched(outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::Updated(product) => HttpResponse::Ok().json(product.to_json()),
        Outcome::Stale(current, since) => {
            let changes_since: Vec<Value> = since
                .into_iter()
                .map(|(version, changes)| json!({"version": version, "changes": changes}))
                .collect();
            HttpResponse::Conflict().json(json!({
                "current_version": current.version,
                "current": current.to_json(),
                "changes_since": changes_since,
            }))
        }
        Outcome::NotFound => HttpResponse::NotFound().finish(),
    }
}

/// The version and stock a PATCH body names.
fn version_and_stock(body: &Value) -> (i64, i64) {
    (
        body["version"].as_i64().unwrap_or_default(),
        body["stock"].as_i64().unwrap_or_default(),
    )
}

/// A failure as the load generator counts it: a 5xx.
fn answer(result: Result<HttpResponse, Failure>) -> HttpResponse {
    result.unwrap_or_else(|failure| HttpResponse::ServiceUnavailable().body(failure.to_string()))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8090".into());
    let url = std::env::var("DATABASE_URL").map_err(std::io::Error::other)?;
    let blocking = match std::env::var("CLIENT").as_deref() {
        Ok("blocking") => Some(blocking_client::pool(&url).map_err(std::io::Error::other)?),
        Ok("async") | Err(_) => None,
        Ok(other) => {
            return Err(std::io::Error::other(format!(
                "CLIENT={other}: async or blocking"
            )))
        }
    };
    HttpServer::new(move || {
        let app = App::new();
        match &blocking {
            Some(pool) => app.configure(|routes| blocking_client::routes(routes, pool.clone())),
            None => app.configure(|routes| async_client::routes(routes, url.clone())),
        }
    })
    .bind(bind)?
    .run()
    .await
}
