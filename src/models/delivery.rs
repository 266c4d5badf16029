//! The delivery queue's tables: `activities` (what we published), `deliveries`
//! (one row per activity and inbox) and `instances` (per-server health).
//! Every statement that decides who sends what, and when, is here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::db::prepared;
use crate::db::schema::deliveries;
use crate::db::text_enum::text_enum;

/// The channel workers LISTEN on; a NOTIFY is sent when rows are queued.
pub const CHANNEL: &str = "fedblog_deliveries";

/// Deliveries queued per statement: a post to 10,000 inboxes is not one
/// giant INSERT.
const CHUNK: usize = 1000;

/// Stores an activity we publish (or finds it, when the same activity id was
/// stored before) and queues it once for each inbox, waking the workers (of
/// every process) when the transaction commits. One statement for up to
/// [`CHUNK`] inboxes; arrays keep its text constant, so it is prepared once.
/// Returns how many deliveries were added.
pub async fn queue_activity(
    conn: &mut AsyncPgConnection,
    ap_id: &str,
    kind: &str,
    json: &Value,
    inboxes: &[String],
) -> QueryResult<usize> {
    #[derive(QueryableByName)]
    struct Queued {
        #[diesel(sql_type = BigInt)]
        activity_id: i64,
        #[diesel(sql_type = BigInt)]
        inserted: i64,
    }
    let (first, rest) = inboxes.split_at(inboxes.len().min(CHUNK));
    let queued: Queued = prepared(
        diesel::sql_query(format!(
            "WITH activity AS ( \
                 INSERT INTO activities (ap_id, kind, json) VALUES ($1, $2, $3) \
                 ON CONFLICT (ap_id) DO UPDATE SET kind = EXCLUDED.kind \
                 RETURNING id \
             ), added AS ( \
                 INSERT INTO deliveries (activity_id, inbox_url, instance) \
                 SELECT activity.id, target.inbox_url, target.instance \
                 FROM activity, unnest($4::text[], $5::text[]) AS target(inbox_url, instance) \
                 ON CONFLICT DO NOTHING \
                 RETURNING 1 \
             ) \
             SELECT activity.id AS activity_id, (SELECT count(*) FROM added) AS inserted, \
                    pg_notify('{CHANNEL}', '')::text AS notified \
             FROM activity"
        ))
        .bind::<Text, _>(ap_id)
        .bind::<Text, _>(kind)
        .bind::<Jsonb, _>(json)
        .bind::<Array<Text>, _>(first)
        .bind::<Array<Text>, _>(instances_of(first)),
    )
    .get_result(conn)
    .await?;
    let mut inserted = usize::try_from(queued.inserted).unwrap_or_default();
    for chunk in rest.chunks(CHUNK) {
        inserted += prepared(
            diesel::sql_query(
                "INSERT INTO deliveries (activity_id, inbox_url, instance) \
                 SELECT $1, target.inbox_url, target.instance \
                 FROM unnest($2::text[], $3::text[]) AS target(inbox_url, instance) \
                 ON CONFLICT DO NOTHING",
            )
            .bind::<BigInt, _>(queued.activity_id)
            .bind::<Array<Text>, _>(chunk)
            .bind::<Array<Text>, _>(instances_of(chunk)),
        )
        .execute(conn)
        .await?;
    }
    if !rest.is_empty() {
        notify(conn).await?;
    }
    Ok(inserted)
}

fn instances_of(inboxes: &[String]) -> Vec<String> {
    inboxes.iter().map(|inbox| instance_of(inbox)).collect()
}

/// The server part of a URL, `host[:port]`: how deliveries and instance
/// health are grouped.
pub fn instance_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            _ => String::new(),
        },
        Err(_) => String::new(),
    }
}

/// Wakes the workers (of every process) when the current transaction commits.
async fn notify(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    prepared(diesel::sql_query(format!(
        "SELECT pg_notify('{CHANNEL}', '')"
    )))
    .execute(conn)
    .await
    .map(drop)
}

/// A delivery leased to one worker.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub inbox_url: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub activity_ap_id: String,
    #[diesel(sql_type = Jsonb)]
    pub json: Value,
    /// The inbox's server is known to want RFC 9421 signatures.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub rfc9421: bool,
}

