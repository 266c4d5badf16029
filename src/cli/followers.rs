//! `fedblog followers`.

use super::Conn;
use super::output::out;
use crate::models::follower;

/// Lists the blog's followers.
pub async fn list(conn: &mut Conn) -> anyhow::Result<()> {
    let all = follower::list(conn).await?;
    for f in &all {
        out!(
            "{}  (since {})",
            f.actor_id,
            f.created_at.format("%Y-%m-%d")
        );
    }
    out!("{} followers", all.len());
    Ok(())
}
