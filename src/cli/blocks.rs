//! `fedblog block ...`, `unblock`, `blocks`: who may not talk to the blog.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::Conn;
use super::output::out;
use crate::blocks::{self, Planned};
use crate::models::block;

#[derive(Debug, Subcommand)]
pub enum BlockCommand {
    /// Block one actor, by its id (e.g. https://mastodon.example/users/spammer).
    Actor {
        url: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Block a server and its subdomains (e.g. spam.example).
    Domain {
        domain: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Import a domain blocklist in Mastodon's CSV export format (or one
    /// domain per line): suspended servers are blocked, noop ones skipped.
    Import {
        file: PathBuf,
        /// Also block the servers the list only limits (silence).
        #[arg(long)]
        include_limited: bool,
    },
}

fn parse_actor(value: &str) -> anyhow::Result<String> {
    Ok(block::parse_actor(value)?)
}

fn parse_domain(value: &str) -> anyhow::Result<String> {
    Ok(block::parse_domain(value)?)
}

/// `fedblog block ...`.
pub async fn block(conn: &mut Conn, cmd: BlockCommand) -> anyhow::Result<()> {
    match cmd {
        BlockCommand::Actor { url, reason } => {
            let actor = parse_actor(&url)?;
            let added = blocks::add(conn, block::Kind::Actor, &actor, reason.as_deref()).await?;
            out!(
                "{} {actor}",
                if added { "blocked" } else { "already blocked:" }
            );
        }
        BlockCommand::Domain { domain, reason } => {
            let domain = parse_domain(&domain)?;
            let added = blocks::add(conn, block::Kind::Domain, &domain, reason.as_deref()).await?;
            out!(
                "{} {domain} and its subdomains",
                if added { "blocked" } else { "already blocked:" }
            );
        }
        BlockCommand::Import {
            file,
            include_limited,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let planned = blocks::parse_blocklist(&text, include_limited)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let planned = blocks::plan(conn, planned).await?;
            let mut skipped = 0;
            for item in &planned {
                match item {
                    Planned::Skip { line, text, why } => {
                        skipped += 1;
                        out!("skipped line {line} ({why}): {text}");
                    }
                    Planned::AlreadyBlocked { .. } => skipped += 1,
                    Planned::Block { .. } => {}
                }
            }
            let added = blocks::import(conn, &planned).await?;
            out!(
                "imported {added} domain blocks ({skipped} skipped: already blocked, limited, noop or invalid)"
            );
        }
    }
    Ok(())
}

/// `fedblog unblock KIND VALUE`.
pub async fn unblock(conn: &mut Conn, kind: block::Kind, value: &str) -> anyhow::Result<()> {
    let value = block::parse_value(kind, value)?;
    if !block::remove(conn, kind, &value).await? {
        bail!("{value} is not blocked");
    }
    out!("unblocked {value}");
    Ok(())
}

/// `fedblog blocks`.
pub async fn list(conn: &mut Conn) -> anyhow::Result<()> {
    let all = block::list(conn).await?;
    for b in &all {
        let reason = b
            .reason
            .as_deref()
            .map(|r| format!("  ({r})"))
            .unwrap_or_default();
        out!("{:<7} {}{reason}", b.kind, b.value);
    }
    out!("{} blocks", all.len());
    Ok(())
}
