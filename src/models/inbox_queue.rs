//! The inbox queue: verified activities waiting to be processed. Rows are
//! added in one short transaction before the sender is answered, leased to
//! one worker at a time (`SKIP LOCKED`, so several processes can share the
//! queue), removed once processed, retried with back-off when a remote server
//! failed us, and given up (kept, with the error) when they never work.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Jsonb, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::db::prepared;
use crate::db::schema::inbox_queue;

/// The channel inbox workers LISTEN on; a NOTIFY is sent when rows are queued.
pub const CHANNEL: &str = "fedblog_inbox";

/// A verified activity, as the inbox records it.
pub struct NewEntry<'a> {
    pub ap_id: &'a str,
    pub actor_ap_id: &'a str,
    pub kind: &'a str,
    pub json: &'a Value,
}

/// Records an activity and wakes the workers (when the transaction, or this
/// statement alone, commits), in one round trip. Returns false when it is
/// already waiting (a redelivery).
pub async fn push(conn: &mut AsyncPgConnection, entry: &NewEntry<'_>) -> QueryResult<bool> {
    let inserted = prepared(
        diesel::sql_query(format!(
            "WITH added AS ( \
             INSERT INTO inbox_queue (ap_id, actor_ap_id, kind, json) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING RETURNING id \
         ) \
         SELECT pg_notify('{CHANNEL}', '') FROM added"
        ))
        .bind::<Text, _>(entry.ap_id)
        .bind::<Text, _>(entry.actor_ap_id)
        .bind::<Text, _>(entry.kind)
        .bind::<Jsonb, _>(entry.json),
    )
    .execute(conn)
    .await?;
    Ok(inserted > 0)
}

/// An activity leased to one worker.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub ap_id: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Jsonb)]
    pub json: Value,
}

/// Leases up to `limit` due activities for `lease_secs`, oldest first.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    limit: i64,
    lease_secs: i64,
) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "WITH due AS MATERIALIZED ( \
             SELECT id FROM inbox_queue \
             WHERE gave_up_at IS NULL AND next_attempt_at <= now() \
               AND (locked_until IS NULL OR locked_until < now()) \
             ORDER BY next_attempt_at, id \
             LIMIT $1 \
             FOR UPDATE SKIP LOCKED \
         ) \
         UPDATE inbox_queue SET locked_until = now() + make_interval(secs => $2), \
                attempts = inbox_queue.attempts + 1 \
         WHERE id = ANY (ARRAY(SELECT id FROM due)) \
         RETURNING id, ap_id, attempts, json",
    )
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(lease_secs)
    .load(conn)
    .await
}

/// Processed: gone from the queue.
pub async fn finish(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
    diesel::delete(inbox_queue::table.find(id))
        .execute(conn)
        .await
        .map(drop)
}

/// Tries again at `next` (a remote server failed us).
pub async fn retry(
    conn: &mut AsyncPgConnection,
    id: i64,
    error: &str,
    next: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(inbox_queue::table.find(id))
        .set((
            inbox_queue::next_attempt_at.eq(next),
            inbox_queue::locked_until.eq(None::<DateTime<Utc>>),
            inbox_queue::last_error.eq(error),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Never going to work: kept with its error, for the operator.
pub async fn give_up(conn: &mut AsyncPgConnection, id: i64, error: &str) -> QueryResult<()> {
    diesel::update(inbox_queue::table.find(id))
        .set((
            inbox_queue::gave_up_at.eq(diesel::dsl::now),
            inbox_queue::locked_until.eq(None::<DateTime<Utc>>),
            inbox_queue::last_error.eq(error),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Leases of unfinished work, given back on shutdown.
pub async fn release(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<()> {
    diesel::update(inbox_queue::table.filter(inbox_queue::id.eq_any(ids)))
        .set(inbox_queue::locked_until.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await
        .map(drop)
}

/// Activities waiting (not given up): how full the queue is.
pub async fn waiting(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    inbox_queue::table
        .filter(inbox_queue::gave_up_at.is_null())
        .count()
        .get_result(conn)
        .await
}

/// An activity in the queue, as the operator sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inbox_queue)]
pub struct Entry {
    pub id: i64,
    pub ap_id: String,
    pub actor_ap_id: String,
    pub kind: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub gave_up_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// The oldest `limit` entries: waiting and given up alike.
pub async fn list(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Entry>> {
    inbox_queue::table
        .order(inbox_queue::id)
        .limit(limit)
        .select(Entry::as_select())
        .load(conn)
        .await
}

/// Entries in the queue, and how many of them were given up.
pub async fn counts(conn: &mut AsyncPgConnection) -> QueryResult<(i64, i64)> {
    let total: i64 = inbox_queue::table.count().get_result(conn).await?;
    let given_up: i64 = inbox_queue::table
        .filter(inbox_queue::gave_up_at.is_not_null())
        .count()
        .get_result(conn)
        .await?;
    Ok((total, given_up))
}

/// Makes given-up and waiting entries (all, or the one with `id`) due now,
/// with their attempts counted afresh; returns how many.
pub async fn retry_now(conn: &mut AsyncPgConnection, id: Option<i64>) -> QueryResult<usize> {
    let changes = (
        inbox_queue::gave_up_at.eq(None::<DateTime<Utc>>),
        inbox_queue::attempts.eq(0),
        inbox_queue::next_attempt_at.eq(diesel::dsl::now),
    );
    let retried = match id {
        Some(id) => {
            diesel::update(inbox_queue::table.find(id))
                .set(changes)
                .execute(conn)
                .await?
        }
        None => {
            diesel::update(inbox_queue::table)
                .set(changes)
                .execute(conn)
                .await?
        }
    };
    if retried > 0 {
        diesel::sql_query(format!("SELECT pg_notify('{CHANNEL}', '')"))
            .execute(conn)
            .await?;
    }
    Ok(retried)
}
