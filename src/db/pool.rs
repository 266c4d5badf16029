//! The connection pool, with the rule that keeps it from deadlocking under a
//! burst: **a task never holds a database connection while it does network
//! I/O, and never takes a second connection while it holds one.**
//!
//! Both halves are enforced here rather than by review. [`Pool::get`] refuses
//! at once ([`PoolError::Nested`]) when the calling task already holds a
//! connection, instead of waiting for a slot that the task itself may be
//! keeping busy; and the federation HTTP client asks [`held_by_this_task`]
//! before every request and refuses to send while a connection is held
//! (`net`). Code that fetches therefore must take no connection,
//! and code that holds one cannot fetch: a violation fails on its first run, in
//! tests, rather than as pool exhaustion under load.
//!
//! "Task" is the tokio task, or, for a future that is not one (what
//! `block_on` runs: `main`, the CLI) and blocking code, the thread it runs on.

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use deadpool::managed::{Metrics, Object, RecycleError, RecycleResult};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, PoolableConnection};

type Inner = deadpool::managed::Pool<Manager>;

/// A connection checked out this recently is handed out again without a
/// round trip to test it (as HikariCP's `aliveBypassWindowMs`): under a
/// burst that test was a third of all statements. A connection that died
/// meanwhile fails its first query, and is then dropped as broken.
const VERIFIED_FOR: Duration = Duration::from_secs(5);

/// diesel-async's manager, with the test query skipped for connections in
/// recent use.
struct Manager(AsyncDieselConnectionManager<AsyncPgConnection>);

impl deadpool::managed::Manager for Manager {
    type Type = AsyncPgConnection;
    type Error = diesel_async::pooled_connection::PoolError;

    async fn create(&self) -> Result<AsyncPgConnection, Self::Error> {
        self.0.create().await
    }

    async fn recycle(
        &self,
        conn: &mut AsyncPgConnection,
        metrics: &Metrics,
    ) -> RecycleResult<Self::Error> {
        if metrics.last_used() >= VERIFIED_FOR {
            return self.0.recycle(conn, metrics).await;
        }
        if std::thread::panicking() || conn.is_broken() {
            return Err(RecycleError::Message("Broken connection".into()));
        }
        Ok(())
    }
}

/// Who holds a connection: a tokio task, or a thread outside any task.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Holder {
    Task(tokio::task::Id),
    Thread(std::thread::ThreadId),
}

impl Holder {
    fn current() -> Holder {
        match tokio::task::try_id() {
            Some(id) => Holder::Task(id),
            None => Holder::Thread(std::thread::current().id()),
        }
    }
}

/// The holders of a pooled connection right now (one each).
static HELD: LazyLock<Mutex<HashSet<Holder>>> = LazyLock::new(Default::default);

fn held() -> std::sync::MutexGuard<'static, HashSet<Holder>> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How many times the rule was broken in this process (refused second
/// connections and refused requests); the tests require zero.
static VIOLATIONS: AtomicUsize = AtomicUsize::new(0);

pub fn rule_violations() -> usize {
    VIOLATIONS.load(Ordering::Relaxed)
}

/// Counts and logs a broken rule.
pub fn violation(what: &dyn std::fmt::Display) {
    VIOLATIONS.fetch_add(1, Ordering::Relaxed);
    tracing::error!("{what}");
}

/// Whether the current tokio task holds a pooled connection.
pub fn held_by_this_task() -> bool {
    held().contains(&Holder::current())
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// The task asked for a second connection while holding one: a bug,
    /// refused at once because waiting could deadlock the pool.
    #[error("this task already holds a database connection; it must not take a second one")]
    Nested,
}

/// Work that takes a connection and then queries: either step may fail.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("database pool: {0}")]
    Pool(#[from] PoolError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
}

/// The application's connection pool (cheap to clone).
#[derive(Clone)]
pub struct Pool {
    inner: Inner,
}

impl Pool {
    /// A pool of at most `size` connections, which time out instead of hanging.
    pub fn new(url: &str, size: usize) -> Result<Pool, deadpool::managed::BuildError> {
        let manager = Manager(AsyncDieselConnectionManager::new(url));
        let inner = Inner::builder(manager)
            .max_size(size)
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()?;
        Ok(Pool { inner })
    }

    /// A connection, waiting up to the pool's timeout for a free one.
    pub async fn get(&self) -> Result<Conn, PoolError> {
        let slot = Slot::claim()?;
        let object = self.inner.get().await?;
        Ok(Conn {
            object,
            _slot: slot,
        })
    }

    /// A connection, waiting at most `wait` for one (for requests that would
    /// rather answer "busy" than wait).
    pub async fn get_within(&self, wait: Duration) -> Result<Conn, PoolError> {
        let slot = Slot::claim()?;
        let timeouts = deadpool::managed::Timeouts {
            wait: Some(wait),
            create: Some(wait),
            recycle: Some(wait),
        };
        let object = self.inner.timeout_get(&timeouts).await?;
        Ok(Conn {
            object,
            _slot: slot,
        })
    }

    pub fn close(&self) {
        self.inner.close();
    }
}

/// A pooled connection, counted against its task until dropped.
pub struct Conn {
    object: Object<Manager>,
    _slot: Slot,
}

impl Conn {
    /// Takes the connection out of the pool for good (a LISTEN connection,
    /// which must never be handed to anyone else).
    pub fn detach(self) -> AsyncPgConnection {
        Object::take(self.object)
    }
}

impl Deref for Conn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.object
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.object
    }
}

/// A task's claim on its one connection; reserved before waiting for the
/// pool, so that two concurrent branches of one task cannot both pass the
/// check, and given back when dropped (also when the wait fails).
struct Slot(Holder);

impl Slot {
    fn claim() -> Result<Slot, PoolError> {
        let holder = Holder::current();
        if !held().insert(holder) {
            violation(&PoolError::Nested);
            return Err(PoolError::Nested);
        }
        Ok(Slot(holder))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        held().remove(&self.0);
    }
}

/// Holds this task's connection slot without a connection (tests of the rule
/// that need no database).
#[cfg(test)]
pub(crate) fn hold_slot_for_test() -> impl Drop {
    match Slot::claim() {
        Ok(slot) => slot,
        Err(e) => panic!("the test task already holds a slot: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // No database needed: the rule is checked before the pool is asked.
    fn unreachable_pool() -> Pool {
        Pool::new("postgres://fedblog@127.0.0.1:9/none", 1).expect("a pool is only configured")
    }

    #[tokio::test]
    async fn a_task_holding_a_connection_is_refused_a_second_at_once() {
        let pool = unreachable_pool();
        let slot = hold_slot_for_test();
        assert!(held_by_this_task());
        let before = rule_violations();
        assert!(matches!(pool.get().await, Err(PoolError::Nested)));
        assert!(matches!(
            pool.get_within(Duration::from_secs(1)).await,
            Err(PoolError::Nested)
        ));
        assert!(rule_violations() >= before + 2);
        // Other tasks are not affected by this one's connection.
        let other = tokio::spawn(async { held_by_this_task() });
        assert!(!other.await.expect("task"));
        drop(slot);
        assert!(!held_by_this_task());
    }

    #[tokio::test]
    async fn a_failed_wait_gives_the_slot_back() {
        let pool = unreachable_pool();
        let failed = pool.get_within(Duration::from_millis(200)).await;
        assert!(
            matches!(failed, Err(PoolError::Pool(_))),
            "nothing listens on port 9"
        );
        assert!(!held_by_this_task(), "the slot is released with the error");
        let _slot = hold_slot_for_test();
    }
}
