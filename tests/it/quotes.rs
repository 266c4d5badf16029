//! Quotes (FEP-044f), as Mastodon 4.5 asks for them: our Articles say anyone
//! may quote them; a QuoteRequest from another server (here the Fedify peer,
//! signing with its own implementation) is answered with an Accept whose
//! `result` is a QuoteAuthorization served here, which the quoting server
//! checks; a request that is not what it claims is refused, and a quote of a
//! post that is gone is rejected.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::common::peer::Peer;

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A QuoteRequest from the peer's alice for `post`, quoting with `note`.
fn quote_request(peer: &Peer, id: &str, post: &str, note: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams",
            {"QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest"}],
        "id": format!("{}/quote_requests/{id}", peer.actor()),
        "type": "QuoteRequest",
        "actor": peer.actor(),
        "object": post,
        "instrument": {
            "id": note,
            "type": "Note",
            "attributedTo": peer.actor(),
            "to": [PUBLIC],
            "content": "<p>Look at this</p>",
            "quote": post,
        },
    })
}

/// Sends `activity` to the blog's inbox, signed by the peer; the status.
async fn send(peer: &Peer, app: &TestApp, activity: &Value) -> u16 {
    let sent = peer
        .post(
            "send",
            json!({"inbox": app.url("/users/blog/inbox"), "activity": activity}),
        )
        .await;
    let status = sent["status"].as_u64().expect("status") as u16;
    if (200..300).contains(&status) {
        app.inbox_idle().await;
    }
    status
}

/// The peer's received activities of `kind` (raw JSON), once `n` arrived.
async fn received(peer: &Peer, app: &TestApp, kind: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        app.deliver().await;
        let found: Vec<Value> = peer
            .inbox()
            .await
            .into_iter()
            .filter(|a| a["type"] == kind)
            .map(|a| a["raw"].clone())
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the peer never received {n} {kind}: {:?}",
        peer.inbox().await
    );
}