/// Leases up to `limit` due deliveries for `lease_secs`.
///
/// - Only the oldest unfinished delivery of each inbox can be due, so
///   activities reach an inbox in the order they were queued (an Update never
///   overtakes its Create).
/// - At most `per_instance` deliveries to one server are in flight at once
///   (counting those other workers hold), so a big fan-out does not hammer
///   one instance.
/// - The candidates are picked first and then locked by primary key, so the
///   plan stays cheap however stale the table statistics are.
/// - `SKIP LOCKED` and the lease keep two workers (or processes) from taking
///   one row; no transaction is held while sending. The conditions are
///   repeated on the locked row itself: when `SKIP LOCKED` waits out another
///   claimer's lock, PostgreSQL re-checks only those, against the row as that
///   claimer left it (leased, or even delivered).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    limit: i64,
    lease_secs: i64,
    per_instance: i64,
) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "WITH candidates AS MATERIALIZED ( \
             SELECT id FROM ( \
                 SELECT id, busy, next_attempt_at, row_number() OVER ( \
                     PARTITION BY instance ORDER BY busy DESC, next_attempt_at, id) AS n \
                 FROM ( \
                     SELECT DISTINCT ON (inbox_url) id, instance, next_attempt_at, \
                            (locked_until IS NOT NULL AND locked_until >= now()) AS busy \
                     FROM deliveries \
                     WHERE delivered_at IS NULL AND gave_up_at IS NULL \
                     ORDER BY inbox_url, id \
                 ) heads \
                 WHERE busy OR next_attempt_at <= now() \
             ) ranked \
             WHERE NOT busy AND n <= $3 \
             ORDER BY next_attempt_at, id \
             LIMIT $1 \
         ), due AS MATERIALIZED ( \
             SELECT d.id FROM deliveries d \
             WHERE d.id = ANY (ARRAY(SELECT id FROM candidates)) \
               AND d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.next_attempt_at <= now() \
               AND (d.locked_until IS NULL OR d.locked_until < now()) \
             FOR UPDATE SKIP LOCKED \
         ) \
         UPDATE deliveries SET locked_until = now() + make_interval(secs => $2), attempts = deliveries.attempts + 1 \
         FROM activities a \
         WHERE deliveries.id = ANY (ARRAY(SELECT id FROM due)) AND a.id = deliveries.activity_id \
         RETURNING deliveries.id, deliveries.inbox_url, deliveries.attempts, deliveries.created_at, \
                   a.ap_id AS activity_ap_id, a.json, \
                   COALESCE((SELECT i.rfc9421_until > now() FROM instances i \
                             WHERE i.domain = deliveries.instance), false) AS rfc9421",
    )
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(lease_secs)
    .bind::<BigInt, _>(per_instance)
    .load(conn)
    .await
}

pub async fn mark_delivered(conn: &mut AsyncPgConnection, id: i64, status: i32) -> QueryResult<()> {
    prepared(diesel::update(deliveries::table.find(id)).set((
        deliveries::delivered_at.eq(diesel::dsl::now),
        deliveries::locked_until.eq(None::<DateTime<Utc>>),
        deliveries::last_status.eq(status),
        deliveries::last_error.eq(None::<String>),
    )))
    .execute(conn)
    .await
    .map(drop)
}

