//! The inbox under a fediverse burst: `cargo bench --bench inbox`
//! (`FEDBLOG_BENCH_QUICK=1` for a short run).
//!
//! A fleet of remote servers on loopback (100 by default, each with its own
//! actors and RSA key) signs requests exactly as Mastodon does and sends them
//! to the blog's shared inbox, a fixed number in flight:
//!
//! - Follows from actors the blog has never seen (each actor is fetched), at
//!   32 and at 64 in flight: accepted/s, latency, errors, and the time until
//!   every Accept has reached its follower's server and verified there
//!   against the blog's public key;
//! - signed replies (Create(Note)) to a post, at 32 and 256 in flight: 202/s,
//!   latency, errors, and the time until all of them are stored as comments
//!   and the last one is on the post page.
//!
//! Requests are signed before the clock starts, so the load generator's RSA
//! work does not compete with the server. The server, its workers and the
//! fleet share this process and its 2 cores; CPU is read per thread group
//! from /proc (the blog's, and the fleet's: remote servers and load
//! generator), PostgreSQL's from its processes.

mod common;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use fedblog::posts;
use futures_util::StreamExt;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use common::{
    Scratch, ServedBlog, client_builder, clock_ticks, post_input, postgres_cpu, reset_peak_rss,
    serve_blog, status_kb, thread_cpu,
};

const SERVER_THREAD: &str = "bench-fedblog";
const CLIENT_THREAD: &str = "bench-client";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
/// How long the blog may take to finish processing a phase.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

struct Options {
    servers: usize,
    follows: usize,
    replies: usize,
}

impl Options {
    fn from_env() -> anyhow::Result<Self> {
        let quick = std::env::var("FEDBLOG_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let number = |name: &str, default: usize| -> anyhow::Result<usize> {
            match std::env::var(name) {
                Ok(v) => v.trim().parse().with_context(|| format!("{name}={v:?}")),
                Err(_) => Ok(default),
            }
        };
        let options = Options {
            servers: number("FEDBLOG_BENCH_SERVERS", if quick { 20 } else { 100 })?,
            follows: number("FEDBLOG_BENCH_FOLLOWS", if quick { 200 } else { 1_000 })?,
            replies: number("FEDBLOG_BENCH_REPLIES", if quick { 500 } else { 5_000 })?,
        };
        if options.servers == 0 || options.follows == 0 || options.replies == 0 {
            bail!("FEDBLOG_BENCH_SERVERS, _FOLLOWS and _REPLIES must be at least 1");
        }
        Ok(options)
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::from_env()?;
    let scratch = Scratch::start()?;
    // Blocking-pool threads (signing) are kept, so that their CPU time stays
    // countable in /proc until the end.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name(SERVER_THREAD)
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()?;
    let result = run(&options, &scratch, &server_rt, &client_rt);
    client_rt.shutdown_timeout(Duration::from_secs(5));
    server_rt.shutdown_timeout(Duration::from_secs(5));
    scratch.finish();
    result
}

/// One measured phase.
struct Row {
    what: String,
    count: usize,
    in_flight: usize,
    /// Latencies of the 2xx answers, ms, sorted.
    latencies: Vec<f64>,
    /// Statuses other than 202, by status.
    errors: HashMap<u16, usize>,
    /// Until the last answer.
    answered_s: f64,
    /// Until the effect was seen (Accepts verified, comments stored).
    settled_s: f64,
    server_cpu_s: f64,
    pg_cpu_s: f64,
    /// The remote servers and the load generator (the bench's other threads).
    fleet_cpu_s: f64,
    peak_rss_mib: f64,
}

fn run(
    options: &Options,
    scratch: &Scratch,
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    let cluster = &scratch.cluster.0;
    let db_url = cluster.url("bench_inbox");
    let blog = server_rt.block_on(serve_blog(
        &cluster.url("postgres"),
        "bench_inbox",
        &db_url,
        &scratch.blog_dir,
        "",
    ))?;
    let delivery = server_rt
        .block_on(async { fedblog::delivery::worker::Workers::spawn(blog.federation.clone()) })?;
    let post_url = server_rt.block_on(async {
        let mut conn = AsyncPgConnection::establish(&db_url).await?;
        let post = posts::create(&mut conn, &blog.settings, post_input("Popular", &[])).await?;
        anyhow::Ok(post.post.ap_id.unwrap_or_default())
    })?;
    let postmaster = cluster.running_pid().context("the cluster's postmaster")?;
    let hz = clock_ticks();
    println!(
        "blog on localhost:{}; pool of {} connections, {} inbox workers, {} delivery workers",
        blog.port,
        blog.settings.pool_size,
        blog.settings.federation.inbox_workers,
        blog.settings.federation.delivery_workers
    );

    let client = client_builder()
        .pool_max_idle_per_host(256)
        .build()
        .context("client")?;
    let fleet = client_rt.block_on(Fleet::start(options.servers, &client, &blog))?;
    println!(
        "{} remote servers on loopback, {} actors each",
        options.servers,
        fleet.actors_per_server(options)
    );
    // This machine's speed right now: each Follow costs two signatures (the
    // signed fetch of the follower, the Accept), a floor under its CPU time.
    println!(
        "RSA reference: {:.2} ms per RSA-2048 signature on one core",
        common::rsa_sign_ms()?
    );
    let reset = reset_peak_rss();
    let mut rows = Vec::new();
    let mut next_actor = 0;
    for in_flight in [32, 64] {
        let actors: Vec<usize> = (next_actor..next_actor + options.follows).collect();
        next_actor += options.follows;
        let requests: Vec<Prepared> = actors
            .iter()
            .map(|&a| fleet.sign(&blog, a, &fleet.follow(&blog, a)))
            .collect();
        let before = fleet.accepts.load(Ordering::SeqCst);
        let expected = before + requests.len();
        let row = measure(
            &format!("Follow from unknown actors, {in_flight} in flight"),
            in_flight,
            requests,
            (server_rt, client_rt, &client, postmaster, hz, reset),
            || {
                let accepts = fleet.accepts.clone();
                async move { accepts.load(Ordering::SeqCst) >= expected }
            },
        )?;
        rows.push(row);
    }
    let mut reply_number = 0;
    let actors = next_actor;
    for in_flight in [32, 256] {
        let requests: Vec<Prepared> = (0..options.replies)
            .map(|i| {
                reply_number += 1;
                let actor = i % actors;
                fleet.sign(&blog, actor, &fleet.reply(actor, reply_number, &post_url))
            })
            .collect();
        let expected = reply_number as i64;
        let last_marker = format!("reply-{reply_number}-");
        let pool = blog.pool.clone();
        let page = format!("http://localhost:{}/posts/popular", blog.port);
        let row = measure(
            &format!("Create(Note) replies, {in_flight} in flight"),
            in_flight,
            requests,
            (server_rt, client_rt, &client, postmaster, hz, reset),
            || {
                let pool = pool.clone();
                async move { comments(&pool).await >= expected }
            },
        )?;
        rows.push(row);
        // Once, after the measurement (a page with thousands of comments is
        // not what this benchmark measures): the last reply is on the page.
        let body = client_rt.block_on(async { client.get(&page).send().await?.text().await })?;
        if !body.contains(&last_marker) {
            bail!("the last reply ({last_marker}) is not on the post page");
        }
    }
    server_rt.block_on(delivery.shutdown());
    print_report(&rows, reset);
    let bad = fleet.bad_signatures.load(Ordering::SeqCst);
    if bad > 0 {
        bail!("{bad} Accepts did not verify at their receiver");
    }
    Ok(())
}

type Ctx<'a> = (
    &'a tokio::runtime::Runtime,
    &'a tokio::runtime::Runtime,
    &'a reqwest::Client,
    i32,
    f64,
    bool,
);

