//! The delivery queue against loopback inboxes that fail in the ways real
//! servers do: retries with back-off, final refusals, per-inbox order,
//! shared-inbox fan-out, concurrent workers, crashed workers; and the
//! outgoing address guard.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::Utc;
use fedblog::models::delivery::{self as queue, DeliveryFilter, DeliveryStatus};
use fedblog::models::follower;
use serde_json::Value;

use crate::common::TestApp;

/// One request an inbox received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    activity_id: String,
    kind: String,
    signed: bool,
}

#[derive(Default)]
struct SinkState {
    /// Requests to leave unanswered for a few seconds (past the client's timeout).
    hang: usize,
    /// Statuses to answer with, in order; then 202.
    script: VecDeque<(u16, Option<&'static str>)>,
    log: Vec<Received>,
}

/// A loopback server whose inboxes answer as scripted.
#[derive(Clone)]
struct Sink {
    addr: SocketAddr,
    state: Arc<Mutex<SinkState>>,
}

async fn inbox(
    State(state): State<Arc<Mutex<SinkState>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let hang = {
        let mut state = state.lock().expect("sink state");
        let hang = state.hang > 0;
        state.hang = state.hang.saturating_sub(1);
        hang
    };
    if hang {
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    }
    let mut state = state.lock().expect("sink state");
    state.log.push(Received {
        path: uri.path().to_string(),
        activity_id: activity["id"].as_str().unwrap_or_default().to_string(),
        kind: activity["type"].as_str().unwrap_or_default().to_string(),
        signed: headers.contains_key("signature")
            && headers.contains_key("digest")
            && headers.contains_key("date"),
    });
    let (status, retry_after) = state.script.pop_front().unwrap_or((202, None));
    let mut response = StatusCode::from_u16(status)
        .unwrap_or(StatusCode::ACCEPTED)
        .into_response();
    if let Some(value) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", value.parse().expect("header"));
    }
    response
}

impl Sink {
    async fn start() -> Sink {
        let state = Arc::new(Mutex::new(SinkState::default()));
        let router = Router::new()
            .route("/inbox", post(inbox))
            .route("/users/{name}/inbox", post(inbox))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Sink { addr, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.addr.port())
    }

