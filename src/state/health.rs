//! Whether the servers we talk to are alive, as the `instances` table keeps
//! it (a server failing for days gets its deliveries spaced out). A signed
//! request or a delivery proves a server alive; recording that on every one
//! would write the same row hundreds of times a second in a burst, so each
//! process records it at most once per [`RECORD_EVERY`] and server, unless a
//! failure was recorded meanwhile.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::models::delivery::instance;

/// The precision of `last_contact_at` and `last_success_at`.
pub const RECORD_EVERY: Duration = Duration::from_secs(60);
/// Servers remembered at most (the memo is emptied past it).
const MEMO_LIMIT: usize = 10_000;

/// How long a server that refused an unsigned fetch is fetched from signed.
pub const SIGNED_FETCH_MEMORY: Duration = Duration::from_secs(24 * 3600);

#[derive(Default)]
pub struct InstanceHealth {
    contacted: Memo,
    delivered: Memo,
    /// Servers that refused an unsigned fetch of an actor, and when.
    wants_signed_fetch: Memo,
}

impl InstanceHealth {
    /// `domain` sent us a signed request.
    pub async fn contacted(&self, conn: &mut AsyncPgConnection, domain: &str) -> QueryResult<()> {
        if self.contacted.due(domain) {
            instance::record_alive(conn, domain, false).await?;
            self.contacted.done(domain);
        }
        Ok(())
    }

    /// `domain` took a delivery.
    pub async fn delivered(&self, conn: &mut AsyncPgConnection, domain: &str) -> QueryResult<()> {
        if self.delivered.due(domain) {
            instance::record_alive(conn, domain, true).await?;
            self.delivered.done(domain);
            self.contacted.done(domain);
        }
        Ok(())
    }

    /// `domain` refused an unsigned fetch (Mastodon's secure mode,
    /// GoToSocial): its actors are fetched signed for a day.
    pub fn refused_unsigned_fetch(&self, domain: &str) {
        self.wants_signed_fetch.done(domain);
    }

    /// Whether fetches from `domain` are signed at once.
    pub fn wants_signed_fetch(&self, domain: &str) -> bool {
        self.wants_signed_fetch
            .lock()
            .get(domain)
            .is_some_and(|at| at.elapsed() < SIGNED_FETCH_MEMORY)
    }

    /// A delivery to `domain` failed; returns since when it has been failing.
    /// Its next sign of life is recorded, whenever it comes.
    pub async fn failed(
        &self,
        conn: &mut AsyncPgConnection,
        domain: &str,
    ) -> QueryResult<DateTime<Utc>> {
        self.contacted.forget(domain);
        self.delivered.forget(domain);
        instance::record_failure(conn, domain).await
    }
}

/// When each server was last recorded.
#[derive(Default)]
struct Memo(Mutex<HashMap<String, Instant>>);

impl Memo {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn due(&self, domain: &str) -> bool {
        self.lock()
            .get(domain)
            .is_none_or(|at| at.elapsed() >= RECORD_EVERY)
    }

    fn done(&self, domain: &str) {
        let mut recorded = self.lock();
        if recorded.len() >= MEMO_LIMIT {
            recorded.clear();
        }
        recorded.insert(domain.to_string(), Instant::now());
    }

    fn forget(&self, domain: &str) {
        self.lock().remove(domain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_due_again_after_a_failure_or_a_minute() {
        let memo = Memo::default();
        assert!(memo.due("a.example"));
        memo.done("a.example");
        assert!(!memo.due("a.example"));
        assert!(memo.due("b.example"), "per server");
        memo.forget("a.example");
        assert!(memo.due("a.example"));
        memo.lock()
            .insert("c.example".into(), Instant::now() - RECORD_EVERY);
        assert!(memo.due("c.example"));
    }
}
