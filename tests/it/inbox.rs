//! The inbox as an attacker meets it: every signature failure is a 401 and
//! stores nothing; a correctly signed Follow is accepted exactly once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
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
        let serve_actor = {
            let (hits, delay) = (actor_hits.clone(), actor_delay.clone());
            move |doc: String| {
                hits.fetch_add(1, Ordering::SeqCst);
                let delay = *delay.lock().expect("delay");
                async move {
                    tokio::time::sleep(delay).await;
                    ([("content-type", "application/activity+json")], doc)
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
                get(move || mallory(served.lock().expect("doc").to_string())),
            )
            // The same document under another name (for a document that names another actor).
            .route(
                "/users/eve",
                get(move || eve(eve_doc.lock().expect("doc").to_string())),
            )
            // Many actors sharing mallory's key, each fetched on its own.
            .route(
                "/crowd/{n}",
                get(move |Path(n): Path<u32>| {
                    let base = format!("http://localhost:{}/crowd/{n}", addr.port());
                    crowd(crowd_actor(&base, &public_key).to_string())
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

    fn follow(&self, app: &TestApp, n: u32) -> Value {
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

async fn stored(app: &TestApp) -> (i64, i64) {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        followers: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        received: i64,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let c: Counts = diesel::sql_query(
        "SELECT (SELECT count(*) FROM followers) AS followers, (SELECT count(*) FROM received_activities) AS received",
    )
    .get_result(&mut conn)
    .await
    .expect("counts");
    (c.followers, c.received)
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_signatures_are_401_and_store_nothing() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let now = chrono::Utc::now();
    let good = Signing::correct(&remote.key, now);
    let cases = [
        ("unsigned", Signing { key: None, ..good }),
        (
            "signed with a key that is not the actor's",
            Signing {
                key: Some(&remote.other_key),
                ..good
            },
        ),
        (
            "body altered after signing",
            Signing {
                alter_body_after_signing: true,
                ..good
            },
        ),
        (
            "Date two hours old",
            Signing {
                date: now - chrono::Duration::hours(2),
                ..good
            },
        ),
        (
            "Digest not among the signed headers",
            Signing {
                sign_digest: false,
                ..good
            },
        ),
    ];
    for (n, (what, how)) in cases.into_iter().enumerate() {
        let (status, body) =
            post_inbox(&app, &remote.actor(), &remote.follow(&app, n as u32), how).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(stored(&app).await, (0, 0), "{what}: nothing stored");
    }
    assert_eq!(app.deliver().await, 0, "nothing queued");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_follow_is_accepted_once_and_unknown_activities_are_ignored() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let good = Signing::correct(&remote.key, chrono::Utc::now());
    let follow = remote.follow(&app, 1);
    let (status, body) = post_inbox(&app, &remote.actor(), &follow, good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(stored(&app).await, (1, 1));
    let (status, _) = post_inbox(
        &app,
        &remote.actor(),
        &follow,
        Signing {
            algorithm: "hs2019",
            ..good
        },
    )
    .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "a repeat (signed as hs2019) is accepted"
    );
    assert_eq!(stored(&app).await, (1, 1), "and changes nothing");

    let odd = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/things/1", remote.actor()),
        "type": "Wave",
        "actor": remote.actor(),
        "object": app.url("/users/blog"),
    });
    let (status, _) = post_inbox(&app, &remote.actor(), &odd, good).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "unknown types: 202, no error storm"
    );
    assert_eq!(stored(&app).await, (1, 1));

    // An activity whose id is on another host than its actor is refused.
    let forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://localhost:1/follows/forged",
        "type": "Follow",
        "actor": remote.actor(),
        "object": app.url("/users/blog"),
    });
    let (status, _) = post_inbox(&app, &remote.actor(), &forged, good).await;
    assert!(status.is_client_error(), "{status}");

    // An embedded Undo must be the undoer's own Follow.
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/undo/1", remote.actor()),
        "type": "Undo",
        "actor": remote.actor(),
        "object": {"id": "http://localhost:1/follows/1", "type": "Follow", "actor": "http://localhost:1/users/victim", "object": app.url("/users/blog")},
    });
    let (status, _) = post_inbox(&app, &remote.actor(), &undo, good).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(stored(&app).await.0, 1, "the follower stays");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_activities_are_refused() {
    let app = TestApp::spawn().await;
    let big = json!({"type": "Create", "padding": "x".repeat(1024 * 1024 + 1)});
    let response = app
        .client
        .post(app.url("/inbox"))
        .header("Content-Type", "application/activity+json")
        .body(big.to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn remote_name(app: &TestApp, actor: &str) -> Option<String> {
    let mut conn = app.pool.get().await.expect("conn");
    fedblog::models::remote_actor::find(&mut conn, actor)
        .await
        .expect("find")
        .and_then(|a| a.name)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_actor_update_is_refetched_and_a_deleted_actor_is_forgotten() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let good = Signing::correct(&remote.key, chrono::Utc::now());
    remote.doc.lock().expect("doc")["name"] = json!("Mallory");
    let (status, _) = post_inbox(&app, &remote.actor(), &remote.follow(&app, 1), good).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        remote_name(&app, &remote.actor()).await.as_deref(),
        Some("Mallory")
    );

    // The profile changes at its origin; the Update's embedded copy lies.
    remote.doc.lock().expect("doc")["name"] = json!("Mallory, renamed");
    let mut embedded = remote.doc.lock().expect("doc").clone();
    embedded["name"] = json!("Not what the origin says");
    let update = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#updates/1", remote.actor()),
        "type": "Update",
        "actor": remote.actor(),
        "object": embedded,
    });
    let (status, body) = post_inbox(&app, &remote.actor(), &update, good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        remote_name(&app, &remote.actor()).await.as_deref(),
        Some("Mallory, renamed"),
        "the profile was refetched from its origin, not taken from the activity"
    );

    // What it wrote and liked goes with it.
    let post = app.publish_simple("Soon forgotten", &[]).await;
    let reply = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/creates/9", remote.actor()),
        "type": "Create",
        "actor": remote.actor(),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": format!("{}/notes/9", remote.actor()),
            "type": "Note",
            "attributedTo": remote.actor(),
            "inReplyTo": post["url"],
            "content": "<p>bye</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    });
    let like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/likes/9", remote.actor()),
        "type": "Like",
        "actor": remote.actor(),
        "object": post["url"],
    });
    for activity in [&reply, &like] {
        let (status, body) = post_inbox(&app, &remote.actor(), activity, good).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(comment_count(&app).await, 1);
    let likes_url = format!("{}/likes", post["url"].as_str().expect("url"));
    assert_eq!(app.fetch_ap(&likes_url).await.2["totalItems"], 1);

    let delete = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#delete", remote.actor()),
        "type": "Delete",
        "actor": remote.actor(),
        "object": remote.actor(),
    });
    let (status, body) = post_inbox(&app, &remote.actor(), &delete, good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(stored(&app).await.0, 0, "no longer a follower");
    assert_eq!(
        remote_name(&app, &remote.actor()).await,
        None,
        "its cached profile is gone"
    );
    assert_eq!(comment_count(&app).await, 0, "its comments are gone");
    assert_eq!(
        app.fetch_ap(&likes_url).await.2["totalItems"],
        0,
        "its likes are gone"
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn replies_must_come_from_their_author_and_count_once() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let post = app.publish_simple("Replies welcome", &[]).await;
    let good = Signing::correct(&remote.key, chrono::Utc::now());
    let create = |n: u32, attributed_to: String, note_id: String, in_reply_to: Value| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/creates/{n}", remote.actor()),
            "type": "Create",
            "actor": remote.actor(),
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": attributed_to,
                "inReplyTo": in_reply_to,
                "content": "<p>hello</p>",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
            },
        })
    };
    let note = |n: u32| format!("{}/notes/{n}", remote.actor());

    // Attributed to someone else than the signer: refused, nothing stored.
    let forged = create(
        1,
        "http://localhost:1/users/victim".into(),
        note(1),
        post["url"].clone(),
    );
    let (status, _) = post_inbox(&app, &remote.actor(), &forged, good).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An embedded object from another server is not believed.
    let foreign = create(
        2,
        remote.actor(),
        "http://localhost:2/notes/2".into(),
        post["url"].clone(),
    );
    let (status, _) = post_inbox(&app, &remote.actor(), &foreign, good).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "accepted: it is refetched from its origin later"
    );
    assert_eq!(
        comment_count(&app).await,
        0,
        "and, not found there, dropped"
    );
    // Not a reply to anything of ours: accepted and ignored.
    let unrelated = create(
        3,
        remote.actor(),
        note(3),
        json!("http://localhost:1/somewhere/else"),
    );
    let (status, _) = post_inbox(&app, &remote.actor(), &unrelated, good).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(comment_count(&app).await, 0);

    let genuine = create(4, remote.actor(), note(4), post["url"].clone());
    for _ in 0..2 {
        let (status, body) = post_inbox(&app, &remote.actor(), &genuine, good).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(comment_count(&app).await, 1, "redelivery makes one comment");

    // Updates apply only when newer than what we hold.
    let update = |n: u32, updated: chrono::DateTime<chrono::Utc>, content: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/updates/{n}", remote.actor()),
            "type": "Update",
            "actor": remote.actor(),
            "object": {
                "id": note(4),
                "type": "Note",
                "attributedTo": remote.actor(),
                "inReplyTo": post["url"],
                "content": content,
                "updated": updated.to_rfc3339(),
            },
        })
    };
    let now = chrono::Utc::now();
    for (n, at, text) in [
        (1, now + chrono::Duration::seconds(5), "<p>newer</p>"),
        (2, now - chrono::Duration::days(1), "<p>stale</p>"),
    ] {
        let (status, body) = post_inbox(&app, &remote.actor(), &update(n, at, text), good).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let (_, page) = app
        .page(&format!("/posts/{}", post["slug"].as_str().expect("slug")))
        .await;
    assert!(
        page.contains("newer") && !page.contains("stale"),
        "the stale Update did not win"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_that_overtakes_its_create_wins_and_edits_are_moderated_again() {
    let app = TestApp::spawn_with("[comments]\nhold_keywords = [\"cheap pills\"]\n").await;
    let remote = Remote::start().await;
    let post = app.publish_simple("Ordering", &[]).await;
    let good = Signing::correct(&remote.key, chrono::Utc::now());
    let note = |n: u32| format!("{}/notes/{n}", remote.actor());
    let create = |n: u32, content: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/creates/{n}", remote.actor()),
            "type": "Create",
            "actor": remote.actor(),
            "object": {
                "id": note(n),
                "type": "Note",
                "attributedTo": remote.actor(),
                "inReplyTo": post["url"],
                "content": content,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
            },
        })
    };
    // The Delete arrives first; the Create that follows it is ignored.
    let delete = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/deletes/1", remote.actor()),
        "type": "Delete",
        "actor": remote.actor(),
        "object": {"id": note(1), "type": "Tombstone"},
    });
    let (status, body) = post_inbox(&app, &remote.actor(), &delete, good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = post_inbox(&app, &remote.actor(), &create(1, "<p>gone</p>"), good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(comment_count(&app).await, 0, "the late Create is ignored");

    // A harmless comment is shown; an edit that brings in a held keyword
    // takes it back to moderation.
    let (status, body) =
        post_inbox(&app, &remote.actor(), &create(2, "<p>Nice post</p>"), good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let slug = post["slug"].as_str().expect("slug");
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    assert!(page.contains("Nice post"));
    let update = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/updates/2", remote.actor()),
        "type": "Update",
        "actor": remote.actor(),
        "object": {
            "id": note(2),
            "type": "Note",
            "attributedTo": remote.actor(),
            "inReplyTo": post["url"],
            "content": "<p>Buy CHEAP PILLS here</p>",
            "updated": (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc3339(),
        },
    });
    let (status, body) = post_inbox(&app, &remote.actor(), &update, good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    assert!(
        !page.contains("PILLS") && !page.contains("Nice post"),
        "held again"
    );
    let held: Value = app.api_get("/comments").await;
    assert_eq!(held["comments"][0]["ap_id"], note(2));
    assert_eq!(
        held["comments"][0]["moderation_note"],
        "edited to contain \"cheap pills\""
    );
}
