//! Comments benchmark: the cost of a post with many comments, for the reader
//! who opens its page and for the server that sends one more reply.
//!
//! ```text
//! cargo bench --bench comments                          # 1,000 comments, 200 requests, 200 Creates
//! FEDBLOG_BENCH_QUICK=1 cargo bench --bench comments    # the same 1,000 comments, 40 requests, 40 Creates
//! FEDBLOG_BENCH_COMMENTS=5000 ...                       # comments seeded under the post
//! FEDBLOG_BENCH_REQUESTS=500 ...                        # page GETs per render run
//! FEDBLOG_BENCH_CLIENTS=8 ...                           # concurrent clients of the second render run
//! FEDBLOG_BENCH_CREATES=200 ...                         # signed Creates sent to the inbox
//! ```
//!
//! Everything runs on this machine and on loopback. This process starts a
//! private PostgreSQL cluster (the blog's own embedded-cluster code, with
//! `fsync = off`), serves the blog's real router on `localhost:<port>` from a
//! tokio runtime of its own (threads named `bench-fedblog`, so that
//! /proc/self/task tells its CPU time apart), and drives it over real HTTP
//! from a second runtime (`bench-client`), which also serves the remote
//! actor that signs the Creates.
//!
//! 1. set-up (not measured): a fresh database, the blog, one published post,
//!    and the comments inserted straight into the database with
//!    `models::comment::insert_with_id`: threads 3 to 6 deep with side
//!    branches, 300 to 800 characters of sanitized HTML each, about one in
//!    ten behind a content warning, from 60 fediverse accounts, readers and
//!    the author; then `ANALYZE`;
//! 2. **render**: `GET /posts/{slug}` N times, one after another, then N times
//!    from C concurrent clients (each response checked: 200, every comment's
//!    anchor present);
//! 3. **ingest**: N signed `Create(Note)` replies (RSA-2048, draft-cavage
//!    rsa-sha256 over `(request-target) host date digest`, with a `Digest`
//!    header, as Mastodon signs) POSTed to the shared inbox, each answering a
//!    random seeded comment or the post; timed until the 202, then until a
//!    `GET` of the post page shows the new comment. The first Create is sent
//!    before the clock starts (the blog fetches the remote actor then).
//!
//! Peak RSS is this process's (VmHWM): the server runs in-process, and the
//! clients add little (they keep no bodies).

mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use fedblog::config::Settings;
use fedblog::db::Pool;
use fedblog::db::embedded::EmbeddedPostgres;
use fedblog::models::comment::{self, NewComment, Origin, State, Visibility};
use fedblog::posts;
use fedblog::render::sanitize;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use common::{
    Scratch, ServedBlog, client_builder, clock_ticks, post_input, postgres_cpu, reset_peak_rss,
    serve_blog, status_kb, thread_cpu,
};

/// Thread names, so that /proc/self/task tells the server's CPU apart.
const SERVER_THREAD: &str = "bench-fedblog";
const CLIENT_THREAD: &str = "bench-client";
/// Comments per set-up transaction.
const SEED_BATCH: usize = 250;
/// Page GETs before the clock starts (caches, connections, the allocator).
const WARM_UP: usize = 5;
/// How long a new comment may take to show before the run fails.
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(10);
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

fn main() -> anyhow::Result<()> {
    let options = Options::from_env()?;
    let scratch = Scratch::start()?;

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name(SERVER_THREAD)
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()?;
    let result = run(
        &options,
        &scratch.cluster.0,
        &scratch.blog_dir,
        &server_rt,
        &client_rt,
    );
    client_rt.shutdown_timeout(Duration::from_secs(5));
    server_rt.shutdown_timeout(Duration::from_secs(5));
    scratch.finish(); // stops PostgreSQL, before its directory goes
    result
}

// ---------------------------------------------------------------------------
// Options

struct Options {
    quick: bool,
    comments: usize,
    requests: usize,
    clients: usize,
    creates: usize,
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
        let runs = if quick { 40 } else { 200 };
        let options = Options {
            quick,
            comments: number("FEDBLOG_BENCH_COMMENTS", 1_000)?,
            requests: number("FEDBLOG_BENCH_REQUESTS", runs)?,
            clients: number("FEDBLOG_BENCH_CLIENTS", 8)?,
            creates: number("FEDBLOG_BENCH_CREATES", runs)?,
        };
        if options.requests == 0 || options.clients == 0 || options.creates == 0 {
            bail!("FEDBLOG_BENCH_REQUESTS, _CLIENTS and _CREATES must be at least 1");
        }
        Ok(options)
    }
}

