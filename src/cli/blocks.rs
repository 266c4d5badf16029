//! `fedblog block ...`, `unblock`, `blocks`: who may not talk to the blog.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::Conn;
use super::output::out;
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
    /// Import a domain blocklist in Mastodon's CSV export format.
    Import { file: PathBuf },
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
            let added = block::add(conn, block::Kind::Actor, &actor, reason.as_deref()).await?;
            block::apply(conn).await?;
            out!(
                "{} {actor}",
                if added { "blocked" } else { "already blocked:" }
            );
        }
        BlockCommand::Domain { domain, reason } => {
            let domain = parse_domain(&domain)?;
            let added = block::add(conn, block::Kind::Domain, &domain, reason.as_deref()).await?;
            block::apply(conn).await?;
            out!(
                "{} {domain} and its subdomains",
                if added { "blocked" } else { "already blocked:" }
            );
        }
        BlockCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let (mut added, mut skipped) = (0, 0);
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                // Mastodon: domain,severity,reject_media,reject_reports,public_comment,obfuscate
                let fields: Vec<&str> = line.split(',').collect();
                if fields
                    .get(1)
                    .is_some_and(|severity| severity.trim() == "noop")
                {
                    skipped += 1;
                    continue;
                }
                let domain = parse_domain(fields[0])
                    .with_context(|| format!("{}: line {}", file.display(), n + 1))?;
                let reason = fields.get(4).map(|r| r.trim()).filter(|r| !r.is_empty());
                if block::add(conn, block::Kind::Domain, &domain, reason).await? {
                    added += 1;
                } else {
                    skipped += 1;
                }
            }
            block::apply(conn).await?;
            out!("imported {added} domain blocks ({skipped} skipped: already blocked or noop)");
        }
    }
    Ok(())
}

/// `fedblog unblock KIND VALUE`.
pub async fn unblock(conn: &mut Conn, kind: block::Kind, value: &str) -> anyhow::Result<()> {
    let value = match kind {
        block::Kind::Actor => parse_actor(value)?,
        block::Kind::Domain => parse_domain(value)?,
    };
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
