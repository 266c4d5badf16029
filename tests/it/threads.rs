//! Replies we cannot place at once: their unknown parents are fetched from
//! their origins until the chain reaches one of our posts (or nothing is
//! stored), and objects given by id or from another server are believed only
//! as their origin serves them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::peer::Peer;
use crate::common::remote::{Remote, Signing, comment_count, post_inbox};
use crate::common::{TestApp, attrs, html, texts};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

async fn comment_ids(app: &TestApp) -> Vec<String> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ap_id: String,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let rows: Vec<Row> = diesel::sql_query("SELECT ap_id FROM comments ORDER BY id")
        .load(&mut conn)
        .await
        .expect("comments");
    rows.into_iter().map(|r| r.ap_id).collect()
}

async fn wait_for_comments(app: &TestApp, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let found = comment_ids(app).await;
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {n} comments, have {:?}", comment_ids(app).await);
}

/// alice answers `in_reply_to`; the Create goes to our inbox only if `deliver`.
/// Returns the note's id.
async fn reply(
    peer: &Peer,
    app: &TestApp,
    in_reply_to: Option<&str>,
    content: &str,
    deliver: bool,
) -> String {
    let mut body = json!({"to": app.url("/users/blog"), "content": content, "visibility": "public", "deliver": deliver});
    if let Some(parent) = in_reply_to {
        body["inReplyTo"] = json!(parent);
    }
    let answer = peer.post("reply", body).await;
    if !deliver {
        assert_eq!(answer["inboxes"], json!([]), "not sent anywhere");
    }
    answer["noteId"].as_str().expect("note id").to_string()
}

