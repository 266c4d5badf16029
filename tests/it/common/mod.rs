//! Shared set-up: one real PostgreSQL cluster per test process (the same
//! embedded-cluster code the blog uses, or `TEST_DATABASE_URL`), a database
//! migrated once as a template, a fresh copy of it per test, and the real
//! server on a random loopback port.

#![allow(dead_code)]

pub mod peer;
pub mod remote;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use activitypub_federation::config::FederationConfig;
use fedblog::config::Settings;
use fedblog::db::embedded::EmbeddedPostgres;
use fedblog::db::{self, Pool};
use fedblog::inbox::worker::InboxWorkers;
use fedblog::state::AppState;
use fedblog::web;
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// What Mastodon sends when it fetches an object.
pub const AP_ACCEPT: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// The admin token every test app is configured with.
pub const TOKEN: &str = "test-token-0123456789abcdef";

const TEMPLATE_DB: &str = "fedblog_template";

struct Cluster {
    /// URL of a maintenance database on the server (to create databases).
    admin_url: String,
    /// `postgres://...` without the database name part's query, to build per-test URLs.
    url_for: Box<dyn Fn(&str) -> String + Send + Sync>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        // Set-up is async but runs once, from whichever test gets here first;
        // a thread of its own keeps it off that test's runtime.
        std::thread::spawn(start_cluster)
            .join()
            .expect("starting the test cluster panicked")
    })
}

fn start_cluster() -> Cluster {
    let cluster = if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        let base = url
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .expect("TEST_DATABASE_URL has a path");
        Cluster {
            admin_url: url,
            url_for: Box::new(move |db| format!("{base}/{db}")),
        }
    } else {
        let dir = std::env::temp_dir().join(format!("fedblog-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pg = EmbeddedPostgres::start_with(
            &dir,
            None,
            &[("fsync", "off"), ("full_page_writes", "off")],
        )
        .expect("the embedded test cluster starts");
        stop_when_this_process_exits(&pg, &dir);
        let admin_url = pg.url("postgres");
        Cluster {
            admin_url,
            url_for: Box::new(move |db| pg.url(db)),
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        drop_database(&cluster.admin_url, TEMPLATE_DB).await;
        db::create_database_if_missing(&cluster.admin_url, TEMPLATE_DB)
            .await
            .expect("template database");
        db::migrate(&(cluster.url_for)(TEMPLATE_DB))
            .await
            .expect("migrations apply");
    });
    cluster
}

/// Statics are never dropped, so a watcher process stops the cluster (and
/// removes its files) once this test process is gone, however it ended.
fn stop_when_this_process_exits(pg: &EmbeddedPostgres, dir: &std::path::Path) {
    let postmaster = pg.running_pid().expect("the test cluster runs");
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.3; done; kill -INT {postmaster}; \
         while kill -0 {postmaster} 2>/dev/null; do sleep 0.2; done; rm -rf '{dir}'",
        me = std::process::id(),
        dir = dir.display(),
    );
    // Deliberately not waited for: it must outlive this process.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the cluster watcher");
}

async fn drop_database(admin_url: &str, name: &str) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .expect("admin connection");
    diesel::sql_query(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        db::quote_ident(name)
    ))
    .execute(&mut conn)
    .await
    .expect("drop database");
}

/// A new database, a copy of the migrated template; returns its URL.
pub async fn fresh_database() -> String {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let cluster = cluster();
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = AsyncPgConnection::establish(&cluster.admin_url)
        .await
        .expect("admin connection");
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    (cluster.url_for)(&name)
}

/// The real application, serving on a random loopback port with its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub federation: FederationConfig<AppState>,
    pub db_url: String,
    pub pool: Pool,
    pub settings: Settings,
    pub client: reqwest::Client,
    /// Holds data files the app might write (the CLI's data dir, themes).
    pub data_dir: tempfile::TempDir,
    /// The inbox workers, processing what the inbox queued, as in `serve`.
    pub inbox_workers: Option<InboxWorkers>,
}