/// Schedules another attempt.
pub async fn mark_retry(
    conn: &mut AsyncPgConnection,
    id: i64,
    status: Option<i32>,
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> QueryResult<()> {
    prepared(diesel::update(deliveries::table.find(id)).set((
        deliveries::next_attempt_at.eq(next_attempt_at),
        deliveries::locked_until.eq(None::<DateTime<Utc>>),
        deliveries::last_status.eq(status),
        deliveries::last_error.eq(error),
    )))
    .execute(conn)
    .await
    .map(drop)
}

/// Ends a delivery that will never succeed (a final 4xx, too many attempts).
pub async fn mark_given_up(
    conn: &mut AsyncPgConnection,
    id: i64,
    status: Option<i32>,
    error: &str,
) -> QueryResult<()> {
    prepared(diesel::update(deliveries::table.find(id)).set((
        deliveries::gave_up_at.eq(diesel::dsl::now),
        deliveries::locked_until.eq(None::<DateTime<Utc>>),
        deliveries::last_status.eq(status),
        deliveries::last_error.eq(error),
    )))
    .execute(conn)
    .await
    .map(drop)
}

/// Releases leases this process holds but did not finish (graceful shutdown).
pub async fn release(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<()> {
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(ids)))
        .set(deliveries::locked_until.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await
        .map(drop)
}

/// When the next delivery could become due (for the worker's sleep).
pub async fn next_due(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    deliveries::table
        .filter(deliveries::delivered_at.is_null())
        .filter(deliveries::gave_up_at.is_null())
        .select(diesel::dsl::min(deliveries::next_attempt_at))
        .first(conn)
        .await
}

/// A delivery as the author's tools list it.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct DeliveryStatus {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub activity: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub inbox: String,
    #[diesel(sql_type = Text)]
    pub state: DeliveryState,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub last_status: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

text_enum! {
    /// Where a delivery is.
    pub enum DeliveryState {
        /// Not tried yet, or not yet failed.
        Pending = "pending",
        /// Tried and failed; tried again later.
        Failing = "failing",
        /// Failed for too long; not tried again unless retried by hand.
        GivenUp = "given-up",
        Delivered = "delivered",
    }
}

impl DeliveryState {
    /// Whether it will still be tried.
    pub fn is_unfinished(self) -> bool {
        matches!(self, DeliveryState::Pending | DeliveryState::Failing)
    }
}

text_enum! {
    /// Which deliveries to list.
    pub enum DeliveryFilter {
        /// Pending and failing.
        Unfinished = "unfinished",
        /// Tried at least once and not delivered yet.
        Failing = "failing",
        GivenUp = "given-up",
        Delivered = "delivered",
        All = "all",
    }
}

impl DeliveryFilter {
    fn condition(self) -> &'static str {
        match self {
            DeliveryFilter::Unfinished => "d.delivered_at IS NULL AND d.gave_up_at IS NULL",
            DeliveryFilter::Failing => {
                "d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.last_error IS NOT NULL"
            }
            DeliveryFilter::GivenUp => "d.gave_up_at IS NOT NULL",
            DeliveryFilter::Delivered => "d.delivered_at IS NOT NULL",
            DeliveryFilter::All => "TRUE",
        }
    }
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: DeliveryFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<DeliveryStatus>> {
    diesel::sql_query(format!(
        "SELECT d.id, a.ap_id AS activity, a.kind, d.inbox_url AS inbox, \
                CASE WHEN d.delivered_at IS NOT NULL THEN 'delivered' \
                     WHEN d.gave_up_at IS NOT NULL THEN 'given-up' \
                     WHEN d.last_error IS NOT NULL THEN 'failing' \
                     ELSE 'pending' END AS state, \
                d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at \
         FROM deliveries d JOIN activities a ON a.id = d.activity_id \
         WHERE {} ORDER BY d.id DESC LIMIT $1 OFFSET $2",
        filter.condition()
    ))
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset)
    .load(conn)
    .await
}

pub async fn count(conn: &mut AsyncPgConnection, filter: DeliveryFilter) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let row: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM deliveries d WHERE {}",
        filter.condition()
    ))
    .get_result(conn)
    .await?;
    Ok(row.n)
}

/// Makes unfinished and given-up deliveries due now (all of them, or one);
/// returns how many.
pub async fn retry_now(conn: &mut AsyncPgConnection, only: Option<i64>) -> QueryResult<usize> {
    retry(conn, only, None).await
}

/// Makes the unfinished and given-up deliveries to one server due now.
pub async fn retry_instance(conn: &mut AsyncPgConnection, instance: &str) -> QueryResult<usize> {
    retry(conn, None, Some(instance)).await
}