async fn approvals(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use fedblog::db::schema::quote_authorizations;
    let mut conn = app.pool.get().await.expect("conn");
    quote_authorizations::table
        .count()
        .get_result(&mut conn)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quote_is_approved_with_an_authorization_that_servers_can_check() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Quote me", &[]).await;
    let post_id = app.url(&format!("/posts/{}", post["slug"].as_str().expect("slug")));
    let blog = app.url("/users/blog");

    // The Article tells Mastodon anyone may quote it, approved at once.
    let (_, _, article) = app.fetch_ap(&post_id).await;
    assert_eq!(
        article["interactionPolicy"],
        json!({"canQuote": {"automaticApproval": [PUBLIC]}})
    );
    let context = article["@context"].to_string();
    for term in [
        "interactionPolicy",
        "canQuote",
        "automaticApproval",
        "QuoteAuthorization",
    ] {
        assert!(context.contains(term), "{term} not in {context}");
    }

    let note = format!("{}/notes/quoting-1", peer.base);
    let request = quote_request(&peer, "1", &post_id, &note);
    assert_eq!(send(&peer, &app, &request).await, 202);
    let accepts = received(&peer, &app, "Accept", 1).await;
    let accept = &accepts[0];
    // What Mastodon checks: the quoted post's author accepts, the request
    // is the one it sent, and the authorization is on the author's host.
    assert_eq!(accept["actor"], blog);
    assert_eq!(accept["actor"], article["attributedTo"]);
    assert_eq!(accept["object"]["type"], "QuoteRequest");
    assert_eq!(accept["object"]["id"], request["id"]);
    assert_eq!(accept["object"]["object"], post_id);
    assert_eq!(accept["object"]["instrument"], note);
    assert_eq!(accept["to"], json!([peer.actor()]));
    let result = accept["result"].as_str().expect("result").to_string();
    let host = |u: &str| {
        url::Url::parse(u)
            .expect("url")
            .host_str()
            .map(str::to_string)
    };
    assert_eq!(host(&result), host(&blog));

    // The authorization, as the quoting server (and later others) fetch it.
    let (status, _, stamp) = app.fetch_ap(&result).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stamp["id"], result);
    assert_eq!(stamp["type"], "QuoteAuthorization");
    assert_eq!(stamp["attributedTo"], blog);
    assert_eq!(stamp["interactingObject"], note);
    assert_eq!(stamp["interactionTarget"], post_id);
    assert_eq!(
        stamp["@context"][0],
        "https://www.w3.org/ns/activitystreams"
    );

    // A redelivery changes nothing; the same quote asked again gets the
    // same authorization.
    assert_eq!(send(&peer, &app, &request).await, 202);
    let again = quote_request(&peer, "2", &post_id, &note);
    assert_eq!(send(&peer, &app, &again).await, 202);
    let accepts = received(&peer, &app, "Accept", 2).await;
    assert_eq!(accepts.len(), 2, "one Accept per request: {accepts:?}");
    assert_eq!(accepts[1]["object"]["id"], again["id"]);
    assert_eq!(accepts[1]["result"], result.as_str());
    assert_eq!(approvals(&app).await, 1);

    // The post deleted: its quotes' authorizations are gone, a new request
    // is rejected.
    let response = app
        .api(
            reqwest::Method::DELETE,
            &format!("/posts/{}", post["slug"].as_str().expect("slug")),
        )
        .send()
        .await
        .expect("delete");
    assert!(response.status().is_success());
    let (status, _, gone) = app.fetch_ap(&result).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(gone["type"], "Tombstone");
    let late = quote_request(
        &peer,
        "3",
        &post_id,
        &format!("{}/notes/quoting-2", peer.base),
    );
    assert_eq!(send(&peer, &app, &late).await, 202);
    let rejects = received(&peer, &app, "Reject", 1).await;
    assert_eq!(rejects[0]["object"]["id"], late["id"]);
    assert_eq!(rejects[0]["actor"], blog);
    assert_eq!(approvals(&app).await, 1);

    let (status, _, _) = app.fetch_ap("/quote-authorizations/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = app.fetch_ap("/quote-authorizations/x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quote_request_that_is_not_what_it_claims_is_refused() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Quote me", &[]).await;
    let post_id = app.url(&format!("/posts/{}", post["slug"].as_str().expect("slug")));
    let other = app.publish_simple("Another", &[]).await;
    let other_id = app.url(&format!("/posts/{}", other["slug"].as_str().expect("slug")));
    let note = format!("{}/notes/quoting", peer.base);

    // The quoting post on another server than the requester's.
    let elsewhere = quote_request(&peer, "a", &post_id, "http://localhost:9/notes/x");
    // Written by someone else.
    let mut not_theirs = quote_request(&peer, "b", &post_id, &note);
    not_theirs["instrument"]["attributedTo"] = json!("http://localhost:9/users/bob");
    // Quoting another post than the one it asks for.
    let mut mismatch = quote_request(&peer, "c", &post_id, &note);
    mismatch["instrument"]["quote"] = json!(other_id);
    // A post that is not on this server.
    let not_ours = quote_request(&peer, "d", "http://localhost:9/posts/x", &note);
    // No quoting post at all.
    let mut none = quote_request(&peer, "e", &post_id, &note);
    none.as_object_mut().expect("object").remove("instrument");
    for (what, request) in [
        ("elsewhere", elsewhere),
        ("not theirs", not_theirs),
        ("mismatch", mismatch),
        ("not ours", not_ours),
        ("no instrument", none),
    ] {
        assert_eq!(send(&peer, &app, &request).await, 400, "{what}");
    }
    app.deliver().await;
    assert_eq!(approvals(&app).await, 0);
    assert!(
        !peer
            .inbox()
            .await
            .iter()
            .any(|a| a["type"] == "Accept" || a["type"] == "Reject"),
        "nothing answered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quoting_post_named_by_id_is_fetched_and_a_blocked_quoter_loses_the_approval() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Quote me", &[]).await;
    let post_id = app.url(&format!("/posts/{}", post["slug"].as_str().expect("slug")));

    // A real post of alice's, named only by its id: fetched to learn its author.
    let sent = peer
        .post(
            "reply",
            json!({"inReplyTo": post_id, "to": app.url("/users/blog"), "content": "<p>Quoting</p>"}),
        )
        .await;
    let note = sent["noteId"].as_str().expect("note id").to_string();
    let mut request = quote_request(&peer, "by-id", &post_id, &note);
    request["instrument"] = json!(note);
    assert_eq!(send(&peer, &app, &request).await, 202);
    let accepts = received(&peer, &app, "Accept", 1).await;
    assert_eq!(accepts[0]["object"]["instrument"], note);
    let result = accepts[0]["result"].as_str().expect("result").to_string();

    // An id on the requester's server that is no post of its: no approval.
    let mut missing = quote_request(&peer, "missing", &post_id, "x");
    missing["instrument"] = json!(format!("{}/notes/no-such-note", peer.base));
    assert_eq!(send(&peer, &app, &missing).await, 202);
    app.deliver().await;
    assert_eq!(approvals(&app).await, 1);

    // Blocking the quoter withdraws the approval where servers check it.
    let (status, _, _) = app.fetch_ap(&result).await;
    assert_eq!(status, StatusCode::OK);
    let response = app
        .api(reqwest::Method::POST, "/blocks")
        .json(&json!({"kind": "actor", "value": peer.actor()}))
        .send()
        .await
        .expect("block");
    assert_eq!(response.status(), StatusCode::CREATED);
    let (status, _, gone) = app.fetch_ap(&result).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(gone["type"], "Tombstone");
}

