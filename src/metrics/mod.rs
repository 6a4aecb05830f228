//! What operators watch, in Prometheus's text format (`GET /metrics`):
//! answered requests by route, method and status with their latency,
//! problems by type (409s by conflict type among them), and readings taken
//! when scraped (database pool, memory).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::{Method, StatusCode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::db::{retries, PoolUse, RetryReason};

pub use prometheus_text::CONTENT_TYPE;

/// The route label of a request that matched no route: a label per
/// unknown path would let any client grow the metrics without bound.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds of the latency buckets, in seconds: from a cached read
/// (well under a millisecond) to a request that waited out the pool (3 s)
/// or a lock (5 s).
const LATENCY_BUCKETS_SECONDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    /// The matched pattern (`/v1/products/{id}`), never the path, so ids
    /// do not become labels.
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ProblemLabels {
    /// The problem type's slug (`stale-version`).
    r#type: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PoolLabels {
    /// `in_use` or `idle`.
    state: &'static str,
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// Counts since the process started, and the gauges set when scraped.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    problems: Family<ProblemLabels, Counter>,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max_connections: Gauge,
    worker_connections: Gauge,
    resident_memory_bytes: Gauge,
}

/// Readings taken at the moment of a scrape.
pub struct Readings {
    pub pool: PoolUse,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    // Help texts are registered without their final full stop: the
    // registry adds it.
    pub fn new() -> Metrics {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let problems = Family::<ProblemLabels, Counter>::default();
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        let pool_max_connections: Gauge = Gauge::default();
        let worker_connections: Gauge = Gauge::default();
        let start_time_seconds: Gauge = Gauge::default();
        let resident_memory_bytes: Gauge = Gauge::default();

        let mut registry = Registry::default();
        // A counter's name goes in without `_total`: the format adds it.
        registry.register(
            "inventory_http_requests",
            "HTTP requests answered, by matched route, method and status",
            requests.clone(),
        );
        registry.register(
            "inventory_http_request_duration_seconds",
            "Time from a request's arrival to its response's head, by matched route, method and status",
            latency.clone(),
        );
        registry.register(
            "inventory_problems",
            "Problem responses by problem type and status; status 409 counts conflicts \
             (stale-version, sku-taken, idempotency-key-in-use, stock-sync-conflict)",
            problems.clone(),
        );
        registry.register(
            "inventory_db_pool_connections",
            "Open database connections: lent to a request (in_use) or waiting in the pool (idle)",
            pool_connections.clone(),
        );
        registry.register(
            "inventory_db_pool_max_connections",
            "Most connections the pool opens (--pool-size); requests beyond wait, then get 503",
            pool_max_connections.clone(),
        );
        registry.register(
            "inventory_db_worker_connections",
            "PostgreSQL connections the HTTP workers hold beside the pool, for reading and PATCHing a product",
            worker_connections.clone(),
        );
        registry.register_collector(Box::new(DatabaseRetries));
        registry.register(
            "process_start_time_seconds",
            "When the process started, in seconds since the Unix epoch",
            start_time_seconds.clone(),
        );
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        start_time_seconds.set(i64::try_from(started).unwrap_or(i64::MAX));
        // Only where it can be read (Linux).
        if resident_memory().is_some() {
            registry.register(
                "process_resident_memory_bytes",
                "Memory the process holds in RAM",
                resident_memory_bytes.clone(),
            );
        }

        Metrics {
            registry,
            requests,
            latency,
            problems,
            pool_connections,
            pool_max_connections,
            worker_connections,
            resident_memory_bytes,
        }
    }

    /// Counts an answered request. `route` is the matched pattern
    /// (`/v1/products/{id}`), never the path, so ids do not become labels.
    pub fn record_request(
        &self,
        route: String,
        method: &Method,
        status: StatusCode,
        latency: Duration,
    ) {
        let labels = RequestLabels {
            route,
            method: method_label(method),
            status: status.as_u16(),
        };
        self.latency
            .get_or_create(&labels)
            .observe(latency.as_secs_f64());
        self.requests.get_or_create(&labels).inc();
    }

    /// Counts a problem response by its type's slug (`stale-version`).
    pub fn record_problem(&self, slug: &'static str, status: StatusCode) {
        let labels = ProblemLabels {
            r#type: slug,
            status: status.as_u16(),
        };
        self.problems.get_or_create(&labels).inc();
    }

    /// Everything in Prometheus's text format, with the readings taken now.
    pub fn render(&self, readings: &Readings) -> Result<String, std::fmt::Error> {
        let pool = &readings.pool;
        let gauge = |state| {
            self.pool_connections
                .get_or_create_owned(&PoolLabels { state })
        };
        gauge("in_use").set(i64::from(pool.open) - i64::from(pool.idle));
        gauge("idle").set(i64::from(pool.idle));
        self.pool_max_connections.set(i64::from(pool.max));
        self.worker_connections
            .set(i64::try_from(pool.workers_open).unwrap_or(i64::MAX));
        if let Some(bytes) = resident_memory() {
            self.resident_memory_bytes
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RetryLabels {
    /// `serialization_failure` or `deadlock`.
    reason: &'static str,
}

/// `inventory_db_retries_total`, read from the database layer's own
/// counts when scraped: its retries happen deep in the store, which knows
/// nothing of metrics.
#[derive(Debug)]
struct DatabaseRetries;

impl Collector for DatabaseRetries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counter_type = ConstCounter::new(0_u64).metric_type();
        let mut family = encoder.encode_descriptor(
            "inventory_db_retries",
            "Transactions run again because the database refused them for a concurrent one \
             (a serialization failure at serializable isolation, or a deadlock)",
            None,
            counter_type,
        )?;
        for reason in RetryReason::ALL {
            let labels = RetryLabels {
                reason: reason.label(),
            };
            ConstCounter::new(retries(reason)).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS_SECONDS)
}

/// The method as a label; any other method a client invents is `other`.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The resident set size from `/proc/self/status` (Linux); `None` elsewhere.
fn resident_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
