//! How much the inbox takes at once: requests being verified (a semaphore;
//! none is ever waited for), and activities waiting in the queue (as the
//! workers last counted them, plus those added since).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How much the inbox takes at once: requests being verified, and activities
/// waiting in the queue (as last counted, plus those added since).
pub struct InboxGate {
    in_flight: Arc<Semaphore>,
    waiting: AtomicI64,
    queue_limit: i64,
}

impl InboxGate {
    pub fn new(concurrency: usize, queue_limit: i64) -> Self {
        InboxGate {
            in_flight: Arc::new(Semaphore::new(concurrency)),
            waiting: AtomicI64::new(0),
            queue_limit,
        }
    }

    pub fn enter(&self) -> Option<OwnedSemaphorePermit> {
        self.in_flight.clone().try_acquire_owned().ok()
    }

    pub fn queue_full(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) >= self.queue_limit
    }

    /// What the workers counted in the queue (all processes).
    pub fn set_waiting(&self, n: i64) {
        self.waiting.store(n, Ordering::Relaxed);
    }

    pub fn added(&self) {
        self.waiting.fetch_add(1, Ordering::Relaxed);
    }
}
