//! Delivery workers: claim due deliveries (a lease, `SKIP LOCKED`), sign each
//! afresh, POST it, and record the outcome: delivered; retried later with
//! back-off and jitter (network errors, 5xx, 408, 429); or given up (any other
//! 4xx, too many attempts, too old). No transaction is held during a request.
//! Several workers and several processes may share one database.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use activitypub_federation::config::{Data, FederationConfig};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, DATE, HOST, RETRY_AFTER};
use reqwest_middleware::ClientWithMiddleware;
use tokio::sync::watch;
use tokio::task::JoinSet;
use url::Url;

use crate::db::QueryError;
use crate::db::queue_runner::{self, Queue};
use crate::federation::objects::person;
use crate::federation::rfc9421;
use crate::federation::{ACTIVITY_JSON, context};
use crate::models::delivery::{self as queue, Claimed};
use crate::net;
use crate::state::AppState;

/// How long a claimed delivery is reserved for the worker that took it, at
/// least; a crashed worker's deliveries become due again after this.
pub const LEASE_SECS: i64 = 120;

/// The lease for one attempt: long enough for both knocks (two requests,
/// each up to the request timeout), so that another worker never takes a
/// delivery that is still being sent.
fn lease_secs(request_timeout: Duration) -> i64 {
    let attempt = 2 * request_timeout.as_secs() + 30;
    LEASE_SECS.max(i64::try_from(attempt).unwrap_or(i64::MAX))
}
/// How often workers look for due deliveries without being woken.
const POLL: Duration = Duration::from_secs(2);
/// In-flight requests get this long to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// An instance with no success for this long is treated as dead...
const DEAD_AFTER: chrono::Duration = chrono::Duration::days(3);
/// ...and its deliveries are tried at most this often until it contacts us.
const DEAD_RETRY: chrono::Duration = chrono::Duration::hours(6);

/// What happened to one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered(u16),
    /// Worth trying again; `retry_after` from the server, if it said.
    Retry {
        status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Never going to work (a final 4xx, a refused address).
    Final {
        status: Option<u16>,
        error: String,
    },
}

/// Sorts a response status the way Mastodon does.
pub fn classify(status: StatusCode, retry_after: Option<Duration>) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        Outcome::Delivered(code)
    } else if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        Outcome::Retry {
            status: Some(code),
            error: format!("HTTP {status}"),
            retry_after,
        }
    } else {
        Outcome::Final {
            status: Some(code),
            error: format!("HTTP {status}"),
        }
    }
}

/// The pause before attempt `attempts + 1`: one minute doubling to a day, ±20 %.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(1, 20) - 1;
    let base = 60u64.saturating_mul(1u64 << exponent).min(24 * 3600);
    let jitter = rand::rng().random_range(0.8..1.2);
    Duration::from_secs_f64(base as f64 * jitter)
}

/// Runs workers until `shutdown` says stop.
pub struct Workers {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Workers {
    pub fn spawn(config: FederationConfig<AppState>) -> Result<Self, reqwest::Error> {
        let federation = config.to_request_data().settings().federation.clone();
        let client = net::client(
            federation.allow_private_addresses,
            federation.request_timeout,
        )?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(config, client, stop_rx));
        Ok(Workers { stop, task })
    }

    /// Stops claiming, lets in-flight requests finish (within a deadline) and
    /// releases the leases of those that did not.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(
    config: FederationConfig<AppState>,
    client: ClientWithMiddleware,
    stop: watch::Receiver<bool>,
) {
    let queue = Arc::new(DeliveryQueue {
        data: config.to_request_data(),
        client,
    });
    queue_runner::run(queue, stop, POLL, SHUTDOWN_GRACE).await;
}

/// The delivery queue, as the shared worker loop runs it.
struct DeliveryQueue {
    data: Data<AppState>,
    client: ClientWithMiddleware,
}

#[async_trait::async_trait]
impl Queue for DeliveryQueue {
    type Job = Claimed;
    const CHANNEL: &'static str = queue::CHANNEL;
    const WHAT: &'static str = "deliveries";

    fn pool(&self) -> &crate::db::Pool {
        &self.data.pool
    }

    fn workers(&self) -> usize {
        self.data.settings().federation.delivery_workers
    }

