#![forbid(unsafe_code)]

use clap::Parser;
use inventory_api::cli::{Cli, Command};
use inventory_api::db::Database;
use inventory_api::startup::{Application, StartupError};
use inventory_api::{openapi, telemetry, token_commands};

#[actix_web::main]
async fn main() -> Result<(), StartupError> {
    let cli = Cli::parse();
    telemetry::init("info");
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let database = Database::open(&cli.settings.database_url, cli.settings.pool_size)?;
            token_commands::ensure_first_admin(&database)?;
            let application = Application::with_database(&cli.settings, database)?;
            tracing::info!(port = application.port(), "listening");
            application.run_until_signalled().await?;
        }
        Command::Migrate => {
            Database::open(&cli.settings.database_url, 1)?;
            tracing::info!("migrations applied");
        }
        Command::Openapi => print!("{}", openapi::yaml()?),
        Command::Token { action } => {
            token_commands::run(&Database::open(&cli.settings.database_url, 1)?, &action)?;
        }
    }
    Ok(())
}
