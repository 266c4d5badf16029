//! The inbox as a hostile sender and a busy fediverse meet it: each rule of
//! the signature check refuses a request that breaks only that rule, stores
//! nothing, and (for the rules that need no key) fetches nothing; a burst of
//! signed requests from actors never seen before is taken with a pool of two
//! connections; an overloaded inbox says 503 with Retry-After; an accepted
//! activity survives its workers stopping.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use reqwest::StatusCode;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::common::remote::{Remote, Signing, comment_count, post_inbox};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Followers, comments and queued inbound activities.
async fn stored(app: &TestApp) -> (i64, i64, i64) {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        followers: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        comments: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        queued: i64,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let c: Counts = diesel::sql_query(
        "SELECT (SELECT count(*) FROM followers) AS followers, \
                (SELECT count(*) FROM comments) AS comments, \
                (SELECT count(*) FROM inbox_queue) AS queued",
    )
    .get_result(&mut conn)
    .await
    .expect("counts");
    (c.followers, c.comments, c.queued)
}

fn follow(app: &TestApp, actor: &str, n: u32) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/follows/{n}"),
        "type": "Follow",
        "actor": actor,
        "object": app.url("/users/blog"),
    })
}

fn reply(actor: &str, n: u32, post_url: &Value, content: &str) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/creates/{n}"),
        "type": "Create",
        "actor": actor,
        "to": [PUBLIC],
        "object": {
            "id": format!("{actor}/notes/{n}"),
            "type": "Note",
            "attributedTo": actor,
            "inReplyTo": post_url,
            "content": content,
            "to": [PUBLIC],
        },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn each_signature_rule_refuses_alone_and_the_cheap_ones_fetch_nothing() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let now = chrono::Utc::now();
    let good = Signing::correct(&remote.key, now);
    let elsewhere = "http://localhost:1/users/mallory";
    let cheap: Vec<(&str, Signing<'_>, StatusCode)> = vec![
        (
            "unsigned",
            Signing { key: None, ..good },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "host not signed",
            Signing {
                omit: &["host"],
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "(request-target) not signed",
            Signing {
                omit: &["(request-target)"],
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "date not signed",
            Signing {
                omit: &["date"],
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "digest not signed",
            Signing {
                sign_digest: false,
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "the signed Host is another server's",
            Signing {
                host: Some("localhost:1"),
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "Date two hours in the future",
            Signing {
                date: now + chrono::Duration::hours(2),
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "Date two hours old",
            Signing {
                date: now - chrono::Duration::hours(2),
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unparsable Date",
            Signing {
                raw_date: Some("the day before yesterday"),
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "body altered after signing",
            Signing {
                alter_body_after_signing: true,
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "an algorithm we do not verify",
            Signing {
                algorithm: "rsa-sha1",
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a key on another server than the actor",
            Signing {
                key_owner: Some(elsewhere),
                ..good
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a Signature header that does not parse",
            Signing {
                key: None,
                raw_signature: Some("keyId=unquoted, signature"),
                ..good
            },
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (n, (what, how, expected)) in cheap.into_iter().enumerate() {
        let activity = follow(&app, &remote.actor(), n as u32);
        let (status, body) = post_inbox(&app, &remote.actor(), &activity, how).await;
        assert_eq!(status, expected, "{what}: {body}");
        let reason: Value = serde_json::from_str(&body).expect("a JSON reason");
        assert!(
            reason["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {body}"
        );
        assert_eq!(stored(&app).await, (0, 0, 0), "{what}: nothing stored");
        assert_eq!(
            remote.actor_fetches(),
            0,
            "{what}: refused before fetching the actor"
        );
    }

    // These need the key: fetched, and still refused.
    let (status, body) = post_inbox(
        &app,
        &remote.actor(),
        &follow(&app, &remote.actor(), 100),
        Signing {
            key: Some(remote.other_key()),
            ..good
        },
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another key: {body}");
    assert!(remote.actor_fetches() >= 1);
    assert_eq!(stored(&app).await, (0, 0, 0));

    // The correct request is accepted, so the refusals above were the rules'.
    let (status, body) = post_inbox(
        &app,
        &remote.actor(),
        &follow(&app, &remote.actor(), 101),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        stored(&app).await,
        (1, 0, 0),
        "followed, and the queue is empty again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn weak_keys_and_documents_of_another_actor_are_refused() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let good = Signing::correct(&remote.key, chrono::Utc::now());

    // A document that is another actor (eve) than the URL it came from (mallory).
    let eve = remote.actor().replace("/mallory", "/eve");
    {
        let mut doc = remote.doc.lock().expect("doc");
        doc["id"] = json!(eve);
        doc["publicKey"]["owner"] = json!(eve);
        doc["publicKey"]["id"] = json!(format!("{eve}#main-key"));
    }
    let (status, body) = post_inbox(
        &app,
        &remote.actor(),
        &follow(&app, &remote.actor(), 1),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("not the URL it was fetched from"), "{body}");
    assert_eq!(stored(&app).await, (0, 0, 0));

    // A 1024-bit key verifies its own signature, but is too weak to trust.
    let weak = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).expect("key");
    let pem = weak
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    {
        let mut doc = remote.doc.lock().expect("doc");
        doc["id"] = json!(remote.actor());
        doc["publicKey"]["owner"] = json!(remote.actor());
        doc["publicKey"]["id"] = json!(format!("{}#main-key", remote.actor()));
        doc["publicKey"]["publicKeyPem"] = json!(pem);
    }
    let (status, body) = post_inbox(
        &app,
        &remote.actor(),
        &follow(&app, &remote.actor(), 2),
        Signing {
            key: Some(&weak),
            ..good
        },
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("1024 bits"), "{body}");
    assert_eq!(stored(&app).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_delete_of_an_actor_never_seen_is_accepted_without_fetching_it() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let good = Signing::correct(&remote.key, chrono::Utc::now());
    let delete = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#delete", remote.actor()),
        "type": "Delete",
        "actor": remote.actor(),
        "object": remote.actor(),
    });
    let (status, body) = post_inbox(&app, &remote.actor(), &delete, good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(remote.actor_fetches(), 0, "nothing fetched");
    assert_eq!(stored(&app).await, (0, 0, 0), "nothing stored");
}

/// 64 signed requests at once, from 64 actors the blog has never seen, with
/// two database connections: every one is answered 2xx and nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_from_unknown_actors_is_taken_with_a_pool_of_two() {
    let app = Arc::new(TestApp::spawn_with("[database]\npool_size = 2\n").await);
    let remote = Arc::new(Remote::start().await);
    let post = app.publish_simple("Popular", &[]).await;
    let post_url = post["url"].clone();
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..64u32 {
        let (app, remote, post_url) = (app.clone(), remote.clone(), post_url.clone());
        sends.spawn(async move {
            let actor = remote.crowd(n);
            let activity = if n % 2 == 0 {
                follow(&app, &actor, n)
            } else {
                reply(&actor, n, &post_url, &format!("<p>reply {n}</p>"))
            };
            let how = Signing::correct(&remote.key, chrono::Utc::now());
            post_inbox(&app, &actor, &activity, how).await
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = sends.join_next().await {
        let (status, body) = done.expect("a sender");
        statuses.push((status, body));
    }
    let refused: Vec<_> = statuses.iter().filter(|(s, _)| !s.is_success()).collect();
    assert!(refused.is_empty(), "all answered 2xx: {refused:?}");
    app.inbox_idle().await;
    assert_eq!(
        stored(&app).await,
        (32, 32, 0),
        "32 followers, 32 comments, nothing left queued"
    );
    assert!(remote.actor_fetches() >= 64, "each actor was fetched");
    // Every follower gets its Accept.
    let accepts = app.deliver().await;
    assert_eq!(accepts, 32, "one Accept per follow");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_overloaded_inbox_answers_503_with_retry_after_at_once() {
    let app = Arc::new(TestApp::spawn_with("[federation]\ninbox_concurrency = 1\n").await);
    let remote = Arc::new(Remote::start().await);
    // Slow, but within the inbox's 5 s verification deadline.
    *remote.actor_delay.lock().expect("delay") = std::time::Duration::from_secs(3);
    let slow = {
        let (app, remote) = (app.clone(), remote.clone());
        tokio::spawn(async move {
            let how = Signing::correct(&remote.key, chrono::Utc::now());
            post_inbox(
                &app,
                &remote.actor(),
                &follow(&app, &remote.actor(), 1),
                how,
            )
            .await
        })
    };
    // Wait until the first request is fetching the (slow) actor.
    while remote.actor_fetches() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let response = app
        .client
        .post(app.url("/inbox"))
        .header("Content-Type", "application/activity+json")
        .body(follow(&app, &remote.actor(), 2).to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !slow.is_finished(),
        "answered while the busy request still waits for its actor, not after it"
    );
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("10")
    );
    let (status, body) = slow.await.expect("the first sender");
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the first request was not hurt: {body}"
    );
    // The public pages keep working.
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_answers_503_and_what_was_accepted_is_processed_after_a_restart() {
    let mut app = TestApp::spawn_with("[federation]\ninbox_queue_limit = 1\n").await;
    let remote = Remote::start().await;
    let post = app.publish_simple("Queued", &[]).await;
    // The workers are down (a crash, or a restart under way).
    app.inbox_workers.take().expect("workers").shutdown().await;
    let good = Signing::correct(&remote.key, chrono::Utc::now());
    let (status, body) = post_inbox(
        &app,
        &remote.actor(),
        &reply(&remote.actor(), 1, &post["url"], "<p>kept</p>"),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = post_inbox(
        &app,
        &remote.actor(),
        &reply(&remote.actor(), 2, &post["url"], "<p>later</p>"),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        stored(&app).await,
        (0, 0, 1),
        "one waits; nothing applied yet"
    );

    // The operator sees it waiting...
    let (code, out, err) = crate::common::run(app.cli().args(["inbox"]), None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("waiting") && out.contains("Create") && out.contains(&remote.actor()),
        "{out}"
    );
    // ...and, had it failed for good, given up with why, and can retry it.
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.pool.get().await.expect("conn");
        diesel::sql_query(
            "UPDATE inbox_queue SET gave_up_at = now(), attempts = 10, \
             last_error = 'HTTP 503 from the parent''s server'",
        )
        .execute(&mut conn)
        .await
        .expect("give up");
    }
    let (code, out, err) = crate::common::run(app.cli().args(["inbox"]), None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("given-up") && out.contains("last error: HTTP 503 from the parent's server"),
        "{out}"
    );
    assert!(out.contains("1 given up"), "{out}");
    let (code, _, err) = crate::common::run(app.cli().args(["inbox", "retry", "999999"]), None);
    assert_ne!(code, 0, "an unknown id is an error");
    assert!(err.contains("no activity with that id"), "{err}");
    let (code, out, err) = crate::common::run(app.cli().args(["inbox", "retry"]), None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1 activities will be processed again"),
        "{out}"
    );
    // Workers start again (as after a restart) and process what was accepted.
    app.inbox_workers = Some(fedblog::inbox::worker::InboxWorkers::spawn(
        app.federation.clone(),
    ));
    app.inbox_idle().await;
    assert_eq!(comment_count(&app).await, 1);
    let slug = post["slug"].as_str().expect("slug");
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    assert!(page.contains("kept"), "the accepted reply is on the page");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_without_updated_applies_as_in_mastodon() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let post = app.publish_simple("Edits", &[]).await;
    let good = Signing::correct(&remote.key, chrono::Utc::now());
    let (status, body) = post_inbox(
        &app,
        &remote.actor(),
        &reply(&remote.actor(), 1, &post["url"], "<p>first words</p>"),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let update = |n: u32, content: &str, updated: Option<String>| {
        let mut object = json!({
            "id": format!("{}/notes/1", remote.actor()),
            "type": "Note",
            "attributedTo": remote.actor(),
            "inReplyTo": post["url"],
            "content": content,
        });
        if let Some(at) = updated {
            object["updated"] = json!(at);
        }
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/updates/{n}", remote.actor()),
            "type": "Update",
            "actor": remote.actor(),
            "object": object,
        })
    };
    let slug = post["slug"].as_str().expect("slug");
    let (status, body) = post_inbox(
        &app,
        &remote.actor(),
        &update(1, "<p>second words</p>", None),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    assert!(
        page.contains("second words") && !page.contains("first words"),
        "no `updated`: applied"
    );

    // One in the same second as what we hold applies too (servers write whole seconds).
    let held: Value = app.api_get("/comments?state=approved").await;
    let at = held["comments"][0]["updated_at"]
        .as_str()
        .expect("updated_at")
        .to_string();
    let same_second = chrono::DateTime::parse_from_rfc3339(&at)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (status, _) = post_inbox(
        &app,
        &remote.actor(),
        &update(2, "<p>third words</p>", Some(same_second)),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    assert!(page.contains("third words"), "the same second: applied");

    // An older one does not.
    let old = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let (status, _) = post_inbox(
        &app,
        &remote.actor(),
        &update(3, "<p>stale words</p>", Some(old)),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    assert!(
        page.contains("third words") && !page.contains("stale words"),
        "strictly older: not applied"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_is_fetched_again_once_and_then_verifies() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let good = Signing::correct(&remote.key, chrono::Utc::now());
    let (status, body) = post_inbox(
        &app,
        &remote.actor(),
        &follow(&app, &remote.actor(), 1),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let fetched = remote.actor_fetches();

    // The actor rotates its key; we still hold the old one.
    let new_pem = remote
        .other_key()
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    remote.doc.lock().expect("doc")["publicKey"]["publicKeyPem"] = json!(new_pem);
    let rotated = Signing {
        key: Some(remote.other_key()),
        ..good
    };
    let like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/likes/1", remote.actor()),
        "type": "Like",
        "actor": remote.actor(),
        "object": app.publish_simple("Liked", &[]).await["url"],
    });
    let (status, body) = post_inbox(&app, &remote.actor(), &like, rotated).await;
    assert_eq!(status, StatusCode::ACCEPTED, "the new key verifies: {body}");
    assert_eq!(remote.actor_fetches(), fetched + 1, "fetched again once");

    // The old key no longer does (and is not fetched again and again).
    let (status, _) = post_inbox(
        &app,
        &remote.actor(),
        &follow(&app, &remote.actor(), 2),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        remote.actor_fetches(),
        fetched + 2,
        "one refetch per failed request"
    );
}

/// An actor is fetched unsigned first (an RSA signature saved per new
/// follower); a server that refuses that (Mastodon's secure mode) is asked
/// again signed, and from then on signed at once.
#[tokio::test(flavor = "multi_thread")]
async fn actors_are_fetched_unsigned_first_and_signed_where_required() {
    let app = TestApp::spawn().await;
    let open = Remote::start().await;
    let how = Signing::correct(&open.key, chrono::Utc::now());
    let (status, body) =
        post_inbox(&app, &open.crowd(1), &follow(&app, &open.crowd(1), 1), how).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(open.actor_fetches(), 1, "fetched once");
    assert_eq!(open.signed_actor_hits.load(Ordering::SeqCst), 0, "unsigned");

    let secure = Remote::start().await;
    secure.secure_mode.store(true, Ordering::SeqCst);
    let how = Signing::correct(&secure.key, chrono::Utc::now());
    let (status, body) = post_inbox(
        &app,
        &secure.crowd(1),
        &follow(&app, &secure.crowd(1), 1),
        how,
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(secure.actor_fetches(), 2, "refused unsigned, then signed");
    assert_eq!(secure.signed_actor_hits.load(Ordering::SeqCst), 1);
    let (status, body) = post_inbox(
        &app,
        &secure.crowd(2),
        &follow(&app, &secure.crowd(2), 2),
        how,
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(secure.actor_fetches(), 3, "remembered: signed at once");
    assert_eq!(secure.signed_actor_hits.load(Ordering::SeqCst), 2);
    assert_eq!(stored(&app).await.0, 3, "three followers");

    // An actor fetched unsigned, gone stale while its server turned to
    // secure mode: refreshed signed, not left stale.
    let turning = Remote::start().await;
    let how = Signing::correct(&turning.key, chrono::Utc::now());
    let actor = turning.crowd(7);
    let (status, body) = post_inbox(&app, &actor, &follow(&app, &actor, 7), how).await;
    assert!(status.is_success(), "{body}");
    turning.secure_mode.store(true, Ordering::SeqCst);
    crate::admin::sql(
        &app,
        &format!("UPDATE remote_actors SET fetched_at = now() - interval '2 days' WHERE ap_id = '{actor}'"),
    )
    .await;
    let (status, body) = post_inbox(&app, &actor, &follow(&app, &actor, 8), how).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(turning.actor_fetches(), 3, "unsigned, refused, then signed");
    assert_eq!(turning.signed_actor_hits.load(Ordering::SeqCst), 1);
}
