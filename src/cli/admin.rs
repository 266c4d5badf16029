//! `fedblog admin ...`: the owner's credentials.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::output::out;
use super::with_database;
use crate::access;
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage the JSON API token.
    Token {
        /// Replace the token with a new one and print it.
        #[arg(long)]
        reset: bool,
    },
    /// Set the password of the admin UI (/admin); every browser signed in
    /// is signed out. Asked for on a terminal, else read from standard input.
    Password {
        /// Read the password from the first line of FILE instead.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

pub async fn run(cmd: AdminCommand, settings: &Settings) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Password { password_file } => {
            let password = read_password(password_file.as_ref())?;
            with_database(settings, async |conn| {
                access::set_password(conn, &password, None).await?;
                out!(
                    "the admin password is set; sign in at {}",
                    settings.url("/admin")
                );
                Ok(())
            })
            .await
        }
        AdminCommand::Token { reset } => {
            if !reset {
                bail!(
                    "the token is stored only as a hash and cannot be shown again; \
                     use `fedblog admin token --reset` to make a new one"
                );
            }
            if settings.admin_token.is_some() {
                bail!("the token is set in the configuration (admin.token); change it there");
            }
            with_database(settings, async |conn| {
                out!("{}", crate::access::reset_token(conn).await?);
                Ok(())
            })
            .await
        }
    }
}

/// The new password: from `file`, asked twice on a terminal (not echoed),
/// or the first line of standard input.
fn read_password(file: Option<&PathBuf>) -> anyhow::Result<String> {
    if let Some(path) = file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_string());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_string());
    }
    let first = prompt_hidden("New admin password: ")?;
    let second = prompt_hidden("The same again: ")?;
    if first != second {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

/// Reads a line from the terminal with echo off (restored afterwards, even
/// when reading fails).
fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).context("reading the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("turning off the terminal's echo")?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    tcsetattr(&stdin, SetArg::TCSANOW, &saved).context("restoring the terminal")?;
    read.context("reading the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
