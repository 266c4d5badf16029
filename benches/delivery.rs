//! Delivery fan-out benchmark: how long, and at what CPU and memory cost, the
//! real delivery workers take to send one new post to every follower's server.
//!
//! ```text
//! cargo bench --bench delivery                          # full sizes
//! FEDBLOG_BENCH_QUICK=1 cargo bench --bench delivery    # sizes / 10, for a smoke run
//! FEDBLOG_BENCH_WORKERS=16,64 ...                       # worker counts to try (default 16,64)
//! FEDBLOG_BENCH_SCENARIOS=A,C ...                       # only these scenarios (default all)
//! FEDBLOG_BENCH_TIMEOUT_SECS=600 ...                    # give up on a run after this long
//! FEDBLOG_BENCH_FOLLOWERS_X=10 ...                      # 10 x the followers, same instances
//! FEDBLOG_BENCH_WORKER_POOLS=2 ...                      # 2 `Workers` sharing the queue, as
//!                                                       # two server processes would
//! ```
//!
//! Everything runs on this machine and on loopback. This process (the
//! parent) starts a private PostgreSQL cluster (the blog's own
//! embedded-cluster code, with `fsync = off`) and M "instances": small axum
//! servers on 127.0.0.1, addressed as `http://localhost:<port>`, that answer
//! every inbox POST with 202 and record it. Each run (one scenario, one worker
//! count) is a child process (this binary again), so that its CPU time, peak
//! RSS and thread count are fedblog's alone, and start from scratch. The child:
//!
//! 1. set-up (not measured): creates and migrates a fresh database, loads the
//!    blog's state (generating its key) and serves the blog's real router on
//!    loopback (so the key is published at the keyId, as receivers fetch it);
//!    inserts the followers with `models::follower::upsert` in batched
//!    transactions, then runs `ANALYZE`;
//! 2. **queue**: times `posts::create`, which publishes a post and, in the
//!    same transaction, queues one delivery per distinct inbox (a shared inbox
//!    counts once);
//! 3. **deliver**: starts the real workers (`Workers::spawn`) and runs the
//!    clock until the count of unfinished deliveries (polled every 10 ms on a
//!    connection of its own) is 0. Over that window it takes, from /proc (no
//!    `unsafe`: no getrusage, no sysconf):
//!    - its CPU time (user + sys, /proc/self/stat) minus its main thread's,
//!      which only runs the polling loop: that is the workers, the signing
//!      and the HTTP client;
//!    - PostgreSQL's CPU time (the postmaster with the children it reaped,
//!      and its live children);
//!    - its peak RSS (VmHWM, reset just before queueing through
//!      /proc/self/clear_refs) and its most threads;
//! 4. reports to the parent, which measures the sinks' CPU (their threads
//!    are named) and checks: every delivery delivered, none given up; each
//!    inbox received exactly one POST, of the right activity; every POST had
//!    one Date, one Digest (matching the body) and one Signature; every
//!    signature verifies against the key the blog publishes.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, anyhow, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use fedblog::config::Settings;
use fedblog::db::Pool;
use fedblog::db::embedded::EmbeddedPostgres;
use fedblog::delivery::worker::Workers;
use fedblog::models::delivery::{self as queue, DeliveryFilter};
use fedblog::models::follower;
use fedblog::posts;
use futures_util::{StreamExt, TryStreamExt};
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

use common::{
    PG_SETTINGS, Scratch, ServedBlog, UTIME_STIME, client_builder, clock_ticks, post_input,
    postgres_cpu, reset_peak_rss, serve_blog, stat, status_kb, thread_cpu, ticks,
};

/// Thread names, so that /proc/self/task tells the sinks' CPU apart.
const SINK_THREAD: &str = "bench-sink";
const FEDBLOG_THREAD: &str = "bench-fedblog";
/// Set (to the run's spec, as JSON) when this binary runs as a child.
const CHILD_ENV: &str = "FEDBLOG_BENCH_RUN";
/// The child's one line of output the parent reads.
const RESULT_PREFIX: &str = "FEDBLOG_BENCH_RESULT ";
/// How often the finish line is checked.
const POLL: Duration = Duration::from_millis(10);
/// Followers per set-up transaction, and set-up transactions in parallel.
const FOLLOWER_BATCH: usize = 500;
const FOLLOWER_PARALLEL: usize = 4;

fn main() -> anyhow::Result<()> {
    match std::env::var(CHILD_ENV) {
        Ok(spec) => child_main(&spec),
        Err(_) => parent_main(),
    }
}

// ---------------------------------------------------------------------------
// Scenarios and options

