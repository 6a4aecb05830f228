//! Drives a running inventory-api over keep-alive HTTP/1.1 with N
//! concurrent clients, for a fixed time or at a fixed rate, and reports
//! throughput, latency percentiles, the 409 share and errors; then checks
//! that no update was lost.
//!
//!     inventory-load --url http://127.0.0.1:8080 --token inv_... --scenario cas --clients 16 --seconds 10

mod api;
mod cpu;
mod http1;
mod report;
mod scenarios;

use std::time::Duration;

use clap::Parser;

use crate::scenarios::Scenario;

#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Options {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A manager (or admin) token.
    #[arg(long, env = "INVENTORY_TOKEN")]
    token: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Concurrent clients (the `hot` scenario uses 8 whatever this says).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// How long to run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests per second across all clients; without it each client sends
    /// its next request as soon as the last is answered. With it, latency
    /// is measured from when each request was due, so a slow answer counts
    /// against the requests it delayed (no coordinated omission).
    #[arg(long)]
    rate: Option<f64>,
    /// Products to create first (`read` and `cas` pick among them).
    #[arg(long, default_value_t = 10_000)]
    products: usize,
    /// A process whose CPU to report while the load runs, with its children
    /// (a PostgreSQL postmaster with its backends), as NAME=PID; repeatable.
    /// The generator's own is reported too, as "load".
    #[arg(long = "cpu-of", value_name = "NAME=PID")]
    cpu_of: Vec<cpu::Watched>,
    /// Print the report as one JSON line too (for bench/run.sh).
    #[arg(long)]
    json: bool,
}

// One thread: every client is a task on it. The machine's cores are
// better left to the server and the database being measured.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = Options::parse();
    if let Err(error) = run(&options).await {
        eprintln!("inventory-load: {error}");
        std::process::exit(1);
    }
}

async fn run(options: &Options) -> Result<(), String> {
    let mut api = api::Api::new(&options.url, &options.token)?;
    let scenario = options.scenario;
    let products = scenario.prepare(&api, options.products).await?;
    let cpu_before = cpu::Reading::now(&options.cpu_of);
    let outcome = scenario
        .run(
            &api,
            &products,
            options.clients,
            Duration::from_secs(options.seconds),
            options.rate,
        )
        .await;
    let cores = cpu::Reading::now(&options.cpu_of).cores_since(&cpu_before, &options.cpu_of);
    let violations = scenario.check(&mut api, &products, &outcome).await?;
    let report = report::Report::new(scenario, options, &outcome, &violations, cores);
    println!("{report}");
    if options.json {
        println!("{}", report.json());
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(format!("{} invariant(s) broken", violations.len()))
    }
}
