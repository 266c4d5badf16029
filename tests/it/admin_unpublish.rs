//! Unpublishing from the editor, as a follower's server sees it: the post
//! leaves the blog and a Delete reaches the follower; published again, it
//! goes out under a new id (Mastodon keeps a tombstone of a deleted id and
//! would ignore it), which the third-party peer fetches and parses, with its
//! comments back under it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin::{Browser, PASSWORD, location, set_password, sql};
use crate::common::TestApp;
use crate::common::peer::Peer;

async fn received(peer: &Peer, kind: &str) -> Vec<Value> {
    peer.inbox()
        .await
        .into_iter()
        .filter(|a| a["type"] == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unpublished_post_leaves_the_followers_and_comes_back_as_a_new_object() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    peer.follow(&app.url("/users/blog")).await;
    crate::peer::wait_for_followers(&app, 1).await;
    assert_eq!(app.deliver().await, 1);
    peer.wait_for("Accept").await;

    assert_eq!(set_password(&app, PASSWORD).0, 0);
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let csrf = browser.form_token("/admin/posts/new").await;
    let form = |action: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("title", "Second thoughts".to_string()),
            ("body", "I may take this back.".to_string()),
            ("action", action.to_string()),
        ]
    };
    let response = browser
        .post_owned("/admin/posts/new", form("publish"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let url = app.url("/posts/second-thoughts");
    assert_eq!(app.deliver().await, 1);
    let create = peer.wait_for("Create").await;
    assert_eq!(create["object"]["id"], url);
    sql(
        &app,
        "INSERT INTO comments (ap_id, post_id, in_reply_to, author_ap_id, author_name, \
         content_html, visibility, state, published_at, origin) \
         SELECT 'http://127.0.0.1:9/notes/1', id, ap_id, 'http://127.0.0.1:9/users/alice', \
         'Alice', '<p>Are you sure?</p>', 'public', 'approved', now(), 'remote' \
         FROM posts WHERE slug = 'second-thoughts'",
    )
    .await;

    // Unpublished: a draft, gone from the blog, and deleted at the follower.
    let response = browser
        .post_owned("/admin/posts/second-thoughts/edit", form("unpublish"))
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/posts/second-thoughts/edit?saved=unpublished")
    );
    let (_, html) = browser
        .get("/admin/posts/second-thoughts/edit?saved=unpublished")
        .await;
    assert!(html.contains("Unpublished: it is a draft again"), "{html}");
    assert!(html.contains("badge-draft"), "{html}");
    let page = app.client.get(&url).send().await.expect("GET");
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.deliver().await, 1);
    let delete = peer.wait_for("Delete").await;
    let deleted = delete["object"]["id"]
        .as_str()
        .or(delete["object"].as_str());
    assert_eq!(deleted, Some(url.as_str()), "{delete}");

    // Published again: a new id, which the peer fetches and parses, with
    // the comment back under it.
    let response = browser
        .post_owned("/admin/posts/second-thoughts/edit", form("publish"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.deliver().await, 1);
    let mut creates = Vec::new();
    for _ in 0..100 {
        creates = received(&peer, "Create").await;
        if creates.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(creates.len(), 2, "{creates:?}");
    let again = format!("{url}?v=2");
    assert_eq!(creates[1]["object"]["id"], again);
    let fetched = peer.post("fetch", json!({"url": url})).await;
    assert_eq!(fetched["type"], "Article");
    assert_eq!(fetched["id"], again);
    assert!(fetched["parseError"].is_null(), "{fetched}");
    let article: Value = app.fetch_ap(&again).await.2;
    assert_eq!(article["id"], again);
    assert_eq!(article["replies"]["id"], format!("{url}/replies"));
    assert_eq!(
        article["replies"]["first"]["orderedItems"][0], "http://127.0.0.1:9/notes/1",
        "{article}"
    );
    let page = app.page("/posts/second-thoughts").await.1;
    assert!(
        page.contains("Are you sure?"),
        "the comment is back: {page}"
    );

    // Renamed after that: the new address leads to the id, whose
    // collections still answer.
    let renamed = vec![
        ("csrf", csrf.clone()),
        ("title", "Third thoughts".to_string()),
        ("body", "I may take this back.".to_string()),
        ("action", "save".to_string()),
    ];
    let response = browser
        .post_owned("/admin/posts/second-thoughts/edit", renamed)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.deliver().await, 1, "the rename's Update");
    let (status, headers, _) = app.fetch_ap("/posts/third-thoughts").await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers["location"], again.as_str());
    for (path, id) in [
        ("/posts/second-thoughts", again.clone()),
        ("/posts/second-thoughts/likes", format!("{url}/likes")),
        ("/posts/second-thoughts/replies", format!("{url}/replies")),
    ] {
        let (status, _, document) = app.fetch_ap(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(document["id"], id, "{path}: {document}");
    }

    // The same from the command line.
    let (code, out, err) = crate::common::run(
        app.cli().args(["post", "unpublish", "third-thoughts"]),
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("unpublished (a draft again) (draft): Third thoughts"),
        "{out}"
    );
    assert_eq!(
        app.get("/posts/third-thoughts").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.deliver().await, 1, "its Delete");
}