async fn retry(
    conn: &mut AsyncPgConnection,
    id: Option<i64>,
    instance: Option<&str>,
) -> QueryResult<usize> {
    let mut query = diesel::update(deliveries::table)
        .filter(deliveries::delivered_at.is_null())
        .into_boxed();
    if let Some(id) = id {
        query = query.filter(deliveries::id.eq(id));
    }
    if let Some(instance) = instance {
        query = query.filter(deliveries::instance.eq(instance.to_string()));
    }
    let n = query
        .set((
            deliveries::next_attempt_at.eq(diesel::dsl::now),
            deliveries::gave_up_at.eq(None::<DateTime<Utc>>),
            deliveries::attempts.eq(0),
        ))
        .execute(conn)
        .await?;
    notify(conn).await?;
    Ok(n)
}

/// What waits for one server.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct InstanceQueue {
    #[diesel(sql_type = Text)]
    pub instance: String,
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    #[diesel(sql_type = BigInt)]
    pub failing: i64,
    #[diesel(sql_type = BigInt)]
    pub given_up: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The servers with undelivered activities, the most troubled first.
pub async fn per_instance(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> QueryResult<Vec<InstanceQueue>> {
    diesel::sql_query(
        "SELECT instance, \
                count(*) FILTER (WHERE gave_up_at IS NULL AND last_error IS NULL) AS pending, \
                count(*) FILTER (WHERE gave_up_at IS NULL AND last_error IS NOT NULL) AS failing, \
                count(*) FILTER (WHERE gave_up_at IS NOT NULL) AS given_up, \
                (array_agg(last_error ORDER BY id DESC) FILTER (WHERE last_error IS NOT NULL))[1] AS last_error, \
                min(next_attempt_at) FILTER (WHERE gave_up_at IS NULL) AS next_attempt_at \
         FROM deliveries WHERE delivered_at IS NULL \
         GROUP BY instance \
         ORDER BY count(*) FILTER (WHERE gave_up_at IS NOT NULL OR last_error IS NOT NULL) DESC, instance \
         LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Per-instance health.
pub mod instance {
    use super::*;

    /// A success, or any signed request from the instance, proves it alive.
    pub async fn record_alive(
        conn: &mut AsyncPgConnection,
        domain: &str,
        delivered: bool,
    ) -> QueryResult<()> {
        prepared(
            diesel::sql_query(
                "INSERT INTO instances (domain, failing_since, last_success_at, last_contact_at) \
             VALUES ($1, NULL, CASE WHEN $2 THEN now() END, now()) \
             ON CONFLICT (domain) DO UPDATE SET failing_since = NULL, last_contact_at = now(), \
                 last_success_at = CASE WHEN $2 THEN now() ELSE instances.last_success_at END",
            )
            .bind::<Text, _>(domain)
            .bind::<diesel::sql_types::Bool, _>(delivered),
        )
        .execute(conn)
        .await
        .map(drop)
    }

    /// Remembers which signature the instance took after refusing the
    /// other: RFC 9421 (for 30 days, renewed each time it is learned) or
    /// draft-cavage again.
    pub async fn remember_rfc9421(
        conn: &mut AsyncPgConnection,
        domain: &str,
        rfc9421: bool,
    ) -> QueryResult<()> {
        prepared(
            diesel::sql_query(
                "INSERT INTO instances (domain, rfc9421_until) \
                 VALUES ($1, CASE WHEN $2 THEN now() + interval '30 days' END) \
                 ON CONFLICT (domain) DO UPDATE SET rfc9421_until = EXCLUDED.rfc9421_until",
            )
            .bind::<Text, _>(domain)
            .bind::<diesel::sql_types::Bool, _>(rfc9421),
        )
        .execute(conn)
        .await
        .map(drop)
    }

    /// Records a failure; returns since when the instance has been failing.
    pub async fn record_failure(
        conn: &mut AsyncPgConnection,
        domain: &str,
    ) -> QueryResult<DateTime<Utc>> {
        #[derive(QueryableByName)]
        struct Since {
            #[diesel(sql_type = Timestamptz)]
            failing_since: DateTime<Utc>,
        }
        let row: Since = prepared(diesel::sql_query(
            "INSERT INTO instances (domain, failing_since) VALUES ($1, now()) \
             ON CONFLICT (domain) DO UPDATE SET failing_since = COALESCE(instances.failing_since, now()) \
             RETURNING failing_since",
        )
        .bind::<Text, _>(domain))
        .get_result(conn)
        .await?;
        Ok(row.failing_since)
    }
}
