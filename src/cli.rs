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

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (YAML).
    Openapi,
    /// Copy an SQLite database to a new file while servers use it.
    Backup {
        /// The new file to write.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print its secret (shown this once).
    Create {
        /// admin, manager, sync or viewer.
        #[arg(long)]
        role: String,
        /// Who uses it; recorded as the actor of every change it makes.
        #[arg(long)]
        name: String,
        /// Limit its stock writes to this location's code (repeatable);
        /// without it the token writes stock everywhere. Reads are never
        /// limited.
        #[arg(long = "location")]
        locations: Vec<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id; it stops working at once.
    Revoke { id: String },
}
