//! The scenarios: what each client does in a loop, what is set up first,
//! and what must hold at the end (no update lost, none applied twice).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use http::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::api::{Answer, Api};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// GET a random product.
    Read,
    /// GET a random product, then PATCH its stock with that version.
    Cas,
    /// 8 writers on 10 products: read, modify, write, retrying each 409
    /// with the 409's `current_version`.
    Hot,
    /// Stock adjustments of +1 without a version.
    Adjust,
    /// 1000-item stock-sync batches.
    Sync,
    /// GET /healthz, which touches no database: what any request costs on
    /// this machine, through this server and this generator. The floor
    /// under the other scenarios' latency.
    Healthz,
}

/// A product as set up, before the run.
pub struct Product {
    pub id: String,
    pub sku: String,
    pub stock: i64,
    pub version: i64,
}

/// What the clients did, summed.
pub struct Outcome {
    pub elapsed: Duration,
    pub latency: Histogram<u64>,
    pub operations: u64,
    pub conflicts: u64,
    pub server_errors: u64,
    pub other_errors: u64,
    /// Versions each product should have gained, by index.
    pub versions_gained: Vec<u64>,
    /// Stock each product should have gained, by index.
    pub stock_gained: Vec<i64>,
}

const HOT_WRITERS: usize = 8;
const HOT_PRODUCTS: usize = 10;
const SYNC_BATCH: usize = 1000;

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Read => "read",
            Scenario::Cas => "cas",
            Scenario::Hot => "hot",
            Scenario::Adjust => "adjust",
            Scenario::Sync => "sync",
            Scenario::Healthz => "healthz",
        }
    }

    fn product_count(self, asked: usize) -> usize {
        match self {
            Scenario::Hot => HOT_PRODUCTS,
            Scenario::Sync => SYNC_BATCH,
            Scenario::Healthz => 0,
            _ => asked.max(1),
        }
    }

    pub fn clients(self, asked: usize) -> usize {
        if self == Scenario::Hot {
            HOT_WRITERS
        } else {
            asked.max(1)
        }
    }

    /// Creates the scenario's products, 32 requests at a time.
    pub async fn prepare(self, api: &Api, asked: usize) -> Result<Vec<Product>, String> {
        let count = self.product_count(asked);
        // Unique per run, so that runs on one database never share a SKU.
        let run = format!(
            "{:x}",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_micros()
        );
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (mut api, next, run) = (api.clone(), next.clone(), run.clone());
            tasks.push(tokio::spawn(async move {
                let mut made = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if n >= count {
                        return Ok::<_, String>(made);
                    }
                    let answer = api.create(&format!("LOAD-{run}-{n}"), 1000).await?;
                    if answer.status != StatusCode::CREATED {
                        return Err(format!(
                            "creating a product answered {}: {}",
                            answer.status, answer.body
                        ));
                    }
                    made.push((n, product_of(&answer.body)?));
                }
            }));
        }
        let mut products: Vec<(usize, Product)> = Vec::new();
        for task in tasks {
            products.extend(task.await.map_err(|error| error.to_string())??);
        }
        products.sort_by_key(|(n, _)| *n);
        Ok(products.into_iter().map(|(_, product)| product).collect())
    }

    /// Runs the clients until `length` has passed.
    pub async fn run(
        self,
        api: &Api,
        products: &[Product],
        clients: usize,
        length: Duration,
        rate: Option<f64>,
    ) -> Outcome {
        let clients = self.clients(clients);
        let targets: Arc<Vec<(String, String)>> = Arc::new(
            products
                .iter()
                .map(|p| (p.id.clone(), p.sku.clone()))
                .collect(),
        );
        let started = Instant::now();
        let deadline = started + length;
        let schedule = Arc::new(Schedule::new(started, deadline, rate));
        let mut tasks = Vec::new();
        for client in 0..clients {
            let (mut api, targets, schedule) = (api.clone(), targets.clone(), schedule.clone());
            tasks.push(tokio::spawn(async move {
                let mut tally = Tally::new(targets.len());
                let mut random = Random::new(client as u64 + 1);
                while let Some(due) = schedule.next(deadline).await {
                    self.step(&mut api, &targets, &mut random, &mut tally).await;
                    let micros = due.elapsed().as_micros().try_into().unwrap_or(u64::MAX);
                    let _ = tally.latency.record(micros.max(1));
                }
                tally
            }));
        }
        let mut total = Tally::new(targets.len());
        for task in tasks {
            if let Ok(tally) = task.await {
                total.add(&tally);
            }
        }
        Outcome {
            elapsed: started.elapsed(),
            latency: total.latency,
            operations: total.operations,
            conflicts: total.conflicts,
            server_errors: total.server_errors,
            other_errors: total.other_errors,
            versions_gained: total.versions_gained,
            stock_gained: total.stock_gained,
        }
    }

    /// One operation of one client.
    async fn step(
        self,
        api: &mut Api,
        targets: &[(String, String)],
        random: &mut Random,
        tally: &mut Tally,
    ) {
        tally.operations += 1;
        if self == Scenario::Healthz {
            tally.expect(api.healthz().await, StatusCode::OK);
            return;
        }
        let index = random.below(targets.len());
        let id = &targets[index].0;
        match self {
            Scenario::Healthz => unreachable!("answered before a product is picked"),
            Scenario::Read => {
                tally.expect(api.read(id).await, StatusCode::OK);
            }
            Scenario::Cas => {
                let Some(product) = tally.expect(api.read(id).await, StatusCode::OK) else {
                    return;
                };
                let (version, stock) = version_and_stock(&product);
                match api.set_stock(id, version, stock + 1).await {
                    Ok(answer) if answer.status == StatusCode::OK => tally.applied(index, 1),
                    Ok(answer) if answer.status == StatusCode::CONFLICT => tally.conflicts += 1,
                    other => tally.failed(other),
                }
            }
            Scenario::Hot => {
                let Some(product) = tally.expect(api.read(id).await, StatusCode::OK) else {
                    return;
                };
                let (mut version, mut stock) = version_and_stock(&product);
                loop {
                    match api.set_stock(id, version, stock + 1).await {
                        Ok(answer) if answer.status == StatusCode::OK => {
                            tally.applied(index, 1);
                            return;
                        }
                        // The 409 carries the product as it is now: retry on it.
                        Ok(answer) if answer.status == StatusCode::CONFLICT => {
                            tally.conflicts += 1;
                            (version, stock) = version_and_stock(&answer.body["current"]);
                        }
                        other => return tally.failed(other),
                    }
                }
            }
            Scenario::Adjust => {
                if tally
                    .expect(api.adjust(id, 1).await, StatusCode::OK)
                    .is_some()
                {
                    tally.applied(index, 1);
                }
            }
            Scenario::Sync => {
                // A count each batch has not sent before, so every item changes.
                let stock = random.below(1_000_000_000) as i64;
                let items: Vec<Value> = targets
                    .iter()
                    .map(|(_, sku)| json!({"sku": sku, "stock": stock, "force": true}))
                    .collect();
                let Some(outcome) = tally.expect(api.sync(items).await, StatusCode::OK) else {
                    return;
                };
                let results = outcome["results"].as_array().cloned().unwrap_or_default();
                for (index, result) in results.iter().enumerate() {
                    if result["status"] == "updated" {
                        tally.applied(index, 0);
                    }
                }
            }
        }
    }

    /// The lost-update invariants, read back from the server: each product
    /// gained exactly the versions and stock its successful writes made.
    pub async fn check(
        self,
        api: &mut Api,
        products: &[Product],
        outcome: &Outcome,
    ) -> Result<Vec<String>, String> {
        if matches!(self, Scenario::Read | Scenario::Healthz) {
            return Ok(Vec::new());
        }
        let mut violations = Vec::new();
        for (index, product) in products.iter().enumerate() {
            let answer = api.read(&product.id).await?;
            let (version, stock) = version_and_stock(&answer.body);
            let gained = i64::try_from(outcome.versions_gained[index]).unwrap_or(i64::MAX);
            if version - product.version != gained {
                violations.push(format!(
                    "{}: version {} -> {version}, {gained} writes succeeded",
                    product.id, product.version
                ));
            }
            if self != Scenario::Sync && stock - product.stock != outcome.stock_gained[index] {
                violations.push(format!(
                    "{}: stock {} -> {stock}, successes added {}",
                    product.id, product.stock, outcome.stock_gained[index]
                ));
            }
        }
        Ok(violations)
    }
}

