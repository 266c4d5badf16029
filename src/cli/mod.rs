//! The command line: `serve`, `migrate`, and a file per resource: `post ...`,
//! `comment ...`, blocks, followers, the delivery and inbox queues, `admin
//! ...`. Commands work on the database directly (starting the embedded
//! cluster if the server is not running) through the same services as the
//! API.

mod admin;
mod blocks;
mod comments;
mod deliveries;
mod followers;
mod inbox;
mod input;
pub mod output;
mod posts;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

pub use admin::AdminCommand;
pub use blocks::BlockCommand;
pub use comments::CommentCommand;
pub use deliveries::DeliveriesCommand;
pub use inbox::InboxCommand;
pub use posts::PostCommand;

use crate::config::Settings;
use crate::db::{Database, OnClose};
use crate::models::delivery::DeliveryFilter;
use output::out;

#[derive(Debug, Parser)]
#[command(
    name = "fedblog",
    version,
    about = "A self-hosted blog that is a full citizen of the fediverse"
)]
pub struct Cli {
    /// Configuration file (TOML) on top of the built-in defaults.
    #[arg(
        long,
        short,
        global = true,
        env = "FEDBLOG_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the blog (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write, list, edit, publish and delete posts.
    #[command(subcommand)]
    Post(PostCommand),
    /// Administration.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Show the delivery queue (pending, failing, given up), or retry.
    Deliveries {
        #[command(subcommand)]
        action: Option<DeliveriesCommand>,
        /// Which deliveries to list.
        #[arg(long, value_enum, default_value_t = DeliveryFilter::Unfinished)]
        state: DeliveryFilter,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Show the inbox queue: activities other servers sent that wait to be
    /// processed, or were given up (with why); or retry them.
    Inbox {
        #[command(subcommand)]
        action: Option<InboxCommand>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// List the blog's followers.
    Followers,
    /// Block an actor or a whole server (domain): their activities are
    /// refused, their comments hidden, their follows rejected.
    #[command(subcommand)]
    Block(BlockCommand),
    /// Lift a block.
    Unblock {
        #[arg(value_enum)]
        kind: crate::models::block::Kind,
        value: String,
    },
    /// List the blocks.
    Blocks,
    /// Moderate comments and answer them as the blog.
    #[command(subcommand)]
    Comment(CommentCommand),
}

impl Command {
    pub fn is_server(&self) -> bool {
        matches!(self, Command::Serve)
    }
}

pub async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => crate::server::serve(settings).await,
        Command::Migrate => {
            let db = Database::open(&settings).await?;
            out!("the database is migrated");
            db.close(OnClose::StopIfStartedHere).await;
            Ok(())
        }
        Command::Post(cmd) => {
            with_database(&settings, async |conn| {
                let settings = in_force(conn, &settings).await?;
                posts::run(cmd, &settings, conn).await
            })
            .await
        }
        Command::Deliveries {
            action,
            state,
            limit,
        } => {
            with_database(&settings, async |conn| {
                deliveries::run(conn, action, state, limit).await
            })
            .await
        }
        Command::Inbox { action, limit } => {
            with_database(&settings, async |conn| {
                inbox::run(conn, action, limit).await
            })
            .await
        }
        Command::Followers => with_database(&settings, followers::list).await,
        Command::Block(cmd) => {
            with_database(&settings, async |conn| blocks::block(conn, cmd).await).await
        }
        Command::Unblock { kind, value } => {
            with_database(&settings, async |conn| {
                blocks::unblock(conn, kind, &value).await
            })
            .await
        }
        Command::Blocks => with_database(&settings, blocks::list).await,
        Command::Admin(cmd) => admin::run(cmd, &settings).await,
        Command::Comment(cmd) => {
            with_database(&settings, async |conn| {
                let settings = in_force(conn, &settings).await?;
                comments::run(cmd, &settings, conn).await
            })
            .await
        }
    }
}

pub(crate) type Conn = diesel_async::AsyncPgConnection;

/// The settings as the server has them: the file's, with what the owner
/// changed on `/admin/settings` (time zone, language, policies) over them.
async fn in_force(conn: &mut Conn, file: &Settings) -> anyhow::Result<Settings> {
    let overrides = crate::state::live::load(conn).await?;
    Ok(file.with_overrides(&overrides).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the settings saved from the admin pages cannot be used");
        file.clone()
    }))
}

/// Opens the database (starting the embedded cluster if need be), runs `f`
/// with a connection, and closes it again, stopping the cluster only if this
/// command started it.
pub(crate) async fn with_database(
    settings: &Settings,
    f: impl AsyncFnOnce(&mut Conn) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let db = Database::open(settings).await?;
    let result = async {
        let mut conn = db.pool.get().await.context("connecting to the database")?;
        f(&mut conn).await
    }
    .await;
    db.close(OnClose::StopIfStartedHere).await;
    result
}
