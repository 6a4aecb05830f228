//! Stopping on SIGINT or SIGTERM: responses that would never end by
//! themselves (event streams) are told to end, then the server stops
//! gracefully: it refuses new connections and lets requests in flight
//! finish, so the process exits promptly.

use actix_web::dev::ServerHandle;
use tokio::sync::watch;

/// Whether the server is stopping; long-lived responses wait on it.
#[derive(Clone)]
pub struct Stopping {
    stopping: watch::Receiver<bool>,
}

impl Stopping {
    /// Resolves once the server starts stopping.
    pub async fn started(&mut self) {
        // An error means the sender is gone, which only happens at exit.
        let _ = self.stopping.wait_for(|stopping| *stopping).await;
    }
}

/// The switch that starts stopping, and what responses watch.
pub fn switch() -> (watch::Sender<bool>, Stopping) {
    let (sender, stopping) = watch::channel(false);
    (sender, Stopping { stopping })
}

/// Waits for SIGINT or SIGTERM, then stops: streams first, then the server.
pub async fn on_signal(switch: watch::Sender<bool>, server: ServerHandle) {
    wait_for_signal().await;
    tracing::info!("stopping: ending event streams and finishing requests in flight");
    switch.send_replace(true);
    server.stop(true).await;
}

#[cfg(unix)]
async fn wait_for_signal() {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let terminate = signal(SignalKind::terminate());
    let interrupt = actix_web::rt::signal::ctrl_c();
    match terminate {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt => {}
            }
        }
        Err(_) => {
            let _ = interrupt.await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = actix_web::rt::signal::ctrl_c().await;
}
