//! `fedblog inbox`: the queue of activities other servers sent.

use anyhow::bail;
use clap::Subcommand;

use super::Conn;
use super::output::{out, terminal_safe};
use crate::models::inbox_queue;

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Process given-up and waiting activities again now (all, or one by id).
    Retry { id: Option<i64> },
}

pub async fn run(conn: &mut Conn, action: Option<InboxCommand>, limit: i64) -> anyhow::Result<()> {
    if let Some(InboxCommand::Retry { id }) = action {
        let n = inbox_queue::retry_now(conn, id).await?;
        if id.is_some() && n == 0 {
            bail!("no activity with that id in the inbox queue");
        }
        out!("{n} activities will be processed again now (by the running server)");
        return Ok(());
    }
    if !(1..=10_000).contains(&limit) {
        bail!("--limit must be 1 to 10000");
    }
    let (total, given_up) = inbox_queue::counts(conn).await?;
    let rows = inbox_queue::list(conn, limit).await?;
    out!(
        "{:<8} {:<9} {:>8} {:<20} {:<10} ACTOR",
        "ID",
        "STATE",
        "ATTEMPTS",
        "NEXT ATTEMPT",
        "KIND"
    );
    for r in &rows {
        let (state, next) = match r.gave_up_at {
            Some(_) => ("given-up", "-".to_string()),
            None => (
                "waiting",
                r.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            ),
        };
        out!(
            "{:<8} {:<9} {:>8} {:<20} {:<10} {}",
            r.id,
            state,
            r.attempts,
            next,
            terminal_safe(&r.kind),
            terminal_safe(&r.actor_ap_id)
        );
        out!("         {}", terminal_safe(&r.ap_id));
        if let Some(error) = &r.last_error {
            out!("         last error: {}", terminal_safe(error));
        }
    }
    out!(
        "\n{} of {total} shown ({given_up} given up; the rest are processed by the running server)",
        rows.len()
    );
    Ok(())
}
