//! The `token` commands and the first admin token: secrets go to standard
//! output once, never to the logs.

use uuid::Uuid;

use crate::cli::TokenCommand;
use crate::db::Database;
use crate::domain::access::{token_name, Role};
use crate::store;

pub type CommandError = Box<dyn std::error::Error + Send + Sync>;

pub fn run(database: &Database, command: &TokenCommand) -> Result<(), CommandError> {
    match command {
        TokenCommand::Create {
            role,
            name,
            locations,
        } => {
            let role = Role::parse(role).ok_or("--role must be admin, manager, sync or viewer")?;
            let name = token_name(name).map_err(|detail| format!("--name {detail}"))?;
            for code in locations {
                if database
                    .read_now(|conn| store::locations::find(conn, code))?
                    .is_none()
                {
                    return Err(format!("--location {code}: no live location has this code").into());
                }
            }
            let limit = (!locations.is_empty()).then_some(locations.as_slice());
            let (token, secret) =
                database.write_now(|conn| store::tokens::create(conn, &name, role, limit))?;
            println!("{secret}");
            let limited = match &token.locations {
                Some(codes) => format!(", writing stock only at {}", codes.join(", ")),
                None => String::new(),
            };
            eprintln!(
                "Made {} token {:?} with id {}{limited}. Its secret above is shown this once.",
                role.as_str(),
                token.name,
                token.id
            );
        }
        TokenCommand::List => {
            let tokens = database.read_now(store::tokens::list)?;
            println!(
                "{:<36}  {:<8}  {:<24}  {:<7}  {:<16}  name",
                "id", "role", "created", "state", "stock writes"
            );
            for token in tokens {
                let state = if token.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                let created = token.created_at.format("%Y-%m-%dT%H:%M:%SZ");
                let writes = token
                    .locations
                    .map_or_else(|| "everywhere".to_owned(), |codes| codes.join(","));
                println!(
                    "{:<36}  {:<8}  {:<24}  {:<7}  {:<16}  {}",
                    token.id,
                    token.role.as_str(),
                    created,
                    state,
                    writes,
                    token.name
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let id =
                Uuid::parse_str(id).map_err(|_| "the token id is not a UUID (see `token list`)")?;
            if !database.write_now(|conn| store::tokens::revoke(conn, &id))? {
                return Err(format!("no live token has id {id}").into());
            }
            println!("Revoked token {id}.");
        }
    }
    Ok(())
}

/// On a database with no token at all, makes an admin token and prints it
/// once, so that a fresh install can be used at all.
pub fn ensure_first_admin(database: &Database) -> Result<(), CommandError> {
    if database.read_now(store::tokens::any)? {
        return Ok(());
    }
    let (_, secret) =
        database.write_now(|conn| store::tokens::create(conn, "admin", Role::Admin, None))?;
    println!("No API token existed, so an admin token was made. It is shown this once:");
    println!();
    println!("    {secret}");
    println!();
    println!("Send it as `Authorization: Bearer <token>`. Make more with, for example:");
    println!("    inventory-api token create --role manager --name store-ui");
    Ok(())
}
