//! diesel through an r2d2 pool, each request's statements in one trip to
//! actix's blocking threads, as the API runs them.

use actix_web::{web, HttpResponse};
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use serde_json::Value;

use crate::prepared_sql::{Bind, PreparedSql};
use crate::statements::{CREATE, CURRENT_SINCE, FIND_LIVE, SWAP};
use crate::{answer, created, found, now_micros, patched, stock_changes, version_and_stock};
use crate::{CurrentSince, Failure, NewProduct, Outcome, Product};

pub type Connections = Pool<ConnectionManager<PgConnection>>;

/// The API's default pool size.
const POOL_SIZE: u32 = 10;

pub fn pool(url: &str) -> Result<Connections, Failure> {
    Ok(Pool::builder()
        .max_size(POOL_SIZE)
        .test_on_check_out(false)
        .build(ConnectionManager::new(url))?)
}

pub fn routes(routes: &mut web::ServiceConfig, pool: Connections) {
    routes
        .app_data(web::Data::new(pool))
        .route("/v1/products", web::post().to(create))
        .route("/v1/products/{id}", web::get().to(read))
        .route("/v1/products/{id}", web::patch().to(update));
}

#[derive(QueryableByName)]
struct ProductRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    sku: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = BigInt)]
    price_minor: i64,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    stock: i64,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
    #[diesel(sql_type = BigInt)]
    updated_at: i64,
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Product {
        Product {
            id: row.id,
            sku: row.sku,
            name: row.name,
            description: row.description,
            price_minor: row.price_minor,
            currency: row.currency,
            stock: row.stock,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A row of `CURRENT_SINCE`: the product and one version since, if any.
#[derive(QueryableByName)]
struct CurrentSinceRow {
    #[diesel(embed)]
    product: ProductRow,
    #[diesel(sql_type = Nullable<BigInt>)]
    since_version: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    since_changes: Option<String>,
}

/// Runs `work` with a pooled connection on a blocking thread.
async fn run<T: Send + 'static>(
    pool: &Connections,
    work: impl FnOnce(&mut PgConnection) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let pool = pool.clone();
    web::block(move || work(&mut *pool.get()?)).await?
}

async fn create(pool: web::Data<Connections>, body: web::Json<Value>) -> HttpResponse {
    let new = NewProduct::from_json(&body);
    let inserted = run(&pool, move |conn| {
        let id = uuid::Uuid::now_v7().to_string();
        let binds = [
            Bind::Text(&id),
            Bind::Text(&new.sku),
            Bind::BigInt(new.price_minor),
            Bind::Text(&new.currency),
            Bind::BigInt(new.stock),
            Bind::BigInt(now_micros()),
        ];
        PreparedSql {
            sql: CREATE,
            binds: &binds,
        }
        .execute(conn)?;
        Ok((id, new))
    })
    .await;
    answer(inserted.map(|(id, new)| created(&id, &new)))
}

async fn read(pool: web::Data<Connections>, id: web::Path<String>) -> HttpResponse {
    let id = id.into_inner();
    answer(
        run(&pool, move |conn| find_live(conn, &id))
            .await
            .map(found),
    )
}

async fn update(
    pool: web::Data<Connections>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let id = id.into_inner();
    let (expected, stock) = version_and_stock(&body);
    answer(
        run(&pool, move |conn| swap(conn, &id, expected, stock))
            .await
            .map(patched),
    )
}

fn find_live(conn: &mut PgConnection, id: &str) -> Result<Option<Product>, Failure> {
    let query = PreparedSql {
        sql: FIND_LIVE,
        binds: &[Bind::Text(id)],
    };
    let mut rows: Vec<ProductRow> = query.load(conn)?;
    Ok(rows.pop().map(Product::from))
}

/// The API's PATCH: its read, then its swap.
fn swap(conn: &mut PgConnection, id: &str, expected: i64, stock: i64) -> Result<Outcome, Failure> {
    let Some((mut product, since)) = current_since(conn, id, expected)? else {
        return Ok(Outcome::NotFound);
    };
    if product.version != expected {
        return Ok(Outcome::Stale(product, since));
    }
    let (version, at) = (expected + 1, now_micros());
    let changes = stock_changes(product.stock, stock);
    let binds = [
        Bind::Text(id),
        Bind::Text(&product.sku),
        Bind::Text(&product.name),
        Bind::Text(&product.description),
        Bind::BigInt(product.price_minor),
        Bind::Text(&product.currency),
        Bind::BigInt(stock),
        Bind::BigInt(version),
        Bind::BigInt(at),
        Bind::BigInt(expected),
        Bind::Text(&changes),
    ];
    let swapped = PreparedSql {
        sql: SWAP,
        binds: &binds,
    }
    .execute(conn)?;
    if swapped == 0 {
        return Ok(Outcome::moved_on(current_since(conn, id, expected)?));
    }
    (product.stock, product.version, product.updated_at) = (stock, version, at);
    Ok(Outcome::Updated(product))
}

/// The API's read before a write: the product now, and its history since
/// `expected`, as the 409 would carry them.
fn current_since(
    conn: &mut PgConnection,
    id: &str,
    expected: i64,
) -> Result<CurrentSince, Failure> {
    let binds = [Bind::Text(id), Bind::BigInt(expected)];
    let rows: Vec<CurrentSinceRow> = PreparedSql {
        sql: CURRENT_SINCE,
        binds: &binds,
    }
    .load(conn)?;
    let mut rows = rows.into_iter();
    let Some(first) = rows.next() else {
        return Ok(None);
    };
    let product = first.product.into();
    let since = std::iter::once((first.since_version, first.since_changes))
        .chain(rows.map(|row| (row.since_version, row.since_changes)))
        .filter_map(|(version, changes)| Some((version?, changes?)))
        .collect();
    Ok(Some((product, since)))
}
