//! What operators watch, in Prometheus's format (`GET /metrics`): answered
//! requests by route, method and status with their latency, problems by
//! type (409s by conflict type among them), and readings taken when
//! scraped (database pool, memory).

mod exposition;
mod histogram;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::{Method, StatusCode};
use parking_lot::Mutex;

use self::exposition::Exposition;
use self::histogram::Histogram;
use crate::db::PoolUse;

pub use self::exposition::CONTENT_TYPE;

/// The route label of a request that matched no route: a label per
/// unknown path would let any client grow the metrics without bound.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Counts since the process started.
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, Histogram>>,
    problems: Mutex<BTreeMap<(&'static str, StatusCode), u64>>,
    started: SystemTime,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKey {
    route: String,
    method: &'static str,
    status: StatusCode,
}

/// Readings taken at the moment of a scrape.
pub struct Readings {
    pub pool: PoolUse,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            requests: Mutex::default(),
            problems: Mutex::default(),
            started: SystemTime::now(),
        }
    }
}

impl Metrics {
    /// Counts an answered request. `route` is the matched pattern
    /// (`/v1/products/{id}`), never the path, so ids do not become labels.
    pub fn record_request(
        &self,
        route: String,
        method: &Method,
        status: StatusCode,
        latency: Duration,
    ) {
        let key = RequestKey {
            route,
            method: method_label(method),
            status,
        };
        self.requests
            .lock()
            .entry(key)
            .or_default()
            .observe(latency);
    }

    /// Counts a problem response by its type's slug (`stale-version`).
    pub fn record_problem(&self, slug: &'static str, status: StatusCode) {
        *self.problems.lock().entry((slug, status)).or_default() += 1;
    }

    /// Everything in Prometheus's text format.
    pub fn render(&self, readings: &Readings) -> String {
        let mut out = Exposition::default();
        self.write_requests(&mut out);
        self.write_problems(&mut out);
        write_pool(&mut out, &readings.pool);
        self.write_process(&mut out);
        out.into_text()
    }

    fn write_requests(&self, out: &mut Exposition) {
        // Copied out so that requests being answered never wait on a scrape.
        let requests = self.requests.lock().clone();
        let labelled = || {
            requests.iter().map(|(key, histogram)| {
                let labels = [
                    ("route", key.route.as_str()),
                    ("method", key.method),
                    ("status", key.status.as_str()),
                ];
                (labels, histogram)
            })
        };
        out.family(
            "inventory_http_requests_total",
            "counter",
            "HTTP requests answered, by matched route, method and status.",
        );
        for (labels, histogram) in labelled() {
            out.sample("inventory_http_requests_total", &labels, histogram.count());
        }
        out.family(
            "inventory_http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its response's head, by matched route, method and status.",
        );
        for (labels, histogram) in labelled() {
            for (bound, count) in histogram.cumulative() {
                let mut with_bound = labels.to_vec();
                with_bound.push(("le", &bound));
                out.sample(
                    "inventory_http_request_duration_seconds_bucket",
                    &with_bound,
                    count,
                );
            }
            out.sample(
                "inventory_http_request_duration_seconds_sum",
                &labels,
                histogram.sum_seconds(),
            );
            out.sample(
                "inventory_http_request_duration_seconds_count",
                &labels,
                histogram.count(),
            );
        }
    }

    fn write_problems(&self, out: &mut Exposition) {
        let problems = self.problems.lock().clone();
        out.family(
            "inventory_problems_total",
            "counter",
            "Problem responses by problem type and status; status 409 counts conflicts \
             (stale-version, sku-taken, idempotency-key-in-use, stock-sync-conflict).",
        );
        for ((slug, status), count) in &problems {
            out.sample(
                "inventory_problems_total",
                &[("type", slug), ("status", status.as_str())],
                count,
            );
        }
    }

    fn write_process(&self, out: &mut Exposition) {
        out.family(
            "process_start_time_seconds",
            "gauge",
            "When the process started, in seconds since the Unix epoch.",
        );
        let started = self
            .started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        out.sample("process_start_time_seconds", &[], started);
        if let Some(bytes) = resident_memory_bytes() {
            out.family(
                "process_resident_memory_bytes",
                "gauge",
                "Memory the process holds in RAM.",
            );
            out.sample("process_resident_memory_bytes", &[], bytes);
        }
    }
}

fn write_pool(out: &mut Exposition, pool: &PoolUse) {
    out.family(
        "inventory_db_pool_connections",
        "gauge",
        "Open database connections: lent to a request (in_use) or waiting in the pool (idle).",
    );
    out.sample(
        "inventory_db_pool_connections",
        &[("state", "in_use")],
        pool.open - pool.idle,
    );
    out.sample(
        "inventory_db_pool_connections",
        &[("state", "idle")],
        pool.idle,
    );
    out.family(
        "inventory_db_pool_max_connections",
        "gauge",
        "Most connections the pool opens (--pool-size); requests beyond wait, then get 503.",
    );
    out.sample("inventory_db_pool_max_connections", &[], pool.max);
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
fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
