use clap::{Parser, Subcommand};

use crate::config::Settings;

/// Inventory HTTP service: products with versions and compare-and-swap writes.
#[derive(Debug, Parser)]
#[command(name = "inventory-api", version)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (YAML).
    Openapi,
}
