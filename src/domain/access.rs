//! Who may do what: roles, tokens and their secrets.

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields::short_text;

/// A token's role; each includes the rights of the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads products and history.
    Viewer,
    /// Also adjusts and syncs stock, and may PATCH `stock` alone.
    Sync,
    /// Also creates, updates and deletes products.
    Manager,
    /// Everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Sync, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Sync => "sync",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }
}

/// The caller a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: Uuid,
    /// Recorded as the actor of every change the caller makes.
    pub name: String,
    pub role: Role,
    /// The locations whose stock the caller may write, by code in lower
    /// case; `None` for every location. Reads are never limited.
    pub locations: Option<Vec<String>>,
}

impl Caller {
    /// Whether the caller may change stock at the location with this code.
    pub fn may_write_stock_at(&self, code: &str) -> bool {
        match &self.locations {
            None => true,
            Some(codes) => codes
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(code)),
        }
    }
}

/// Token secrets: 256 random bits behind a recognisable prefix.
const SECRET_PREFIX: &str = "inv_";

/// A new random secret.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    Ok(format!("{SECRET_PREFIX}{}", hex::encode(bytes)))
}

/// What is stored of a secret. A fast hash is enough: the secret is 256
/// random bits, so there is nothing to guess from the hash.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A token name: 1-100 characters after trimming, no control characters.
pub fn token_name(value: &str) -> Result<String, String> {
    short_text(value, 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_rights() {
        assert!(
            Role::Admin > Role::Manager && Role::Manager > Role::Sync && Role::Sync > Role::Viewer
        );
        assert_eq!(Role::parse("sync"), Some(Role::Sync));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }
}