/// The second peer: Fedify 2 on Node.js 22 (tests/peer2), started as a child.
struct Quoter {
    child: std::process::Child,
    _stdin: Option<std::process::ChildStdin>,
    base: String,
}

impl Quoter {
    fn start() -> Quoter {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer2");
        let node = dir.join("node_modules/.bin/node");
        assert!(
            node.exists(),
            "the second peer is not installed: run `bash .ci/install-deps` (npm ci in tests/peer2)"
        );
        let mut child = Command::new(node)
            .arg("quoter.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/peer2/quoter.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("ready line");
        let base = line
            .trim()
            .strip_prefix("PEER READY ")
            .expect("PEER READY")
            .to_string();
        Quoter {
            _stdin: child.stdin.take(),
            child,
            base,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request =
            crate::common::client().request(method, format!("{}/control/{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
            .send()
            .await
            .expect("control")
            .json()
            .await
            .expect("json")
    }
}

impl Drop for Quoter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A quote from a second, independent implementation: Fedify 2's own
/// QuoteRequest, signed with RFC 9421 by Fedify 2; our Accept reaches a
/// server that takes only RFC 9421 (the double knock), where Fedify 2
/// verifies it and reads it as the Accept of a QuoteRequest.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_2_quotes_a_post_over_rfc_9421_both_ways() {
    let app = TestApp::spawn().await;
    let quoter = Quoter::start();
    let post = app.publish_simple("Quote me again", &[]).await;
    let post_id = app.url(&format!("/posts/{}", post["slug"].as_str().expect("slug")));
    let sent = quoter
        .call(
            reqwest::Method::POST,
            "quote",
            Some(json!({"post": post_id, "inbox": app.url("/users/blog/inbox")})),
        )
        .await;
    assert_eq!(sent["status"], 202, "{sent}");
    app.inbox_idle().await;
    let mut accepted = None;
    for _ in 0..100 {
        app.deliver().await;
        let log = quoter.call(reqwest::Method::GET, "inbox", None).await;
        if let Some(a) = log["activities"]
            .as_array()
            .and_then(|l| l.iter().find(|a| a["type"] == "Accept"))
        {
            accepted = Some((a.clone(), log.clone()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (accept, log) = accepted.expect("an Accept reached the second peer");
    assert_eq!(accept["signer"], app.url("/users/blog"), "{log}");
    assert_eq!(accept["spec"], "rfc9421");
    assert_eq!(accept["objectType"], "QuoteRequest", "{log}");
    assert_eq!(accept["objectId"], sent["id"]);
    // Its first knock, draft-cavage, was refused; then remembered.
    assert!(
        log["activities"].as_array().is_some_and(|l| l
            .iter()
            .any(|a| a["refused"] == "not an RFC 9421 signature")),
        "{log}"
    );
    let result = accept["result"].as_str().expect("result");
    let (status, _, stamp) = app.fetch_ap(result).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stamp["interactionTarget"], post_id);
    assert_eq!(
        stamp["interactingObject"],
        format!("{}/notes/1", quoter.base)
    );
}