fn product_of(body: &Value) -> Result<Product, String> {
    let (version, stock) = version_and_stock(body);
    let id = body["id"]
        .as_str()
        .ok_or_else(|| format!("no product in {body}"))?;
    let sku = body["sku"].as_str().unwrap_or_default().to_owned();
    Ok(Product {
        id: id.to_owned(),
        sku,
        stock,
        version,
    })
}

fn version_and_stock(product: &Value) -> (i64, i64) {
    (
        product["version"].as_i64().unwrap_or(0),
        product["stock"].as_i64().unwrap_or(0),
    )
}

/// One client's counts.
struct Tally {
    latency: Histogram<u64>,
    operations: u64,
    conflicts: u64,
    server_errors: u64,
    other_errors: u64,
    versions_gained: Vec<u64>,
    stock_gained: Vec<i64>,
}

impl Tally {
    fn new(products: usize) -> Tally {
        Tally {
            // Microseconds, 1 µs to 1 h, 3 significant digits.
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("constant histogram bounds are valid"),
            operations: 0,
            conflicts: 0,
            server_errors: 0,
            other_errors: 0,
            versions_gained: vec![0; products],
            stock_gained: vec![0; products],
        }
    }

    fn applied(&mut self, index: usize, stock: i64) {
        self.versions_gained[index] += 1;
        self.stock_gained[index] += stock;
    }

