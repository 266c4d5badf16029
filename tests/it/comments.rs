//! Replies from the fediverse become comments: a Fedify account answers a
//! post, and the answer shows under it, threaded, and in its `replies`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::peer::Peer;
use crate::common::{TestApp, html, texts};

async fn comments(app: &TestApp) -> Vec<(String, String, String)> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ap_id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        visibility: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let rows: Vec<Row> =
        diesel::sql_query("SELECT ap_id, visibility, state FROM comments ORDER BY id")
            .load(&mut conn)
            .await
            .expect("comments");
    rows.into_iter()
        .map(|r| (r.ap_id, r.visibility, r.state))
        .collect()
}

async fn wait_for_comments(app: &TestApp, n: usize) -> Vec<(String, String, String)> {
    for _ in 0..100 {
        let found = comments(app).await;
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {n} comments, have {:?}", comments(app).await);
}

async fn reply(
    peer: &Peer,
    app: &TestApp,
    in_reply_to: &str,
    content: &str,
    visibility: &str,
) -> Value {
    peer.post(
        "reply",
        json!({"inReplyTo": in_reply_to, "to": app.url("/users/blog"), "content": content, "visibility": visibility}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fediverse_reply_appears_under_the_post_threaded_and_in_replies() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Talk to me", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();

    let first = reply(&peer, &app, &post_url, "<p>Great post!</p>", "public").await;
    let note = first["noteId"].as_str().expect("note id").to_string();
    wait_for_comments(&app, 1).await;
    let answer = reply(
        &peer,
        &app,
        &note,
        "<p>Replying to myself, one level down.</p>",
        "public",
    )
    .await;
    let deeper = answer["noteId"].as_str().expect("note id").to_string();
    wait_for_comments(&app, 2).await;
    reply(&peer, &app, &deeper, "<p>And a third level.</p>", "public").await;
    let stored = wait_for_comments(&app, 3).await;
    assert!(
        stored
            .iter()
            .all(|(_, v, s)| v == "public" && s == "approved"),
        "{stored:?}"
    );

    let (status, body) = app.page("/posts/talk-to-me").await;
    assert_eq!(status, StatusCode::OK);
    let doc = html(&body);
    let bodies = texts(&doc, ".comment .comment-body");
    assert_eq!(
        bodies,
        [
            "Great post!",
            "Replying to myself, one level down.",
            "And a third level."
        ]
    );
    let depths: Vec<String> = crate::common::attrs(&doc, "li.comment", "class");
    assert_eq!(
        depths,
        ["comment depth-0", "comment depth-1", "comment depth-2"],
        "threaded"
    );
    let handles = texts(&doc, ".comment-handle");
    assert!(
        handles.iter().all(|h| h.starts_with("@alice@localhost:")),
        "{handles:?}"
    );

    let replies_url = format!("{post_url}/replies");
    let (_, _, collection) = app.fetch_ap(&replies_url).await;
    assert_eq!(collection["totalItems"], 1, "direct answers to the post");
    // The first page is embedded (GoToSocial backfills only from it), and
    // served on its own at its id.
    assert_eq!(collection["first"]["orderedItems"], json!([note]));
    let (_, _, first_page) = app
        .fetch_ap(collection["first"]["id"].as_str().expect("first"))
        .await;
    assert_eq!(first_page["orderedItems"], json!([note]));

    // An edit at its origin shows, marked as edited.
    peer.post(
        "update",
        json!({"noteId": note, "content": "<p>Great post, edited!</p>"}),
    )
    .await;
    let mut edited = false;
    for _ in 0..100 {
        let (_, body) = app.page("/posts/talk-to-me").await;
        if body.contains("Great post, edited!") {
            edited = texts(&html(&body), ".comment-edited").len() == 1;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(edited, "the edit replaced the comment and is marked");

    // Deleting the note at its origin removes it from the page.
    peer.post("delete", json!({"noteId": note})).await;
    for _ in 0..100 {
        if comments(&app)
            .await
            .iter()
            .any(|(id, _, s)| *id == note && s == "deleted")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, body) = app.page("/posts/talk-to-me").await;
    assert!(
        !body.contains("Great post!"),
        "a deleted comment is gone from the page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn private_replies_are_kept_off_the_page_and_hostile_html_is_neutralised() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Careful", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    reply(
        &peer,
        &app,
        &post_url,
        "<p>Only for followers</p>",
        "followers",
    )
    .await;
    reply(&peer, &app, &post_url, "<p>Just between us</p>", "direct").await;
    reply(&peer, &app, &post_url, "<p>Quietly public</p>", "unlisted").await;
    reply(
        &peer,
        &app,
        &post_url,
        "<p onclick=\"steal()\">Nice <script>alert(1)</script><a href=\"javascript:alert(2)\">link</a><img src=x onerror=alert(3)><iframe src=\"https://evil.example\"></iframe><style>body{display:none}</style><svg onload=alert(4)><circle r=1 /></svg></p>",
        "public",
    )
    .await;
    let stored = wait_for_comments(&app, 4).await;
    let visibilities: Vec<&str> = stored.iter().map(|(_, v, _)| v.as_str()).collect();
    assert_eq!(visibilities, ["followers", "direct", "unlisted", "public"]);

    let (_, body) = app.page("/posts/careful").await;
    assert!(
        !body.contains("Only for followers") && !body.contains("Just between us"),
        "private replies never shown"
    );
    assert!(body.contains("Quietly public"));
    let doc = html(&body);
    let comment_html: String = {
        let selector = scraper::Selector::parse(".comment-list").expect("css");
        doc.select(&selector).map(|e| e.html()).collect()
    };
    let bad_parts = [
        "<script",
        "onclick",
        "javascript:",
        "<img",
        "<iframe",
        "onerror",
        "<style",
        "display:none",
        "<svg",
        "onload",
    ];
    for bad in bad_parts {
        assert!(!comment_html.contains(bad), "{bad} in {comment_html}");
    }
    assert!(comment_html.contains("Nice"));

    // The comments feed carries the same cleaned HTML (as escaped text).
    let (status, feed) = app.page("/comments.atom").await;
    assert_eq!(status, StatusCode::OK);
    let contents: Vec<String> = feed
        .split("<content type=\"html\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('>')?.1.split("</content>").next())
        .map(|escaped| {
            quick_xml::escape::unescape(escaped)
                .expect("XML text")
                .into_owned()
        })
        .collect();
    // Unlisted replies stay out of public listings, as on Mastodon.
    assert_eq!(contents.len(), 1, "only the public comment: {feed}");
    let hostile = contents
        .iter()
        .find(|c| c.contains("Nice"))
        .expect("in the feed");
    for bad in bad_parts {
        assert!(!hostile.contains(bad), "{bad} in the feed: {hostile}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn likes_and_boosts_are_counted_and_undone() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Like me", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let blog = app.url("/users/blog");
    let like = peer
        .post("like", json!({"object": post_url, "to": blog}))
        .await;
    peer.post("announce", json!({"object": post_url, "to": blog}))
        .await;

    let likes_url = format!("{post_url}/likes");
    let shares_url = format!("{post_url}/shares");
    let app_ref = &app;
    let counts = || async {
        let (_, _, l) = app_ref.fetch_ap(&likes_url).await;
        let (_, _, s) = app_ref.fetch_ap(&shares_url).await;
        (l["totalItems"].as_i64(), s["totalItems"].as_i64())
    };
    let mut seen = (None, None);
    for _ in 0..100 {
        seen = counts().await;
        if seen == (Some(1), Some(1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, (Some(1), Some(1)), "one like and one boost");
    let (_, article) = {
        let (s, _, a) = app.fetch_ap(&post_url).await;
        (s, a)
    };
    assert_eq!(article["likes"], format!("{post_url}/likes"));
    let (_, body) = app.page("/posts/like-me").await;
    let doc = html(&body);
    assert_eq!(texts(&doc, ".reaction-count"), ["♥ 1 like", "⟳ 1 boost"]);
    assert_eq!(
        texts(&doc, ".reaction-like a").len(),
        1,
        "who liked it is shown"
    );

    peer.post("undo", json!({"activityId": like["activityId"]}))
        .await;
    for _ in 0..100 {
        seen = counts().await;
        if seen == (Some(0), Some(1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen,
        (Some(0), Some(1)),
        "the like was undone, the boost stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_server_is_refused_its_comments_hidden_and_its_follows_rejected() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Moderated", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    reply(&peer, &app, &post_url, "<p>Before the block</p>", "public").await;
    wait_for_comments(&app, 1).await;

    let list = app.data_dir.path().join("blocklist.csv");
    std::fs::write(
        &list,
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
         localhost,suspend,true,true,Spam wave,false\n\
         harmless.example,noop,false,false,,false\n",
    )
    .expect("write");
    let (code, out, err) = crate::common::run(app.cli().args(["block", "import"]).arg(&list), None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 1"), "{out}");
    let (_, out, _) = crate::common::run(app.cli().arg("blocks"), None);
    assert!(
        out.contains("localhost") && out.contains("Spam wave") && !out.contains("harmless"),
        "{out}"
    );

    let (_, body) = app.page("/posts/moderated").await;
    assert!(
        !body.contains("Before the block"),
        "a blocked server's comments are hidden"
    );

    let (status, _) = peer
        .control(
            reqwest::Method::POST,
            "reply",
            Some(json!({"inReplyTo": post_url, "to": app.url("/users/blog"), "content": "<p>After</p>", "visibility": "public"})),
        )
        .await;
    assert_ne!(status, 200, "our inbox refused the reply");
    assert_eq!(comments(&app).await.len(), 1, "nothing new stored");

    peer.follow(&app.url("/users/blog")).await;
    for _ in 0..100 {
        if app.deliver().await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    peer.wait_for("Reject").await;
    assert_eq!(peer.state().await["following"][0]["state"], "rejected");

    let (code, _, err) =
        crate::common::run(app.cli().args(["unblock", "domain", "localhost"]), None);
    assert_eq!(code, 0, "{err}");
    let (_, body) = app.page("/posts/moderated").await;
    assert!(
        body.contains("Before the block"),
        "unblocking shows the comment again"
    );
}
