//! `fedblog admin ...`: the owner's credentials.

use anyhow::bail;
use clap::Subcommand;

use super::output::out;
use super::with_database;
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage the JSON API token.
    Token {
        /// Replace the token with a new one and print it.
        #[arg(long)]
        reset: bool,
    },
}

pub async fn run(cmd: AdminCommand, settings: &Settings) -> anyhow::Result<()> {
    match cmd {
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
