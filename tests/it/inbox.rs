//! The inbox as an attacker meets it: every signature failure is a 401 and
//! stores nothing; a correctly signed Follow is accepted exactly once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::common::remote::{Remote, Signing, comment_count, post_inbox};

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
                key: Some(remote.other_key()),
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