/// Sends `requests`, `in_flight` at a time, then waits until `settled`.
fn measure<F, Fut>(
    what: &str,
    in_flight: usize,
    requests: Vec<Prepared>,
    (server_rt, client_rt, client, postmaster, hz, reset): Ctx<'_>,
    settled: F,
) -> anyhow::Result<Row>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let _ = server_rt;
    let count = requests.len();
    if reset {
        reset_peak_rss();
    }
    let (cpu0, pg0) = (thread_cpu(SERVER_THREAD, hz), postgres_cpu(postmaster, hz));
    let fleet0 = thread_cpu(CLIENT_THREAD, hz);
    let started = Instant::now();
    let answers: Vec<(u16, f64)> = client_rt.block_on(
        futures_util::stream::iter(requests)
            .map(|r| r.send(client))
            .buffer_unordered(in_flight)
            .collect(),
    );
    let answered_s = started.elapsed().as_secs_f64();
    let settled_s = client_rt.block_on(async {
        while !settled().await {
            if started.elapsed() > SETTLE_TIMEOUT {
                bail!("{what}: not settled after {SETTLE_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::Ok(started.elapsed().as_secs_f64())
    })?;
    let (cpu1, pg1) = (thread_cpu(SERVER_THREAD, hz), postgres_cpu(postmaster, hz));
    let fleet1 = thread_cpu(CLIENT_THREAD, hz);
    let mut latencies = Vec::new();
    let mut errors = HashMap::new();
    for (status, ms) in answers {
        if status == 202 {
            latencies.push(ms);
        } else {
            *errors.entry(status).or_default() += 1;
        }
    }
    latencies.sort_by(f64::total_cmp);
    let row = Row {
        what: what.into(),
        count,
        in_flight,
        latencies,
        errors,
        answered_s,
        settled_s,
        server_cpu_s: cpu1 - cpu0,
        pg_cpu_s: pg1 - pg0,
        fleet_cpu_s: fleet1 - fleet0,
        peak_rss_mib: status_kb("VmHWM:").unwrap_or(0) as f64 / 1024.0,
    };
    println!(
        "{what}: {count} answered in {answered_s:.2} s, settled in {settled_s:.2} s, errors {:?}",
        row.errors
    );
    Ok(row)
}

async fn comments(pool: &fedblog::db::Pool) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let Ok(mut conn) = pool.get().await else {
        return 0;
    };
    diesel::sql_query("SELECT count(*) AS n FROM comments")
        .get_result::<Count>(&mut conn)
        .await
        .map_or(0, |c| c.n)
}

// ---------------------------------------------------------------------------
// The fleet: remote servers on loopback

struct Server {
    base: String,
    key: RsaPrivateKey,
}

struct Fleet {
    servers: Vec<Server>,
    /// Accepts that reached a follower's server with a valid signature.
    accepts: Arc<AtomicUsize>,
    bad_signatures: Arc<AtomicUsize>,
}

impl Fleet {
    async fn start(n: usize, client: &reqwest::Client, blog: &ServedBlog) -> anyhow::Result<Fleet> {
        let actor = client
            .get(format!("http://localhost:{}/users/blog", blog.port))
            .header("Accept", "application/activity+json")
            .send()
            .await?
            .json::<Value>()
            .await?;
        let pem = actor["publicKey"]["publicKeyPem"]
            .as_str()
            .context("the blog's public key")?;
        let blog_key = VerifyingKey::<Sha256>::new(RsaPublicKey::from_public_key_pem(pem)?);
        let accepts = Arc::new(AtomicUsize::new(0));
        let bad_signatures = Arc::new(AtomicUsize::new(0));
        let mut servers = Vec::with_capacity(n);
        for _ in 0..n {
            let pair = tokio::task::spawn_blocking(
                activitypub_federation::http_signatures::generate_actor_keypair,
            )
            .await??;
            let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let base = format!("http://localhost:{}", listener.local_addr()?.port());
            let public_key = pair.public_key.clone();
            let actor_base = base.clone();
            let receive = {
                let (key, accepts, bad) =
                    (blog_key.clone(), accepts.clone(), bad_signatures.clone());
                move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                    let status = if verify(&key, uri.path(), &headers, &body) {
                        if serde_json::from_slice::<Value>(&body)
                            .is_ok_and(|a| a["type"] == "Accept")
                        {
                            accepts.fetch_add(1, Ordering::SeqCst);
                        }
                        StatusCode::ACCEPTED
                    } else {
                        bad.fetch_add(1, Ordering::SeqCst);
                        StatusCode::UNAUTHORIZED
                    };
                    async move { status }
                }
            };
            let router = Router::new()
                .route(
                    "/users/{n}",
                    get(move |axum::extract::Path(n): axum::extract::Path<String>| {
                        let id = format!("{actor_base}/users/{n}");
                        let doc = json!({
                            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                            "id": id,
                            "type": "Person",
                            "preferredUsername": format!("user{n}"),
                            "inbox": format!("{id}/inbox"),
                            "endpoints": {"sharedInbox": format!("{actor_base}/inbox")},
                            "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": public_key},
                        })
                        .to_string();
                        async move { ([("content-type", "application/activity+json")], doc) }
                    }),
                )
                .route("/inbox", post(receive.clone()))
                .route("/users/{n}/inbox", post(receive));
            tokio::spawn(async move { axum::serve(listener, router).await });
            servers.push(Server {
                base,
                key: RsaPrivateKey::from_pkcs8_pem(&pair.private_key)?,
            });
        }
        Ok(Fleet {
            servers,
            accepts,
            bad_signatures,
        })
    }

    fn actors_per_server(&self, options: &Options) -> usize {
        (2 * options.follows).div_ceil(self.servers.len())
    }

    /// Actor `a` lives on server `a % servers`.
    fn actor(&self, a: usize) -> (&Server, String) {
        let server = &self.servers[a % self.servers.len()];
        (
            server,
            format!("{}/users/{}", server.base, a / self.servers.len()),
        )
    }

    fn follow(&self, blog: &ServedBlog, a: usize) -> Value {
        let (_, actor) = self.actor(a);
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/follows/1"),
            "type": "Follow",
            "actor": actor,
            "object": format!("http://localhost:{}/users/blog", blog.port),
        })
    }

    fn reply(&self, a: usize, n: usize, post_url: &str) -> Value {
        let (_, actor) = self.actor(a);
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/statuses/{n}/activity"),
            "type": "Create",
            "actor": actor,
            "to": [PUBLIC],
            "object": {
                "id": format!("{actor}/statuses/{n}"),
                "type": "Note",
                "attributedTo": actor,
                "inReplyTo": post_url,
                "to": [PUBLIC],
                "published": Utc::now().to_rfc3339(),
                "content": format!("<p>reply-{n}- A reply of ordinary length, with <a href=\"https://example.org/\">a link</a> and a few words more to make it realistic.</p>"),
            },
        })
    }

    /// Signs the POST as Mastodon does, ahead of time.
    fn sign(&self, blog: &ServedBlog, a: usize, activity: &Value) -> Prepared {
        let (server, actor) = self.actor(a);
        let host = format!("localhost:{}", blog.port);
        let body = activity.to_string().into_bytes();
        let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(&body)));
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let signing_string =
            format!("(request-target): post /inbox\nhost: {host}\ndate: {date}\ndigest: {digest}");
        let signature = SigningKey::<Sha256>::new(server.key.clone())
            .sign(signing_string.as_bytes())
            .to_bytes();
        Prepared {
            url: format!("http://localhost:{}/inbox", blog.port),
            date,
            digest,
            signature: format!(
                "keyId=\"{actor}#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
                BASE64.encode(signature)
            ),
            body,
        }
    }
}

