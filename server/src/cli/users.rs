//! `actionboard users add|list|remove`: the people who may sign in, and their roles.

use std::io::BufRead;
use std::path::Path;

use clap::{Subcommand, ValueEnum};
use engine::state::users::{Role, UserStore, MIN_PASSWORD_CHARS};

use super::error::{CliError, Exit};
use super::out;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Reads the dashboard.
    Viewer,
    /// Also acts on alerts.
    Analyst,
    /// Also starts pipeline runs.
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Analyst => Role::Analyst,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a person, or set their password and role. The password is read from
    /// ACTIONBOARD_PASSWORD, else from the first line of standard input (never an argument:
    /// arguments show in the process list and the shell history).
    Add {
        name: String,
        #[arg(long, value_enum, default_value = "viewer")]
        role: RoleArg,
    },
    /// List the people who may sign in, with their roles.
    List,
    /// Remove a person (their sessions end).
    Remove { name: String },
    /// Clear a user name's failed sign-ins, so it may sign in again at once (names are locked
    /// for 15 minutes after 5 failures). Without a name: list the locked names.
    Unlock { name: Option<String> },
}

fn read_password() -> Result<String, CliError> {
    if let Ok(p) = std::env::var("ACTIONBOARD_PASSWORD") {
        return Ok(p);
    }
    eprintln!("Password (at least {MIN_PASSWORD_CHARS} characters), then Enter:");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn users(data_dir: &Path, cmd: UsersCommand) -> Result<(), CliError> {
    let store = UserStore::open_in(data_dir)?;
    match cmd {
        UsersCommand::Add { name, role } => {
            let password = read_password()?;
            let role = Role::from(role);
            let new = store.set_user(&name, &password, role)?;
            if new {
                out!("Added {name} ({role}).");
            } else {
                out!("Updated {name} ({role}); their sessions were signed out.");
            }
        }
        UsersCommand::List => {
            let users = store.users()?;
            if users.is_empty() {
                out!("No users yet. Add one with `actionboard users add NAME --role admin`.");
            }
            for u in users {
                out!("{:<24} {:<8} since {}", u.name, u.role, u.created_at);
            }
        }
        UsersCommand::Unlock { name: None } => {
            let locked = store.locked_names(chrono::Utc::now())?;
            if locked.is_empty() {
                out!("No user name is locked.");
            }
            for (name, until) in locked {
                out!("{name:<24} locked until {until}");
            }
        }
        UsersCommand::Unlock { name: Some(name) } => {
            if store.clear_failures(&name)? {
                out!("Unlocked {name}: their failed sign-ins are forgotten.");
            } else {
                out!("{name} had no failed sign-ins.");
            }
        }
        UsersCommand::Remove { name } => {
            if !store.remove_user(&name)? {
                return Err(CliError::new(
                    Exit::NoInput,
                    format!("there is no user `{name}` (see `actionboard users list`)"),
                ));
            }
            out!("Removed {name}.");
        }
    }
    Ok(())
}
