use clap::Args;

/// How the server runs, from flags or the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on (port 0 picks a free port).
    #[arg(
        long,
        env = "INVENTORY_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// `sqlite://<file>` (the default) or `postgres://user@host:port/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://inventory.db",
        global = true
    )]
    pub database_url: String,
    /// Most database connections held open at once.
    #[arg(long, env = "INVENTORY_POOL_SIZE", default_value_t = 10, global = true)]
    pub pool_size: u32,
    /// Seconds between purges of idempotency keys older than 24 hours.
    #[arg(
        long,
        env = "INVENTORY_IDEMPOTENCY_PURGE_INTERVAL",
        default_value_t = 3600,
        global = true
    )]
    pub idempotency_purge_interval: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "INVENTORY_WORKERS", global = true)]
    pub workers: Option<usize>,
}

impl Settings {
    /// Settings for a server on `database_url`, otherwise the defaults.
    pub fn for_database(database_url: &str) -> Settings {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database_url: database_url.into(),
            pool_size: 10,
            idempotency_purge_interval: 3600,
            workers: None,
        }
    }
}