    // Claims cost a scan of the queue: refill in batches, not one per finished delivery.
    fn refill_at(&self) -> usize {
        (self.workers() / 4).max(1)
    }

    fn id(job: &Claimed) -> i64 {
        job.id
    }

    async fn claim(&self, limit: i64) -> Vec<Claimed> {
        claim(&self.data, limit).await
    }

    async fn run(self: Arc<Self>, job: Claimed) {
        process(&self.data.reset_request_count(), &self.client, job).await;
    }

    async fn release(&self, ids: &[i64]) -> Result<(), QueryError> {
        let mut conn = self.data.pool.get().await?;
        queue::release(&mut conn, ids)
            .await
            .map_err(QueryError::from)
    }
}

async fn claim(data: &Data<AppState>, limit: i64) -> Vec<Claimed> {
    let claimed = async {
        let mut conn = data.pool.get().await?;
        let per_instance = data.settings().federation.per_instance_concurrency;
        let lease = lease_secs(data.settings().federation.request_timeout);
        queue::claim(&mut conn, limit, lease, per_instance)
            .await
            .map_err(QueryError::from)
    };
    match claimed.await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "claiming deliveries failed");
            Vec::new()
        }
    }
}

/// Sends everything that is due now, until nothing is; returns how many
/// attempts were made. For tests and `fedblog deliveries run`.
pub async fn drain(config: &FederationConfig<AppState>) -> Result<usize, reqwest::Error> {
    let data = config.to_request_data();
    let federation = &data.settings().federation;
    let client = net::client(
        federation.allow_private_addresses,
        federation.request_timeout,
    )?;
    let mut attempts = 0;
    loop {
        let claimed = claim(&data, 64).await;
        if claimed.is_empty() {
            return Ok(attempts);
        }
        attempts += claimed.len();
        let mut set = JoinSet::new();
        for delivery in claimed {
            let (data, client) = (data.reset_request_count(), client.clone());
            set.spawn(async move { process(&data, &client, delivery).await });
        }
        while set.join_next().await.is_some() {}
    }
}

async fn process(data: &Data<AppState>, client: &ClientWithMiddleware, delivery: Claimed) {
    let (outcome, learned) = send(data, client, &delivery).await;
    let recorded = record(data, &delivery, &outcome, learned).await;
    if let Err(e) = recorded {
        tracing::error!(error = %e, delivery = delivery.id, "recording a delivery outcome failed; the lease will expire and it is sent again");
    }
}

/// How a request is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// draft-cavage-http-signatures-12 with `Digest`, as Mastodon sends it
    /// (activitypub_federation's signer).
    Cavage,
    /// RFC 9421 HTTP Message Signatures ([`super::rfc9421`]).
    Rfc9421,
}

impl Scheme {
    fn other(self) -> Scheme {
        match self {
            Scheme::Cavage => Scheme::Rfc9421,
            Scheme::Rfc9421 => Scheme::Cavage,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scheme::Cavage => "draft-cavage",
            Scheme::Rfc9421 => "RFC 9421",
        }
    }
}

/// An answer that may mean "not this kind of signature": the other kind is
/// tried at once (the "double knock"). WordPress's plugin knocks again on
/// any 4xx; 404, 410 and 422 say nothing about signatures.
fn refuses_signature(status: u16) -> bool {
    matches!(status, 400 | 401 | 403)
}

