//! Callers of recently checked tokens, kept for a moment so that a busy
//! client's requests do not each look their token up in the database.
//! The price: a revoked token keeps working on a server for up to
//! `REMEMBER_FOR` after it was last checked there.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::access::Caller;

/// How long a checked token is trusted without another look.
pub const REMEMBER_FOR: Duration = Duration::from_secs(1);
/// Tokens remembered before stale ones are swept out.
const MOST_REMEMBERED: usize = 10_000;

/// Keyed by the secret's hash, so that no secret stays in memory.
#[derive(Default)]
pub struct KnownTokens {
    callers: Mutex<HashMap<String, (Caller, Instant)>>,
}

impl KnownTokens {
    /// The caller this secret hash named when checked less than
    /// `REMEMBER_FOR` ago.
    pub fn get(&self, secret_hash: &str) -> Option<Caller> {
        let callers = self
            .callers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (caller, checked_at) = callers.get(secret_hash)?;
        (checked_at.elapsed() < REMEMBER_FOR).then(|| caller.clone())
    }

    /// Remembers a caller just checked against the database.
    pub fn remember(&self, secret_hash: String, caller: Caller) {
        let mut callers = self
            .callers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if callers.len() >= MOST_REMEMBERED {
            callers.retain(|_, (_, checked_at)| checked_at.elapsed() < REMEMBER_FOR);
            if callers.len() >= MOST_REMEMBERED {
                callers.clear();
            }
        }
        callers.insert(secret_hash, (caller, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;

    fn caller() -> Caller {
        Caller {
            locations: None,
            token_id: uuid::Uuid::now_v7(),
            name: "till-1".into(),
            role: Role::Sync,
        }
    }

    #[test]
    fn a_checked_token_is_remembered_for_a_moment_only() {
        let known = KnownTokens::default();
        assert_eq!(known.get("hash"), None);
        known.remember("hash".into(), caller());
        assert_eq!(known.get("hash").map(|c| c.name), Some("till-1".into()));
        assert_eq!(known.get("other"), None);
        let long_ago = Instant::now().checked_sub(REMEMBER_FOR).unwrap();
        known.callers.lock().unwrap().get_mut("hash").unwrap().1 = long_ago;
        assert_eq!(known.get("hash"), None, "a stale entry is looked up again");
    }
}
