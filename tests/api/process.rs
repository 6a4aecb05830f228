//! The binary run as a process, as a store operator runs it: what it
//! prints, what it logs, and how it stops.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use uuid::Uuid;

pub const BINARY: &str = env!("CARGO_BIN_EXE_inventory-api");

/// A fresh SQLite database's URL, and the database, which is removed when
/// dropped.
pub fn database_url() -> (String, crate::helpers::TestDatabase) {
    let path = std::env::temp_dir().join(format!("inventory-cli-{}.db", Uuid::now_v7()));
    let url = format!("sqlite://{}", path.display());
    (url, crate::helpers::TestDatabase::Sqlite { path })
}

/// A server process whose standard output and error are collected.
pub struct Server {
    child: Child,
    pub address: String,
    pub stdout: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Server {
    pub fn start(database_url: &str) -> Server {
        Server::start_with(database_url, &[])
    }

    /// A server on a free port, with further flags.
    pub fn start_with(database_url: &str, flags: &[&str]) -> Server {
        // A port the OS just handed out is free for the server to take.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(BINARY)
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                database_url,
            ])
            .args(flags)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut logs = String::new();
            let _ = err.read_to_string(&mut logs);
            logs
        });
        Server {
            child,
            address: format!("http://127.0.0.1:{port}"),
            stdout,
            stderr,
        }
    }

    pub async fn wait_until_ready(&self) {
        for _ in 0..100 {
            if let Ok(response) = reqwest::get(format!("{}/readyz", self.address)).await {
                if response.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not start");
    }

    /// The admin token a first start prints on its standard output.
    pub fn printed_admin_token(&self) -> String {
        let line = self
            .stdout
            .recv_timeout(Duration::from_secs(10))
            .into_iter()
            .chain(self.stdout.iter().take(5))
            .find(|line| line.trim().starts_with("inv_"))
            .expect("the first start prints an admin token");
        line.trim().to_owned()
    }

    pub fn port(&self) -> u16 {
        self.address.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kills the server with SIGKILL, as a crash or the OOM killer would:
    /// nothing of it runs after. Returns everything it printed and logged.
    pub fn stop(mut self) -> (String, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let printed: Vec<String> = self.stdout.try_iter().collect();
        (printed.join("\n"), self.stderr.join().unwrap())
    }

    /// Sends SIGTERM, as systemd or Ctrl-C would, and waits up to `limit`
    /// for the process to exit; `None` if it is still running then.
    pub fn terminate(mut self, limit: Duration) -> Option<ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }
}
