//! A remote fediverse server on loopback for the tests: an actor with a key
//! we control (and a second key that is not its own), notes, files and
//! crowds of actors it serves, with counters, delays and outages; and
//! requests signed as Mastodon signs them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::StatusCode;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::TestApp;

/// A file a test remote serves: its content type and bytes.
pub(crate) type ServedFile = (String, Vec<u8>);

/// A remote actor served from loopback, with a key we control.
pub(crate) struct Remote {
    addr: SocketAddr,
    /// The actor document it serves (changed by tests).
    pub(crate) doc: Arc<Mutex<Value>>,
    /// Objects it serves at `/notes/{name}`, by name (set by tests).
    pub(crate) notes: Arc<Mutex<HashMap<String, Value>>>,
    /// How long it takes to serve a note (a slow server).
    pub(crate) note_delay: Arc<Mutex<std::time::Duration>>,
    /// How many more note requests answer 503 (a server in trouble).
    pub(crate) note_outages: Arc<AtomicUsize>,
    /// Files it serves at `/files/{name}`: (content type, bytes).
    pub(crate) files: Arc<Mutex<HashMap<String, ServedFile>>>,
    /// How often each file was asked for.
    pub(crate) file_hits: Arc<Mutex<HashMap<String, usize>>>,
    pub(crate) key: RsaPrivateKey,
    /// A second key that is not the actor's.
    other_key: RsaPrivateKey,
    /// How often an actor document (mallory's, eve's or the crowd's) was asked for.
    pub(crate) actor_hits: Arc<AtomicUsize>,
    /// How long the actor documents take to serve (a slow server).
    pub(crate) actor_delay: Arc<Mutex<std::time::Duration>>,
    /// Actor documents only for signed requests (401 otherwise), as
    /// Mastodon in secure mode and GoToSocial.
    pub(crate) secure_mode: Arc<AtomicBool>,
    /// How many actor requests were signed.
    pub(crate) signed_actor_hits: Arc<AtomicUsize>,
}