// ---------------------------------------------------------------------------
// The run

/// One line of the results table.
struct Row {
    what: String,
    samples: usize,
    clients: usize,
    /// Latencies in ms, sorted.
    latencies: Vec<f64>,
    wall_s: f64,
    server_cpu_s: f64,
    pg_cpu_s: f64,
}

struct Memory {
    after_setup_mib: f64,
    render_peak_mib: f64,
    ingest_peak_mib: f64,
    /// Whether VmHWM could be reset before each phase (else each peak includes set-up).
    reset: bool,
}

fn run(
    options: &Options,
    cluster: &EmbeddedPostgres,
    blog_dir: &Path,
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    let hz = clock_ticks();
    let postmaster = cluster
        .running_pid()
        .ok_or(anyhow!("PostgreSQL is not running"))?;
    let cpu = || Cpu::now(postmaster, hz);

    println!(
        "set-up: the blog and {} comments under one post ...",
        options.comments
    );
    let setup = Instant::now();
    let blog = server_rt.block_on(start_blog(cluster, blog_dir, options.comments))?;
    println!(
        "set-up done in {:.1} s ({} comments, {} threads, deepest {})",
        setup.elapsed().as_secs_f64(),
        blog.seeded.len(),
        blog.threads,
        blog.deepest
    );
    let after_setup_mib = status_kb("VmRSS:").unwrap_or(0) as f64 / 1024.0;

    let mut rows = Vec::new();
    let reset = reset_peak_rss();
    let (page_bytes, gzip_bytes) = client_rt.block_on(async {
        let client = client()?;
        for _ in 0..WARM_UP {
            get_page(&client, &blog, None).await?;
        }
        for clients in [1, options.clients] {
            let before = cpu();
            let (latencies, wall_s) = render(&client, &blog, options.requests, clients).await?;
            let after = cpu();
            rows.push(Row {
                what: if clients == 1 {
                    "GET post page, sequential".into()
                } else {
                    format!("GET post page, {clients} clients")
                },
                samples: options.requests,
                clients,
                latencies,
                wall_s,
                server_cpu_s: after.server - before.server,
                pg_cpu_s: after.postgres - before.postgres,
            });
        }
        let bytes = get_page(&client, &blog, None).await?.len();
        let gzip = gzip_size(&client, &blog).await?;
        Ok::<_, anyhow::Error>((bytes, gzip))
    })?;
    let render_peak_mib = status_kb("VmHWM:").unwrap_or(0) as f64 / 1024.0;

    reset_peak_rss();
    let ingest = client_rt.block_on(async {
        let client = client()?;
        let remote = Remote::start().await?;
        let mut rng = StdRng::seed_from_u64(7);
        // Not timed: the blog fetches the actor (and its key) on the first one.
        let first = Instant::now();
        remote.create(&client, &blog, 0, &mut rng).await?;
        let first_ms = first.elapsed().as_secs_f64() * 1000.0;
        let before = cpu();
        let started = Instant::now();
        let mut accepted = Vec::with_capacity(options.creates);
        let mut visible = Vec::with_capacity(options.creates);
        for n in 1..=options.creates {
            let (to_202, to_visible) = remote.create(&client, &blog, n, &mut rng).await?;
            accepted.push(to_202);
            visible.push(to_visible);
        }
        let wall_s = started.elapsed().as_secs_f64();
        let after = cpu();
        Ok::<_, anyhow::Error>((first_ms, accepted, visible, wall_s, after - before))
    })?;
    let ingest_peak_mib = status_kb("VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let (first_create_ms, accepted, visible, wall_s, ingest_cpu) = ingest;
    let stored = server_rt.block_on(blog.count_comments())?;
    let expected = blog.seeded.len() + options.creates + 1;
    if stored != expected {
        bail!("{stored} comments stored, expected {expected}");
    }
    for (what, latencies) in [
        ("inbox Create(Note), until 202", accepted),
        ("inbox Create(Note), until shown", visible),
    ] {
        rows.push(Row {
            what: what.into(),
            samples: options.creates,
            clients: 1,
            latencies: sorted(latencies),
            wall_s,
            server_cpu_s: ingest_cpu.server,
            pg_cpu_s: ingest_cpu.postgres,
        });
    }

    let memory = Memory {
        after_setup_mib,
        render_peak_mib,
        ingest_peak_mib,
        reset,
    };
    print_report(
        options,
        &blog,
        &rows,
        page_bytes,
        gzip_bytes,
        first_create_ms,
        &memory,
    );
    server_rt.block_on(async { blog.pool.close() });
    Ok(())
}

// ---------------------------------------------------------------------------
// The blog and its comments

struct Blog {
    port: u16,
    settings: Settings,
    pool: Pool,
    slug: String,
    post_ap_id: String,
    /// The seeded comments' (row id, ActivityPub id).
    seeded: Vec<(i64, String)>,
    threads: usize,
    deepest: usize,
    /// Kept for as long as the blog runs: they process the signed Creates.
    _inbox_workers: fedblog::inbox::worker::InboxWorkers,
}

impl Blog {
    fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    async fn count_comments(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await.map_err(|e| anyhow!("pool: {e}"))?;
        let all = comment::list(&mut conn, &comment::ListFilter::default(), i64::MAX, 0).await?;
        Ok(all.len())
    }
}

async fn start_blog(
    cluster: &EmbeddedPostgres,
    blog_dir: &Path,
    comments: usize,
) -> anyhow::Result<Blog> {
    use diesel_async::RunQueryDsl;
    let db_name = "bench_comments";
    let db_url = cluster.url(db_name);
    // Private addresses (always allowed here) because the remote actor is on loopback.
    let ServedBlog {
        port,
        settings,
        pool,
        inbox_workers,
        ..
    } = serve_blog(
        &cluster.url("postgres"),
        db_name,
        &db_url,
        blog_dir,
        "[comments]\nfediverse_policy = \"approve_all\"\n",
    )
    .await?;

    let mut conn = AsyncPgConnection::establish(&db_url).await?;
    let post = posts::create(
        &mut conn,
        &settings,
        post_input("Comments benchmark", &["benchmark"]),
    )
    .await?;
    let post_ap_id = post
        .post
        .ap_id
        .clone()
        .ok_or(anyhow!("the post has no ActivityPub id"))?;
    let plan = thread_plan(comments, &mut StdRng::seed_from_u64(42));
    let seeded = seed(&mut conn, &settings, post.post.id, &post_ap_id, &plan).await?;
    diesel::sql_query("ANALYZE").execute(&mut conn).await?;
    #[derive(diesel::QueryableByName)]
    struct Lengths {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        min: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        avg: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        max: i32,
    }
    let lengths: Lengths = diesel::sql_query(
        "SELECT min(length(content_html)) AS min, avg(length(content_html))::int AS avg, \
         max(length(content_html)) AS max FROM comments",
    )
    .get_result(&mut conn)
    .await?;
    println!(
        "comment HTML: {} to {} characters, {} on average",
        lengths.min, lengths.max, lengths.avg
    );
    Ok(Blog {
        port,
        settings,
        pool,
        slug: post.post.slug,
        post_ap_id,
        seeded,
        threads: plan.iter().filter(|c| c.parent.is_none()).count(),
        deepest: plan.iter().map(|c| c.depth).max().unwrap_or(0),
        _inbox_workers: inbox_workers,
    })
}

/// One comment to seed: its parent (an index into the plan), depth (1 = answers the post).
struct Planned {
    parent: Option<usize>,
    depth: usize,
}

/// Threads 3 to 6 deep (a chain from the top-level comment down), each with
/// a few side answers at random levels, until `n` comments.
fn thread_plan(n: usize, rng: &mut StdRng) -> Vec<Planned> {
    let mut plan: Vec<Planned> = Vec::with_capacity(n);
    while plan.len() < n {
        let deep = rng.random_range(3..=6);
        let mut chain = Vec::new();
        for depth in 1..=deep {
            if plan.len() == n {
                break;
            }
            plan.push(Planned {
                parent: chain.last().copied(),
                depth,
            });
            chain.push(plan.len() - 1);
        }
        for _ in 0..rng.random_range(0..=3) {
            if plan.len() == n {
                break;
            }
            // Not under the deepest comment: the thread stays `deep` deep.
            let at = chain[rng.random_range(0..chain.len().saturating_sub(1).max(1))];
            let depth = plan[at].depth + 1;
            plan.push(Planned {
                parent: Some(at),
                depth,
            });
        }
    }
    plan
}

const WORDS: &[&str] = &[
    "federation",
    "server",
    "thread",
    "reply",
    "really",
    "interesting",
    "point",
    "about",
    "moderation",
    "and",
    "the",
    "timeline",
    "which",
    "I",
    "think",
    "works",
    "well",
    "though",
    "not",
    "always",
    "for",
    "small",
    "instances",
    "blog",
    "post",
];

/// 300 to 800 characters of HTML as Mastodon sends it (a mention, a link,
/// some emphasis, paragraphs), sanitized as the inbox stores it.
fn comment_html(rng: &mut StdRng, marker: &str) -> String {
    let mut target: usize = rng.random_range(300..=800);
    loop {
        // The sanitizer adds `rel` to links: shorten until it fits.
        let html = sanitize::remote_html(&raw_comment_html(rng, marker, target));
        if html.len() <= 800 || target <= 300 {
            return html;
        }
        target -= 50;
    }
}

fn raw_comment_html(rng: &mut StdRng, marker: &str, target: usize) -> String {
    let mut html = format!(
        "<p><span class=\"h-card\"><a href=\"https://social.example/@user{}\" class=\"u-url mention\">@<span>user{}</span></a></span> ",
        rng.random_range(0..60),
        rng.random_range(0..60)
    );
    let mut words = 0;
    while html.len() < target.saturating_sub(60) {
        let word = WORDS[rng.random_range(0..WORDS.len())];
        match rng.random_range(0..40) {
            0 => html.push_str(&format!("<em>{word}</em> ")),
            1 => html.push_str(&format!("<code>{word}()</code> ")),
            2 => html.push_str(&format!(
                "<a href=\"https://example.org/{word}\" rel=\"nofollow noopener\">{word}</a> "
            )),
            3 if words > 20 => {
                html.push_str(".</p><p>");
                words = 0;
            }
            _ => {
                html.push_str(word);
                html.push(' ');
            }
        }
        words += 1;
    }
    html.push_str(&format!("&amp; <strong>{marker}</strong>.</p>"));
    html
}

/// Who wrote a seeded comment.
fn author(settings: &Settings, i: usize, rng: &mut StdRng) -> (Origin, String, String) {
    match rng.random_range(0..20) {
        0 => (
            Origin::Author,
            fedblog::urls::actor(settings),
            settings.blog.author_name.clone(),
        ),
        1 | 2 => (
            Origin::Reader,
            fedblog::urls::actor(settings),
            format!("Reader {i}"),
        ),
        _ => {
            let n = rng.random_range(0..60);
            (
                Origin::Remote,
                format!("https://social{}.example/users/user{n}", n % 7),
                format!("User {n} 🌱"),
            )
        }
    }
}

/// Inserts the planned comments, oldest first, a minute apart, in batches.
async fn seed(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    post_id: i64,
    post_ap_id: &str,
    plan: &[Planned],
) -> anyhow::Result<Vec<(i64, String)>> {
    let mut rng = StdRng::seed_from_u64(1);
    let start = Utc::now() - chrono::Duration::minutes(plan.len() as i64 + 60);
    let mut seeded: Vec<(i64, String)> = Vec::with_capacity(plan.len());
    for batch in plan.chunks(SEED_BATCH) {
        let offset = seeded.len();
        let added = conn
            .transaction::<_, anyhow::Error, _>(async |conn| {
                let mut added: Vec<(i64, String)> = Vec::with_capacity(batch.len());
                for (k, planned) in batch.iter().enumerate() {
                    let i = offset + k;
                    let parent: Option<(i64, String)> = planned.parent.map(|p| {
                        if p < offset {
                            seeded[p].clone()
                        } else {
                            added[p - offset].clone()
                        }
                    });
                    let id = comment::next_id(conn).await?;
                    let (origin, author_ap_id, name) = author(settings, i, &mut rng);
                    let ap_id = if origin == Origin::Remote {
                        format!("{author_ap_id}/statuses/{id}")
                    } else {
                        fedblog::urls::comment(settings, id)
                    };
                    let handle = (origin == Origin::Remote).then(|| {
                        format!(
                            "@{}@social.example",
                            author_ap_id.rsplit('/').next().unwrap_or("x")
                        )
                    });
                    let html = comment_html(&mut rng, &format!("seed-{i}"));
                    let warning = rng
                        .random_bool(0.1)
                        .then_some("Spoilers for the last chapter");
                    let new = NewComment {
                        ap_id: &ap_id,
                        post_id,
                        parent_id: parent.as_ref().map(|(id, _)| *id),
                        in_reply_to: parent.as_ref().map_or(post_ap_id, |(_, ap)| ap.as_str()),
                        url: None,
                        author_ap_id: &author_ap_id,
                        author_name: Some(&name),
                        author_handle: handle.as_deref(),
                        content_html: &html,
                        summary: warning,
                        sensitive: warning.is_some(),
                        visibility: Visibility::Public,
                        published_at: start + chrono::Duration::minutes(i as i64),
                        state: State::Approved,
                        origin,
                        source: None,
                        reader_website: (origin == Origin::Reader)
                            .then_some("https://reader.example/"),
                        moderation_note: None,
                        language: None,
                        attachments: serde_json::json!([]),
                    };
                    comment::insert_with_id(conn, id, &new).await?;
                    added.push((id, ap_id));
                }
                Ok(added)
            })
            .await?;
        seeded.extend(added);
    }
    Ok(seeded)
}

// ---------------------------------------------------------------------------
// Rendering

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// The post page; checks it shows every seeded comment (and `also`, if given).
async fn get_page(
    client: &reqwest::Client,
    blog: &Blog,
    also: Option<&str>,
) -> anyhow::Result<bytes::Bytes> {
    let response = client
        .get(blog.url(&format!("/posts/{}", blog.slug)))
        .send()
        .await?;
    if response.status() != reqwest::StatusCode::OK {
        bail!("GET the post page: {}", response.status());
    }
    let body = response.bytes().await?;
    let shows = |needle: &str| body.windows(needle.len()).any(|w| w == needle.as_bytes());
    if let Some(needle) = also
        && !shows(needle)
    {
        bail!("the page does not show {needle}");
    }
    Ok(body)
}

/// Checks a page lists every seeded comment (once per run, it is slow in itself).
fn check_page(body: &[u8], blog: &Blog) -> anyhow::Result<()> {
    let text = std::str::from_utf8(body)?;
    let anchors = text.matches("id=\"comment-").count();
    if anchors < blog.seeded.len() {
        bail!(
            "the page shows {anchors} comments, {} were seeded",
            blog.seeded.len()
        );
    }
    Ok(())
}

/// `requests` GETs of the post page from `clients` clients at once; returns
/// the sorted latencies (ms) and the wall time (s).
async fn render(
    client: &reqwest::Client,
    blog: &Blog,
    requests: usize,
    clients: usize,
) -> anyhow::Result<(Vec<f64>, f64)> {
    let left = Arc::new(AtomicUsize::new(requests));
    let started = Instant::now();
    let runs = (0..clients).map(|_| {
        let left = left.clone();
        async move {
            let mut latencies = Vec::new();
            while left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                let t = Instant::now();
                let body = get_page(client, blog, None).await?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if latencies.len() == 1 {
                    check_page(&body, blog)?;
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }
    });
    let all = futures_util::future::try_join_all(runs).await?;
    let wall_s = started.elapsed().as_secs_f64();
    Ok((sorted(all.into_iter().flatten().collect()), wall_s))
}

/// The page's size on the wire when the reader's browser accepts gzip.
async fn gzip_size(client: &reqwest::Client, blog: &Blog) -> anyhow::Result<usize> {
    let response = client
        .get(blog.url(&format!("/posts/{}", blog.slug)))
        .header("accept-encoding", "gzip")
        .send()
        .await?;
    let gzipped = response
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let bytes = response.bytes().await?.len();
    Ok(if gzipped { bytes } else { 0 })
}

// ---------------------------------------------------------------------------
// Ingest: a remote actor on loopback that signs its Creates

struct Remote {
    base: String,
    key: RsaPrivateKey,
}

impl Remote {
    /// Serves the actor document (with its public key) on loopback.
    async fn start() -> anyhow::Result<Remote> {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair()?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let base = format!("http://localhost:{}", listener.local_addr()?.port());
        let actor = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": format!("{base}/users/mallory"),
            "type": "Person",
            "preferredUsername": "mallory",
            "name": "Mallory the benchmark",
            "inbox": format!("{base}/users/mallory/inbox"),
            "endpoints": {"sharedInbox": format!("{base}/inbox")},
            "publicKey": {
                "id": format!("{base}/users/mallory#main-key"),
                "owner": format!("{base}/users/mallory"),
                "publicKeyPem": pair.public_key,
            },
        })
        .to_string();
        let router = Router::new().route(
            "/users/mallory",
            get(move || {
                let actor = actor.clone();
                async move { ([("content-type", "application/activity+json")], actor) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(Remote {
            base,
            key: RsaPrivateKey::from_pkcs8_pem(&pair.private_key)?,
        })
    }

    fn actor(&self) -> String {
        format!("{}/users/mallory", self.base)
    }

    /// Sends Create number `n`; returns the ms until the 202 and until the page shows it.
    async fn create(
        &self,
        client: &reqwest::Client,
        blog: &Blog,
        n: usize,
        rng: &mut StdRng,
    ) -> anyhow::Result<(f64, f64)> {
        let in_reply_to = match rng.random_range(0..=blog.seeded.len()) {
            0 => blog.post_ap_id.clone(),
            i => blog.seeded[i - 1].1.clone(),
        };
        let marker = format!("bench-create-{n}-");
        let note = format!("{}/notes/{n}", self.actor());
        let mut object = json!({
            "id": note,
            "type": "Note",
            "attributedTo": self.actor(),
            "inReplyTo": in_reply_to,
            "to": [PUBLIC],
            "cc": [fedblog::urls::actor(&blog.settings), format!("{}/followers", self.actor())],
            "published": Utc::now().to_rfc3339(),
            "content": comment_html(rng, &marker),
        });
        if rng.random_bool(0.1) {
            object["summary"] = json!("Spoilers for the last chapter");
            object["sensitive"] = json!(true);
        }
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{note}/activity"),
            "type": "Create",
            "actor": self.actor(),
            "to": [PUBLIC],
            "cc": [fedblog::urls::actor(&blog.settings)],
            "object": object,
        });
        let started = Instant::now();
        let status = self.post_signed(client, blog, &activity).await?;
        let accepted = started.elapsed().as_secs_f64() * 1000.0;
        if status != reqwest::StatusCode::ACCEPTED {
            bail!("Create {n}: the inbox answered {status}");
        }
        loop {
            match get_page(client, blog, Some(&marker)).await {
                Ok(_) => break,
                Err(_) if started.elapsed() < VISIBLE_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(e) => return Err(e.context(format!("Create {n} never showed"))),
            }
        }
        Ok((accepted, started.elapsed().as_secs_f64() * 1000.0))
    }

    /// POSTs to the shared inbox, signed as Mastodon signs (as tests/it/inbox.rs does).
    async fn post_signed(
        &self,
        client: &reqwest::Client,
        blog: &Blog,
        activity: &Value,
    ) -> anyhow::Result<reqwest::StatusCode> {
        let path = "/inbox";
        let host = format!("localhost:{}", blog.port);
        let body = activity.to_string().into_bytes();
        let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(&body)));
        let date = http_date(Utc::now());
        let signing_string =
            format!("(request-target): post {path}\nhost: {host}\ndate: {date}\ndigest: {digest}");
        let signature = SigningKey::<Sha256>::new(self.key.clone())
            .sign(signing_string.as_bytes())
            .to_bytes();
        let response = client
            .post(blog.url(path))
            .header("Content-Type", "application/activity+json")
            .header("Date", &date)
            .header("Digest", &digest)
            .header(
                "Signature",
                format!(
                    "keyId=\"{}#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
                    self.actor(),
                    BASE64.encode(signature)
                ),
            )
            .body(body)
            .send()
            .await?;
        let status = response.status();
        response.bytes().await?;
        Ok(status)
    }
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

// ---------------------------------------------------------------------------
// Measurements from /proc

/// CPU seconds at one instant.
#[derive(Clone, Copy)]
struct Cpu {
    /// The server runtime's threads (`bench-fedblog`): handlers, rendering, signatures.
    server: f64,
    /// PostgreSQL: the postmaster (with its reaped children) and its live children.
    postgres: f64,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, other: Cpu) -> Cpu {
        Cpu {
            server: self.server - other.server,
            postgres: self.postgres - other.postgres,
        }
    }
}