/// Sends `activity` to our shared inbox, signed as alice by the peer; returns our status.
async fn send_as_alice(peer: &Peer, app: &TestApp, activity: Value) -> u16 {
    let sent = peer
        .post(
            "send",
            json!({"inbox": app.url("/inbox"), "activity": activity}),
        )
        .await;
    let status = sent["status"].as_u64().expect("status") as u16;
    assert!(status < 500, "{sent}");
    status
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_to_an_unknown_note_in_our_thread_fetches_it_and_threads_both() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Long thread", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();

    let first = reply(
        &peer,
        &app,
        Some(&post_url),
        "<p>First, delivered.</p>",
        true,
    )
    .await;
    wait_for_comments(&app, 1).await;
    let middle = reply(
        &peer,
        &app,
        Some(&first),
        "<p>Second, never delivered.</p>",
        false,
    )
    .await;
    assert_eq!(
        comment_ids(&app).await.len(),
        1,
        "the undelivered note is unknown"
    );
    let third = reply(&peer, &app, Some(&middle), "<p>Third, delivered.</p>", true).await;

    let stored = wait_for_comments(&app, 3).await;
    assert_eq!(
        stored,
        [first.clone(), middle.clone(), third.clone()],
        "the fetched parent is stored before its answer"
    );
    let (status, body) = app.page("/posts/long-thread").await;
    assert_eq!(status, StatusCode::OK);
    let doc = html(&body);
    assert_eq!(
        texts(&doc, ".comment .comment-body"),
        [
            "First, delivered.",
            "Second, never delivered.",
            "Third, delivered."
        ]
    );
    assert_eq!(
        attrs(&doc, "li.comment", "class"),
        ["comment depth-0", "comment depth-1", "comment depth-2"],
        "threaded three levels"
    );
    assert!(
        texts(&doc, ".comment-handle")
            .iter()
            .all(|h| h.starts_with("@alice@localhost:")),
        "the fetched note's author was looked up"
    );

    // The same Create again (as alice's server would retry it): nothing new.
    let activity_url = format!("{third}/activity");
    let (_, _, create) = app.fetch_ap(&activity_url).await;
    assert_eq!(create["type"], "Create", "{create}");
    assert_eq!(send_as_alice(&peer, &app, create).await, 202);
    assert_eq!(
        comment_ids(&app).await,
        [first, middle, third],
        "a redelivery stores nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_whose_parents_do_not_reach_us_within_the_budget_is_ignored() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Far away", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();

    // A conversation elsewhere that only mentions us: its root answers nothing of ours.
    let root = reply(&peer, &app, None, "<p>Somewhere else</p>", false).await;
    let middle = reply(&peer, &app, Some(&root), "<p>Still elsewhere</p>", false).await;
    reply(
        &peer,
        &app,
        Some(&middle),
        "<p>Delivered, but not ours</p>",
        true,
    )
    .await;
    assert_eq!(comment_count(&app).await, 0, "nothing stored");

    // Nine undelivered notes hang from the post; an answer to the ninth needs
    // nine fetches (one more than the budget), an answer to the eighth needs eight.
    let mut chain = Vec::new();
    let mut parent = post_url.clone();
    for n in 1..=9 {
        parent = reply(
            &peer,
            &app,
            Some(&parent),
            &format!("<p>Hop {n}</p>"),
            false,
        )
        .await;
        chain.push(parent.clone());
    }
    reply(&peer, &app, Some(&chain[8]), "<p>Too deep</p>", true).await;
    assert_eq!(
        comment_count(&app).await,
        0,
        "beyond the budget: nothing stored"
    );
    let deep_enough = reply(&peer, &app, Some(&chain[7]), "<p>Deep enough</p>", true).await;
    let stored = wait_for_comments(&app, 9).await;
    let mut expected = chain[..8].to_vec();
    expected.push(deep_enough);
    assert_eq!(
        stored, expected,
        "eight fetched parents, top-down, then the reply"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_names_its_object_by_id_is_fetched_from_its_origin() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("By reference", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let note = reply(
        &peer,
        &app,
        Some(&post_url),
        "<p>Fetched, not embedded</p>",
        false,
    )
    .await;

    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/creates/by-reference", peer.actor()),
        "type": "Create",
        "actor": peer.actor(),
        "to": [PUBLIC],
        "object": note,
    });
    assert_eq!(send_as_alice(&peer, &app, create).await, 202);
    app.inbox_idle().await;
    assert_eq!(comment_ids(&app).await, [note]);
    let (_, body) = app.page("/posts/by-reference").await;
    assert_eq!(
        texts(&html(&body), ".comment .comment-body"),
        ["Fetched, not embedded"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_object_embedded_from_another_server_is_judged_by_its_origin_copy() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let mallory = Remote::start().await;
    let good = Signing::correct(&mallory.key, chrono::Utc::now());
    let post = app.publish_simple("Spoofed", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let alices = reply(
        &peer,
        &app,
        Some(&post_url),
        "<p>alice's own words</p>",
        false,
    )
    .await;

    // mallory claims alice's note as its own; alice's server says otherwise.
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/creates/spoof", mallory.actor()),
        "type": "Create",
        "actor": mallory.actor(),
        "to": [PUBLIC],
        "object": {
            "id": alices,
            "type": "Note",
            "attributedTo": mallory.actor(),
            "inReplyTo": post_url,
            "content": "<p>mallory's forgery</p>",
            "to": [PUBLIC],
        },
    });
    let (status, body) = post_inbox(&app, &mallory.actor(), &create, good).await;
    // Accepted for the workers, who refetch the note from its origin...
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // ...find it is alice's, and drop the Create.
    assert_eq!(comment_count(&app).await, 0, "nothing stored");
    let (_, page) = app.page("/posts/spoofed").await;
    assert!(!page.contains("forgery") && !page.contains("own words"));
}

#[tokio::test(flavor = "multi_thread")]
async fn fetched_parents_must_be_what_their_origin_vouches_for_and_not_go_in_circles() {
    let app = TestApp::spawn().await;
    let mallory = Remote::start().await;
    let good = Signing::correct(&mallory.key, chrono::Utc::now());
    let post = app.publish_simple("Traps", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let note = |name: &str, id: String, author: String, in_reply_to: String| {
        mallory.notes.lock().expect("notes").insert(
            name.to_string(),
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": id,
                "type": "Note",
                "attributedTo": author,
                "inReplyTo": in_reply_to,
                "content": format!("<p>{name}</p>"),
                "to": [PUBLIC],
            }),
        );
    };
    let me = mallory.actor();
    note(
        "a",
        mallory.note_url("a"),
        me.clone(),
        mallory.note_url("b"),
    );
    note(
        "b",
        mallory.note_url("b"),
        me.clone(),
        mallory.note_url("a"),
    );
    // Serves another id than its URL.
    note(
        "liar",
        mallory.note_url("elsewhere"),
        me.clone(),
        post_url.clone(),
    );
    // Its author is on another server.
    note(
        "ghost",
        mallory.note_url("ghost"),
        "http://localhost:1/users/ghost".into(),
        post_url.clone(),
    );
    note(
        "fine",
        mallory.note_url("fine"),
        me.clone(),
        post_url.clone(),
    );

    let create = |n: u32, parent: String| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{me}/creates/{n}"),
            "type": "Create",
            "actor": me,
            "to": [PUBLIC],
            "object": {
                "id": mallory.note_url(&format!("reply-{n}")),
                "type": "Note",
                "attributedTo": me,
                "inReplyTo": parent,
                "content": "<p>an answer</p>",
                "to": [PUBLIC],
            },
        })
    };
    for (n, parent) in [(1, "a"), (2, "liar"), (3, "ghost"), (4, "missing")] {
        let (status, body) =
            post_inbox(&app, &me, &create(n, mallory.note_url(parent)), good).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{parent}: {body}");
        assert_eq!(comment_count(&app).await, 0, "{parent}: nothing stored");
    }
    let (status, body) = post_inbox(&app, &me, &create(5, mallory.note_url("fine")), good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        comment_ids(&app).await,
        [mallory.note_url("fine"), mallory.note_url("reply-5")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parent_chain_that_takes_too_long_is_given_up() {
    // Each fetch may take 1 s; the whole climb 3 s.
    let app = TestApp::spawn_with("[federation]\nrequest_timeout_secs = 1\n").await;
    let mallory = Remote::start().await;
    let good = Signing::correct(&mallory.key, chrono::Utc::now());
    let post = app.publish_simple("Slow thread", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let me = mallory.actor();
    // Two chains of five notes under the post: slow/1 … slow/5 and quick/1 … quick/5.
    for chain in ["slow", "quick"] {
        for n in 1..=5 {
            let parent = if n == 1 {
                post_url.clone()
            } else {
                mallory.note_url(&format!("{chain}-{}", n - 1))
            };
            let name = format!("{chain}-{n}");
            mallory.notes.lock().expect("notes").insert(
                name.clone(),
                json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": mallory.note_url(&name),
                    "type": "Note",
                    "attributedTo": me,
                    "inReplyTo": parent,
                    "content": format!("<p>{name}</p>"),
                    "to": [PUBLIC],
                }),
            );
        }
    }
    let create = |chain: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{me}/creates/{chain}"),
            "type": "Create",
            "actor": me,
            "to": [PUBLIC],
            "object": {
                "id": mallory.note_url(&format!("{chain}-reply")),
                "type": "Note",
                "attributedTo": me,
                "inReplyTo": mallory.note_url(&format!("{chain}-5")),
                "content": "<p>the end</p>",
                "to": [PUBLIC],
            },
        })
    };
    // 5 fetches of 0.8 s each: every one in time, the climb not.
    *mallory.note_delay.lock().expect("delay") = std::time::Duration::from_millis(800);
    let (status, body) = post_inbox(&app, &me, &create("slow"), good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(comment_count(&app).await, 0, "given up, nothing stored");
    // The same chain served at once is stored whole.
    *mallory.note_delay.lock().expect("delay") = std::time::Duration::ZERO;
    let (status, body) = post_inbox(&app, &me, &create("quick"), good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(comment_count(&app).await, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_to_a_posts_page_address_or_a_comments_anchor_are_placed() {
    let app = TestApp::spawn().await;
    let mallory = Remote::start().await;
    let good = Signing::correct(&mallory.key, chrono::Utc::now());
    app.publish_simple("Old name", &[]).await;
    let response = app
        .api(reqwest::Method::PATCH, "/posts/old-name")
        .json(&json!({"title": "New name"}))
        .send()
        .await
        .expect("rename");
    assert_eq!(response.status(), StatusCode::OK);
    let me = mallory.actor();
    let create = |n: u32, in_reply_to: String| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{me}/creates/{n}"),
            "type": "Create",
            "actor": me,
            "to": [PUBLIC],
            "object": {
                "id": mallory.note_url(&format!("r{n}")),
                "type": "Note",
                "attributedTo": me,
                "inReplyTo": in_reply_to,
                "content": format!("<p>reply {n}</p>"),
                "to": [PUBLIC],
            },
        })
    };
    // The post's id is still /posts/old-name; these name its page instead.
    let (status, body) = post_inbox(&app, &me, &create(1, app.url("/posts/new-name")), good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(comment_ids(&app).await, [mallory.note_url("r1")]);
    let first = {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::models::comment::find_by_ap_id(&mut conn, &mallory.note_url("r1"))
            .await
            .expect("query")
            .expect("stored")
    };
    let anchor = app.url(&format!("/posts/old-name#comment-{}", first.id));
    let (status, body) = post_inbox(&app, &me, &create(2, anchor), good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let second = {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::models::comment::find_by_ap_id(&mut conn, &mallory.note_url("r2"))
            .await
            .expect("query")
            .expect("stored under the comment")
    };
    assert_eq!(second.parent_id, Some(first.id));
    // Addresses of ours that name nothing: nothing stored.
    for (n, address) in [
        (3, app.url("/posts/no-such-post")),
        (4, app.url("/posts/new-name#comment-999999")),
        (5, app.url("/tags/new-name")),
    ] {
        let (status, body) = post_inbox(&app, &me, &create(n, address), good).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(comment_count(&app).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parent_on_a_server_in_trouble_is_fetched_again_later() {
    let app = TestApp::spawn().await;
    let mallory = Remote::start().await;
    let good = Signing::correct(&mallory.key, chrono::Utc::now());
    let post = app.publish_simple("Outage", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    // A reply to the post that never reached us, answered by one that did.
    mallory.notes.lock().expect("notes").insert(
        "parent".into(),
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": mallory.note_url("parent"),
            "type": "Note",
            "attributedTo": mallory.actor(),
            "inReplyTo": post_url,
            "content": "<p>The parent</p>",
            "to": [PUBLIC],
        }),
    );
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/creates/child", mallory.actor()),
        "type": "Create",
        "actor": mallory.actor(),
        "to": [PUBLIC],
        "object": {
            "id": mallory.note_url("child"),
            "type": "Note",
            "attributedTo": mallory.actor(),
            "inReplyTo": mallory.note_url("parent"),
            "content": "<p>The child</p>",
            "to": [PUBLIC],
        },
    });

    // The parent's server is down for a moment: the Create is kept, not dropped.
    mallory
        .note_outages
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = post_inbox(&app, &mallory.actor(), &create, good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(mallory.hits("notes/parent"), 1, "the parent was asked for");
    assert_eq!(comment_count(&app).await, 0, "nothing placed yet");
    let waiting = {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::models::inbox_queue::list(&mut conn, 10)
            .await
            .expect("list")
    };
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let entry = &waiting[0];
    assert_eq!(entry.attempts, 1);
    assert!(entry.gave_up_at.is_none());
    assert!(
        entry.next_attempt_at > chrono::Utc::now(),
        "retried later, with back-off"
    );
    assert!(
        entry
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("503")),
        "{entry:?}"
    );

    // When it is due again, the server answers, and both are placed.
    {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::models::inbox_queue::retry_now(&mut conn, Some(entry.id))
            .await
            .expect("retry");
    }
    app.inbox_idle().await;
    let stored = wait_for_comments(&app, 2).await;
    assert_eq!(
        stored,
        [mallory.note_url("parent"), mallory.note_url("child")]
    );
    assert_eq!(mallory.hits("notes/parent"), 2);
    let mut conn = app.pool.get().await.expect("conn");
    let left = fedblog::models::inbox_queue::list(&mut conn, 10)
        .await
        .expect("list");
    assert!(left.is_empty(), "processed and removed: {left:?}");
}
