//! Authentication and roles: `Authorized<R>` extracts the caller from
//! `Authorization: Bearer <token>` and lets the request through only when
//! the token is live, within its rate limit, and of role `R` or above.
//! Failed authentications are counted per client address, and once too
//! many, answered 429; a valid token is never refused for them.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::known_tokens::KnownTokens;
use super::limits::Limits;
use crate::db::Database;
use crate::domain::access::{secret_hash, Caller, Role};
use crate::domain::location::MAIN_CODE;
use crate::http::error::ApiError;
use crate::store;

/// The least role an endpoint requires.
pub trait MinimumRole {
    const ROLE: Role;
}

/// Markers for `Authorized<R>`.
pub mod roles {
    use super::{MinimumRole, Role};

    pub struct Viewer;
    pub struct Sync;
    pub struct Manager;
    pub struct Admin;

    impl MinimumRole for Viewer {
        const ROLE: Role = Role::Viewer;
    }
    impl MinimumRole for Sync {
        const ROLE: Role = Role::Sync;
    }
    impl MinimumRole for Manager {
        const ROLE: Role = Role::Manager;
    }
    impl MinimumRole for Admin {
        const ROLE: Role = Role::Admin;
    }
}

/// A caller whose token has at least the role `R`.
pub struct Authorized<R> {
    pub caller: Caller,
    secret_hash: String,
    role: PhantomData<R>,
}

impl<R: MinimumRole> Authorized<R> {
    /// What checks again, for an answer that outlives its request (an
    /// event stream), that this token is still live and allowed.
    pub fn recheck(&self, database: Arc<Database>, known_tokens: Arc<KnownTokens>) -> Recheck {
        Recheck {
            database,
            known_tokens,
            secret_hash: self.secret_hash.clone(),
            role: R::ROLE,
        }
    }
}

/// A token checked again as a new request would be.
pub struct Recheck {
    database: Arc<Database>,
    known_tokens: Arc<KnownTokens>,
    secret_hash: String,
    role: Role,
}

impl Recheck {
    /// Whether the token is still live and of the role or above. A
    /// database that cannot answer leaves the stream be: its next read of
    /// the feed tells.
    pub async fn still_allowed(&self) -> bool {
        let hash = self.secret_hash.clone();
        match look_up(&self.database, &self.known_tokens, hash).await {
            Ok(Some(caller)) => caller.role >= self.role,
            Ok(None) => false,
            Err(_) => true,
        }
    }
}

impl<R: MinimumRole> FromRequest for Authorized<R> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Authorized<R>, ApiError>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let database = request.app_data::<web::Data<Database>>().cloned();
        let limits = request.app_data::<web::Data<Limits>>().cloned();
        let known_tokens = request.app_data::<web::Data<KnownTokens>>().cloned();
        let address = request.peer_addr().map(|address| address.ip());
        let secret = bearer_secret(request);
        Box::pin(async move {
            let (Some(database), Some(limits), Some(known_tokens)) =
                (database, limits, known_tokens)
            else {
                return Err(ApiError::internal(
                    "the database, limits or known tokens are not configured",
                ));
            };
            // The token first: a valid one passes whatever others sent
            // from its address (behind a proxy or NAT, everyone's).
            let secret_hash = secret.as_deref().map(secret_hash).unwrap_or_default();
            let caller = match secret {
                Some(_) => look_up(&database, &known_tokens, secret_hash.clone()).await?,
                None => None,
            };
            let Some(caller) = caller else {
                limits.failed_authentication(address)?;
                return Err(ApiError::Unauthorized(
                    "Send Authorization: Bearer <token> with a live token; this one is missing, \
                     unknown or revoked."
                        .into(),
                ));
            };
            tracing::Span::current().record("actor", caller.name.as_str());
            limits.take(caller.token_id)?;
            if caller.role < R::ROLE {
                return Err(ApiError::Forbidden(format!(
                    "This needs a {} token or higher; yours is {}.",
                    R::ROLE.as_str(),
                    caller.role.as_str()
                )));
            }
            Ok(Authorized {
                caller,
                secret_hash,
                role: PhantomData,
            })
        })
    }
}

/// The caller a live token names: remembered from a moment ago, or looked up.
async fn look_up(
    database: &Database,
    known_tokens: &KnownTokens,
    secret_hash: String,
) -> Result<Option<Caller>, ApiError> {
    if let Some(caller) = known_tokens.get(&secret_hash) {
        return Ok(Some(caller));
    }
    let hash = secret_hash.clone();
    let caller = database
        .read(move |conn| store::tokens::caller(conn, &hash))
        .await?;
    if let Some(caller) = &caller {
        known_tokens.remember(secret_hash, caller.clone());
    }
    Ok(caller)
}

/// The secret of `Authorization: Bearer <secret>`, if well-formed.
fn bearer_secret(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, secret) = value.trim().split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then(|| secret.to_owned())
}

/// Refuses a write of stock at a location the caller's token is not
/// limited to (`token create --location`); `None` is MAIN.
pub fn may_write_stock_at(caller: &Caller, location: Option<&str>) -> Result<(), ApiError> {
    let code = location.unwrap_or(MAIN_CODE);
    if caller.may_write_stock_at(code) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "This token may write stock only at {}; not at {code}.",
        caller.locations.as_deref().unwrap_or_default().join(", ")
    )))
}