/// Who follows the blog, and from where.
struct Scenario {
    name: &'static str,
    followers: usize,
    instances: usize,
    /// Every follower lists its instance's shared inbox (else personal inboxes only).
    shared_inbox: bool,
}

impl Scenario {
    /// Deliveries one post queues: one per shared inbox, else one per follower.
    fn deliveries(&self) -> usize {
        if self.shared_inbox {
            self.instances.min(self.followers)
        } else {
            self.followers
        }
    }

    fn describe(&self) -> String {
        let inboxes = if self.shared_inbox {
            "every follower with its instance's shared inbox"
        } else {
            "personal inboxes only, no shared inbox"
        };
        format!(
            "{}: {} followers over {} instances ({} per instance), {inboxes}",
            self.name,
            self.followers,
            self.instances,
            self.followers / self.instances
        )
    }
}

/// The scenarios, divided by 10 in quick mode; `followers_x` multiplies the
/// followers only (more deliveries for B and C, the same for A).
fn scenarios(quick: bool, followers_x: usize) -> Vec<Scenario> {
    let scale = if quick { 10 } else { 1 };
    vec![
        Scenario {
            name: "A shared",
            followers: 10_000 / scale * followers_x,
            instances: 1_000 / scale,
            shared_inbox: true,
        },
        Scenario {
            name: "B personal",
            followers: 1_000 / scale * followers_x,
            instances: 1_000 / scale,
            shared_inbox: false,
        },
        // B again with ten followers per instance: the same number of
        // deliveries over fewer hosts, so HTTP connections can be reused.
        Scenario {
            name: "C personal",
            followers: 1_000 / scale * followers_x,
            instances: 100 / scale,
            shared_inbox: false,
        },
    ]
}

/// The options, from the environment.
struct Options {
    /// Scenario letters to run (all when `None`).
    only: Option<Vec<String>>,
    quick: bool,
    workers: Vec<usize>,
    timeout: Duration,
    followers_x: usize,
    worker_pools: usize,
}

impl Options {
    fn from_env() -> anyhow::Result<Self> {
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            match std::env::var(name) {
                Ok(v) => v.trim().parse().with_context(|| format!("{name}={v:?}")),
                Err(_) => Ok(default),
            }
        };
        let workers = std::env::var("FEDBLOG_BENCH_WORKERS")
            .unwrap_or_else(|_| "16,64".into())
            .split(',')
            .map(|w| {
                w.trim()
                    .parse()
                    .context("FEDBLOG_BENCH_WORKERS: numbers, comma-separated")
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Options {
            only: std::env::var("FEDBLOG_BENCH_SCENARIOS")
                .ok()
                .map(|v| v.split(',').map(|s| s.trim().to_uppercase()).collect()),
            quick: std::env::var("FEDBLOG_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0"),
            workers,
            timeout: Duration::from_secs(number("FEDBLOG_BENCH_TIMEOUT_SECS", 600)?),
            followers_x: number("FEDBLOG_BENCH_FOLLOWERS_X", 1)?.max(1) as usize,
            worker_pools: number("FEDBLOG_BENCH_WORKER_POOLS", 1)?.max(1) as usize,
        })
    }
}

// ---------------------------------------------------------------------------
// The parent: cluster, sinks, one child per run, checks, table

fn parent_main() -> anyhow::Result<()> {
    let options = Options::from_env()?;
    let scenarios: Vec<Scenario> = scenarios(options.quick, options.followers_x)
        .into_iter()
        .filter(|s| {
            options
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|o| s.name.starts_with(o.as_str())))
        })
        .collect();
    if scenarios.is_empty() {
        bail!("FEDBLOG_BENCH_SCENARIOS names no scenario (they are A, B and C)");
    }
    let sink_count = scenarios.iter().map(|s| s.instances).max().unwrap_or(1);

    let scratch = Scratch::start()?;

    // The sinks' runtime, with named threads; the main thread orchestrates.
    let sink_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SINK_THREAD)
        .enable_all()
        .build()?;
    let log = Arc::new(SinkLog::default());
    let result = start_sinks(&sink_rt, sink_count, log.clone()).and_then(|ports| {
        let bench = Bench {
            cluster: &scratch.cluster.0,
            blog_dir: &scratch.blog_dir,
            ports,
            log,
            clock_ticks: clock_ticks(),
            options: &options,
        };
        sink_rt.block_on(bench.run(&scenarios))
    });

    sink_rt.shutdown_timeout(Duration::from_secs(5));
    scratch.finish(); // stops PostgreSQL, before its directory goes
    result
}