impl Remote {
    pub(crate) async fn start() -> Remote {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair().expect("key");
        let other = activitypub_federation::http_signatures::generate_actor_keypair().expect("key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://localhost:{}", addr.port());
        let actor = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": format!("{base}/users/mallory"),
            "type": "Person",
            "preferredUsername": "mallory",
            "inbox": format!("{base}/users/mallory/inbox"),
            "endpoints": {"sharedInbox": format!("{base}/inbox")},
            "publicKey": {
                "id": format!("{base}/users/mallory#main-key"),
                "owner": format!("{base}/users/mallory"),
                "publicKeyPem": pair.public_key,
            },
        });
        let doc = Arc::new(Mutex::new(actor));
        let served = doc.clone();
        let actor_hits = Arc::new(AtomicUsize::new(0));
        let actor_delay = Arc::new(Mutex::new(std::time::Duration::ZERO));
        let public_key = pair.public_key.clone();
        let secure_mode = Arc::new(AtomicBool::new(false));
        let signed_actor_hits = Arc::new(AtomicUsize::new(0));
        let serve_actor = {
            let (hits, delay) = (actor_hits.clone(), actor_delay.clone());
            let (secure, signed_hits) = (secure_mode.clone(), signed_actor_hits.clone());
            move |doc: String, headers: axum::http::HeaderMap| {
                hits.fetch_add(1, Ordering::SeqCst);
                let signed = headers.contains_key("signature");
                if signed {
                    signed_hits.fetch_add(1, Ordering::SeqCst);
                }
                let refused = secure.load(Ordering::SeqCst) && !signed;
                let delay = *delay.lock().expect("delay");
                async move {
                    tokio::time::sleep(delay).await;
                    if refused {
                        // As Mastodon in secure mode answers.
                        return (
                            StatusCode::UNAUTHORIZED,
                            [("content-type", "application/json; charset=utf-8")],
                            r#"{"error":"Request not signed"}"#.to_string(),
                        );
                    }
                    (
                        StatusCode::OK,
                        [("content-type", "application/activity+json")],
                        doc,
                    )
                }
            }
        };
        let (mallory, eve, crowd) = (serve_actor.clone(), serve_actor.clone(), serve_actor);
        let eve_doc = doc.clone();
        let notes = Arc::new(Mutex::new(HashMap::<String, Value>::new()));
        let served_notes = notes.clone();
        let note_delay = Arc::new(Mutex::new(std::time::Duration::ZERO));
        let delay = note_delay.clone();
        let note_outages = Arc::new(AtomicUsize::new(0));
        let outages = note_outages.clone();
        let files = Arc::new(Mutex::new(HashMap::<String, ServedFile>::new()));
        let file_hits = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let (served_files, hits) = (files.clone(), file_hits.clone());
        let note_hits = file_hits.clone();
        let router = Router::new()
            .route(
                "/files/{name}",
                get(move |Path(name): Path<String>| {
                    *hits.lock().expect("hits").entry(name.clone()).or_default() += 1;
                    let file = served_files.lock().expect("files").get(&name).cloned();
                    async move {
                        match file {
                            Some((kind, bytes)) => {
                                (StatusCode::OK, [("content-type", kind)], bytes)
                            }
                            None => (
                                StatusCode::NOT_FOUND,
                                [("content-type", "text/plain".to_string())],
                                Vec::new(),
                            ),
                        }
                    }
                }),
            )
            .route(
                "/users/mallory",
                get(move |headers: axum::http::HeaderMap| {
                    mallory(served.lock().expect("doc").to_string(), headers)
                }),
            )
            // The same document under another name (for a document that names another actor).
            .route(
                "/users/eve",
                get(move |headers: axum::http::HeaderMap| {
                    eve(eve_doc.lock().expect("doc").to_string(), headers)
                }),
            )
            // Many actors sharing mallory's key, each fetched on its own.
            .route(
                "/crowd/{n}",
                get(move |Path(n): Path<u32>, headers: axum::http::HeaderMap| {
                    let base = format!("http://localhost:{}/crowd/{n}", addr.port());
                    crowd(crowd_actor(&base, &public_key).to_string(), headers)
                }),
            )
            .route(
                "/notes/{name}",
                get(move |Path(name): Path<String>| {
                    *note_hits
                        .lock()
                        .expect("hits")
                        .entry(format!("notes/{name}"))
                        .or_default() += 1;
                    let note = served_notes.lock().expect("notes").get(&name).cloned();
                    let delay = *delay.lock().expect("delay");
                    let down = outages
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    async move {
                        tokio::time::sleep(delay).await;
                        match note {
                            _ if down => (
                                StatusCode::SERVICE_UNAVAILABLE,
                                [("content-type", "text/html")],
                                "<h1>503 Service Unavailable</h1>".to_string(),
                            ),
                            Some(note) => (
                                StatusCode::OK,
                                [("content-type", "application/activity+json")],
                                note.to_string(),
                            ),
                            None => (
                                StatusCode::NOT_FOUND,
                                [("content-type", "text/plain")],
                                String::new(),
                            ),
                        }
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Remote {
            addr,
            doc,
            notes,
            note_delay,
            note_outages,
            files,
            file_hits,
            key: RsaPrivateKey::from_pkcs8_pem(&pair.private_key).expect("pem"),
            other_key: RsaPrivateKey::from_pkcs8_pem(&other.private_key).expect("pem"),
            actor_hits,
            actor_delay,
            secure_mode,
            signed_actor_hits,
        }
    }

    /// A key that is not the actor's.
    pub(crate) fn other_key(&self) -> &RsaPrivateKey {
        &self.other_key
    }

    /// The actor of the crowd member `n`.
    pub(crate) fn crowd(&self, n: u32) -> String {
        format!("http://localhost:{}/crowd/{n}", self.addr.port())
    }

    /// Actor documents served so far.
    pub(crate) fn actor_fetches(&self) -> usize {
        self.actor_hits.load(Ordering::SeqCst)
    }

    /// Serves `bytes` at `/files/{name}` and makes it the actor's avatar.
    pub(crate) fn set_avatar(&self, name: &str, content_type: &str, bytes: Vec<u8>) -> String {
        let url = format!("http://localhost:{}/files/{name}", self.addr.port());
        self.files
            .lock()
            .expect("files")
            .insert(name.to_string(), (content_type.to_string(), bytes));
        self.doc.lock().expect("doc")["icon"] = json!({"type": "Image", "url": url});
        url
    }

    /// Serves `bytes` at `/files/{name}`; returns its address.
    pub(crate) fn serve_file(&self, name: &str, content_type: &str, bytes: Vec<u8>) -> String {
        self.files
            .lock()
            .expect("files")
            .insert(name.to_string(), (content_type.to_string(), bytes));
        format!("http://localhost:{}/files/{name}", self.addr.port())
    }

    /// How often `/files/{name}` (or, for `notes/{name}`, that note) was asked for.
    pub(crate) fn hits(&self, name: &str) -> usize {
        self.file_hits
            .lock()
            .expect("hits")
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn actor(&self) -> String {
        format!("http://localhost:{}/users/mallory", self.addr.port())
    }

    /// Where it serves the note named `name`.
    pub(crate) fn note_url(&self, name: &str) -> String {
        format!("http://localhost:{}/notes/{name}", self.addr.port())
    }

    pub(crate) fn follow(&self, app: &TestApp, n: u32) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/follows/{n}", self.actor()),
            "type": "Follow",
            "actor": self.actor(),
            "object": app.url("/users/blog"),
        })
    }
}

