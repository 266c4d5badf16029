//! `[federation]`: how hard the blog works for the fediverse: delivery
//! workers, retries, timeouts and the inbox's limits.

use serde::Deserialize;

use super::values::Bounded;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    allow_private_addresses: bool,
    delivery_workers: Bounded<1, 256>,
    max_attempts: Bounded<1, 100>,
    give_up_after_hours: Bounded<1, 2160>,
    request_timeout_secs: Bounded<1, 120>,
    per_instance_concurrency: Bounded<1, 64>,
    show_followers: bool,
    inbox_workers: Bounded<1, 256>,
    inbox_concurrency: Bounded<1, 4096>,
    inbox_queue_limit: Bounded<1, 10_000_000>,
}

#[derive(Debug, Clone)]
pub struct FederationSettings {
    /// Tests only: lets fedblog connect to loopback and private addresses
    /// (and use http and ports in ActivityPub ids).
    pub allow_private_addresses: bool,
    /// Deliveries in flight at once.
    pub delivery_workers: usize,
    /// Attempts before a delivery is given up.
    pub max_attempts: i32,
    /// Age after which a failing delivery is given up.
    pub give_up_after: chrono::Duration,
    /// Total time for one outgoing request (fetch or delivery).
    pub request_timeout: std::time::Duration,
    /// Deliveries in flight to one server at once.
    pub per_instance_concurrency: i64,
    /// Whether the followers collection lists its members (else only counts them).
    pub show_followers: bool,
    /// Queued inbound activities processed at once.
    pub inbox_workers: usize,
    /// Inbox requests being verified at once; more are answered 503.
    pub inbox_concurrency: usize,
    /// Activities waiting in the inbox queue beyond which requests are answered 503.
    pub inbox_queue_limit: i64,
}

impl From<Section> for FederationSettings {
    fn from(f: Section) -> Self {
        FederationSettings {
            allow_private_addresses: f.allow_private_addresses,
            delivery_workers: f.delivery_workers.count(),
            max_attempts: i32::try_from(f.max_attempts.0).unwrap_or(i32::MAX),
            give_up_after: chrono::Duration::hours(f.give_up_after_hours.0),
            request_timeout: std::time::Duration::from_secs(f.request_timeout_secs.count() as u64),
            per_instance_concurrency: f.per_instance_concurrency.0,
            show_followers: f.show_followers,
            inbox_workers: f.inbox_workers.count(),
            inbox_concurrency: f.inbox_concurrency.count(),
            inbox_queue_limit: f.inbox_queue_limit.0,
        }
    }
}
