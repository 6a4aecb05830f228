//! The report of one run: throughput, latency percentiles, the 409 share,
//! errors, and the invariants that were checked.

use std::fmt;

use serde_json::json;

use crate::scenarios::{Outcome, Scenario};
use crate::Options;

pub struct Report {
    scenario: &'static str,
    clients: usize,
    rate: Option<f64>,
    seconds: f64,
    operations: u64,
    per_second: f64,
    percentiles_ms: [(f64, f64); 4],
    max_ms: f64,
    conflict_share: f64,
    server_errors: u64,
    other_errors: u64,
    violations: Vec<String>,
    /// Cores each watched process, and the generator ("load"), used while
    /// the load ran.
    cores: Vec<(String, f64)>,
}

impl Report {
    pub fn new(
        scenario: Scenario,
        options: &Options,
        outcome: &Outcome,
        violations: &[String],
        cores: Vec<(String, f64)>,
    ) -> Report {
        let seconds = outcome.elapsed.as_secs_f64();
        let ms = |micros: u64| micros as f64 / 1000.0;
        let percentile = |q: f64| (q, ms(outcome.latency.value_at_quantile(q / 100.0)));
        let attempts = outcome.operations + outcome.conflicts;
        Report {
            scenario: scenario.name(),
            clients: scenario.clients(options.clients),
            rate: options.rate,
            seconds,
            operations: outcome.operations,
            per_second: outcome.operations as f64 / seconds.max(f64::EPSILON),
            percentiles_ms: [
                percentile(50.0),
                percentile(95.0),
                percentile(99.0),
                percentile(99.9),
            ],
            max_ms: ms(outcome.latency.max()),
            conflict_share: outcome.conflicts as f64 / (attempts.max(1)) as f64,
            server_errors: outcome.server_errors,
            other_errors: outcome.other_errors,
            violations: violations.to_vec(),
            cores,
        }
    }

    pub fn json(&self) -> String {
        json!({
            "scenario": self.scenario,
            "clients": self.clients,
            "rate": self.rate,
            "seconds": self.seconds,
            "operations": self.operations,
            "per_second": self.per_second,
            "p50_ms": self.percentiles_ms[0].1,
            "p95_ms": self.percentiles_ms[1].1,
            "p99_ms": self.percentiles_ms[2].1,
            "p999_ms": self.percentiles_ms[3].1,
            "max_ms": self.max_ms,
            "conflict_share": self.conflict_share,
            "server_errors": self.server_errors,
            "other_errors": self.other_errors,
            "invariants_hold": self.violations.is_empty(),
            "cores": self
                .cores
                .iter()
                .map(|(name, cores)| (name.clone(), json!(cores)))
                .collect::<serde_json::Map<_, _>>(),
        })
        .to_string()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pace = self
            .rate
            .map_or("as fast as answered".to_owned(), |rate| format!("{rate}/s"));
        writeln!(
            f,
            "{}: {} clients, {pace}, {:.1} s",
            self.scenario, self.clients, self.seconds
        )?;
        writeln!(
            f,
            "  operations  {} ({:.0}/s)",
            self.operations, self.per_second
        )?;
        let latencies: Vec<String> = self
            .percentiles_ms
            .iter()
            .map(|(q, ms)| format!("p{q} {ms:.2}"))
            .collect();
        writeln!(
            f,
            "  latency ms  {}  max {:.2}",
            latencies.join("  "),
            self.max_ms
        )?;
        writeln!(f, "  409 share   {:.1}%", self.conflict_share * 100.0)?;
        writeln!(
            f,
            "  errors      {} server, {} other",
            self.server_errors, self.other_errors
        )?;
        let cores: Vec<String> = self
            .cores
            .iter()
            .map(|(name, cores)| format!("{name} {cores:.2}"))
            .collect();
        writeln!(f, "  cores used  {}", cores.join("  "))?;
        if self.violations.is_empty() {
            write!(f, "  invariants  hold")
        } else {
            write!(f, "  invariants  BROKEN: {}", self.violations.join("; "))
        }
    }
}