    /// The body when the answer has the expected status; counts it otherwise.
    fn expect(&mut self, answer: Result<Answer, String>, status: StatusCode) -> Option<Value> {
        match answer {
            Ok(answer) if answer.status == status => Some(answer.body),
            other => {
                self.failed(other);
                None
            }
        }
    }

    fn failed(&mut self, answer: Result<Answer, String>) {
        match answer {
            Ok(answer) if answer.status.is_server_error() => self.server_errors += 1,
            _ => self.other_errors += 1,
        }
    }

    fn add(&mut self, other: &Tally) {
        let _ = self.latency.add(&other.latency);
        self.operations += other.operations;
        self.conflicts += other.conflicts;
        self.server_errors += other.server_errors;
        self.other_errors += other.other_errors;
        for (mine, theirs) in self.versions_gained.iter_mut().zip(&other.versions_gained) {
            *mine += theirs;
        }
        for (mine, theirs) in self.stock_gained.iter_mut().zip(&other.stock_gained) {
            *mine += theirs;
        }
    }
}

/// When each operation is due: at once (closed loop), or at a fixed rate
/// shared by all clients, counted from the start so that a late answer
/// does not push later requests back.
struct Schedule {
    started: Instant,
    pace: Option<Pace>,
}

/// The fixed rate: a thread of its own releases one permit as each
/// operation falls due, and the clients take them in turn. tokio's timers
/// tick in whole milliseconds, so a client sleeping until its due time
/// would wake up to a millisecond late, and that delay, the generator's
/// own, would be counted as the server's latency.
struct Pace {
    interval: Duration,
    issued: AtomicU64,
    due: Arc<Semaphore>,
}

impl Schedule {
    fn new(started: Instant, deadline: Instant, rate: Option<f64>) -> Schedule {
        let pace = rate.filter(|rate| *rate > 0.0).map(|rate| {
            let interval = Duration::from_secs_f64(1.0 / rate);
            let due = Arc::new(Semaphore::new(0));
            let releaser = due.clone();
            std::thread::spawn(move || release_on_time(&releaser, started, deadline, interval));
            Pace {
                interval,
                issued: AtomicU64::new(0),
                due,
            }
        });
        Schedule { started, pace }
    }

    /// The time the next operation was due, once it is; None after the deadline.
    async fn next(&self, deadline: Instant) -> Option<Instant> {
        let Some(pace) = &self.pace else {
            let now = Instant::now();
            return (now < deadline).then_some(now);
        };
        // Closed at the deadline.
        pace.due.acquire().await.ok()?.forget();
        let n = pace.issued.fetch_add(1, Ordering::Relaxed);
        Some(self.started + pace.interval.mul_f64(n as f64))
    }
}

/// Releases one permit per operation due (the n-th at `started + n *
/// interval`) until the deadline, then closes the semaphore. Each wake-up
/// releases every operation that fell due meanwhile.
fn release_on_time(due: &Semaphore, started: Instant, deadline: Instant, interval: Duration) {
    let mut released: u64 = 0;
    loop {
        let now = Instant::now();
        if now >= deadline {
            due.close();
            return;
        }
        let due_by_now = (now - started).as_secs_f64() / interval.as_secs_f64();
        let due_by_now = due_by_now as u64 + 1;
        if due_by_now > released {
            due.add_permits((due_by_now - released) as usize);
            released = due_by_now;
        }
        let next = started + interval.mul_f64(released as f64);
        std::thread::sleep(next.min(deadline).saturating_duration_since(Instant::now()));
    }
}

/// A small xorshift generator: each client picks products on its own.
struct Random(u64);

impl Random {
    fn new(seed: u64) -> Random {
        Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
