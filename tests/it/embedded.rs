//! The embedded default as a user runs it: `fedblog serve` with no database
//! configured, its private cluster under the data directory, restarts and crashes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{clean_env, client, fedblog_bin, html, run, texts};

/// `fedblog serve` as a child process on the embedded database.
struct Served {
    child: Child,
    port: u16,
    data_dir: PathBuf,
    /// Whether dropping this stops a cluster left running (not after a simulated crash).
    cleanup_cluster: bool,
    /// The API token printed on first start, if this start printed one.
    token: Option<String>,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn fedblog(data_dir: &Path, port: u16) -> Command {
    let mut cmd = Command::new(fedblog_bin());
    clean_env(&mut cmd);
    cmd.env("RUST_LOG", "warn")
        .env("FEDBLOG__STORAGE__DATA_DIR", data_dir)
        .env("FEDBLOG__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("FEDBLOG__SERVER__DOMAIN", format!("localhost:{port}"))
        .env("FEDBLOG__FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true");
    cmd
}

impl Served {
    fn start(data_dir: &Path) -> Served {
        Served::start_on(data_dir, free_port())
    }

    fn start_on(data_dir: &Path, port: u16) -> Served {
        Served::start_with(data_dir, port, &[])
    }

    /// With extra `FEDBLOG__...` settings.
    fn start_with(data_dir: &Path, port: u16, settings: &[(&str, &str)]) -> Served {
        let mut child = fedblog(data_dir, port)
            .envs(settings.iter().copied())
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn fedblog serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut token = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(t) = line.split_whitespace().find(|w| w.starts_with("fbt_")) {
                    token = Some(t.to_string());
                }
                if line.starts_with("fedblog is serving") {
                    let _ = tx.send(token.take());
                }
            }
        });
        let token = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("fedblog serve starts within two minutes");
        Served {
            child,
            port,
            token,
            data_dir: data_dir.to_path_buf(),
            cleanup_cluster: true,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).expect("signal fedblog");
    }

    /// SIGKILL, as a crash: PostgreSQL (a process of its own) keeps running.
    fn crash(mut self) {
        self.signal(Signal::SIGKILL);
        wait_with_timeout(&mut self.child, Duration::from_secs(10));
        self.cleanup_cluster = false;
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        self.signal(Signal::SIGTERM);
        wait_with_timeout(&mut self.child, Duration::from_secs(60))
    }
}

/// A failed test must not leave a server or its cluster running.
impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(20);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if !self.cleanup_cluster {
            return;
        }
        if let Some(pid) = postmaster_pid(&self.data_dir).filter(|&pid| process_alive(pid)) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
        }
    }
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "fedblog did not exit in time");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

fn process_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/status"))
            .is_ok_and(|s| s.contains("State:\tZ"))
}

fn process_uid(pid: i32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("Uid line");
    line.split_whitespace()
        .nth(2)
        .and_then(|u| u.parse().ok())
        .expect("effective uid")
}