struct Bench<'a> {
    cluster: &'a EmbeddedPostgres,
    blog_dir: &'a Path,
    ports: Vec<u16>,
    log: Arc<SinkLog>,
    clock_ticks: f64,
    options: &'a Options,
}

/// One line of the results table.
struct Row {
    scenario: &'static str,
    followers: usize,
    instances: usize,
    /// `delivery_workers`, or `<pools>x<delivery_workers>`.
    workers: String,
    sink_cpu_s: f64,
    result: RunResult,
    check: String,
}

impl Bench<'_> {
    async fn run(&self, scenarios: &[Scenario]) -> anyhow::Result<()> {
        self.print_machine().await?;
        println!();
        for s in scenarios {
            println!("scenario {}", s.describe());
        }
        println!();
        let mut rows = Vec::new();
        for scenario in scenarios {
            for &workers in &self.options.workers {
                rows.push(self.run_one(scenario, workers, rows.len()).await?);
            }
        }
        print_table(&rows, self.options.quick);
        if rows.iter().any(|r| r.check != "ok") {
            bail!("some runs failed their checks (see the table)");
        }
        Ok(())
    }

    /// Runs one child and checks what the sinks received.
    async fn run_one(&self, scenario: &Scenario, workers: usize, n: usize) -> anyhow::Result<Row> {
        let db_name = format!("bench_{n}");
        let spec = RunSpec {
            admin_url: self.cluster.url("postgres"),
            db_url: self.cluster.url(&db_name),
            db_name,
            blog_dir: self.blog_dir.to_path_buf(),
            ports: self.ports[..scenario.instances].to_vec(),
            followers: scenario.followers,
            shared_inbox: scenario.shared_inbox,
            expected_deliveries: scenario.deliveries(),
            workers,
            worker_pools: self.options.worker_pools,
            timeout_secs: self.options.timeout.as_secs(),
            postmaster: self
                .cluster
                .running_pid()
                .ok_or(anyhow!("PostgreSQL is not running"))?,
            clock_ticks: self.clock_ticks,
        };
        self.log.take();
        let sinks_before = sink_cpu(self.clock_ticks);
        let output = tokio::process::Command::new(std::env::current_exe()?)
            .env(CHILD_ENV, serde_json::to_string(&spec)?)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            // (`output()` would capture stderr too; the child's errors belong on ours.)
            .spawn()?
            .wait_with_output()
            .await?;
        let sink_cpu_s = sink_cpu(self.clock_ticks) - sinks_before;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let result: RunResult = match stdout.lines().find_map(|l| l.strip_prefix(RESULT_PREFIX)) {
            Some(json) if output.status.success() => serde_json::from_str(json)?,
            _ => bail!(
                "{} with {workers} workers: the run failed ({}){}",
                scenario.name,
                output.status,
                if stdout.is_empty() {
                    String::new()
                } else {
                    format!(":\n{stdout}")
                }
            ),
        };
        let hits = self.log.take();
        let check = check(&hits, &result).unwrap_or_else(|e| format!("check failed: {e:#}"));
        let row = Row {
            scenario: scenario.name,
            followers: scenario.followers,
            instances: scenario.instances,
            workers: if self.options.worker_pools > 1 {
                format!("{}x{workers}", self.options.worker_pools)
            } else {
                workers.to_string()
            },
            sink_cpu_s,
            result,
            check,
        };
        let r = &row.result;
        println!(
            "{:<10} workers={:<5} set-up {:.1} s; queued {} in {:.0} ms; delivered in {:.2} s{}; \
             fedblog CPU {:.2} s; check: {}{}",
            row.scenario,
            row.workers,
            r.setup_s,
            r.deliveries,
            r.queue_ms,
            r.deliver_s,
            if r.finished { "" } else { " (TIMED OUT)" },
            r.cpu_s,
            row.check,
            if r.rss_reset {
                ""
            } else {
                " (peak RSS could not be reset: includes set-up)"
            },
        );
        Ok(row)
    }

    async fn print_machine(&self) -> anyhow::Result<()> {
        use diesel_async::RunQueryDsl;
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let mem_gib = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
        let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!("machine");
        println!("  nproc               {nproc}");
        println!("  CPU                 {cpu_model}");
        println!("  memory              {mem_gib:.1} GiB");
        println!(
            "  kernel              {}",
            read("/proc/sys/kernel/osrelease").trim()
        );
        println!(
            "  processes           fedblog: a child process per run, tokio with {nproc} worker threads;\n\
             \x20                     sinks: this process, tokio with 2 worker threads; all on the same cores"
        );

        #[derive(diesel::QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        let mut conn = AsyncPgConnection::establish(&self.cluster.url("postgres")).await?;
        let settings: Vec<Setting> = diesel::sql_query(
            "SELECT name, setting || COALESCE(' ' || unit, '') AS value FROM pg_settings \
             WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', \
             'shared_buffers', 'work_mem', 'max_connections', 'wal_level') ORDER BY name",
        )
        .load(&mut conn)
        .await?;
        println!(
            "PostgreSQL (embedded cluster, Unix socket; started with {}, all else default)",
            PG_SETTINGS
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for s in settings {
            println!("  {:<20}{}", s.name, s.value);
        }

        let defaults = Settings::from_toml_layers(&[])?;
        let f = &defaults.federation;
        println!("fedblog (default settings except delivery_workers)");
        println!("  commit              {}", source_version());
        println!(
            "  pool_size           {} (the workers' LISTEN holds one of them)",
            defaults.pool_size
        );
        println!(
            "  per instance        at most {} deliveries in flight (per_instance_concurrency)",
            f.per_instance_concurrency
        );
        println!("  request timeout     {:?}", f.request_timeout);
        if self.options.worker_pools > 1 {
            println!(
                "  worker pools        {} `Workers` share the queue (as {} server processes would)",
                self.options.worker_pools, self.options.worker_pools
            );
        }
        println!(
            "  signatures          draft-cavage rsa-sha256 (Mastodon compatible), signed per attempt"
        );
        println!(
            "  RSA reference       {:.2} ms per RSA-2048 PKCS#1 v1.5 signature on one core, the call the library makes",
            common::rsa_sign_ms()?
        );
        println!("  logging             no tracing subscriber (log lines cost nothing here)");
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The child: one run of the real blog code

/// What the parent asks of a child.
#[derive(Serialize, Deserialize)]
struct RunSpec {
    admin_url: String,
    db_name: String,
    db_url: String,
    blog_dir: PathBuf,
    /// The sinks this scenario's followers live on.
    ports: Vec<u16>,
    followers: usize,
    shared_inbox: bool,
    expected_deliveries: usize,
    workers: usize,
    worker_pools: usize,
    timeout_secs: u64,
    postmaster: i32,
    clock_ticks: f64,
}

/// What a child measured, and what the parent needs for its checks.
#[derive(Serialize, Deserialize)]
struct RunResult {
    setup_s: f64,
    queue_ms: f64,
    deliveries: i64,
    deliver_s: f64,
    finished: bool,
    /// fedblog's CPU seconds over `deliver_s` (the child, less its main thread).
    cpu_s: f64,
    pg_cpu_s: f64,
    rss_reset: bool,
    rss_base_mib: f64,
    rss_peak_mib: f64,
    peak_threads: u64,
    peak_fds: usize,
    activity_id: String,
    key_id: String,
    public_key_pem: String,
    given_up: i64,
    /// Delivered deliveries: (inbox, attempts).
    delivered: Vec<(String, i32)>,
}

fn child_main(spec: &str) -> anyhow::Result<()> {
    let spec: RunSpec = serde_json::from_str(spec).context("the run spec")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name(FEDBLOG_THREAD)
        .enable_all()
        .build()?;
    let result = rt.block_on(child_run(&spec))?;
    rt.shutdown_timeout(Duration::from_secs(5));
    println!("{RESULT_PREFIX}{}", serde_json::to_string(&result)?);
    Ok(())
}

async fn child_run(spec: &RunSpec) -> anyhow::Result<RunResult> {
    // (RunQueryDsl is imported only where needed: its blanket `first` and
    // `load` methods would shadow slices' own.)
    use diesel_async::RunQueryDsl;

    // Set-up: database, the blog (served, so its key can be fetched), followers.
    let setup = Instant::now();
    let ServedBlog {
        port,
        settings,
        pool,
        federation,
        server,
        ..
    } = serve_blog(
        &spec.admin_url,
        &spec.db_name,
        &spec.db_url,
        &spec.blog_dir,
        &format!("delivery_workers = {}\n", spec.workers),
    )
    .await?;
    insert_followers(&pool, &new_followers(spec)).await?;
    let mut conn = AsyncPgConnection::establish(&spec.db_url).await?;
    diesel::sql_query("ANALYZE").execute(&mut conn).await?;
    let setup_s = setup.elapsed().as_secs_f64();

    // Queue: publishing the post queues the deliveries in its transaction.
    let rss_reset = reset_peak_rss();
    let rss_base_mib = status_kb("VmRSS:").unwrap_or(0) as f64 / 1024.0;
    let started = Instant::now();
    let post = posts::create(
        &mut conn,
        &settings,
        post_input("Delivery benchmark", &["benchmark", "fediverse"]),
    )
    .await?;
    let queue_ms = started.elapsed().as_secs_f64() * 1000.0;
    let deliveries = queue::count(&mut conn, DeliveryFilter::Unfinished).await?;
    if deliveries != spec.expected_deliveries as i64 {
        bail!(
            "{deliveries} deliveries queued, expected {}",
            spec.expected_deliveries
        );
    }

    // Deliver: the real workers, until nothing is unfinished.
    let before = child_cpu(spec.postmaster, spec.clock_ticks);
    let started = Instant::now();
    let mut running = Vec::with_capacity(spec.worker_pools);
    for _ in 0..spec.worker_pools {
        running.push(Workers::spawn(federation.clone())?);
    }
    let (mut peak_threads, mut peak_fds) = (0, 0);
    let finished = loop {
        // Signing runs on tokio's blocking pool, which grows with the
        // signatures in progress; the HTTP client keeps a connection per host.
        peak_threads = peak_threads.max(status_kb("Threads:").unwrap_or(0));
        peak_fds = peak_fds.max(open_fds());
        if queue::count(&mut conn, DeliveryFilter::Unfinished).await? == 0 {
            break true;
        }
        if started.elapsed() > Duration::from_secs(spec.timeout_secs) {
            break false;
        }
        tokio::time::sleep(POLL).await;
    };
    let deliver_s = started.elapsed().as_secs_f64();
    let after = child_cpu(spec.postmaster, spec.clock_ticks);
    let rss_peak_mib = status_kb("VmHWM:").unwrap_or(0) as f64 / 1024.0;
    for workers in running {
        workers.shutdown().await;
    }

    // What the parent needs for its checks.
    let (key_id, public_key_pem) = fetch_actor_key(port).await?;
    let given_up = queue::count(&mut conn, DeliveryFilter::GivenUp).await?;
    let listed = queue::list(&mut conn, DeliveryFilter::Delivered, i64::MAX, 0).await?;
    // The Create that `posts::create` queued (each activity has an id of its own).
    let activity_id = <[_]>::first(&listed)
        .map(|d: &fedblog::models::delivery::DeliveryStatus| d.activity.clone())
        .unwrap_or_default();
    let delivered = listed.into_iter().map(|d| (d.inbox, d.attempts)).collect();
    let ap_id = post
        .post
        .ap_id
        .ok_or(anyhow!("the post has no ActivityPub id"))?;
    server.abort();
    pool.close();
    Ok(RunResult {
        setup_s,
        queue_ms,
        deliveries,
        deliver_s,
        finished,
        cpu_s: after.fedblog - before.fedblog,
        pg_cpu_s: after.postgres - before.postgres,
        rss_reset,
        rss_base_mib,
        rss_peak_mib,
        peak_threads,
        peak_fds,
        activity_id: if activity_id.starts_with(&format!("{ap_id}#create/")) {
            activity_id
        } else {
            format!("(not the post's Create: {activity_id:?})")
        },
        key_id,
        public_key_pem,
        given_up,
        delivered,
    })
}

#[derive(Clone)]
struct NewFollower {
    actor_id: String,
    inbox: String,
    shared_inbox: Option<String>,
    follow_id: String,
}

/// Followers spread round-robin over the scenario's sinks.
fn new_followers(spec: &RunSpec) -> Vec<NewFollower> {
    (0..spec.followers)
        .map(|i| {
            let base = format!("http://localhost:{}", spec.ports[i % spec.ports.len()]);
            NewFollower {
                actor_id: format!("{base}/users/u{i}"),
                inbox: format!("{base}/users/u{i}/inbox"),
                shared_inbox: spec.shared_inbox.then(|| format!("{base}/inbox")),
                follow_id: format!("{base}/follows/{i}"),
            }
        })
        .collect()
}

/// Inserts followers through `follower::upsert`, in batched transactions, a
/// task per batch (a task holds at most one connection).
async fn insert_followers(pool: &Pool, followers: &[NewFollower]) -> anyhow::Result<()> {
    futures_util::stream::iter(followers.chunks(FOLLOWER_BATCH))
        .map(|batch| {
            let (pool, batch) = (pool.clone(), batch.to_vec());
            tokio::spawn(async move { insert_batch(&pool, &batch).await })
        })
        .buffer_unordered(FOLLOWER_PARALLEL)
        .map(|joined| {
            joined
                .map_err(anyhow::Error::from)
                .and_then(|inserted| inserted)
        })
        .try_collect::<()>()
        .await
}

async fn insert_batch(pool: &Pool, batch: &[NewFollower]) -> anyhow::Result<()> {
    let mut conn = pool.get().await.map_err(|e| anyhow!("pool: {e}"))?;
    let conn: &mut AsyncPgConnection = &mut conn;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        for f in batch {
            follower::upsert(
                conn,
                &f.actor_id,
                &f.inbox,
                f.shared_inbox.as_deref(),
                &f.follow_id,
            )
            .await?;
        }
        Ok(())
    })
    .await?;
    Ok(())
}