impl Cpu {
    fn now(postmaster: i32, hz: f64) -> Cpu {
        Cpu {
            server: thread_cpu(SERVER_THREAD, hz),
            postgres: postgres_cpu(postmaster, hz),
        }
    }
}

// ---------------------------------------------------------------------------
// The report

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// The value at quantile `q` of sorted samples (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_report(
    options: &Options,
    blog: &Blog,
    rows: &[Row],
    page_bytes: usize,
    gzip_bytes: usize,
    first_create_ms: f64,
    memory: &Memory,
) {
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!();
    println!(
        "results{}: {} comments under one post ({} threads 3-6 deep with side answers, deepest {}); \
         {nproc} cores shared by the server, the clients and PostgreSQL",
        if options.quick { " (QUICK)" } else { "" },
        blog.seeded.len(),
        blog.threads,
        blog.deepest,
    );
    let header = format!(
        "{:<32} {:>7} {:>7} {:>9} {:>8} {:>8} {:>8} {:>12} {:>11}",
        "measure",
        "samples",
        "clients",
        "median ms",
        "p95 ms",
        "max ms",
        "per s",
        "server CPU ms",
        "PG CPU ms",
    );
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for row in rows {
        let per = row.samples as f64;
        println!(
            "{:<32} {:>7} {:>7} {:>9.1} {:>8.1} {:>8.1} {:>8.1} {:>12.1} {:>11.1}",
            row.what,
            row.samples,
            row.clients,
            quantile(&row.latencies, 0.5),
            quantile(&row.latencies, 0.95),
            row.latencies.last().copied().unwrap_or(f64::NAN),
            per / row.wall_s,
            row.server_cpu_s * 1000.0 / per,
            row.pg_cpu_s * 1000.0 / per,
        );
    }
    println!();
    println!(
        "page size           {page_bytes} bytes ({:.2} MiB) uncompressed, {gzip_bytes} bytes gzip",
        page_bytes as f64 / 1024.0 / 1024.0
    );
    println!(
        "first Create        {first_create_ms:.1} ms (untimed warm-up: the blog fetched the remote actor)"
    );
    println!(
        "RSS (this process)  {:.1} MiB after set-up; peak {:.1} MiB while rendering, {:.1} MiB while ingesting{}",
        memory.after_setup_mib,
        memory.render_peak_mib,
        memory.ingest_peak_mib,
        if memory.reset {
            ""
        } else {
            " (VmHWM could not be reset: peaks include set-up)"
        }
    );
    println!();
    println!(
        "median/p95/max     latency of one request, from sending it to the last byte of the answer\n\
         per s              requests (or Creates) per second of wall time over the run\n\
         server CPU ms      CPU of the blog's runtime threads per request (the Create rows: per Create,\n\
         \x20                  including the page GETs that looked for it)\n\
         PG CPU ms          CPU of PostgreSQL per request, likewise\n\
         until shown        from sending the Create until a GET of the post page contains it\n\
         \x20                  (the inbox queues it and answers; a worker stores it, then the page shows it)"
    );
    let seq = &rows[0];
    let conc = &rows[1];
    let accepted = &rows[2];
    let shown = &rows[3];
    println!();
    println!(
        "summary: a post with {} comments renders in {:.1} ms median ({:.1} ms p95, {:.0} KiB), \
         {:.0} pages/s with {} clients; a signed Create is accepted in {:.1} ms median ({:.1} ms p95) \
         and shown after {:.1} ms; peak RSS {:.1} MiB",
        blog.seeded.len(),
        quantile(&seq.latencies, 0.5),
        quantile(&seq.latencies, 0.95),
        page_bytes as f64 / 1024.0,
        conc.samples as f64 / conc.wall_s,
        conc.clients,
        quantile(&accepted.latencies, 0.5),
        quantile(&accepted.latencies, 0.95),
        quantile(&shown.latencies, 0.5),
        memory.render_peak_mib.max(memory.ingest_peak_mib),
    );
}
