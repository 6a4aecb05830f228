//! A PostgreSQL server of the test's own, on its own port and data
//! directory, so that a test may stop and start it without disturbing the
//! server every other test shares.

use std::path::{Path, PathBuf};
use std::process::Command;

use uuid::Uuid;

pub struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// A new, stopped cluster; `None` if PostgreSQL's server programs
    /// (`initdb`, `pg_ctl`) are not installed.
    pub fn create() -> Option<PrivatePostgres> {
        let cluster = PrivatePostgres::empty()?;
        let data = cluster.data();
        cluster.pg(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        Some(cluster)
    }

    /// A stopped streaming standby of `primary` (which must be running):
    /// a base backup that follows the primary once started.
    pub fn standby_of(primary: &PrivatePostgres) -> PrivatePostgres {
        let standby = PrivatePostgres::empty().expect("the primary's programs");
        let port = primary.port.to_string();
        standby.pg(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &standby.data(),
                // Writes standby.signal and the primary's address.
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        );
        standby
    }

    /// A new directory and port, with no cluster in it yet.
    fn empty() -> Option<PrivatePostgres> {
        let bin = server_programs()?;
        let dir = std::env::temp_dir().join(format!("inventory-pg-{}", Uuid::now_v7().simple()));
        std::fs::create_dir(&dir).unwrap();
        if running_as_root() {
            // PostgreSQL refuses to run as root: its files go to `postgres`.
            run(Command::new("chown").arg("postgres:postgres").arg(&dir));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Some(PrivatePostgres { bin, dir, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
    }

    /// Stops the server as an operator's restart does: connections are
    /// ended and new ones refused until it starts again.
    pub fn stop(&self) {
        self.pg("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// Kills the server as a crash would: no shutdown checkpoint, and
    /// every connection cut.
    pub fn kill(&self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Makes a standby the primary, and waits until it takes writes.
    pub fn promote(&self) {
        self.pg("pg_ctl", &["-D", &self.data(), "-w", "-t", "30", "promote"]);
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn pg(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        run(command.args(args));
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        // Unless it is stopped already (a test that killed it).
        if self.dir.join("data").join("postmaster.pid").exists() {
            let _ = std::panic::catch_unwind(|| {
                self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            });
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest installed PostgreSQL's server programs, as Debian lays them out.
fn server_programs() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort_by_key(|bin| version_of(bin));
    versions.pop()
}

fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str()?.parse().ok())
        .unwrap_or(0)
}

fn running_as_root() -> bool {
    let id = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&id.stdout).trim() == "0"
}

fn run(command: &mut Command) {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