/// The blog actor's key id and public key (PEM), fetched from its actor
/// document as a receiving server would.
async fn fetch_actor_key(port: u16) -> anyhow::Result<(String, String)> {
    let client = client_builder().build()?;
    let actor: Value = client
        .get(format!("http://localhost:{port}/users/blog"))
        .header("accept", fedblog::federation::ACTIVITY_JSON)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let key = &actor["publicKey"];
    let id = key["id"]
        .as_str()
        .ok_or(anyhow!("actor has no publicKey.id"))?;
    let pem = key["publicKeyPem"]
        .as_str()
        .ok_or(anyhow!("actor has no publicKeyPem"))?;
    Ok((id.to_string(), pem.to_string()))
}

// ---------------------------------------------------------------------------
// The sink instances

/// One inbox POST, as a sink received it.
struct Hit {
    /// The inbox as the blog addressed it: `http://localhost:<port><path>`.
    inbox_url: String,
    path: String,
    /// Owned copies: hyper's header values share the connection's read
    /// buffer, and keeping them would keep whole buffers alive.
    headers: Vec<(String, String)>,
    activity_id: String,
    body_len: usize,
    /// What is wrong with it, if anything (checked on arrival, cheaply).
    problem: Option<String>,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What every sink records, shared by all of them.
#[derive(Default)]
struct SinkLog {
    hits: Mutex<Vec<Hit>>,
}

impl SinkLog {
    fn take(&self) -> Vec<Hit> {
        std::mem::take(&mut *self.hits.lock().expect("sink log"))
    }
}

#[derive(Clone)]
struct Sink {
    port: u16,
    log: Arc<SinkLog>,
}

/// Binds `count` sinks on 127.0.0.1 (loopback only) and serves them on `rt`.
fn start_sinks(rt: &Runtime, count: usize, log: Arc<SinkLog>) -> anyhow::Result<Vec<u16>> {
    rt.block_on(async {
        let mut ports = Vec::with_capacity(count);
        for _ in 0..count {
            let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let port = listener.local_addr()?.port();
            let router = Router::new()
                .route("/inbox", post(inbox))
                .route("/users/{name}/inbox", post(inbox))
                .with_state(Sink {
                    port,
                    log: log.clone(),
                });
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    eprintln!("sink on port {port} failed: {e}");
                }
            });
            ports.push(port);
        }
        Ok(ports)
    })
}

