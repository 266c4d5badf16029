//! The third-party peer: a Fedify server (tests/peer/peer.mjs) started as a
//! child process and driven over its JSON control API.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

pub struct Peer {
    child: Child,
    /// Kept open: the peer exits when it closes (if this process dies).
    _stdin: Option<ChildStdin>,
    pub base: String,
    client: reqwest::Client,
}

impl Peer {
    pub fn start() -> Peer {
        Peer::start_with(&[])
    }

    /// Started with extra command-line options (see tests/peer/README.md).
    pub fn start_with(options: &[&str]) -> Peer {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer");
        assert!(
            dir.join("node_modules").is_dir(),
            "the Fedify peer is not installed: run `bash .ci/install-deps` (npm ci in tests/peer)"
        );
        let mut child = Command::new("node")
            .args([
                "peer.mjs",
                "--port",
                "0",
                "--public-host",
                "localhost",
                "--exit-on-stdin-close",
            ])
            .args(options)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node tests/peer/peer.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("PEER READY ") {
                    let _ = tx.send(base.trim().to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the Fedify peer starts");
        Peer {
            _stdin: child.stdin.take(),
            child,
            base,
            client: super::client(),
        }
    }

    pub fn actor(&self) -> String {
        format!("{}/users/alice", self.base)
    }

    /// Calls a control endpoint; returns (status, JSON).
    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/control/{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("peer control call");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, json) = self
            .control(reqwest::Method::POST, path, Some(body.clone()))
            .await;
        assert_eq!(status, 200, "peer /control/{path} {body}: {json}");
        json
    }

    /// Activities the peer received and verified.
    pub async fn inbox(&self) -> Vec<Value> {
        let (_, json) = self.control(reqwest::Method::GET, "inbox", None).await;
        json["activities"].as_array().cloned().unwrap_or_default()
    }

    pub async fn state(&self) -> Value {
        self.control(reqwest::Method::GET, "state", None).await.1
    }

    /// Waits (briefly) until the peer's inbox holds an activity of `kind`.
    pub async fn wait_for(&self, kind: &str) -> Value {
        for _ in 0..100 {
            if let Some(found) = self.inbox().await.into_iter().find(|a| a["type"] == kind) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the peer never received a {kind}: {:?}", self.inbox().await);
    }

    pub async fn follow(&self, actor: &str) -> Value {
        self.post("follow", json!({"actor": actor})).await
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
