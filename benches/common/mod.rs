//! What the benchmarks share: the private PostgreSQL cluster, the HTTP
//! client's set-up, and the measurements taken from /proc.
//!
//! Included by each benchmark with `mod common;`. Cargo does not build it as
//! a benchmark of its own: it only discovers `benches/*.rs` and
//! `benches/*/main.rs`, and Cargo.toml declares the benchmarks by name.

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use activitypub_federation::config::FederationConfig;
use fedblog::config::Settings;
use fedblog::db::embedded::EmbeddedPostgres;
use fedblog::db::{self, Pool};
use fedblog::inbox::worker::InboxWorkers;
use fedblog::posts::PostInput;
use fedblog::state::AppState;

/// Server settings for the throw-away cluster: durability is irrelevant here.
pub const PG_SETTINGS: &[(&str, &str)] = &[("fsync", "off")];

// ---------------------------------------------------------------------------
// The PostgreSQL cluster

/// Stops the cluster however the benchmark ends (a panic included).
pub struct Cluster(pub EmbeddedPostgres);

impl Drop for Cluster {
    fn drop(&mut self) {
        match self.0.stop() {
            Ok(()) => println!("embedded PostgreSQL stopped"),
            Err(e) => eprintln!("could not stop the embedded PostgreSQL: {e}"),
        }
    }
}

/// A benchmark's scratch space: a temporary directory with the running
/// cluster (in `pg/`) and the blog's directory (`blog/`).
pub struct Scratch {
    pub cluster: Cluster,
    pub blog_dir: PathBuf,
    pub tmp: tempfile::TempDir,
}

impl Scratch {
    pub fn start() -> anyhow::Result<Scratch> {
        // A temporary directory, world-searchable so that a cluster run as the
        // `postgres` user (when we are root) can reach it.
        let tmp = tempfile::Builder::new()
            .prefix("fedblog-bench-")
            .tempdir()?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        let pg_dir = tmp.path().join("pg");
        let blog_dir = tmp.path().join("blog");
        std::fs::create_dir_all(&blog_dir)?;
        println!(
            "starting the embedded PostgreSQL cluster in {} ...",
            pg_dir.display()
        );
        let cluster = Cluster(EmbeddedPostgres::start_with(&pg_dir, None, PG_SETTINGS)?);
        Ok(Scratch {
            cluster,
            blog_dir,
            tmp,
        })
    }

    /// Stops PostgreSQL (see [`Cluster`]'s Drop), then removes its directory.
    pub fn finish(self) {
        let Scratch { cluster, tmp, .. } = self;
        drop(cluster);
        drop(tmp);
    }
}

// ---------------------------------------------------------------------------
// The blog

/// The blog, served on loopback.
pub struct ServedBlog {
    pub port: u16,
    pub settings: Settings,
    pub pool: Pool,
    // Each benchmark compiles this module on its own, and only `delivery`
    // reads these two (its workers need the config; it stops the server).
    #[allow(dead_code)]
    pub federation: FederationConfig<AppState>,
    #[allow(dead_code)]
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Processing what the inbox accepts, as `fedblog serve` does.
    #[allow(dead_code)]
    pub inbox_workers: InboxWorkers,
}