/// Accepts everything with 202, like a healthy server's inbox, and records it.
async fn inbox(State(sink): State<Sink>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let hit = Hit {
        inbox_url: format!("http://localhost:{}{}", sink.port, uri.path()),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string()),
        problem: check_on_arrival(&headers, &body, &activity),
        activity_id: activity["id"].as_str().unwrap_or_default().to_string(),
        body_len: body.len(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (n.as_str().to_string(), value)
            })
            .collect(),
    };
    sink.log.hits.lock().expect("sink log").push(hit);
    StatusCode::ACCEPTED
}

/// The cheap checks: one each of Date (recent), Digest (of this body) and
/// Signature; the ActivityPub content type; a JSON Create.
fn check_on_arrival(headers: &HeaderMap, body: &[u8], activity: &Value) -> Option<String> {
    for name in ["date", "digest", "signature"] {
        let n = headers.get_all(name).iter().count();
        if n != 1 {
            return Some(format!("{n} {name} headers"));
        }
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let Ok(date) = httpdate::parse_http_date(header("date")) else {
        return Some(format!("bad Date {:?}", header("date")));
    };
    let skew = SystemTime::now()
        .duration_since(date)
        .unwrap_or_else(|e| e.duration());
    if skew > Duration::from_secs(300) {
        return Some(format!("Date is {skew:?} off"));
    }
    let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(body)));
    if header("digest") != digest {
        return Some(format!(
            "Digest {:?} does not match the body",
            header("digest")
        ));
    }
    if header("content-type") != fedblog::federation::ACTIVITY_JSON {
        return Some(format!("content type {:?}", header("content-type")));
    }
    if activity["type"] != "Create" {
        return Some("the body is not a JSON Create activity".into());
    }
    None
}

