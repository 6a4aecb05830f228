use std::net::TcpListener;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpServer};
use tokio::sync::watch;

use crate::background::Background;
use crate::config::Settings;
use crate::db::Database;
use crate::http::body_deadline::{bounded_body, BodyTimeout};
use crate::http::connection_limits::{refuse_crowded_addresses, ConnectionsByAddress};
use crate::http::events::LAST_EVENT_ID;
use crate::http::idempotency::{KeyQuota, IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};
use crate::http::json_body::MAX_BODY_BYTES;
use crate::http::known_tokens::KnownTokens;
use crate::http::limits::Limits;
use crate::http::openapi_documents::OpenApiDocuments;
use crate::http::request_context::{request_context, REQUEST_ID};
use crate::live_feed::{LiveFeed, StreamLimits};
use crate::metrics::Metrics;
use crate::webhooks::delivery::Retries;
use crate::webhooks::outbound::Reach;
use crate::{http, openapi, stopping, upkeep, webhooks};

pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// A server bound to its port, with its database migrated, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    stop_switch: watch::Sender<bool>,
    /// Upkeep and the live feed's watcher, ended once the server has stopped.
    background: Background,
    /// Closed last, once nothing uses it.
    database: Database,
}

impl Application {
    /// Opens (and migrates) the database the settings name, then binds.
    pub fn build(settings: &Settings) -> Result<Application, StartupError> {
        let database = Database::open(&settings.database_url, settings.pool_size)?;
        Application::with_database(settings, database)
    }

    /// Binds a server to an opened database.
    pub fn with_database(
        settings: &Settings,
        database: Database,
    ) -> Result<Application, StartupError> {
        let database = database.for_http_workers()?;
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let purge_interval = Duration::from_secs(settings.idempotency_purge_interval.max(1));
        let mut background = Background::default();
        upkeep::purge_idempotency_keys(&mut background, database.clone(), purge_interval)?;
        let feed_retention = Duration::from_secs(u64::from(settings.feed_retention_days) * 86_400);
        upkeep::purge_feed(
            &mut background,
            database.clone(),
            purge_interval,
            feed_retention,
        )?;
        upkeep::expire_holds(&mut background, database.clone())?;
        let reach = Reach {
            private: settings.webhook_allow_private,
            http: settings.webhook_allow_http,
        };
        webhooks::delivery::start(
            &mut background,
            database.clone(),
            reach,
            Retries {
                base: Duration::from_millis(settings.webhook_retry_base_ms),
                give_up_after: Duration::from_secs(settings.webhook_give_up_after),
            },
        )?;
        let sqlite_log_limit_bytes = settings.sqlite_log_limit.saturating_mul(1024 * 1024);
        upkeep::checkpoint_sqlite_log(&mut background, database.clone(), sqlite_log_limit_bytes)?;
        let stream_limits = StreamLimits {
            per_server: settings.max_streams,
            per_token: settings.max_streams_per_token,
        };
        let live_feed = web::Data::new(LiveFeed::start(
            &mut background,
            database.clone(),
            stream_limits,
            http::events::written,
        )?);
        let connections = ConnectionsByAddress::new(settings.max_connections_per_address);
        let (stop_switch, stopping) = stopping::switch();
        let worker_stopping = stopping.clone();
        let stopping = web::Data::new(stopping);
        let documents = web::Data::new(OpenApiDocuments {
            json: openapi::json()?.into(),
            yaml: openapi::yaml()?.into(),
        });
        let worker_database = database.clone();
        let shared_database = web::Data::new(database.clone());
        let limits = web::Data::new(Limits::new(
            settings.rate_limit,
            settings.rate_limit_burst,
            settings.auth_failure_limit,
        ));
        let known_tokens = web::Data::new(KnownTokens::default());
        let key_quota = web::Data::new(KeyQuota(settings.idempotency_keys_per_token));
        let body_timeout = web::Data::new(BodyTimeout(Duration::from_secs(settings.body_timeout)));
        let metrics = web::Data::new(Metrics::default());
        let reach = web::Data::new(reach);
        let cors_origins = settings.cors_origins.clone();
        let workers = settings
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        // The pool's share of each worker: its blocking threads, and on
        // PostgreSQL its own connections.
        let per_worker = (settings.pool_size as usize).div_ceil(workers).max(1);
        let server = HttpServer::new(move || {
            // Called on each worker's own thread.
            let worker_connections = web::Data::from(
                worker_database.worker_connections(per_worker, worker_stopping.clone()),
            );
            App::new()
                // The last wrapped runs first.
                .wrap(from_fn(refuse_crowded_addresses))
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins),
                ))
                .wrap(from_fn(request_context))
                // Outermost, so that it holds the body that is sent,
                // problem documents included.
                .wrap(from_fn(bounded_body))
                .app_data(shared_database.clone())
                .app_data(worker_connections)
                .app_data(limits.clone())
                .app_data(known_tokens.clone())
                .app_data(body_timeout.clone())
                .app_data(key_quota.clone())
                .app_data(metrics.clone())
                .app_data(reach.clone())
                .app_data(documents.clone())
                .app_data(live_feed.clone())
                .app_data(stopping.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .configure(http::routes)
        })
        .workers(workers)
        // actix counts per worker.
        .max_connections(settings.max_connections.div_ceil(workers))
        .on_connect(move |connection, data| connections.on_connect(connection, data))
        // Answers go out as soon as they are written, never held back to
        // be merged with a later write (Nagle's algorithm).
        .tcp_nodelay(true)
        // Database work runs on these threads (except SQLite's writes,
        // which have a thread of their own, SQLite's reads when a
        // connection is idle, on the worker itself, and PostgreSQL's reads
        // and PATCHes of a product, on the worker's own connections), one
        // pooled connection each: a thread beyond the pool's size would
        // only wait for a connection, and each busy thread keeps an
        // allocator arena of its own.
        .worker_max_blocking_threads(per_worker)
        // Signals are handled in `run_until_signalled`, which ends event
        // streams before the graceful stop would wait on them.
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            server,
            stop_switch,
            background,
            database,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until stopped, then ends the server's own threads and closes
    /// the database. Those two wait on this thread for work already
    /// running: nothing else is left to run on it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.background.stop();
        self.database.close();
        served
    }

    /// Runs until SIGINT or SIGTERM, then stops gracefully.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let server = self.server.handle();
        actix_web::rt::spawn(stopping::on_signal(self.stop_switch.clone(), server));
        self.run_until_stopped().await
    }
}

/// CORS for a web UI served from another origin: only the listed origins,
/// with the headers the API reads and the ones a client needs to see.
fn cors(origins: &[String]) -> Cors {
    let cors = origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin));
    cors.allowed_methods([
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PATCH,
        Method::DELETE,
    ])
    .allowed_headers([
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::IF_MATCH,
        header::IF_NONE_MATCH,
        IDEMPOTENCY_KEY,
        LAST_EVENT_ID,
        REQUEST_ID,
    ])
    .expose_headers([
        header::ETAG,
        header::LOCATION,
        header::RETRY_AFTER,
        IDEMPOTENT_REPLAYED,
        REQUEST_ID,
    ])
    .max_age(3600)
}
