//! Inbox workers: claim verified activities from the inbox queue (a lease,
//! `SKIP LOCKED`: several processes can share it), process each, and remove
//! it; when a remote server or the database failed us, try again later with
//! back-off; give up (keeping the row and its error) only after many tries.
//! A crash loses nothing: the lease expires and the activity is processed
//! again, and processing is idempotent (the activity id is recorded with its
//! effect).

use std::sync::Arc;
use std::time::{Duration, Instant};

use activitypub_federation::config::{Data, FederationConfig};
use chrono::Utc;
use rand::Rng;
use tokio::sync::watch;

use crate::db::QueryError;
use crate::db::queue_runner::{self, Queue};
use crate::federation::error::FederationError;
use crate::inbox::activities::{self, InboxActivity};
use crate::models::inbox_queue::{self as queue, Claimed};
use crate::state::AppState;

/// How long processing one activity may take, in outgoing request timeouts
/// (a parent chain gets three of them, its authors the rest).
const DEADLINE_TIMEOUTS: u32 = 4;
/// Tries before an activity is given up (about 3 hours of back-off).
pub const MAX_ATTEMPTS: i32 = 10;
/// How often workers look for due work (and count the queue) unwoken.
const POLL: Duration = Duration::from_secs(1);
/// In-flight processing gets this long to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What processing one activity came to.
#[derive(Debug)]
enum Outcome {
    Done,
    /// A remote server or the database failed us: worth another try.
    Retry(String),
    /// Refused (not believed, not allowed): a decision, not a failure.
    Refused(String),
}

fn outcome(result: Result<(), FederationError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(e) if e.is_transient() => Outcome::Retry(e.to_string()),
        Err(e) => Outcome::Refused(e.to_string()),
    }
}

/// The pause before try `attempts + 1`: 30 s doubling to an hour, ±20 %.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(1, 12) - 1;
    let base = 30u64.saturating_mul(1u64 << exponent).min(3600);
    Duration::from_secs_f64(base as f64 * rand::rng().random_range(0.8..1.2))
}

/// Runs the inbox workers until `shutdown` (or until this is dropped).
pub struct InboxWorkers {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl InboxWorkers {
    pub fn spawn(config: FederationConfig<AppState>) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(config, stop_rx));
        InboxWorkers { stop, task }
    }

    /// Stops claiming, lets in-flight work finish (within a deadline) and
    /// gives back the leases of what did not.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(config: FederationConfig<AppState>, stop: watch::Receiver<bool>) {
    let queue = Arc::new(InboxQueue {
        data: config.to_request_data(),
        counted_at: std::sync::Mutex::new(None),
    });
    queue_runner::run(queue, stop, POLL, SHUTDOWN_GRACE).await;
}

/// The inbox queue, as the shared worker loop runs it.
struct InboxQueue {
    data: Data<AppState>,
    /// When the queue was last counted (for the inbox's overload gate).
    counted_at: std::sync::Mutex<Option<Instant>>,
}

#[async_trait::async_trait]
impl Queue for InboxQueue {
    type Job = Claimed;
    const CHANNEL: &'static str = queue::CHANNEL;
    const WHAT: &'static str = "inbound activities";

    fn pool(&self) -> &crate::db::Pool {
        &self.data.pool
    }

    fn workers(&self) -> usize {
        self.data.settings().federation.inbox_workers
    }

    fn id(job: &Claimed) -> i64 {
        job.id
    }

    async fn claim(&self, limit: i64) -> Vec<Claimed> {
        claim(&self.data, limit, lease_secs(&self.data)).await
    }

    async fn run(self: Arc<Self>, job: Claimed) {
        handle(&self.data.reset_request_count(), job).await;
    }

    async fn release(&self, ids: &[i64]) -> Result<(), QueryError> {
        let mut conn = self.data.pool.get().await?;
        queue::release(&mut conn, ids)
            .await
            .map_err(QueryError::from)
    }

    /// Counts the queue about once per poll interval.
    async fn tick(&self) {
        let due = self
            .counted_at
            .lock()
            .map(|at| at.is_none_or(|at| at.elapsed() >= POLL))
            .unwrap_or(true);
        if due {
            count_waiting(&self.data).await;
            if let Ok(mut at) = self.counted_at.lock() {
                *at = Some(Instant::now());
            }
        }
    }
}