/// Verifies a draft-cavage HTTP signature (rsa-sha256) against `key`.
fn verify_signature(hit: &Hit, key: &VerifyingKey<Sha256>, key_id: &str) -> Result<(), String> {
    let header = hit.header("signature").ok_or("no Signature header")?;
    let params: HashMap<&str, &str> = header
        .split(',')
        .filter_map(|part| {
            let (k, v) = part.trim().split_once('=')?;
            Some((k.trim(), v.trim().trim_matches('"')))
        })
        .collect();
    if params.get("keyId") != Some(&key_id) {
        return Err(format!("keyId {:?}, not {key_id:?}", params.get("keyId")));
    }
    let signed = params.get("headers").ok_or("no headers= in Signature")?;
    let names: Vec<&str> = signed.split_whitespace().collect();
    for needed in ["(request-target)", "host", "date", "digest"] {
        if !names.contains(&needed) {
            return Err(format!("{needed} is not signed (headers={signed:?})"));
        }
    }
    let mut lines = Vec::with_capacity(names.len());
    for name in names {
        let value = match name {
            "(request-target)" => format!("post {}", hit.path),
            "(created)" | "(expires)" => params
                .get(name.trim_matches(['(', ')']))
                .ok_or(format!("{name} signed but absent"))?
                .to_string(),
            _ => hit
                .header(name)
                .ok_or(format!("signed header {name} is missing"))?
                .to_string(),
        };
        lines.push(format!("{name}: {value}"));
    }
    let bytes = BASE64
        .decode(params.get("signature").ok_or("no signature=")?)
        .map_err(|e| format!("signature is not base64: {e}"))?;
    let signature = Signature::try_from(bytes.as_slice()).map_err(|e| e.to_string())?;
    key.verify(lines.join("\n").as_bytes(), &signature)
        .map_err(|e| format!("signature does not verify: {e}"))
}

