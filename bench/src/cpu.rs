//! The CPU that named processes (the server, the database) and the load
//! generator itself used while the load ran, in cores. On a machine whose
//! cores they all share, a database that served the API more slowly than
//! pgbench may simply have had fewer cores for it: this shows which.
//!
//! Read from /proc (Linux). A process counts with its children, living and
//! exited, so a PostgreSQL postmaster counts with its backends, even those
//! that ended during the run.

use std::fs;
use std::process::Command;
use std::time::Instant;

/// A process to watch, as `--cpu-of NAME=PID` gives it.
#[derive(Clone, Debug)]
pub struct Watched {
    pub name: String,
    pub pid: u32,
}

impl std::str::FromStr for Watched {
    type Err = String;

    fn from_str(text: &str) -> Result<Watched, String> {
        let (name, pid) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not NAME=PID"))?;
        let pid = pid
            .parse()
            .map_err(|_| format!("`{pid}` in `{text}` is not a process id"))?;
        Ok(Watched {
            name: name.to_owned(),
            pid,
        })
    }
}

/// CPU time so far of each watched process and of this one.
pub struct Reading {
    at: Instant,
    ticks: Vec<u64>,
    own_ticks: u64,
}

impl Reading {
    pub fn now(watched: &[Watched]) -> Reading {
        Reading {
            at: Instant::now(),
            ticks: watched.iter().map(|w| ticks_with_children(w.pid)).collect(),
            own_ticks: ticks_of("self").unwrap_or(0),
        }
    }

    /// Cores each watched process used between `start` and this reading,
    /// then this generator's own as "load".
    pub fn cores_since(&self, start: &Reading, watched: &[Watched]) -> Vec<(String, f64)> {
        let seconds = self
            .at
            .duration_since(start.at)
            .as_secs_f64()
            .max(f64::EPSILON);
        let per_second = ticks_per_second() as f64;
        let cores = |now: u64, then: u64| now.saturating_sub(then) as f64 / per_second / seconds;
        watched
            .iter()
            .zip(self.ticks.iter().zip(&start.ticks))
            .map(|(w, (now, then))| (w.name.clone(), cores(*now, *then)))
            .chain([("load".to_owned(), cores(self.own_ticks, start.own_ticks))])
            .collect()
    }
}

/// A process's CPU ticks with those of its living children (and theirs);
/// children that have exited are already in its own (`cutime`, `cstime`).
fn ticks_with_children(pid: u32) -> u64 {
    let children =
        fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    ticks_of(&pid.to_string()).unwrap_or(0)
        + children
            .split_whitespace()
            .filter_map(|child| child.parse().ok())
            .map(ticks_with_children)
            .sum::<u64>()
}

/// utime + stime + cutime + cstime of /proc/<process>/stat: its own CPU and
/// that of the children it has waited for.
fn ticks_of(process: &str) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{process}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces; the fields after it
    // are fixed: utime is the 14th field of the line, the 12th after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|field| field.parse::<u64>().ok())
        .sum()
}

/// The kernel's clock ticks per second (USER_HZ), as `getconf` tells it.
fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}
