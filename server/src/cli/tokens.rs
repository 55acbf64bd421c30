//! `actionboard tokens add|list|remove`: API tokens for scripts (`Authorization: Bearer …`).

use std::path::Path;

use clap::Subcommand;
use engine::state::tokens::TokenStore;
use engine::state::users::Role;

use super::error::{CliError, Exit};
use super::out;
use super::users::RoleArg;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token (or replace it: the old one stops working); it is printed once.
    Add {
        name: String,
        #[arg(long, value_enum, default_value = "viewer")]
        role: RoleArg,
    },
    /// List the tokens (names and roles; never the tokens).
    List,
    /// Remove a token.
    Remove { name: String },
}

pub fn tokens(data_dir: &Path, cmd: TokensCommand) -> Result<(), CliError> {
    let store = TokenStore::open_in(data_dir)?;
    match cmd {
        TokensCommand::Add { name, role } => {
            let role = Role::from(role);
            let token = store.add(&name, role)?;
            out!("{token}");
            eprintln!(
                "Token `{name}` ({role}) created. It is shown only now: send it as `Authorization: Bearer TOKEN` to /api/v1."
            );
        }
        TokensCommand::List => {
            let tokens = store.list()?;
            if tokens.is_empty() {
                out!(
                    "No tokens yet. Create one with `actionboard tokens add NAME --role analyst`."
                );
            }
            for t in tokens {
                out!("{:<24} {:<8} since {}", t.name, t.role, t.created_at);
            }
        }
        TokensCommand::Remove { name } => {
            if !store.remove(&name)? {
                return Err(CliError::new(
                    Exit::NoInput,
                    format!("there is no token `{name}` (see `actionboard tokens list`)"),
                ));
            }
            out!("Removed the token {name}.");
        }
    }
    Ok(())
}