    fn script(&self, statuses: &[(u16, Option<&'static str>)]) {
        self.state
            .lock()
            .expect("state")
            .script
            .extend(statuses.iter().copied());
    }

    fn log(&self) -> Vec<Received> {
        self.state.lock().expect("state").log.clone()
    }

    /// A follower on this server: personal inbox, and the shared one if `shared`.
    async fn follower(&self, app: &TestApp, name: &str, shared: bool) {
        let mut conn = app.pool.get().await.expect("conn");
        let actor = self.url(&format!("/users/{name}"));
        let shared_inbox = shared.then(|| self.url("/inbox"));
        follower::upsert(
            &mut conn,
            &actor,
            &format!("{actor}/inbox"),
            shared_inbox.as_deref(),
            &format!("{actor}#follow"),
        )
        .await
        .expect("follower");
    }
}

async fn deliveries(app: &TestApp) -> Vec<DeliveryStatus> {
    let mut conn = app.pool.get().await.expect("conn");
    let mut rows = queue::list(&mut conn, DeliveryFilter::All, 1000, 0)
        .await
        .expect("list");
    rows.reverse(); // oldest first
    rows
}

/// Makes every pending delivery due now, without resetting its attempts
/// (as time passing would).
async fn make_due_keeping_attempts(app: &TestApp) {
    use diesel_async::RunQueryDsl;
    let mut conn = app.pool.get().await.expect("conn");
    diesel::sql_query("UPDATE deliveries SET next_attempt_at = now()")
        .execute(&mut conn)
        .await
        .expect("due");
}

async fn retry_now(app: &TestApp) {
    let mut conn = app.pool.get().await.expect("conn");
    queue::retry_now(&mut conn, None).await.expect("retry");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_inbox_is_retried_with_backoff_and_delivered_when_it_recovers() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    sink.follower(&app, "ann", true).await;
    sink.script(&[(500, None), (503, None)]);
    app.publish_simple("Eventually", &[]).await;

    assert_eq!(app.deliver().await, 1);
    let row = &deliveries(&app).await[0];
    assert_eq!(
        (row.state.as_str(), row.attempts, row.last_status),
        ("failing", 1, Some(500))
    );
    let wait = (row.next_attempt_at - Utc::now()).num_seconds();
    assert!(
        (40..=80).contains(&wait),
        "first retry about a minute later, was {wait}s"
    );
    assert_eq!(app.deliver().await, 0, "nothing is due before then");

    retry_now(&app).await;
    assert_eq!(app.deliver().await, 1);
    let row = &deliveries(&app).await[0];
    assert_eq!(
        (row.state.as_str(), row.last_status),
        ("failing", Some(503))
    );
    let wait = (row.next_attempt_at - Utc::now()).num_seconds();
    assert!(
        (40..=80).contains(&wait),
        "attempt counter was reset by retry-now: {wait}s"
    );

    retry_now(&app).await;
    assert_eq!(app.deliver().await, 1);
    let row = &deliveries(&app).await[0];
    assert_eq!(
        (
            row.state.as_str(),
            row.last_status,
            row.last_error.as_deref()
        ),
        ("delivered", Some(202), None)
    );
    let log = sink.log();
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|r| r.signed && r.kind == "Create" && r.activity_id == log[0].activity_id)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inbox_that_does_not_answer_in_time_is_retried() {
    let app = TestApp::spawn_with("[federation]\nrequest_timeout_secs = 1").await;
    let sink = Sink::start().await;
    sink.follower(&app, "hal", true).await;
    sink.state.lock().expect("state").hang = 1;
    app.publish_simple("Patience", &[]).await;
    let started = std::time::Instant::now();
    assert_eq!(app.deliver().await, 1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the timeout cut the request short"
    );
    let row = &deliveries(&app).await[0];
    assert_eq!(row.state.as_str(), "failing");
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("timed out") || e.contains("timeout")),
        "{row:?}"
    );
    retry_now(&app).await;
    assert_eq!(app.deliver().await, 1);
    assert_eq!(deliveries(&app).await[0].state.as_str(), "delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn backoff_grows_and_retry_after_is_honoured() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    sink.follower(&app, "bob", false).await;
    sink.script(&[(500, None), (429, Some("3600"))]);
    app.publish_simple("Slow down", &[]).await;
    app.deliver().await;
    // Second attempt without resetting the counter: two minutes, or what 429 asks.
    make_due_keeping_attempts(&app).await;
    app.deliver().await;
    let row = &deliveries(&app).await[0];
    assert_eq!((row.attempts, row.last_status), (2, Some(429)));
    let wait = (row.next_attempt_at - Utc::now()).num_seconds();
    assert!(
        wait >= 3500,
        "Retry-After: 3600 was honoured, waits {wait}s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gone_inbox_is_final_and_an_unreachable_one_is_retried() {
    let app = TestApp::spawn().await;
    let gone = Sink::start().await;
    gone.follower(&app, "cat", false).await;
    gone.script(&[(410, None)]);
    // A port nobody listens on: connection refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    {
        let mut conn = app.pool.get().await.expect("conn");
        let actor = format!("http://localhost:{closed}/users/dan");
        follower::upsert(&mut conn, &actor, &format!("{actor}/inbox"), None, "x")
            .await
            .expect("follower");
    }
    app.publish_simple("Hello?", &[]).await;
    assert_eq!(app.deliver().await, 2);
    let rows = deliveries(&app).await;
    let by_inbox = |port: u16| {
        rows.iter()
            .find(|r| r.inbox.contains(&format!(":{port}/")))
            .expect("row")
    };
    let to_gone = by_inbox(gone.addr.port());
    assert_eq!(
        (to_gone.state.as_str(), to_gone.last_status),
        ("given-up", Some(410))
    );
    let to_closed = by_inbox(closed);
    assert_eq!(to_closed.state.as_str(), "failing");
    assert!(
        to_closed
            .last_error
            .as_deref()
            .is_some_and(|e| !e.is_empty()),
        "{to_closed:?}"
    );
    assert_eq!(app.deliver().await, 0, "neither is due now");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_delivery_per_shared_inbox() {
    let app = TestApp::spawn().await;
    let big = Sink::start().await;
    let small = Sink::start().await;
    for name in ["a", "b", "c"] {
        big.follower(&app, name, true).await;
    }
    small.follower(&app, "solo", false).await;
    small.follower(&app, "duo", false).await;
    app.publish_simple("Fan-out", &[]).await;
    assert_eq!(app.deliver().await, 3);
    let paths: Vec<String> = big.log().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/inbox"],
        "three followers on one server: one request to its shared inbox"
    );
    let mut personal: Vec<String> = small.log().into_iter().map(|r| r.path).collect();
    personal.sort();
    assert_eq!(personal, ["/users/duo/inbox", "/users/solo/inbox"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inbox_gets_activities_in_order_even_when_one_fails() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    sink.follower(&app, "eve", true).await;
    sink.script(&[(500, None)]);
    let post = app.publish_simple("Ordered", &[]).await;
    let slug = post["slug"].as_str().expect("slug");
    app.api(reqwest::Method::PATCH, &format!("/posts/{slug}"))
        .json(&serde_json::json!({"body": "Changed."}))
        .send()
        .await
        .expect("edit");
    assert_eq!(
        app.deliver().await,
        1,
        "only the Create is tried; the Update waits behind it"
    );
    retry_now(&app).await;
    app.deliver().await;
    let kinds: Vec<String> = sink.log().into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["Create", "Create", "Update"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_workers_never_send_one_delivery_twice() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    for i in 0..60 {
        sink.follower(&app, &format!("u{i}"), false).await;
    }
    app.publish_simple("Many inboxes", &[]).await;
    app.inbox_idle().await;
    // Three workers, each its own task (as the server runs them).
    let drain = || {
        let federation = app.federation.clone();
        tokio::spawn(async move {
            fedblog::delivery::worker::drain(&federation)
                .await
                .expect("drain")
        })
    };
    let (a, b, c) = tokio::join!(drain(), drain(), drain());
    let (a, b, c) = (a.expect("task"), b.expect("task"), c.expect("task"));
    assert_eq!(
        a + b + c,
        60,
        "every delivery claimed once: {a} + {b} + {c}"
    );
    let mut paths: Vec<String> = sink.log().into_iter().map(|r| r.path).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 60);
    assert_eq!(sink.log().len(), 60, "no inbox got the post twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_server_gets_a_bounded_number_of_deliveries_at_once() {
    let app = TestApp::spawn().await;
    let busy = Sink::start().await;
    let other = Sink::start().await;
    for i in 0..10 {
        busy.follower(&app, &format!("p{i}"), false).await;
    }
    other.follower(&app, "q", false).await;
    app.publish_simple("Fan-out to one server", &[]).await;
    let mut conn = app.pool.get().await.expect("conn");
    let first = queue::claim(&mut conn, 100, 120, 3).await.expect("claim");
    let on = |rows: &[queue::Claimed], sink: &Sink| {
        rows.iter()
            .filter(|r| r.inbox_url.contains(&format!(":{}/", sink.addr.port())))
            .count()
    };
    assert_eq!(
        (on(&first, &busy), on(&first, &other)),
        (3, 1),
        "three to the busy server, one to the other"
    );
    let second = queue::claim(&mut conn, 100, 120, 3).await.expect("claim");
    assert!(
        second.is_empty(),
        "the busy server's three are still in flight"
    );
    let to_busy = first
        .iter()
        .find(|r| on(std::slice::from_ref(r), &busy) == 1)
        .expect("a busy row");
    queue::mark_delivered(&mut conn, to_busy.id, 202)
        .await
        .expect("done");
    let third = queue::claim(&mut conn, 100, 120, 3).await.expect("claim");
    assert_eq!(on(&third, &busy), 1, "one finished, so one more may start");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_claimed_by_a_crashed_worker_is_sent_after_its_lease() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    sink.follower(&app, "fay", true).await;
    app.publish_simple("Survives", &[]).await;
    {
        // A worker claims the delivery and dies before sending it.
        let mut conn = app.pool.get().await.expect("conn");
        let claimed = queue::claim(&mut conn, 10, 120, 4).await.expect("claim");
        assert_eq!(claimed.len(), 1);
    }
    assert_eq!(app.deliver().await, 0, "leased: nobody else takes it");
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.pool.get().await.expect("conn");
        diesel::sql_query("UPDATE deliveries SET locked_until = now() - interval '1 second'")
            .execute(&mut conn)
            .await
            .expect("expire the lease");
    }
    assert_eq!(app.deliver().await, 1);
    assert_eq!(sink.log().len(), 1);
    assert_eq!(deliveries(&app).await[0].state.as_str(), "delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_address_guard_refuses_loopback_in_every_spelling() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let guarded = fedblog::net::client(false, std::time::Duration::from_secs(5)).expect("client");
    for host in [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
        "localhost",
        "LOCALHOST.",
    ] {
        let url = format!("http://{host}:{port}/users/x");
        let result = guarded.get(&url).send().await;
        assert!(result.is_err(), "{url} must be refused");
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "no connection was made"
    );
    // The same request with the test switch on does connect: the test can fail.
    let open = fedblog::net::client(true, std::time::Duration::from_secs(5)).expect("client");
    let _ = open.get(format!("http://127.0.0.1:{port}/")).send().await;
    assert!(connections.load(Ordering::SeqCst) >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_author_sees_failing_deliveries_and_can_retry_them() {
    let app = TestApp::spawn().await;
    let sink = Sink::start().await;
    sink.follower(&app, "gus", true).await;
    sink.script(&[(502, None)]);
    app.publish_simple("Watch me", &[]).await;
    app.deliver().await;

    let response = app
        .client
        .get(app.url("/api/v1/deliveries"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let listed: Value = app.api_get("/deliveries?state=failing").await;
    assert_eq!(listed["total"], 1);
    let row = &listed["deliveries"][0];
    assert_eq!(row["state"], "failing");
    assert_eq!(row["last_status"], 502);
    assert_eq!(row["kind"], "Create");
    assert_eq!(row["inbox"], sink.url("/inbox"));
    let bad = app
        .api(reqwest::Method::GET, "/deliveries?state=weird")
        .send()
        .await
        .expect("GET");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let (code, out, err) = crate::common::run(app.cli().args(["deliveries"]), None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("failing") && out.contains("HTTP 502") && out.contains(&sink.url("/inbox")),
        "{out}"
    );

    let (code, out, err) = crate::common::run(app.cli().args(["deliveries", "retry"]), None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 deliveries"), "{out}");
    assert_eq!(app.deliver().await, 1);
    let listed: Value = app.api_get("/deliveries?state=delivered").await;
    assert_eq!(listed["total"], 1);
    let retried: Value = app
        .api(reqwest::Method::POST, "/deliveries/retry")
        .json(&serde_json::json!({"id": 999999}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    assert!(retried["error"].is_string(), "{retried}");

    let (code, out, _) = crate::common::run(app.cli().args(["followers"]), None);
    assert_eq!(code, 0);
    assert!(
        out.contains(&sink.url("/users/gus")) && out.contains("1 followers"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_worker_pools_on_one_queue_send_each_delivery_once() {
    let app =
        TestApp::spawn_with("[federation]\ndelivery_workers = 16\nper_instance_concurrency = 4")
            .await;
    let mut sinks = Vec::new();
    for _ in 0..20 {
        let sink = Sink::start().await;
        for i in 0..10 {
            sink.follower(&app, &format!("r{i}"), false).await;
        }
        sinks.push(sink);
    }
    app.publish_simple("Two servers, one queue", &[]).await;
    // As two fedblog processes on one database would.
    let first = fedblog::delivery::worker::Workers::spawn(app.federation.clone()).expect("workers");
    let second =
        fedblog::delivery::worker::Workers::spawn(app.federation.clone()).expect("workers");
    let mut unfinished = i64::MAX;
    for _ in 0..600 {
        let mut conn = app.pool.get().await.expect("conn");
        unfinished = queue::count(&mut conn, DeliveryFilter::Unfinished)
            .await
            .expect("count");
        if unfinished == 0 {
            break;
        }
        drop(conn);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    first.shutdown().await;
    second.shutdown().await;
    assert_eq!(unfinished, 0, "everything delivered");
    for sink in &sinks {
        let mut paths: Vec<String> = sink.log().into_iter().map(|r| r.path).collect();
        let sent = paths.len();
        paths.sort();
        paths.dedup();
        assert_eq!(
            (sent, paths.len()),
            (10, 10),
            "each of the server's 10 inboxes got the post exactly once"
        );
    }
    let rows = deliveries(&app).await;
    assert!(
        rows.iter()
            .all(|r| r.attempts == 1 && r.state.as_str() == "delivered"),
        "no delivery was claimed twice"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_is_given_up_after_the_configured_attempts() {
    let app = TestApp::spawn_with("[federation]\nmax_attempts = 2").await;
    let sink = Sink::start().await;
    sink.follower(&app, "ivy", true).await;
    sink.script(&[(500, None), (500, None), (500, None)]);
    app.publish_simple("Never arrives", &[]).await;
    app.deliver().await;
    make_due_keeping_attempts(&app).await;
    app.deliver().await;
    let row = &deliveries(&app).await[0];
    assert_eq!((row.state.as_str(), row.attempts), ("given-up", 2));
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("gave up after 2 attempts")),
        "{row:?}"
    );
    assert_eq!(app.deliver().await, 0);
    assert_eq!(sink.log().len(), 2);
}