/// Verifies a draft-cavage signature by the blog (as the receiving server would).
fn verify(key: &VerifyingKey<Sha256>, path: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(signature) = header("signature") else {
        return false;
    };
    let field = |name: &str| {
        signature
            .split(',')
            .find_map(|part| part.trim().strip_prefix(&format!("{name}=\"")))
            .and_then(|v| v.strip_suffix('"'))
    };
    let (Some(signed), Some(value)) = (field("headers"), field("signature")) else {
        return false;
    };
    let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(body)));
    if header("digest") != Some(digest.as_str()) {
        return false;
    }
    let lines: Option<Vec<String>> = signed
        .split_whitespace()
        .map(|name| match name {
            "(request-target)" => Some(format!("(request-target): post {path}")),
            other => header(other).map(|v| format!("{other}: {v}")),
        })
        .collect();
    let (Some(lines), Ok(bytes)) = (lines, BASE64.decode(value)) else {
        return false;
    };
    Signature::try_from(bytes.as_slice())
        .is_ok_and(|s| key.verify(lines.join("\n").as_bytes(), &s).is_ok())
}

/// A signed request, ready to send.
struct Prepared {
    url: String,
    date: String,
    digest: String,
    signature: String,
    body: Vec<u8>,
}

impl Prepared {
    /// Sends it; the status (0 for a network error) and the ms until the answer.
    async fn send(self, client: &reqwest::Client) -> (u16, f64) {
        let started = Instant::now();
        let status = client
            .post(&self.url)
            .header("Content-Type", "application/activity+json")
            .header("Date", &self.date)
            .header("Digest", &self.digest)
            .header("Signature", &self.signature)
            .body(self.body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        (status, started.elapsed().as_secs_f64() * 1000.0)
    }
}

// ---------------------------------------------------------------------------
// The report

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn print_report(rows: &[Row], reset: bool) {
    println!();
    println!(
        "| phase | sent | in flight | 202/s | p50 ms | p99 ms | errors | all answered s | all processed s | processed/s | server CPU ms/activity | PG CPU ms/activity | fleet CPU ms/activity | peak RSS MiB |"
    );
    println!(
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for r in rows {
        let errors = if r.errors.is_empty() {
            "0".to_string()
        } else {
            let mut e: Vec<String> = r.errors.iter().map(|(s, n)| format!("{n}×{s}")).collect();
            e.sort();
            e.join(", ")
        };
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} |",
            r.what,
            r.count,
            r.in_flight,
            r.latencies.len() as f64 / r.answered_s,
            quantile(&r.latencies, 0.5),
            quantile(&r.latencies, 0.99),
            errors,
            r.answered_s,
            r.settled_s,
            r.count as f64 / r.settled_s,
            r.server_cpu_s * 1000.0 / r.count as f64,
            r.pg_cpu_s * 1000.0 / r.count as f64,
            r.fleet_cpu_s * 1000.0 / r.count as f64,
            r.peak_rss_mib,
        );
    }
    println!();
    println!(
        "\"all processed\": for Follows, every Accept delivered and verified by the follower's server; \
         for replies, every reply stored as a comment (the post page, checked after each phase, shows \
         the last one). 0 in errors = a network error. Peak RSS: the whole process (blog, fleet, \
         load generator) during the phase."
    );
    if !reset {
        println!("(peak RSS could not be reset between phases: each includes the phases before)");
    }
}