async fn create_post(served: &Served, token: &str, title: &str) -> Value {
    let response = client()
        .post(served.url("/api/v1/posts"))
        .bearer_auth(token)
        .json(&json!({"title": title, "body": "Kept **safe**.", "tags": ["durable"]}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("json")
}

async fn home_titles(served: &Served) -> Vec<String> {
    let body = client()
        .get(served.url("/"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    texts(&html(&body), "article h2")
}

async fn actor_key(served: &Served) -> String {
    let actor: Value = client()
        .get(served.url("/users/blog"))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("actor JSON");
    actor["publicKey"]["publicKeyPem"]
        .as_str()
        .expect("pem")
        .to_string()
}

fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    (dir, data)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_on_the_embedded_database_keeps_posts_across_restarts() {
    let (_guard, data) = data_dir();
    let served = Served::start(&data);
    let token = served
        .token
        .clone()
        .expect("a token is printed on first start");
    let pid = postmaster_pid(&data).expect("the cluster runs under the data directory");
    if nix::unistd::geteuid().is_root() {
        assert_ne!(
            process_uid(pid),
            0,
            "PostgreSQL runs as an unprivileged user when fedblog is root"
        );
    }
    create_post(&served, &token, "Through the API").await;
    // The CLI finds the server's cluster running and uses it.
    let (code, _, err) = run(
        fedblog(&data, served.port).args(["post", "new", "--title", "Through the CLI"]),
        Some("Hi."),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        process_alive(pid),
        "the CLI leaves the server's cluster running"
    );
    assert_eq!(
        home_titles(&served).await,
        ["Through the CLI", "Through the API"]
    );
    let key_before = actor_key(&served).await;

    let status = served.stop();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    assert!(!process_alive(pid), "the cluster stops with the server");
    assert!(postmaster_pid(&data).is_none(), "and leaves no lock behind");

    let served = Served::start(&data);
    assert!(served.token.is_none(), "the token is printed only once");
    assert_eq!(
        actor_key(&served).await,
        key_before,
        "the actor keeps its key across restarts"
    );
    assert_eq!(
        home_titles(&served).await,
        ["Through the CLI", "Through the API"]
    );
    let tag = client()
        .get(served.url("/tags/durable"))
        .send()
        .await
        .expect("GET");
    assert_eq!(tag.status(), StatusCode::OK);
    let response = client()
        .get(served.url("/api/v1/posts"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the first token still works after a restart"
    );
    assert!(served.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_of_fedblog_and_postgres_does_not_stop_the_next_start() {
    let (_guard, data) = data_dir();
    let served = Served::start(&data);
    let token = served.token.clone().expect("token");
    create_post(&served, &token, "Before the crash").await;
    let pid = postmaster_pid(&data).expect("cluster");

    served.signal(Signal::SIGKILL);
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill the postmaster");
    let deadline = Instant::now() + Duration::from_secs(30);
    while process_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut served = served;
    wait_with_timeout(&mut served.child, Duration::from_secs(10));
    drop(served);
    assert!(
        postmaster_pid(&data).is_some(),
        "a stale postmaster.pid is left behind"
    );

    let served = Served::start(&data);
    assert_eq!(
        home_titles(&served).await,
        ["Before the crash"],
        "accepted data survived the crash"
    );
    assert!(served.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_file_naming_a_reused_pid_is_recognised_as_stale() {
    let (_guard, data) = data_dir();
    let served = Served::start(&data);
    assert!(served.stop().success());
    // After a reboot the pid in a leftover lock file may belong to another
    // process: here, this test process.
    let lock = data.join("postgres/postmaster.pid");
    std::fs::write(
        &lock,
        format!(
            "{}\n{}\n",
            std::process::id(),
            data.join("postgres").display()
        ),
    )
    .expect("write lock");
    let served = Served::start(&data);
    assert!(home_titles(&served).await.is_empty());
    assert!(served.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_alone_starts_and_stops_the_cluster() {
    let (_guard, data) = data_dir();
    let port = free_port();
    let (code, out, err) = run(fedblog(&data, port).arg("migrate"), None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("migrated"), "{out}");
    let (code, _, err) = run(
        fedblog(&data, port).args(["post", "new", "--title", "Offline"]),
        Some("Written offline."),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        postmaster_pid(&data).is_none(),
        "a cluster the CLI started is stopped again"
    );
    let (code, out, _) = run(fedblog(&data, port).args(["post", "list"]), None);
    assert_eq!(code, 0);
    assert!(out.contains("offline"), "{out}");
}

#[test]
fn missing_postgres_binaries_give_one_clear_message() {
    let (_guard, data) = data_dir();
    let (code, _, err) = run(
        fedblog(&data, free_port())
            .env(
                "FEDBLOG__DATABASE__POSTGRES_BIN_DIR",
                "/nonexistent/postgresql/bin",
            )
            .arg("serve"),
        None,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("apt-get install postgresql") && err.contains("database.url"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn as_root_a_data_directory_private_to_root_still_works() {
    if !nix::unistd::geteuid().is_root() {
        return; // Only root runs PostgreSQL as another user.
    }
    use std::os::unix::fs::PermissionsExt;
    let guard = tempfile::tempdir().expect("tempdir");
    let private = guard.path().join("private");
    std::fs::create_dir(&private).expect("mkdir");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let data = private.join("data");

    let served = Served::start(&data);
    let token = served.token.clone().expect("token");
    create_post(&served, &token, "Kept outside").await;
    let link = std::fs::read_link(data.join("postgres"))
        .expect("<data_dir>/postgres links to the cluster");
    assert!(link.starts_with("/var/lib/fedblog"), "{}", link.display());
    assert!(served.stop().success());

    let served = Served::start(&data);
    assert_eq!(home_titles(&served).await, ["Kept outside"]);
    assert!(served.stop().success());
    std::fs::remove_dir_all(&link).expect("remove the test cluster");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_delivers_in_the_background_and_nothing_queued_is_lost_in_a_crash() {
    let peer = crate::common::peer::Peer::start();
    let (_guard, data) = data_dir();
    let served = Served::start(&data);
    let token = served.token.clone().expect("token");
    let actor = format!("http://localhost:{}/users/blog", served.port);

    // The running server's workers send the Accept and the Create by themselves.
    peer.follow(&actor).await;
    peer.wait_for("Accept").await;
    create_post(&served, &token, "Live delivery").await;
    let create = peer.wait_for("Create").await;
    assert_eq!(create["raw"]["object"]["name"], "Live delivery");

    // fedblog is killed; a post is written with the CLI while it is down.
    let port = served.port;
    served.crash();
    let (code, _, err) = run(
        fedblog(&data, port).args(["post", "new", "--title", "Written while down"]),
        Some("Queued, not lost."),
    );
    assert_eq!(code, 0, "{err}");

    let served = Served::start_on(&data, port);
    let mut delivered = false;
    // Up to 30 s: a loaded 2-core CI machine restarts the server and its cluster slowly.
    for _ in 0..300 {
        let inbox = peer.inbox().await;
        if inbox
            .iter()
            .any(|a| a["type"] == "Create" && a["raw"]["object"]["name"] == "Written while down")
        {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        delivered,
        "the queued Create was delivered after the restart"
    );
    assert!(served.stop().success());
}

/// A reply is answered 202, and fedblog is killed while a worker is still
/// fetching the reply's parent: after the restart the reply (and its parent)
/// is on the page all the same.
#[tokio::test(flavor = "multi_thread")]
async fn an_activity_accepted_just_before_a_crash_is_processed_after_the_restart() {
    use crate::common::remote::{Remote, Signing, send_signed};
    let (_guard, data) = data_dir();
    let port = free_port();
    let settings = [("FEDBLOG__FEDERATION__REQUEST_TIMEOUT_SECS", "2")];
    let served = Served::start_with(&data, port, &settings);
    let token = served.token.clone().expect("token");
    let post = create_post(&served, &token, "Crash test").await;
    let remote = Remote::start().await;
    let parent = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": remote.note_url("parent"),
        "type": "Note",
        "attributedTo": remote.actor(),
        "inReplyTo": post["url"],
        "content": "<p>The parent, fetched slowly</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    remote
        .notes
        .lock()
        .expect("notes")
        .insert("parent".into(), parent);
    *remote.note_delay.lock().expect("delay") = Duration::from_millis(1500);
    let reply = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/creates/survivor", remote.actor()),
        "type": "Create",
        "actor": remote.actor(),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": format!("{}/notes/survivor", remote.actor()),
            "type": "Note",
            "attributedTo": remote.actor(),
            "inReplyTo": remote.note_url("parent"),
            "content": "<p>The reply that survived a crash</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    });
    let host = format!("localhost:{port}");
    let how = Signing::correct(&remote.key, chrono::Utc::now());
    let (status, body) = send_signed(
        &client(),
        &served.url("/inbox"),
        &host,
        &remote.actor(),
        &reply,
        how,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // The worker is fetching the parent (it takes 1.5 s): now it crashes.
    let deadline = Instant::now() + Duration::from_secs(30);
    while remote.hits("notes/parent") == 0 {
        assert!(
            Instant::now() < deadline,
            "the worker never fetched the parent"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    served.crash();

    let served = Served::start_with(&data, port, &settings);
    let slug = post["slug"].as_str().expect("slug");
    let mut shown = false;
    // The crashed worker's lease (5 request timeouts) expires, then it is processed again.
    for _ in 0..600 {
        let page = client()
            .get(served.url(&format!("/posts/{slug}")))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("page");
        if page.contains("The reply that survived a crash") {
            assert!(
                page.contains("The parent, fetched slowly"),
                "with its parent"
            );
            shown = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        shown,
        "the reply accepted before the crash is on the page after the restart"
    );
    assert!(served.stop().success());
}

/// A server and a CLI command started together on a new data directory:
/// one creates and starts the cluster, the other waits and uses it.
#[test]
fn two_processes_starting_a_new_cluster_at_once_both_get_it() {
    use fedblog::db::embedded::EmbeddedPostgres;
    let (_guard, data) = data_dir();
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let data = data.clone();
            std::thread::spawn(move || EmbeddedPostgres::start(&data, None))
        })
        .collect();
    let clusters: Vec<EmbeddedPostgres> = starts
        .into_iter()
        .map(|t| t.join().expect("thread").expect("both starts succeed"))
        .collect();
    assert_eq!(
        clusters.iter().filter(|c| c.started_here()).count(),
        1,
        "one started it, the other found it running"
    );
    assert!(postmaster_pid(&data).is_some());
    for cluster in &clusters {
        if cluster.started_here() {
            cluster.stop().expect("stop");
        }
    }
}

/// A cluster started by one process (a CLI command) is not stopped under
/// another that came to use it meanwhile (a server); the last one out stops it.
#[test]
fn a_cluster_in_use_by_another_process_is_left_running() {
    use fedblog::db::embedded::EmbeddedPostgres;
    let (_guard, data) = data_dir();
    let first = EmbeddedPostgres::start(&data, None).expect("start");
    assert!(first.started_here());
    let second = EmbeddedPostgres::start(&data, None).expect("found running");
    assert!(!second.started_here());
    assert!(
        !first.stop_unless_in_use().expect("stop"),
        "in use: left running"
    );
    assert!(postmaster_pid(&data).is_some_and(process_alive));
    drop(second);
    assert!(
        first.stop_unless_in_use().expect("stop"),
        "alone now: stopped"
    );
    assert!(postmaster_pid(&data).is_none());
}
