use clap::Args;

use crate::telemetry::LogFormat;

// The defaults, named once for the flags and for `Settings::for_database`.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://inventory.db";
pub const DEFAULT_POOL_SIZE: u32 = 10;
pub const DEFAULT_PURGE_INTERVAL_SECONDS: u64 = 3600;
pub const DEFAULT_FEED_RETENTION_DAYS: u32 = 30;
pub const DEFAULT_WEBHOOK_RETRY_BASE_MS: u64 = 1000;
/// A day: a receiver down for a night is caught up, not dropped.
pub const DEFAULT_WEBHOOK_GIVE_UP_AFTER_SECONDS: u64 = 24 * 60 * 60;
pub const DEFAULT_RATE_LIMIT: u32 = 50;
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 100;
pub const DEFAULT_AUTH_FAILURE_LIMIT: u32 = 20;
pub const DEFAULT_SQLITE_LOG_LIMIT_MIB: u64 = 64;
pub const DEFAULT_BODY_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
pub const DEFAULT_IDEMPOTENCY_KEYS_PER_TOKEN: u64 = 10_000;
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 1_000;
pub const DEFAULT_MAX_STREAMS: usize = 5_000;
pub const DEFAULT_MAX_STREAMS_PER_TOKEN: usize = 100;

/// How the server runs, from flags or the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on (port 0 picks a free port).
    #[arg(
        long,
        env = "INVENTORY_BIND",
        default_value = DEFAULT_BIND,
        global = true
    )]
    pub bind: String,
    /// `sqlite://<file>` (the default) or `postgres://user@host:port/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = DEFAULT_DATABASE_URL,
        global = true
    )]
    pub database_url: String,
    /// Most database connections held open at once.
    #[arg(long, env = "INVENTORY_POOL_SIZE", default_value_t = DEFAULT_POOL_SIZE, global = true)]
    pub pool_size: u32,
    /// Seconds between purges of idempotency keys older than 24 hours and
    /// of feed events older than `--feed-retention-days`.
    #[arg(
        long,
        env = "INVENTORY_IDEMPOTENCY_PURGE_INTERVAL",
        default_value_t = DEFAULT_PURGE_INTERVAL_SECONDS,
        global = true
    )]
    pub idempotency_purge_interval: u64,
    /// Days the event feed keeps a change; a stream resumed from an older
    /// one is answered 410. History is kept whatever this says.
    #[arg(
        long,
        env = "INVENTORY_FEED_RETENTION_DAYS",
        default_value_t = DEFAULT_FEED_RETENTION_DAYS,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub feed_retention_days: u32,
    /// SQLite only: MiB the write-ahead log may reach under steady writes
    /// before writes are held for a moment so that it can start over.
    #[arg(
        long,
        env = "INVENTORY_SQLITE_LOG_LIMIT",
        default_value_t = DEFAULT_SQLITE_LOG_LIMIT_MIB,
        global = true
    )]
    pub sqlite_log_limit: u64,
    /// Requests per second each API token may sustain; 0 disables the limit.
    #[arg(
        long,
        env = "INVENTORY_RATE_LIMIT",
        default_value_t = DEFAULT_RATE_LIMIT,
        global = true
    )]
    pub rate_limit: u32,
    /// Requests a token may send in a burst after being idle.
    #[arg(
        long,
        env = "INVENTORY_RATE_LIMIT_BURST",
        default_value_t = DEFAULT_RATE_LIMIT_BURST,
        global = true
    )]
    pub rate_limit_burst: u32,
    /// Failed authentications one client address may make per minute; 0 disables the limit.
    #[arg(
        long,
        env = "INVENTORY_AUTH_FAILURE_LIMIT",
        default_value_t = DEFAULT_AUTH_FAILURE_LIMIT,
        global = true
    )]
    pub auth_failure_limit: u32,
    /// Seconds a request's whole body may take to arrive after its headers;
    /// a slower one is answered 408 and its connection closed.
    #[arg(
        long,
        env = "INVENTORY_BODY_TIMEOUT",
        default_value_t = DEFAULT_BODY_TIMEOUT_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub body_timeout: u64,
    /// Most idempotency keys (each kept 24 hours with its response) one
    /// token may hold; a request with a new key beyond it gets 429.
    #[arg(
        long,
        env = "INVENTORY_IDEMPOTENCY_KEYS_PER_TOKEN",
        default_value_t = DEFAULT_IDEMPOTENCY_KEYS_PER_TOKEN,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub idempotency_keys_per_token: u64,
    /// Most connections the server holds open; beyond it, it accepts
    /// none until one closes.
    #[arg(
        long,
        env = "INVENTORY_MAX_CONNECTIONS",
        default_value_t = DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
        global = true
    )]
    pub max_connections: usize,
    /// Most open connections from one client address; requests on any
    /// further one are answered 429 and it is closed.
    #[arg(
        long,
        env = "INVENTORY_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
        global = true
    )]
    pub max_connections_per_address: usize,
    /// Most event streams (`GET /v1/events`) open at once; beyond it, 503.
    #[arg(
        long,
        env = "INVENTORY_MAX_STREAMS",
        default_value_t = DEFAULT_MAX_STREAMS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
        global = true
    )]
    pub max_streams: usize,
    /// Most event streams one token may hold open; beyond it, 429.
    #[arg(
        long,
        env = "INVENTORY_MAX_STREAMS_PER_TOKEN",
        default_value_t = DEFAULT_MAX_STREAMS_PER_TOKEN,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
        global = true
    )]
    pub max_streams_per_token: usize,
    /// Origins a browser may call the API from (CORS); none by default.
    #[arg(
        long = "cors-origin",
        env = "INVENTORY_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,
    /// Log lines as readable text or as one JSON object per line.
    #[arg(
        long,
        env = "INVENTORY_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "INVENTORY_WORKERS", global = true)]
    pub workers: Option<usize>,
    /// Let webhooks reach loopback, private and link-local addresses
    /// (refused by default: a URL could otherwise lead inside).
    #[arg(long, env = "INVENTORY_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: bool,
    /// Let webhooks use plain `http://` URLs, not only `https://`.
    #[arg(long, env = "INVENTORY_WEBHOOK_ALLOW_HTTP", global = true)]
    pub webhook_allow_http: bool,
    /// Milliseconds before retrying a failed webhook delivery the first
    /// time; the wait doubles after each failure, up to an hour.
    #[arg(
        long,
        env = "INVENTORY_WEBHOOK_RETRY_BASE_MS",
        default_value_t = DEFAULT_WEBHOOK_RETRY_BASE_MS,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub webhook_retry_base_ms: u64,
    /// Seconds a webhook's deliveries may keep failing before it is
    /// disabled.
    #[arg(
        long,
        env = "INVENTORY_WEBHOOK_GIVE_UP_AFTER",
        default_value_t = DEFAULT_WEBHOOK_GIVE_UP_AFTER_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub webhook_give_up_after: u64,
}