async fn count_waiting(data: &Data<AppState>) {
    let counted = async {
        let mut conn = data.pool.get().await?;
        queue::waiting(&mut conn).await.map_err(QueryError::from)
    };
    match counted.await {
        Ok(n) => data.inbox_gate.set_waiting(n),
        Err(e) => tracing::warn!(error = %e, "counting the inbox queue failed"),
    }
}

/// How long a claimed activity is reserved for its worker: past its
/// processing deadline, so that only a crashed worker's work is taken over.
fn lease_secs(data: &Data<AppState>) -> i64 {
    let timeout = data.settings().federation.request_timeout.as_secs() as i64;
    timeout * (i64::from(DEADLINE_TIMEOUTS) + 1)
}

async fn claim(data: &Data<AppState>, limit: i64, lease_secs: i64) -> Vec<Claimed> {
    let claimed = async {
        let mut conn = data.pool.get().await?;
        queue::claim(&mut conn, limit, lease_secs)
            .await
            .map_err(QueryError::from)
    };
    match claimed.await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "claiming inbox activities failed");
            Vec::new()
        }
    }
}

/// Processes one claimed activity and records what came of it.
async fn handle(data: &Data<AppState>, entry: Claimed) {
    let result = if entry.attempts > MAX_ATTEMPTS {
        Outcome::Retry(format!("gave up after {MAX_ATTEMPTS} attempts"))
    } else {
        let deadline = data.settings().federation.request_timeout * DEADLINE_TIMEOUTS;
        match serde_json::from_value::<InboxActivity>(entry.json.clone()) {
            Ok(activity) => {
                match tokio::time::timeout(deadline, activities::process(activity, data)).await {
                    Ok(result) => outcome(result),
                    Err(_) => Outcome::Retry(format!("processing took longer than {deadline:?}")),
                }
            }
            Err(e) => Outcome::Refused(format!("unreadable queued activity: {e}")),
        }
    };
    if let Err(e) = record(data, &entry, &result).await {
        tracing::error!(error = %e, activity_id = %entry.ap_id, "recording an inbox outcome failed; the lease expires and it is processed again");
    }
}

async fn record(
    data: &Data<AppState>,
    entry: &Claimed,
    result: &Outcome,
) -> Result<(), QueryError> {
    let mut conn = data.pool.get().await?;
    let conn = &mut *conn;
    match result {
        Outcome::Done => queue::finish(conn, entry.id).await?,
        Outcome::Refused(why) => {
            tracing::info!(activity_id = %entry.ap_id, reason = %why, "a queued activity was refused");
            queue::finish(conn, entry.id).await?;
        }
        Outcome::Retry(why) if entry.attempts >= MAX_ATTEMPTS => {
            tracing::warn!(activity_id = %entry.ap_id, error = %why, attempts = entry.attempts, "gave up processing an activity");
            queue::give_up(conn, entry.id, why).await?;
        }
        Outcome::Retry(why) => {
            let pause = chrono::Duration::from_std(backoff(entry.attempts))
                .unwrap_or(chrono::Duration::hours(1));
            tracing::info!(activity_id = %entry.ap_id, error = %why, attempt = entry.attempts, "processing an activity failed; will retry");
            queue::retry(conn, entry.id, why, Utc::now() + pause).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use activitypub_federation::error::Error as ProtocolError;

    #[test]
    fn backoff_doubles_from_half_a_minute_to_an_hour() {
        for (attempts, base) in [(1, 30.0), (2, 60.0), (4, 240.0), (8, 3600.0), (30, 3600.0)] {
            let secs = backoff(attempts).as_secs_f64();
            assert!(
                secs >= base * 0.8 && secs <= base * 1.2,
                "{attempts}: {secs}"
            );
        }
    }

    #[test]
    fn remote_and_database_failures_are_retried_refusals_are_not() {
        assert!(FederationError::is_transient(&FederationError::Pool(
            crate::db::PoolError::Nested
        )));
        assert!(FederationError::is_transient(&FederationError::Database(
            diesel::result::Error::BrokenTransactionManager
        )));
        assert!(!FederationError::is_transient(&FederationError::Forbidden(
            "no".into()
        )));
        assert!(!FederationError::is_transient(&FederationError::Invalid(
            "no".into()
        )));
        assert!(!FederationError::is_transient(&FederationError::Protocol(
            ProtocolError::ActivitySignatureInvalid
        )));
    }
}
