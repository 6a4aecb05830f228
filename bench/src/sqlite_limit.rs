//! The database's own limit on SQLite, for bench/run.sh: the store's own
//! functions (so the very statements and transactions the API runs, through
//! diesel, on connections with the server's pragmas) in a tight loop on N
//! threads, with no HTTP in between. Prints one JSON line: throughput, or
//! with `--rate` the latency at that rate (the database's own latency at
//! the API's half-peak rate), and `busy`: the writes that outwaited
//! `busy_timeout` and were tried again.
//!
//!     inventory-sqlite-limit --database-url sqlite://bench.db --scenario cas --clients 16 --seconds 10
//!     inventory-sqlite-limit --database-url sqlite://bench.db --scenario cas --rate 900

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use hdrhistogram::Histogram;
use inventory_api::db::schema::products;
use inventory_api::db::DbError;
use inventory_api::db::{open_connection, DbConnection};
use inventory_api::domain::patch::ProductPatch;
use inventory_api::domain::precondition::{Precondition, VersionSource};
use inventory_api::store;
use inventory_api::store::StoreError;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    about = "The database's own limit on SQLite: the store's functions in a loop, with no HTTP"
)]
struct Options {
    /// A database the server has made (and the load generator filled).
    #[arg(long)]
    database_url: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    #[arg(long, default_value_t = 16)]
    clients: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Operations per second across all clients, each client on its own
    /// schedule; latency is counted from when each operation was due, as
    /// inventory-load counts it (no coordinated omission).
    #[arg(long)]
    rate: Option<f64>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    /// What GET /v1/products/{id} runs.
    Read,
    /// What a GET and then a stock PATCH with the version read run.
    Cas,
    /// `cas` on the 10 oldest products (8 clients), counting swaps made.
    Hot,
}

fn main() {
    let options = Options::parse();
    if let Err(error) = run(&options) {
        eprintln!("inventory-sqlite-limit: {error}");
        std::process::exit(1);
    }
}

fn run(options: &Options) -> Result<(), String> {
    let mut conn = connect(&options.database_url)?;
    let limit = match options.scenario {
        Scenario::Hot => 10,
        Scenario::Read | Scenario::Cas => i64::MAX,
    };
    let ids: Vec<String> = products::table
        .filter(products::deleted_at.is_null())
        .order(products::id)
        .limit(limit)
        .select(products::id)
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    let ids: Arc<Vec<Uuid>> = Arc::new(
        ids.iter()
            .map(|id| Uuid::parse_str(id).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?,
    );
    if ids.is_empty() {
        return Err("the database holds no products".into());
    }
    let clients = match options.scenario {
        Scenario::Hot => 8,
        Scenario::Read | Scenario::Cas => options.clients,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    // Each client's operations fall due one interval apart, the clients'
    // schedules staggered across it.
    let interval = options
        .rate
        .map(|rate| Duration::from_secs_f64(clients as f64 / rate));
    let began = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let (ids, stop, done, busy) = (ids.clone(), stop.clone(), done.clone(), busy.clone());
            let url = options.database_url.clone();
            let scenario = options.scenario;
            std::thread::spawn(move || -> Result<Histogram<u64>, String> {
                let mut conn = connect(&url)?;
                let mut latency = latency_histogram()?;
                let mut due =
                    interval.map(|interval| began + interval * client as u32 / clients as u32);
                let mut random = client as u64 * 0x9E37_79B9_7F4A_7C15 + 1;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(due) = due {
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    // xorshift: enough to spread picks, no dependency.
                    random ^= random << 13;
                    random ^= random >> 7;
                    random ^= random << 17;
                    let id = &ids[(random % ids.len() as u64) as usize];
                    match step(&mut conn, scenario, id) {
                        Ok(true) => {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(false) => {}
                        // A write that outwaited `busy_timeout` behind the
                        // others: nothing was applied, and it is tried
                        // again, as a client retries the server's 503.
                        Err(StoreError::Database(DbError::Unavailable(_))) => {
                            busy.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(error) => return Err(error.to_string()),
                    }
                    if let (Some(when), Some(interval)) = (due.as_mut(), interval) {
                        latency.saturating_record(when.elapsed().as_micros() as u64);
                        *when += interval;
                    }
                }
                Ok(latency)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(options.seconds));
    stop.store(true, Ordering::Relaxed);
    let mut latency = latency_histogram()?;
    for thread in threads {
        let client_latency = thread.join().map_err(|_| "a client thread panicked")??;
        latency.add(client_latency).map_err(|e| e.to_string())?;
    }
    let elapsed = began.elapsed().as_secs_f64();
    let done = done.load(Ordering::Relaxed);
    let busy = busy.load(Ordering::Relaxed);
    let scenario = options
        .scenario
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned());
    let figures = match options.rate {
        None => format!("\"per_second\":{:.1}", done as f64 / elapsed),
        Some(rate) => {
            let ms = |micros: u64| micros as f64 / 1000.0;
            format!(
                "\"rate\":{rate},\"p50_ms\":{},\"p99_ms\":{},\"max_ms\":{}",
                ms(latency.value_at_quantile(0.50)),
                ms(latency.value_at_quantile(0.99)),
                ms(latency.max())
            )
        }
    };
    println!(
        "{{\"scenario\":\"{scenario}\",\"backend\":\"sqlite\",\"clients\":{clients},\"operations\":{done},\"busy\":{busy},{figures}}}"
    );
    Ok(())
}

/// Latencies in microseconds, from 1 µs to an hour, to 3 significant
/// digits (as inventory-load keeps them).
fn latency_histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())
}

/// A connection with the server's pragmas, except that its commits
/// checkpoint the log as SQLite does by default. A commit that takes the
/// log past 1000 pages copies it after releasing the write lock, so the
/// other threads here write on meanwhile: the database's own way, and its
/// best here. (The server checkpoints from a thread of its own instead:
/// its writes run one after another on one thread, and every write queued
/// behind the copying commit would wait for it.)
fn connect(url: &str) -> Result<DbConnection, String> {
    let mut conn = open_connection(url).map_err(|e| e.to_string())?;
    conn.batch_execute("PRAGMA wal_autocheckpoint = 1000")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// One operation; whether it counts (a read, or a swap that was made).
fn step(conn: &mut DbConnection, scenario: Scenario, id: &Uuid) -> Result<bool, StoreError> {
    let product = store::products::find_live(conn, id)?.ok_or(StoreError::ProductNotFound(*id))?;
    if let Scenario::Read = scenario {
        return Ok(true);
    }
    let patch = ProductPatch {
        stock: Some(product.fields.stock + 1),
        ..ProductPatch::default()
    };
    let expected = Precondition {
        version: product.version,
        source: VersionSource::Body,
    };
    match store::products::update(conn, id, Some(expected), &patch, "sqlite-limit") {
        Ok(_) => Ok(true),
        Err(StoreError::Stale(_)) => Ok(false),
        Err(error) => Err(error),
    }
}