impl Settings {
    /// Settings for a server on `database_url`, otherwise the defaults.
    pub fn for_database(database_url: &str) -> Settings {
        Settings {
            bind: DEFAULT_BIND.into(),
            database_url: database_url.into(),
            pool_size: DEFAULT_POOL_SIZE,
            idempotency_purge_interval: DEFAULT_PURGE_INTERVAL_SECONDS,
            feed_retention_days: DEFAULT_FEED_RETENTION_DAYS,
            sqlite_log_limit: DEFAULT_SQLITE_LOG_LIMIT_MIB,
            rate_limit: DEFAULT_RATE_LIMIT,
            rate_limit_burst: DEFAULT_RATE_LIMIT_BURST,
            auth_failure_limit: DEFAULT_AUTH_FAILURE_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT_SECONDS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idempotency_keys_per_token: DEFAULT_IDEMPOTENCY_KEYS_PER_TOKEN,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            max_streams: DEFAULT_MAX_STREAMS,
            max_streams_per_token: DEFAULT_MAX_STREAMS_PER_TOKEN,
            cors_origins: Vec::new(),
            log_format: LogFormat::Text,
            workers: None,
            webhook_allow_private: false,
            webhook_allow_http: false,
            webhook_retry_base_ms: DEFAULT_WEBHOOK_RETRY_BASE_MS,
            webhook_give_up_after: DEFAULT_WEBHOOK_GIVE_UP_AFTER_SECONDS,
        }
    }
}
