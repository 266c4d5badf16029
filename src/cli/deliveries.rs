//! `fedblog deliveries`: the queue of activities we send.

use anyhow::bail;
use clap::Subcommand;

use super::Conn;
use super::output::out;
use crate::models::delivery::{self, DeliveryFilter};

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// Make failing and given-up deliveries due now (all, or one by id).
    Retry { id: Option<i64> },
}

pub async fn run(
    conn: &mut Conn,
    action: Option<DeliveriesCommand>,
    filter: DeliveryFilter,
    limit: i64,
) -> anyhow::Result<()> {
    if let Some(DeliveriesCommand::Retry { id }) = action {
        let n = delivery::retry_now(conn, id).await?;
        if id.is_some() && n == 0 {
            bail!("no undelivered delivery with that id");
        }
        out!("{n} deliveries will be tried again now (by the running server)");
        return Ok(());
    }
    if !(1..=10_000).contains(&limit) {
        bail!("--limit must be 1 to 10000");
    }
    let total = delivery::count(conn, filter).await?;
    let rows = delivery::list(conn, filter, limit, 0).await?;
    out!(
        "{:<8} {:<10} {:>8} {:<20} {:<40} LAST ERROR",
        "ID",
        "STATE",
        "ATTEMPTS",
        "NEXT ATTEMPT",
        "INBOX"
    );
    for r in &rows {
        let next = if r.state.is_unfinished() {
            r.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            "-".into()
        };
        let error = match (&r.last_status, &r.last_error) {
            (_, Some(e)) => e.clone(),
            (Some(status), None) => format!("HTTP {status}"),
            _ => String::new(),
        };
        out!(
            "{:<8} {:<10} {:>8} {:<20} {:<40} {}",
            r.id,
            r.state,
            r.attempts,
            next,
            r.inbox,
            error
        );
        out!("         {} {}", r.kind, r.activity);
    }
    out!("\n{} of {total} shown", rows.len());
    Ok(())
}