/// Signs (afresh, for this attempt) and POSTs one activity: with the scheme
/// its server is known to take (draft-cavage unless it took RFC 9421
/// before), and when that is refused, once more with the other. Returns the
/// outcome and, when the second knock was taken, the scheme to remember.
pub async fn send(
    data: &Data<AppState>,
    client: &ClientWithMiddleware,
    delivery: &Claimed,
) -> (Outcome, Option<Scheme>) {
    let inbox = match Url::parse(&delivery.inbox_url) {
        Ok(url)
            if url.scheme() == "https"
                || (url.scheme() == "http"
                    && data.settings().federation.allow_private_addresses) =>
        {
            url
        }
        _ => {
            let error = format!("not a deliverable inbox URL: {}", delivery.inbox_url);
            return (
                Outcome::Final {
                    status: None,
                    error,
                },
                None,
            );
        }
    };
    let body = match serde_json::to_vec(&context::WithContext::new(&delivery.json)) {
        Ok(body) => Bytes::from(body),
        Err(e) => {
            let error = format!("unserialisable activity: {e}");
            return (
                Outcome::Final {
                    status: None,
                    error,
                },
                None,
            );
        }
    };
    let first = if delivery.rfc9421 {
        Scheme::Rfc9421
    } else {
        Scheme::Cavage
    };
    let outcome = knock(data, client, &inbox, &body, first).await;
    let refused = match &outcome {
        Outcome::Final {
            status: Some(code),
            error,
        } if refuses_signature(*code) => error.clone(),
        _ => return (outcome, None),
    };
    let second = first.other();
    match knock(data, client, &inbox, &body, second).await {
        delivered @ Outcome::Delivered(_) => (delivered, Some(second)),
        Outcome::Final { status, error } => {
            let error = format!(
                "{error} (signed {}); {refused} (signed {})",
                second.name(),
                first.name()
            );
            (Outcome::Final { status, error }, None)
        }
        retry => (retry, None),
    }
}

/// One signed POST of `body` to `inbox`.
async fn knock(
    data: &Data<AppState>,
    client: &ClientWithMiddleware,
    inbox: &Url,
    body: &Bytes,
    scheme: Scheme,
) -> Outcome {
    let Some(host) = inbox.host_str() else {
        return Outcome::Final {
            status: None,
            error: "the inbox URL has no host".into(),
        };
    };
    let host = match inbox.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let request = client
        .post(inbox.as_str())
        .header(CONTENT_TYPE, ACTIVITY_JSON)
        .header(HOST, host)
        .header(DATE, httpdate::fmt_http_date(SystemTime::now()))
        .timeout(data.settings().federation.request_timeout);
    let signed = match scheme {
        Scheme::Cavage => data
            .sign_request(request, body.clone())
            .await
            .map_err(SignError::from),
        Scheme::Rfc9421 => sign_rfc9421(data, request, inbox, body).await,
    };
    let request = match signed {
        Ok(request) => request,
        Err(e) => {
            return Outcome::Retry {
                status: None,
                error: format!("signing failed: {e}"),
                retry_after: None,
            };
        }
    };
    match client.execute(request).await {
        Ok(response) => {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|secs| Duration::from_secs(secs.min(24 * 3600)));
            classify(response.status(), retry_after)
        }
        Err(reqwest_middleware::Error::Middleware(e)) => Outcome::Final {
            status: None,
            error: e.to_string(),
        },
        Err(e) => Outcome::Retry {
            status: None,
            error: describe(&e),
            retry_after: None,
        },
    }
}

/// Adds an RFC 9421 signature (signed on the blocking pool: an RSA
/// signature takes a millisecond or two).
async fn sign_rfc9421(
    data: &Data<AppState>,
    request: reqwest_middleware::RequestBuilder,
    inbox: &Url,
    body: &Bytes,
) -> Result<reqwest::Request, SignError> {
    let keys = data.actor_keys.clone();
    let key_id = person::key_id(&data.settings());
    let (target, bytes) = (inbox.clone(), body.clone());
    let created = Utc::now().timestamp();
    let headers = tokio::task::spawn_blocking(move || {
        rfc9421::sign_post(&target, &bytes, &key_id, keys.signing_key(), created)
    })
    .await??;
    request
        .header("Content-Digest", headers.content_digest)
        .header("Signature-Input", headers.signature_input)
        .header("Signature", headers.signature)
        .body(body.clone())
        .build()
        .map_err(SignError::from)
}