/// Everything delivered exactly once, to the right inboxes, well signed:
/// "ok", or what is wrong.
fn check(hits: &[Hit], r: &RunResult) -> anyhow::Result<String> {
    let mut problems = Vec::new();
    if !r.finished {
        problems.push("timed out".to_string());
    }
    if r.given_up > 0 {
        problems.push(format!("{} given up", r.given_up));
    }
    let delivered: HashSet<&str> = r.delivered.iter().map(|(i, _)| i.as_str()).collect();
    let reclaimed = r
        .delivered
        .iter()
        .filter(|(_, attempts)| *attempts > 1)
        .count();
    let mut received: HashMap<&str, usize> = HashMap::new();
    for hit in hits {
        *received.entry(hit.inbox_url.as_str()).or_default() += 1;
    }
    let duplicates: usize = received.values().map(|n| n - 1).sum();
    let missing = delivered
        .iter()
        .filter(|i| !received.contains_key(*i))
        .count();
    let unexpected = received.keys().filter(|i| !delivered.contains(*i)).count();
    let wrong_activity = hits
        .iter()
        .filter(|h| h.activity_id != r.activity_id)
        .count();
    let malformed: Vec<&str> = hits.iter().filter_map(|h| h.problem.as_deref()).collect();
    for (count, what) in [
        (duplicates, "duplicate POSTs"),
        (reclaimed, "deliveries claimed more than once"),
        (missing, "delivered but never received"),
        (unexpected, "received at unexpected inboxes"),
        (wrong_activity, "POSTs of another activity"),
        (malformed.len(), "malformed"),
    ] {
        if count > 0 {
            problems.push(format!("{count} {what}"));
        }
    }
    if let Some(first) = malformed.first() {
        problems.push(format!("e.g. {first}"));
    }

    // Signatures, against the key the blog publishes.
    let key = RsaPublicKey::from_public_key_pem(&r.public_key_pem)?;
    if key.size() * 8 < 2048 {
        problems.push(format!("the blog's key has only {} bits", key.size() * 8));
    }
    let verifier = VerifyingKey::<Sha256>::new(key);
    let bad: Vec<String> = hits
        .iter()
        .filter_map(|h| verify_signature(h, &verifier, &r.key_id).err())
        .collect();
    if let Some(first) = bad.first() {
        problems.push(format!("{} bad signatures, e.g. {first}", bad.len()));
    }
    let mean_body = hits.iter().map(|h| h.body_len).sum::<usize>() / hits.len().max(1);
    println!(
        "           sinks: {} POSTs at {} inboxes (activity body {mean_body} bytes); \
         {} malformed; {} of {} signatures verified",
        hits.len(),
        received.len(),
        malformed.len(),
        hits.len() - bad.len(),
        hits.len(),
    );
    Ok(if problems.is_empty() {
        "ok".into()
    } else {
        problems.join("; ")
    })
}