/// An actor document at `id` with `public_key`.
fn crowd_actor(id: &str, public_key: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": id.rsplit('/').next(),
        "inbox": format!("{id}/inbox"),
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": public_key},
    })
}

/// How to (mis)sign a request.
#[derive(Clone, Copy)]
pub(crate) struct Signing<'a> {
    pub(crate) key: Option<&'a RsaPrivateKey>,
    /// What the `algorithm` parameter says (Mastodon sends rsa-sha256; hs2019 is also used).
    pub(crate) algorithm: &'static str,
    pub(crate) date: chrono::DateTime<chrono::Utc>,
    pub(crate) sign_digest: bool,
    pub(crate) alter_body_after_signing: bool,
    /// Signed headers left out of the signature (besides digest, above).
    pub(crate) omit: &'static [&'static str],
    /// The Host sent and signed, when not ours.
    pub(crate) host: Option<&'static str>,
    /// The Date sent and signed, verbatim, when not `date`.
    pub(crate) raw_date: Option<&'static str>,
    /// The keyId's actor, when not the activity's.
    pub(crate) key_owner: Option<&'a str>,
    /// The whole Signature header, verbatim.
    pub(crate) raw_signature: Option<&'static str>,
}

impl<'a> Signing<'a> {
    /// Signed as Mastodon signs: rsa-sha256 over (request-target), host, date and digest.
    pub(crate) fn correct(key: &'a RsaPrivateKey, date: chrono::DateTime<chrono::Utc>) -> Self {
        Signing {
            key: Some(key),
            algorithm: "rsa-sha256",
            date,
            sign_digest: true,
            alter_body_after_signing: false,
            omit: &[],
            host: None,
            raw_date: None,
            key_owner: None,
            raw_signature: None,
        }
    }
}

/// Signs and POSTs `body` to a test app's shared inbox; after a 2xx, waits
/// until the app's inbox workers have processed it.
pub(crate) async fn post_inbox(
    app: &TestApp,
    key_owner: &str,
    body: &Value,
    how: Signing<'_>,
) -> (StatusCode, String) {
    let host = format!("localhost:{}", app.addr.port());
    let (status, text) =
        send_signed(&app.client, &app.url("/inbox"), &host, key_owner, body, how).await;
    if status.is_success() && app.inbox_workers.is_some() {
        // What the sender was told it may rely on: processed within seconds.
        app.inbox_idle().await;
    }
    (status, text)
}

/// Signs and POSTs `body` to the shared inbox at `inbox` of the server `our_host`.
pub(crate) async fn send_signed(
    client: &reqwest::Client,
    inbox: &str,
    our_host: &str,
    key_owner: &str,
    body: &Value,
    how: Signing<'_>,
) -> (StatusCode, String) {
    let path = "/inbox";
    let host = how.host.unwrap_or(our_host).to_string();
    let body_bytes = body.to_string().into_bytes();
    let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(&body_bytes)));
    let date = how.raw_date.map_or_else(
        || how.date.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        str::to_string,
    );
    let mut request = client
        .post(inbox)
        .header("Content-Type", "application/activity+json")
        .header("Host", &host)
        .header("Date", &date)
        .header("Digest", &digest);
    if let Some(key) = how.key {
        let values = [
            ("(request-target)", format!("post {path}")),
            ("host", host.clone()),
            ("date", date.clone()),
            ("digest", digest.clone()),
        ];
        let signed: Vec<&(&str, String)> = values
            .iter()
            .filter(|(name, _)| !how.omit.contains(name) && (how.sign_digest || *name != "digest"))
            .collect();
        let headers: Vec<&str> = signed.iter().map(|(name, _)| *name).collect();
        let signing_string: Vec<String> = signed
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        let signature = SigningKey::<Sha256>::new(key.clone())
            .sign(signing_string.join("\n").as_bytes())
            .to_bytes();
        let key_owner = how.key_owner.unwrap_or(key_owner);
        request = request.header(
            "Signature",
            format!(
                "keyId=\"{key_owner}#main-key\",algorithm=\"{}\",headers=\"{}\",signature=\"{}\"",
                how.algorithm,
                headers.join(" "),
                BASE64.encode(signature)
            ),
        );
    }
    if let Some(raw) = how.raw_signature {
        request = request.header("Signature", raw);
    }
    let mut sent = body_bytes;
    if how.alter_body_after_signing {
        sent = serde_json::to_vec(&json!({"tampered": true, "original": body})).expect("json");
    }
    let response = request.body(sent).send().await.expect("POST inbox");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

pub(crate) async fn comment_count(app: &TestApp) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let c: Count = diesel::sql_query("SELECT count(*) AS n FROM comments")
        .get_result(&mut conn)
        .await
        .expect("count");
    c.n
}