/// Why a delivery could not be signed.
#[derive(Debug, thiserror::Error)]
enum SignError {
    #[error("{0}")]
    Cavage(#[from] activitypub_federation::error::Error),
    #[error("RFC 9421: {0}")]
    Rfc9421(#[from] rsa::Error),
    #[error("the signing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("building the request: {0}")]
    Build(#[from] reqwest::Error),
}

fn describe(e: &reqwest_middleware::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    message
}

async fn record(
    data: &Data<AppState>,
    delivery: &Claimed,
    outcome: &Outcome,
    learned: Option<Scheme>,
) -> Result<(), QueryError> {
    let mut conn = data.pool.get().await?;
    let conn = &mut *conn;
    let domain = queue::instance_of(&delivery.inbox_url);
    let settings = &data.settings().federation;
    if let Some(scheme) = learned {
        queue::instance::remember_rfc9421(conn, &domain, scheme == Scheme::Rfc9421).await?;
        tracing::info!(instance = %domain, signature = scheme.name(), "the server took the other signature scheme; remembered");
    }
    match outcome {
        Outcome::Delivered(status) => {
            queue::mark_delivered(conn, delivery.id, i32::from(*status)).await?;
            data.instance_health.delivered(conn, &domain).await?;
            tracing::info!(activity = %delivery.activity_ap_id, inbox = %delivery.inbox_url, attempt = delivery.attempts, "delivered");
        }
        Outcome::Final { status, error } => {
            queue::mark_given_up(conn, delivery.id, status.map(i32::from), error).await?;
            tracing::warn!(activity = %delivery.activity_ap_id, inbox = %delivery.inbox_url, error = %error, "delivery refused; not retrying");
        }
        Outcome::Retry {
            status,
            error,
            retry_after,
        } => {
            let failing_since = data.instance_health.failed(conn, &domain).await?;
            let too_old = delivery.created_at + settings.give_up_after <= Utc::now();
            if delivery.attempts >= settings.max_attempts || too_old {
                let why = format!("{error} (gave up after {} attempts)", delivery.attempts);
                queue::mark_given_up(conn, delivery.id, status.map(i32::from), &why).await?;
                tracing::warn!(activity = %delivery.activity_ap_id, inbox = %delivery.inbox_url, error = %error, "delivery given up");
                return Ok(());
            }
            let next = next_attempt(delivery.attempts, *retry_after, failing_since);
            queue::mark_retry(conn, delivery.id, status.map(i32::from), error, next).await?;
            tracing::info!(activity = %delivery.activity_ap_id, inbox = %delivery.inbox_url, attempt = delivery.attempts, error = %error, next = %next, "delivery failed; will retry");
        }
    }
    Ok(())
}

fn next_attempt(
    attempts: i32,
    retry_after: Option<Duration>,
    failing_since: DateTime<Utc>,
) -> DateTime<Utc> {
    let now = Utc::now();
    let pause = backoff(attempts).max(retry_after.unwrap_or_default());
    let mut next = now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::hours(24));
    if failing_since + DEAD_AFTER < now {
        next = next.max(now + DEAD_RETRY);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_sorted_like_mastodon_does() {
        assert_eq!(
            classify(StatusCode::ACCEPTED, None),
            Outcome::Delivered(202)
        );
        for retry in [
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            assert!(
                matches!(classify(retry, None), Outcome::Retry { .. }),
                "{retry}"
            );
        }
        for last in [
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
            StatusCode::GONE,
        ] {
            assert!(
                matches!(classify(last, None), Outcome::Final { .. }),
                "{last}"
            );
        }
    }

    #[test]
    fn backoff_doubles_from_a_minute_to_a_day_with_jitter() {
        for (attempts, base) in [
            (1, 60.0),
            (2, 120.0),
            (5, 960.0),
            (12, 86400.0),
            (40, 86400.0),
        ] {
            let secs = backoff(attempts).as_secs_f64();
            assert!(
                secs >= base * 0.8 && secs <= base * 1.2,
                "attempt {attempts}: {secs}"
            );
        }
    }

    #[test]
    fn a_dead_instance_is_retried_rarely() {
        let now = Utc::now();
        let alive = next_attempt(1, None, now);
        assert!(alive < now + chrono::Duration::minutes(2));
        let dead = next_attempt(1, None, now - chrono::Duration::days(4));
        assert!(dead >= now + chrono::Duration::hours(6) - chrono::Duration::seconds(1));
        let told = next_attempt(1, Some(Duration::from_secs(3600)), now);
        assert!(told >= now + chrono::Duration::minutes(59));
    }

    #[test]
    fn the_lease_outlasts_both_knocks() {
        assert_eq!(lease_secs(Duration::from_secs(10)), LEASE_SECS);
        assert_eq!(lease_secs(Duration::from_secs(120)), 270);
    }
}
