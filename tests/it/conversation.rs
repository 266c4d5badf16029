//! The conversation both ways: the author answers fediverse comments from the
//! CLI and the API (Notes with a Mention and the exact `inReplyTo`, delivered
//! to the commenter's server), readers' comments are held, approved and
//! published as Notes, and moderation decides what shows.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::peer::Peer;
use crate::common::{TestApp, html, run, texts};

/// Every comment as the author's API lists it (all states), oldest first.
async fn all_comments(app: &TestApp) -> Vec<Value> {
    let list: Value = app.api_get("/comments?state=all&per_page=500").await;
    let mut rows = list["comments"].as_array().cloned().unwrap_or_default();
    rows.reverse();
    rows
}

/// Waits until the comment with ActivityPub id `ap_id` is stored.
async fn stored(app: &TestApp, ap_id: &str) -> Value {
    for _ in 0..100 {
        if let Some(c) = all_comments(app)
            .await
            .into_iter()
            .find(|c| c["ap_id"] == ap_id)
        {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{ap_id} was never stored: {:?}", all_comments(app).await);
}

async fn peer_reply(peer: &Peer, app: &TestApp, in_reply_to: &str, content: &str) -> String {
    let sent = peer
        .post(
            "reply",
            json!({"inReplyTo": in_reply_to, "to": app.url("/users/blog"), "content": content}),
        )
        .await;
    sent["noteId"].as_str().expect("note id").to_string()
}

/// The activities of `kind` the peer received and verified, oldest first.
async fn received(peer: &Peer, kind: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let found: Vec<Value> = peer
            .inbox()
            .await
            .into_iter()
            .filter(|a| a["type"] == kind)
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the peer did not get {n} {kind}: {:?}", peer.inbox().await);
}

fn cli_ok(app: &TestApp, args: &[&str]) -> String {
    let (code, out, err) = run(app.cli().args(args), None);
    assert_eq!(code, 0, "fedblog {args:?}: {out}{err}");
    out
}

fn id_of(c: &Value) -> i64 {
    c["id"].as_i64().expect("comment id")
}

/// A JSON-LD property as a list (a single value is compacted to itself).
fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// Checks the Note the peer received for our answer to `parent_note`.
fn assert_answer(note: &Value, app: &TestApp, peer: &Peer, parent_note: &str, text: &str) {
    assert_eq!(note["type"], "Note");
    assert_eq!(note["attributedTo"], app.url("/users/blog"));
    assert_eq!(note["inReplyTo"], parent_note, "the exact parent");
    let mentions: Vec<Value> = list(&note["tag"])
        .into_iter()
        .filter(|t| t["type"] == "Mention")
        .collect();
    assert_eq!(mentions.len(), 1, "{note}");
    assert_eq!(mentions[0]["href"], peer.actor());
    let cc: Vec<String> = list(&note["cc"])
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert!(cc.contains(&peer.actor()), "{note}");
    let content = note["content"].as_str().expect("content");
    assert!(content.contains("class=\"u-url mention\""), "{content}");
    assert!(content.contains(text), "{content}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_author_answers_and_the_thread_goes_both_ways() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Ask me anything", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();

    // Level 1: the peer comments on the post.
    let first = peer_reply(&peer, &app, &post_url, "<p>What is this about?</p>").await;
    let first_id = id_of(&stored(&app, &first).await);

    // Level 2: the author answers it from the CLI.
    let out = cli_ok(
        &app,
        &[
            "comment",
            "reply",
            &first_id.to_string(),
            "--text",
            "It is about *federation*.",
        ],
    );
    assert!(out.contains("answered"), "{out}");
    let answer = all_comments(&app)
        .await
        .into_iter()
        .find(|c| c["origin"] == "author")
        .expect("the answer is stored");
    let answer_ap_id = answer["ap_id"].as_str().expect("ap_id").to_string();
    assert_eq!(answer["parent_id"], first_id);
    assert_eq!(answer["state"], "approved");
    app.deliver().await;
    let creates = received(&peer, "Create", 1).await;
    assert_answer(
        &creates[0]["object"],
        &app,
        &peer,
        &first,
        "<em>federation</em>",
    );
    assert_eq!(creates[0]["object"]["id"], answer_ap_id);
    let language = app.settings.blog.language.as_str();
    assert_eq!(
        creates[0]["object"]["contentMap"],
        json!({language: creates[0]["object"]["content"]}),
        "the author writes in the blog's language"
    );

    // Its id is a Note for servers, and the comment on the page for people.
    let (status, _, note) = app.fetch_ap(&answer_ap_id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(note["id"], answer_ap_id);
    assert_eq!(note["context"], format!("{post_url}/context"));
    let browser = app.client.get(&answer_ap_id).send().await.expect("GET");
    assert_eq!(browser.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        browser.headers()["location"],
        format!("{post_url}#comment-{}", id_of(&answer)).as_str()
    );

    // Level 3: the peer answers the author; level 4: the author again, by the API.
    let third = peer_reply(&peer, &app, &answer_ap_id, "<p>Oh, nice. How?</p>").await;
    let third_row = stored(&app, &third).await;
    assert_eq!(
        third_row["parent_id"],
        id_of(&answer),
        "threaded under the answer"
    );
    let response = app
        .api(
            Method::POST,
            &format!("/comments/{}/replies", id_of(&third_row)),
        )
        .json(&json!({"text": "With ActivityPub."}))
        .send()
        .await
        .expect("reply");
    assert_eq!(response.status(), StatusCode::CREATED);
    let fourth: Value = response.json().await.expect("json");
    assert_eq!(fourth["parent_id"], id_of(&third_row));
    app.deliver().await;
    let creates = received(&peer, "Create", 2).await;
    assert_answer(
        &creates[1]["object"],
        &app,
        &peer,
        &third,
        "With ActivityPub.",
    );

    // The page shows the thread four levels deep, the author marked as such.
    let (_, body) = app.page("/posts/ask-me-anything").await;
    let doc = html(&body);
    let depths: Vec<String> = doc
        .select(&scraper::Selector::parse("li.comment").expect("css"))
        .map(|e| e.value().attr("class").unwrap_or_default().to_string())
        .collect();
    assert_eq!(depths.len(), 4, "{depths:?}");
    for (i, class) in depths.iter().enumerate() {
        assert!(class.contains(&format!("depth-{i}")), "{depths:?}");
    }
    assert!(body.contains("What is this about?") && body.contains("With ActivityPub."));
    // Collections: the post's direct replies, the answer's own, and the whole
    // context; the documents embed their first page.
    let (_, _, article) = app.fetch_ap(&post_url).await;
    assert_eq!(article["replies"]["first"]["orderedItems"], json!([first]));
    let (_, _, answer_note) = app.fetch_ap(&answer_ap_id).await;
    assert_eq!(
        answer_note["replies"]["first"]["orderedItems"],
        json!([third])
    );
    assert_eq!(answer_note["replies"]["totalItems"], 1);
    let (_, _, replies) = app.fetch_ap(&format!("{post_url}/replies?page=1")).await;
    assert_eq!(replies["orderedItems"], json!([first]));
    let (_, _, replies) = app
        .fetch_ap(&format!("{answer_ap_id}/replies?page=1"))
        .await;
    assert_eq!(replies["orderedItems"], json!([third]));
    // Our own answer to the first comment is listed as its whole Note.
    let (_, _, replies) = app
        .fetch_ap(&app.url(&format!("/comments/{first_id}/replies?page=1")))
        .await;
    assert_eq!(replies["orderedItems"][0]["id"], answer_ap_id);
    assert_eq!(replies["orderedItems"][0]["type"], "Note");
    assert_eq!(replies["orderedItems"][0]["inReplyTo"], first.as_str());
    let (_, _, context) = app.fetch_ap(&format!("{post_url}/context?page=1")).await;
    assert_eq!(
        context["orderedItems"],
        json!([post_url, first, answer_ap_id, third, fourth["ap_id"]])
    );

    // Editing the answer sends an Update; deleting it sends a Delete.
    cli_ok(
        &app,
        &[
            "comment",
            "edit",
            &id_of(&answer).to_string(),
            "--text",
            "It is about the fediverse.",
        ],
    );
    app.deliver().await;
    let updates = received(&peer, "Update", 1).await;
    assert_eq!(updates[0]["object"]["id"], answer_ap_id);
    assert!(
        updates[0]["object"]["content"]
            .as_str()
            .is_some_and(|c| c.contains("about the fediverse")),
        "{}",
        updates[0]
    );
    assert!(updates[0]["object"]["updated"].is_string());
    let response = app
        .api(Method::DELETE, &format!("/comments/{}", id_of(&answer)))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::OK);
    app.deliver().await;
    let deletes = received(&peer, "Delete", 1).await;
    assert_eq!(deletes[0]["object"]["id"], answer_ap_id);
    let (status, _, tombstone) = app.fetch_ap(&answer_ap_id).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(tombstone["type"], "Tombstone");
    let (_, body) = app.page("/posts/ask-me-anything").await;
    assert!(!body.contains("about the fediverse"));
    assert!(body.contains("Oh, nice. How?"), "the answers to it stay");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_comment_approved_from_the_cli_is_a_note_that_reaches_the_commenter() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Open thread", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let remote = peer_reply(&peer, &app, &post_url, "<p>First!</p>").await;
    let remote_id = id_of(&stored(&app, &remote).await);

    // A reader answers the fediverse comment (as the form does); it is held.
    let reader = {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::comments::submit_reader_comment(
            &mut conn,
            &app.settings,
            fedblog::comments::Target::Comment(remote_id),
            &fedblog::comments::ReaderInput {
                name: "Åsa <Reader>".into(),
                website: Some("http://www.tjäna.se".into()),
                body: "I *agree*.".into(),
            },
        )
        .await
        .expect("stored")
    };
    assert_eq!(reader.state.as_str(), "pending");
    let (_, body) = app.page("/posts/open-thread").await;
    assert!(
        !body.contains("I <em>agree</em>"),
        "held comments are not shown"
    );
    let (status, _, _) = app.fetch_ap(&reader.ap_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor served");
    let listed = cli_ok(&app, &["comment", "list"]);
    assert!(
        listed.contains(&format!("{:<6} pending", reader.id)),
        "{listed}"
    );
    app.deliver().await;
    assert!(
        peer.inbox().await.iter().all(|a| a["type"] != "Create"),
        "nothing is sent before approval"
    );

    let out = cli_ok(&app, &["comment", "approve", &reader.id.to_string()]);
    assert!(out.contains("approved"), "{out}");
    let (_, body) = app.page("/posts/open-thread").await;
    assert!(body.contains("I <em>agree</em>"), "shown once approved");
    let (status, _, note) = app.fetch_ap(&reader.ap_id).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        note.get("contentMap").is_none(),
        "a reader's language is not known: {note}"
    );
    let content = note["content"].as_str().expect("content");
    assert!(
        content.starts_with(
            "<p><strong>Åsa &lt;Reader&gt;</strong> (<a href=\"http://www.xn--tjna-moa.se/\""
        ),
        "{content}"
    );
    assert!(
        content.contains(">www.tjäna.se</a>) wrote:</p>"),
        "{content}"
    );
    app.deliver().await;
    let creates = received(&peer, "Create", 1).await;
    assert_answer(
        &creates[0]["object"],
        &app,
        &peer,
        &remote,
        "<em>agree</em>",
    );

    // Rejected (withdrawn with a Delete), then approved again: published
    // anew, as a new activity (a reused id would be dropped as a duplicate).
    cli_ok(&app, &["comment", "reject", &reader.id.to_string()]);
    app.deliver().await;
    let deletes = received(&peer, "Delete", 1).await;
    assert_eq!(deletes[0]["object"]["id"], reader.ap_id);
    cli_ok(&app, &["comment", "approve", &reader.id.to_string()]);
    app.deliver().await;
    let creates = received(&peer, "Create", 2).await;
    assert_eq!(creates[1]["object"]["id"], reader.ap_id);
    assert_ne!(creates[0]["id"], creates[1]["id"], "a fresh activity id");

    // The commenter answers the reader's comment: threaded under it.
    let back = peer_reply(&peer, &app, &reader.ap_id, "<p>Thanks, Åsa!</p>").await;
    let back_row = stored(&app, &back).await;
    assert_eq!(back_row["parent_id"], reader.id);
    let (_, _, replies) = app
        .fetch_ap(&format!("{}/replies?page=1", reader.ap_id))
        .await;
    assert_eq!(replies["orderedItems"], json!([back]));
}

#[tokio::test(flavor = "multi_thread")]
async fn moderation_holds_first_comments_and_keywords_until_the_author_decides() {
    let app = TestApp::spawn_with(
        "[comments]\nfediverse_policy = \"hold_first_time\"\nhold_keywords = [\"Casino\"]\n",
    )
    .await;
    let peer = Peer::start();
    let post = app.publish_simple("Moderated", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();

    let first = peer_reply(&peer, &app, &post_url, "<p>Hello there</p>").await;
    let row = stored(&app, &first).await;
    assert_eq!(row["state"], "pending");
    assert_eq!(row["moderation_note"], "first comment from this account");
    let (_, body) = app.page("/posts/moderated").await;
    assert!(!body.contains("Hello there"));
    let (_, _, replies) = app.fetch_ap(&format!("{post_url}/replies")).await;
    assert_eq!(replies["totalItems"], 0);
    let pending: Value = app.api_get("/comments").await;
    assert_eq!(pending["comments"][0]["ap_id"], first.as_str());

    // Approved: shown, and the next comment from the same account goes straight up.
    let response = app
        .api(Method::POST, &format!("/comments/{}/approve", id_of(&row)))
        .send()
        .await
        .expect("approve");
    assert_eq!(response.status(), StatusCode::OK);
    let (_, body) = app.page("/posts/moderated").await;
    assert!(body.contains("Hello there"));
    let second = peer_reply(&peer, &app, &post_url, "<p>Me again</p>").await;
    assert_eq!(stored(&app, &second).await["state"], "approved");

    // A keyword holds whatever the policy; rejected comments stay hidden.
    let spam = peer_reply(&peer, &app, &post_url, "<p>Best cAsInO bonus</p>").await;
    let spam_row = stored(&app, &spam).await;
    assert_eq!(spam_row["state"], "pending");
    assert_eq!(spam_row["moderation_note"], "contains \"casino\"");
    let response = app
        .api(
            Method::POST,
            &format!("/comments/{}/reject", id_of(&spam_row)),
        )
        .send()
        .await
        .expect("reject");
    assert_eq!(response.status(), StatusCode::OK);
    let rejected: Value = response.json().await.expect("json");
    assert_eq!(rejected["state"], "rejected");
    let (_, body) = app.page("/posts/moderated").await;
    assert!(!body.contains("bonus"));
    let (_, _, replies) = app.fetch_ap(&format!("{post_url}/replies")).await;
    assert_eq!(replies["totalItems"], 2);

    // Clear errors: unknown comment, answering a held comment, bad filters.
    let response = app
        .api(Method::POST, "/comments/999999/approve")
        .send()
        .await
        .expect("approve");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let held = peer_reply(&peer, &app, &post_url, "<p>casino again</p>").await;
    let held_id = id_of(&stored(&app, &held).await);
    let response = app
        .api(Method::POST, &format!("/comments/{held_id}/replies"))
        .json(&json!({"text": "no"}))
        .send()
        .await
        .expect("reply");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let error: Value = response.json().await.expect("json");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("approve it")),
        "{error}"
    );
    let response = app
        .api(Method::POST, "/posts/moderated/replies")
        .json(&json!({"text": "   "}))
        .send()
        .await
        .expect("reply");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .api(Method::GET, "/comments?state=spam")
        .send()
        .await
        .expect("list");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (code, _, err) = run(
        app.cli()
            .args(["comment", "reply", "999999", "--text", "hi"]),
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("no comment with the id 999999"), "{err}");
    assert_eq!(
        all_comments(&app)
            .await
            .iter()
            .filter(|c| c["origin"] == "author")
            .count(),
        0,
        "nothing stored by the failed answers"
    );
    // The home page counts what is shown: not the rejected or held ones.
    let (_, home) = app.page("/").await;
    let doc = html(&home);
    assert_eq!(texts(&doc, ".post-card-comments"), ["2 comments"]);
    assert_eq!(
        crate::common::attrs(&doc, ".post-card-comments", "href"),
        [format!("{post_url}#comments")]
    );

    // The author is not held, whatever the words.
    let response = app
        .api(Method::POST, "/posts/moderated/replies")
        .json(&json!({"text": "No casino talk here, please."}))
        .send()
        .await
        .expect("reply");
    assert_eq!(response.status(), StatusCode::CREATED);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["state"], "approved");
}

#[tokio::test(flavor = "multi_thread")]
async fn likes_of_the_authors_answers_are_counted() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Likeable", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let response = app
        .api(Method::POST, "/posts/likeable/replies")
        .json(&json!({"text": "Welcome, everyone."}))
        .send()
        .await
        .expect("reply");
    assert_eq!(response.status(), StatusCode::CREATED);
    let answer: Value = response.json().await.expect("json");
    let ap_id = answer["ap_id"].as_str().expect("ap_id").to_string();
    assert_eq!(answer["in_reply_to"], post_url.as_str());

    let like = peer
        .post(
            "like",
            json!({"object": ap_id, "to": app.url("/users/blog")}),
        )
        .await;
    let mut total = None;
    for _ in 0..100 {
        let (_, _, likes) = app.fetch_ap(&format!("{ap_id}/likes")).await;
        total = likes["totalItems"].as_i64();
        if total == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(total, Some(1), "the like of the answer is counted");
    let (_, _, post_likes) = app.fetch_ap(&format!("{post_url}/likes")).await;
    assert_eq!(post_likes["totalItems"], 0, "and not as a like of the post");
    peer.post("undo", json!({"activityId": like["activityId"]}))
        .await;
    for _ in 0..100 {
        let (_, _, likes) = app.fetch_ap(&format!("{ap_id}/likes")).await;
        total = likes["totalItems"].as_i64();
        if total == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(total, Some(0), "undone");
}

#[tokio::test(flavor = "multi_thread")]
async fn blocks_are_managed_through_the_api() {
    let app = TestApp::spawn().await;
    let response = app
        .api(Method::POST, "/blocks")
        .json(&json!({"kind": "domain", "value": "Spam.Example", "reason": "spam"}))
        .send()
        .await
        .expect("block");
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app
        .api(Method::POST, "/blocks")
        .json(&json!({"kind": "actor", "value": "https://bad.example/users/troll"}))
        .send()
        .await
        .expect("block");
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app
        .api(Method::POST, "/blocks")
        .json(&json!({"kind": "server", "value": "x.example"}))
        .send()
        .await
        .expect("block");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .api(Method::POST, "/blocks")
        .json(&json!({"kind": "actor", "value": "javascript:alert(1)"}))
        .send()
        .await
        .expect("block");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let list: Value = app.api_get("/blocks").await;
    let values: Vec<&str> = list["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .filter_map(|b| b["value"].as_str())
        .collect();
    assert_eq!(values.len(), 2);
    assert!(values.contains(&"spam.example"));
    assert!(values.contains(&"https://bad.example/users/troll"));
    let out = cli_ok(&app, &["blocks"]);
    assert!(
        out.contains("spam.example") && out.contains("2 blocks"),
        "{out}"
    );
    let response = app
        .api(Method::DELETE, "/blocks?kind=domain&value=spam.example")
        .send()
        .await
        .expect("unblock");
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .api(Method::DELETE, "/blocks?kind=domain&value=spam.example")
        .send()
        .await
        .expect("unblock");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .client
        .get(app.url("/api/v1/blocks"))
        .send()
        .await
        .expect("list");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_lists_and_shows_comments_for_the_author() {
    let app = TestApp::spawn().await;
    app.publish_simple("Quiet", &[]).await;
    let out = cli_ok(
        &app,
        &[
            "comment",
            "reply",
            "--post",
            "quiet",
            "--text",
            "First *word*.",
        ],
    );
    assert!(out.contains("answered: comment"), "{out}");
    let listed = cli_ok(&app, &["comment", "list", "--state", "all"]);
    assert!(
        listed.contains("approved") && listed.contains("First *word*."),
        "{listed}"
    );
    let id = all_comments(&app).await[0]["id"].as_i64().expect("id");
    let shown = cli_ok(&app, &["comment", "show", &id.to_string()]);
    assert!(
        shown.contains(&format!("/posts/quiet#comment-{id}")),
        "{shown}"
    );
    assert!(shown.contains("(you)"), "{shown}");
    let (code, _, err) = run(
        app.cli()
            .args(["comment", "reply", "--post", "nope", "--text", "x"]),
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("no published post"), "{err}");
    let (code, _, err) = run(
        app.cli()
            .args(["comment", "reply", "--post", "quiet", "--text", " "]),
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("invalid body"), "{err}");
    let (_, body) = app.page("/posts/quiet").await;
    let doc = html(&body);
    assert_eq!(texts(&doc, ".comment-body").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_post_withdraws_the_answers_written_under_it() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    peer.follow(&app.url("/users/blog")).await;
    app.deliver().await;
    let post = app.publish_simple("Short-lived", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let question = peer_reply(&peer, &app, &post_url, "<p>Why?</p>").await;
    let question_id = id_of(&stored(&app, &question).await);
    cli_ok(
        &app,
        &[
            "comment",
            "reply",
            &question_id.to_string(),
            "--text",
            "Because.",
        ],
    );
    let answer = all_comments(&app)
        .await
        .into_iter()
        .find(|c| c["origin"] == "author")
        .expect("the answer");
    let answer_ap_id = answer["ap_id"].as_str().expect("ap_id").to_string();
    app.deliver().await;
    assert_eq!(app.fetch_ap(&answer_ap_id).await.0, StatusCode::OK);

    cli_ok(&app, &["post", "delete", "short-lived"]);
    app.deliver().await;
    let deletes = received(&peer, "Delete", 2).await;
    let deleted: Vec<&Value> = deletes.iter().map(|d| &d["object"]["id"]).collect();
    assert!(deleted.contains(&&json!(post_url)), "{deletes:?}");
    assert!(
        deleted.contains(&&json!(answer_ap_id)),
        "the answer is withdrawn too: {deletes:?}"
    );
    let (status, _, tombstone) = app.fetch_ap(&answer_ap_id).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["id"], answer_ap_id);
    assert_eq!(
        stored(&app, &answer_ap_id).await["state"],
        "deleted",
        "and the answer is deleted here"
    );
}
