//! The loop both durable queues (deliveries, the inbox) run their workers
//! with: wake on NOTIFY or a poll tick, claim as many jobs as workers are
//! free, run each in a task of its own, and on shutdown let in-flight jobs
//! finish within a grace period and give back the leases of the rest.
//! What a job is, and how it is claimed, run and released, is the queue's.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::{Pool, QueryError};

#[async_trait::async_trait]
pub trait Queue: Send + Sync + 'static {
    type Job: Send + 'static;

    /// The NOTIFY channel that says jobs were queued.
    const CHANNEL: &'static str;
    /// What the log calls this queue's unfinished work on shutdown.
    const WHAT: &'static str;

    fn pool(&self) -> &Pool;
    /// Jobs run at once.
    fn workers(&self) -> usize;
    /// Claim only when this many workers are free (or none is busy): a claim
    /// may cost a scan of the queue.
    fn refill_at(&self) -> usize {
        1
    }
    /// The job's row id (its lease is released by it).
    fn id(job: &Self::Job) -> i64;
    /// Leases up to `limit` due jobs (none when claiming failed: logged).
    async fn claim(&self, limit: i64) -> Vec<Self::Job>;
    /// Runs one job to its recorded outcome.
    async fn run(self: Arc<Self>, job: Self::Job);
    /// Gives back the leases of jobs that did not finish.
    async fn release(&self, ids: &[i64]) -> Result<(), QueryError>;
    /// Once per loop turn, before claiming.
    async fn tick(&self) {}
}

/// Runs `queue`'s workers until `stop` says so (or its sender is dropped).
pub async fn run<Q: Queue>(
    queue: Arc<Q>,
    mut stop: watch::Receiver<bool>,
    poll: Duration,
    grace: Duration,
) {
    let wake = Arc::new(Notify::new());
    let listener = tokio::spawn(super::listen(
        queue.pool().clone(),
        Q::CHANNEL,
        wake.clone(),
        poll,
    ));
    let workers = queue.workers();
    let refill_at = queue.refill_at().clamp(1, workers.max(1));
    let mut in_flight: JoinSet<i64> = JoinSet::new();
    let mut leased: HashSet<i64> = HashSet::new();
    loop {
        if *stop.borrow() || stop.has_changed().is_err() {
            break;
        }
        while let Some(done) = in_flight.try_join_next() {
            if let Ok(id) = done {
                leased.remove(&id);
            }
        }
        queue.tick().await;
        let free = workers.saturating_sub(in_flight.len());
        if free > 0 && (in_flight.is_empty() || free >= refill_at) {
            for job in queue.claim(free as i64).await {
                let id = Q::id(&job);
                leased.insert(id);
                let queue = queue.clone();
                in_flight.spawn(async move {
                    queue.run(job).await;
                    id
                });
            }
        }
        tokio::select! {
            _ = stop.changed() => {}
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Ok(id) = done {
                    leased.remove(&id);
                }
            }
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
    listener.abort();
    let deadline = tokio::time::sleep(grace);
    tokio::pin!(deadline);
    while !in_flight.is_empty() {
        tokio::select! {
            Some(done) = in_flight.join_next() => {
                if let Ok(id) = done {
                    leased.remove(&id);
                }
            }
            _ = &mut deadline => break,
        }
    }
    in_flight.abort_all();
    if !leased.is_empty() {
        tracing::warn!(
            count = leased.len(),
            "leaving unfinished {} for the next start",
            Q::WHAT
        );
        let leased: Vec<i64> = leased.into_iter().collect();
        if let Err(e) = queue.release(&leased).await {
            tracing::error!(error = %e, "could not release the leases of {} (they expire by themselves)", Q::WHAT);
        }
    }
}