/// Creates and migrates the database `db_name` (at `db_url`), loads the
/// blog's state (generating its key) and serves the blog's real router on
/// `localhost:<port>`. `federation` is appended to the `[federation]` table
/// of the settings, which already allows private addresses (the benchmark's
/// other servers are on loopback; never set it in production).
pub async fn serve_blog(
    admin_url: &str,
    db_name: &str,
    db_url: &str,
    blog_dir: &Path,
    federation: &str,
) -> anyhow::Result<ServedBlog> {
    db::create_database_if_missing(admin_url, db_name).await?;
    db::migrate(db_url).await?;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let settings = Settings::from_toml_layers(&[&format!(
        "[server]\ndomain = \"localhost:{port}\"\nlisten = \"127.0.0.1:{port}\"\n\
         [database]\nurl = \"{db_url}\"\n\
         [storage]\ndata_dir = \"{data}\"\n\
         [admin]\ntoken = \"bench-token-0123456789abcdef\"\n\
         [federation]\nallow_private_addresses = true\n{federation}",
        data = blog_dir.display(),
    )])?;
    let pool = db::connect_pool(db_url, settings.pool_size)?;
    let state = AppState::load(settings.clone(), pool.clone()).await?;
    let federation = fedblog::federation::config(state.clone()).await?;
    let router = fedblog::web::router(state, federation.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let inbox_workers = InboxWorkers::spawn(federation.clone());
    Ok(ServedBlog {
        inbox_workers,
        port,
        settings,
        pool,
        federation,
        server,
    })
}

/// A post of ordinary size (about 2 KB of Markdown).
pub fn post_input(title: &str, tags: &[&str]) -> PostInput {
    let paragraph = "Federation is a conversation between servers: each one keeps its own \
        users and forwards what they publish to the servers of the people who follow them. \
        This paragraph is here to give the post a realistic size, with *some* **markup** \
        and a [link](https://example.org/).";
    PostInput {
        title: title.into(),
        body: [paragraph; 6].join("\n\n"),
        summary: None,
        tags: tags.iter().map(|&t| t.into()).collect(),
        language: None,
        draft: false,
    }
}

// ---------------------------------------------------------------------------
// HTTP

/// A client builder for loopback: the crypto provider installed, no proxy.
pub fn client_builder() -> reqwest::ClientBuilder {
    fedblog::net::install_crypto_provider();
    reqwest::Client::builder().no_proxy()
}

// ---------------------------------------------------------------------------
// Measurements from /proc

/// The fields after the command name of a /proc stat line (index 0 is the
/// state, field 3 in proc(5)); the name may hold spaces, so split at the last ')'.
pub fn stat(path: &Path) -> Option<(String, Vec<String>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let (head, rest) = text.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    Some((comm, rest.split_whitespace().map(str::to_string).collect()))
}

/// The sum of the fields at `indexes` (after the name), in clock ticks.
pub fn ticks(fields: &[String], indexes: &[usize]) -> u64 {
    indexes
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum()
}

pub const PPID: usize = 1; // field 4
pub const UTIME_STIME: &[usize] = &[11, 12]; // fields 14, 15
pub const ALL_TIMES: &[usize] = &[11, 12, 13, 14]; // and cutime, cstime (reaped children)

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux everywhere).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds of this process's threads named `name`.
pub fn thread_cpu(name: &str, hz: f64) -> f64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Some((comm, fields)) = stat(&entry.path().join("stat"))
            && comm == name
        {
            total += ticks(&fields, UTIME_STIME);
        }
    }
    total as f64 / hz
}

/// CPU seconds of PostgreSQL: the postmaster (with the children it has
/// reaped) and its live children (backends, WAL writer, checkpointer,
/// autovacuum, ...).
pub fn postgres_cpu(postmaster: i32, hz: f64) -> f64 {
    let mut postgres = stat(Path::new(&format!("/proc/{postmaster}/stat")))
        .map_or(0, |(_, f)| ticks(&f, ALL_TIMES));
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if let Some((_, fields)) = stat(&entry.path().join("stat"))
            && fields.get(PPID).and_then(|p| p.parse::<i32>().ok()) == Some(postmaster)
        {
            postgres += ticks(&fields, UTIME_STIME);
        }
    }
    postgres as f64 / hz
}

/// A number from /proc/self/status (kB for the Vm lines).
pub fn status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets VmHWM to the current RSS ("5" to clear_refs, Linux 4.0+).
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The CPU cost of one signature, the floor of a delivery's cost: the call
/// the federation library makes, timed on one thread.
#[allow(dead_code)] // not every benchmark prints it
pub fn rsa_sign_ms() -> anyhow::Result<f64> {
    use rsa::pkcs8::DecodePrivateKey;
    let pair = activitypub_federation::http_signatures::generate_actor_keypair()?;
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pair.private_key)?;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(
        b"(request-target): post /inbox\nhost: localhost\ndate: x",
    );
    const N: u32 = 200;
    let started = std::time::Instant::now();
    for _ in 0..N {
        key.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)?;
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0 / f64::from(N))
}
