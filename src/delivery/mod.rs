//! The durable delivery queue (a transactional outbox): activities are queued
//! in the same transaction as the change that causes them, and workers sign
//! and send them, retrying with back-off, at least once.

pub mod worker;

use diesel_async::AsyncPgConnection;
use serde_json::Value;

use crate::models::delivery;
use crate::models::follower;

/// Queues `activity` (with `id` and `type`) for `inboxes`.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    activity: &Value,
    inboxes: &[String],
) -> diesel::QueryResult<()> {
    let ap_id = activity["id"].as_str().unwrap_or_default();
    let kind = activity["type"].as_str().unwrap_or_default();
    let mut targets: Vec<String> = inboxes.to_vec();
    targets.sort();
    targets.dedup();
    delivery::queue_activity(conn, ap_id, kind, activity, &targets).await?;
    Ok(())
}

/// Queues `activity` for every follower: one delivery per shared inbox.
pub async fn enqueue_to_followers(
    conn: &mut AsyncPgConnection,
    activity: &Value,
) -> diesel::QueryResult<()> {
    let inboxes = follower::delivery_inboxes(conn).await?;
    enqueue(conn, activity, &inboxes).await
}
