#![deny(unsafe_code)]

use clap::Parser;
use inventory_api::cli::{Cli, Command};
use inventory_api::db::Database;
use inventory_api::startup::{Application, StartupError};
use inventory_api::{backup_command, openapi, telemetry, token_commands};

fn main() -> Result<(), StartupError> {
    limit_allocator_arenas();
    serve_or_run_command()
}

/// glibc gives each thread that allocates under contention an arena of its
/// own (up to 8 per core) and keeps what each arena once held: under 16
/// concurrent 1000-item stock syncs on SQLite the server grew to 94 MiB, of
/// which two arenas need 43. One arena per core is enough: no more threads
/// than that run at once. Set before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_allocator_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; it is called before
    // any other thread exists, and a failure (0) leaves glibc's default.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_allocator_arenas() {}

#[actix_web::main]
async fn serve_or_run_command() -> Result<(), StartupError> {
    let cli = Cli::parse();
    telemetry::init("info", cli.settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let database =
                Database::open_when_reachable(&cli.settings.database_url, cli.settings.pool_size)?;
            token_commands::ensure_first_admin(&database)?;
            let application = Application::with_database(&cli.settings, database)?;
            tracing::info!(port = application.port(), "listening");
            application.run_until_signalled().await?;
        }
        Command::Migrate => {
            Database::open_when_reachable(&cli.settings.database_url, 1)?.close();
            tracing::info!("migrations applied");
        }
        Command::Openapi => print!("{}", openapi::yaml()?),
        Command::Backup { to } => {
            backup_command::run(&cli.settings.database_url, &to)?;
        }
        Command::Token { action } => {
            let database = Database::open(&cli.settings.database_url, 1)?;
            let ran = token_commands::run(&database, &action);
            database.close();
            ran?;
        }
    }
    Ok(())
}