/// Every test's app checks, when it ends, that nothing in this process broke
/// the connection rule (`db::pool`): a held connection across network I/O,
/// or a second connection in one task, is refused and counted, and would
/// otherwise show only as a logged error.
impl Drop for TestApp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(
                fedblog::db::rule_violations(),
                0,
                "a task held a database connection across network I/O or took a second one \
                 (see the error logged by db::pool or net)"
            );
        }
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with("").await
    }

    /// With extra configuration (TOML) on top of the test defaults.
    pub async fn spawn_with(extra: &str) -> Self {
        let db_url = fresh_database().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let data_dir = tempfile::tempdir().expect("tempdir");
        let base = format!(
            "[server]\ndomain = \"localhost:{port}\"\nlisten = \"127.0.0.1:{port}\"\n\
             [database]\nurl = \"{db_url}\"\npool_size = 4\n\
             [storage]\ndata_dir = \"{data}\"\n\
             [admin]\ntoken = \"{TOKEN}\"\n\
             [federation]\nallow_private_addresses = true\n",
            port = addr.port(),
            data = data_dir.path().display(),
        );
        let settings =
            Settings::from_toml_layers(&[&base, extra]).expect("test settings are valid");
        let pool = db::connect_pool(&db_url, settings.pool_size).expect("pool");
        let state = AppState::load(settings.clone(), pool.clone())
            .await
            .expect("theme and keys load");
        let federation = fedblog::federation::config(state.clone())
            .await
            .expect("federation config");
        let inbox_workers = Some(InboxWorkers::spawn(federation.clone()));
        let router = web::router(state, federation.clone());
        tokio::spawn(async move {
            let app = router.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).await.expect("server runs");
        });
        TestApp {
            addr,
            federation,
            db_url,
            pool,
            settings,
            client: client(),
            data_dir,
            inbox_workers,
        }
    }

    /// Waits until the inbox workers have processed everything that is due
    /// (what a sender sees "within seconds" of its 202).
    pub async fn inbox_idle(&self) {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Due {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let due: Due = {
                let mut conn = self.pool.get().await.expect("conn");
                diesel::sql_query(
                    "SELECT count(*) AS n FROM inbox_queue WHERE gave_up_at IS NULL \
                     AND (next_attempt_at <= now() OR locked_until > now())",
                )
                .get_result(&mut conn)
                .await
                .expect("count the inbox queue")
            };
            if due.n == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the inbox queue still holds {} due activities after 30 s",
                due.n
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Sends every delivery that is due, as the workers would; returns the attempts.
    pub async fn deliver(&self) -> usize {
        self.inbox_idle().await;
        fedblog::delivery::worker::drain(&self.federation)
            .await
            .expect("drain")
    }

    /// An address on the app, as the app itself names it (its domain is
    /// `localhost:PORT`: the federation library wants a host name in ids).
    pub fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{}", self.addr.port(), path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET a page and return its status and body.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// GET as an ActivityPub server does; returns status, headers and JSON.
    pub async fn fetch_ap(
        &self,
        path_or_url: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            self.url(path_or_url)
        };
        let response = self
            .client
            .get(url)
            .header("Accept", AP_ACCEPT)
            .send()
            .await
            .expect("GET");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(TOKEN)
    }

    /// Creates a post through the API and returns its JSON.
    pub async fn create_post(&self, body: Value) -> Value {
        let response = self
            .api(reqwest::Method::POST, "/posts")
            .json(&body)
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), StatusCode::CREATED, "creating {body}");
        response.json().await.expect("post JSON")
    }

    pub async fn publish_simple(&self, title: &str, tags: &[&str]) -> Value {
        self.create_post(serde_json::json!({"title": title, "body": format!("Body of *{title}*."), "tags": tags}))
            .await
    }

    /// GET from the author's API, as JSON.
    pub async fn api_get(&self, path: &str) -> Value {
        self.api(reqwest::Method::GET, path)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("json")
    }

    /// Number of posts the author's API lists (drafts and published).
    pub async fn post_count(&self) -> i64 {
        self.api_get("/posts").await["total"]
            .as_i64()
            .expect("total")
    }

    /// The `fedblog` binary, configured for this app's database.
    pub fn cli(&self) -> Command {
        let mut cmd = Command::new(fedblog_bin());
        clean_env(&mut cmd);
        cmd.env("FEDBLOG__DATABASE__URL", &self.db_url)
            .env(
                "FEDBLOG__SERVER__DOMAIN",
                format!("localhost:{}", self.addr.port()),
            )
            .env("FEDBLOG__STORAGE__DATA_DIR", self.data_dir.path());
        cmd
    }
}

pub fn fedblog_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fedblog"))
}

/// Removes any FEDBLOG_* settings of the machine from a child's environment.
pub fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FEDBLOG") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
}

pub fn client() -> reqwest::Client {
    fedblog::net::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

/// Runs a command, feeding `stdin`; returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command, stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn fedblog");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A parsed HTML page.
pub fn html(body: &str) -> scraper::Html {
    scraper::Html::parse_document(body)
}

/// The `content` of `<meta property=NAME>` (or `name=NAME`) tags.
pub fn meta(doc: &scraper::Html, name: &str) -> Vec<String> {
    let selector =
        scraper::Selector::parse(&format!(r#"meta[property="{name}"], meta[name="{name}"]"#))
            .expect("selector");
    doc.select(&selector)
        .filter_map(|m| m.value().attr("content").map(str::to_string))
        .collect()
}

/// Texts of the elements matching `css`.
pub fn texts(doc: &scraper::Html, css: &str) -> Vec<String> {
    let selector = scraper::Selector::parse(css).expect("selector");
    doc.select(&selector)
        .map(|e| {
            e.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Values of `attr` on elements matching `css`.
pub fn attrs(doc: &scraper::Html, css: &str, attr: &str) -> Vec<String> {
    let selector = scraper::Selector::parse(css).expect("selector");
    doc.select(&selector)
        .filter_map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}