// ---------------------------------------------------------------------------
// Measurements from /proc

/// CPU seconds of the sinks (in the parent).
fn sink_cpu(hz: f64) -> f64 {
    thread_cpu(SINK_THREAD, hz)
}

/// CPU seconds at one instant, in a child.
struct ChildCpu {
    /// The whole process less its main thread, which only runs the polling
    /// loop. (Threads that exit, such as idle blocking-pool threads, stay
    /// counted in the process's total.)
    fedblog: f64,
    postgres: f64,
}

fn child_cpu(postmaster: i32, hz: f64) -> ChildCpu {
    let process = stat(Path::new("/proc/self/stat")).map_or(0, |(_, f)| ticks(&f, UTIME_STIME));
    let main_thread = stat(Path::new(&format!(
        "/proc/self/task/{}/stat",
        std::process::id()
    )))
    .map_or(0, |(_, f)| ticks(&f, UTIME_STIME));
    ChildCpu {
        fedblog: process.saturating_sub(main_thread) as f64 / hz,
        postgres: postgres_cpu(postmaster, hz),
    }
}

/// File descriptors open in this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

// ---------------------------------------------------------------------------
// Reference points and the report

/// The commit benchmarked, and whether src/ had changes on top of it.
fn source_version() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--", "src", "migrations"])
                .is_some_and(|s| !s.is_empty());
            let note = if dirty {
                " + uncommitted changes in src/"
            } else {
                ""
            };
            format!("{commit}{note}")
        }
        None => "unknown (no git)".into(),
    }
}

fn print_table(rows: &[Row], quick: bool) {
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!();
    println!("results{}", if quick { " (QUICK sizes)" } else { "" });
    let header = format!(
        "{:<10} {:>9} {:>9} {:>10} {:>7} {:>8} {:>9} {:>12} {:>6} {:>10} {:>8} {:>8} {:>7} {:>5} {:>8} {:>7} {:>5}  {}",
        "scenario",
        "followers",
        "instances",
        "deliveries",
        "workers",
        "queue ms",
        "deliver s",
        "deliveries/s",
        "CPU s",
        "CPU ms/del",
        "RSS base",
        "RSS peak",
        "threads",
        "fds",
        "sink CPU",
        "PG CPU",
        "busy",
        "check",
    );
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for row in rows {
        let r = &row.result;
        let per_sec = if r.finished {
            r.deliveries as f64 / r.deliver_s
        } else {
            f64::NAN
        };
        let busy = (r.cpu_s + row.sink_cpu_s + r.pg_cpu_s) / (r.deliver_s * nproc) * 100.0;
        println!(
            "{:<10} {:>9} {:>9} {:>10} {:>7} {:>8.0} {:>9.2} {:>12.0} {:>6.2} {:>10.2} {:>8.1} {:>8.1} {:>7} {:>5} {:>8.2} {:>7.2} {:>4.0}%  {}",
            row.scenario,
            row.followers,
            row.instances,
            r.deliveries,
            row.workers,
            r.queue_ms,
            r.deliver_s,
            per_sec,
            r.cpu_s,
            r.cpu_s * 1000.0 / r.deliveries as f64,
            r.rss_base_mib,
            r.rss_peak_mib,
            r.peak_threads,
            r.peak_fds,
            row.sink_cpu_s,
            r.pg_cpu_s,
            busy,
            row.check,
        );
    }
    println!();
    println!(
        "queue ms      posts::create: the post and one delivery row per distinct inbox, one transaction\n\
         deliver s     from Workers::spawn until no delivery is unfinished (polled every {} ms)\n\
         CPU s         fedblog's user+sys CPU over `deliver s` (the run's process, less its polling thread)\n\
         RSS base      the run's resident set just before queueing (blog loaded, followers inserted), MiB\n\
         RSS peak      its peak (VmHWM, reset at `RSS base`) until delivery ended, MiB\n\
         threads       its most threads while delivering (signing runs on tokio's blocking pool)\n\
         fds           its most open file descriptors while delivering (mostly HTTP connections)\n\
         sink CPU      CPU seconds of the sink servers (another process) over the run\n\
         PG CPU        CPU seconds of PostgreSQL over `deliver s`\n\
         busy          (CPU s + sink CPU + PG CPU) / (deliver s x {nproc} cores)",
        POLL.as_millis()
    );
}
