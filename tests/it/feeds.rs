//! The Atom and RSS feeds, parsed back as a feed reader would.

use quick_xml::Reader;
use quick_xml::events::Event;
use reqwest::StatusCode;
use serde_json::json;

use fedblog::models::comment::{Origin, State, Visibility};

use crate::common::TestApp;

/// A small XML tree: (name, attributes, text, children).
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses strictly: any malformed XML fails the test.
fn parse(xml: &str) -> Node {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack = vec![Node::default()];
    let open = |e: &quick_xml::events::BytesStart| Node {
        name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                let value = a.unescape_value().expect("attribute value").into_owned();
                (String::from_utf8_lossy(a.key.as_ref()).into_owned(), value)
            })
            .collect(),
        ..Node::default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let node = open(&e);
                stack.last_mut().expect("parent").children.push(node);
            }
            Event::End(_) => {
                let node = stack.pop().expect("open element");
                stack.last_mut().expect("parent").children.push(node);
            }
            Event::Text(t) => {
                let text = t.decode().expect("text");
                let text = quick_xml::escape::unescape(&text)
                    .expect("entities")
                    .into_owned();
                stack.last_mut().expect("node").text.push_str(&text);
            }
            Event::GeneralRef(r) => {
                let name = r.decode().expect("ref");
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .map(str::to_string)
                    .or_else(|| r.resolve_char_ref().ok().flatten().map(String::from))
                    .expect("known entity");
                stack.last_mut().expect("node").text.push_str(&resolved);
            }
            Event::CData(c) => stack
                .last_mut()
                .expect("node")
                .text
                .push_str(&String::from_utf8_lossy(&c)),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "every element closed");
    stack.pop().expect("root")
}

#[tokio::test(flavor = "multi_thread")]
async fn atom_feed_is_valid_with_absolute_links_and_escaped_text() {
    let app = TestApp::spawn_with("[blog]\ntitle = \"Q&A <blog>\"").await;
    app.create_post(json!({"title": "First & <best>", "body": "Body with <b>bold</b> & a [link](/posts/x).", "tags": ["R&D"]}))
        .await;
    app.publish_simple("Second", &[]).await;
    app.create_post(json!({"title": "Hidden draft", "draft": true}))
        .await;

    let response = app.get("/feed.atom").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/atom+xml")
    );
    let feed = parse(&response.text().await.expect("body"));
    let feed = feed.child("feed").expect("<feed>");
    assert_eq!(feed.attr("xmlns"), Some("http://www.w3.org/2005/Atom"));
    assert_eq!(feed.child("title").expect("title").text, "Q&A <blog>");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&feed.child("updated").expect("updated").text).is_ok()
    );
    let entries = feed.all("entry");
    assert_eq!(entries.len(), 2, "drafts are not in the feed");
    assert_eq!(entries[0].child("title").expect("title").text, "Second");
    let first = entries[1];
    assert_eq!(first.child("title").expect("title").text, "First & <best>");
    let link = first
        .child("link")
        .and_then(|l| l.attr("href"))
        .expect("link");
    assert_eq!(link, app.url("/posts/first-best"));
    assert_eq!(first.child("id").expect("id").text, link);
    let content = first.child("content").expect("content");
    assert_eq!(content.attr("type"), Some("html"));
    assert!(
        content.text.contains("<strong>") || content.text.contains("<b>bold</b>"),
        "{}",
        content.text
    );
    assert!(
        content.text.contains("&amp;"),
        "HTML content keeps its own escaping: {}",
        content.text
    );
    let category = first.child("category").expect("category");
    assert_eq!(category.attr("label"), Some("R&D"));
    for e in &entries {
        for date in ["published", "updated"] {
            assert!(chrono::DateTime::parse_from_rfc3339(&e.child(date).expect(date).text).is_ok());
        }
    }
    let self_link = feed
        .all("link")
        .into_iter()
        .find(|l| l.attr("rel") == Some("self"))
        .expect("self link");
    assert_eq!(self_link.attr("href"), Some(app.url("/feed.atom").as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn rss_feed_is_valid() {
    let app = TestApp::spawn().await;
    app.publish_simple("Tom & Jerry", &["cartoons"]).await;
    let response = app.get("/feed.rss").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/rss+xml")
    );
    let doc = parse(&response.text().await.expect("body"));
    let channel = doc
        .child("rss")
        .and_then(|r| r.child("channel"))
        .expect("channel");
    let items = channel.all("item");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].child("title").expect("title").text, "Tom & Jerry");
    assert_eq!(
        items[0].child("link").expect("link").text,
        app.url("/posts/tom-jerry")
    );
    assert!(
        chrono::DateTime::parse_from_rfc2822(&items[0].child("pubDate").expect("date").text)
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_blog_has_a_valid_feed() {
    let app = TestApp::spawn().await;
    let feed = parse(&app.get("/feed.atom").await.text().await.expect("body"));
    assert!(feed.child("feed").expect("feed").all("entry").is_empty());
}

/// A comment row to seed, with what the feed needs to tell comments apart.
struct Seed<'a> {
    ap_id: String,
    origin: &'a str,
    author_name: Option<&'a str>,
    content_html: &'a str,
    summary: Option<&'a str>,
    visibility: &'a str,
    state: &'a str,
    reader_website: Option<&'a str>,
    minutes_ago: i64,
}

impl<'a> Seed<'a> {
    fn remote(n: u32, content_html: &'a str, minutes_ago: i64) -> Self {
        Seed {
            ap_id: format!("https://remote.example/notes/{n}"),
            origin: "remote",
            author_name: Some("Alice"),
            content_html,
            summary: None,
            visibility: "public",
            state: "approved",
            reader_website: None,
            minutes_ago,
        }
    }
}

/// Inserts a comment under the post `slug` directly in the database; returns its row id.
async fn seed_comment(app: &TestApp, slug: &str, seed: Seed<'_>) -> i64 {
    use fedblog::models::{comment, post};
    let mut conn = app.pool.get().await.expect("conn");
    let post = post::find_by_slug(&mut conn, slug)
        .await
        .expect("query")
        .expect("the post exists");
    let post_ap_id = post.ap_id.clone().expect("published");
    let author = if seed.origin == "remote" {
        "https://remote.example/users/alice".to_string()
    } else {
        app.url("/users/blog")
    };
    let new = comment::NewComment {
        ap_id: &seed.ap_id,
        post_id: post.id,
        parent_id: None,
        in_reply_to: &post_ap_id,
        url: None,
        author_ap_id: &author,
        author_name: seed.author_name,
        author_handle: None,
        content_html: seed.content_html,
        summary: seed.summary,
        sensitive: seed.summary.is_some(),
        visibility: Visibility::parse(seed.visibility).expect("a visibility"),
        published_at: chrono::Utc::now() - chrono::Duration::minutes(seed.minutes_ago),
        state: State::parse(seed.state).expect("a state"),
        origin: Origin::parse(seed.origin).expect("an origin"),
        source: None,
        reader_website: seed.reader_website,
        moderation_note: None,
        language: None,
        attachments: serde_json::json!([]),
    };
    assert!(comment::insert(&mut conn, &new).await.expect("insert"));
    comment::find_by_ap_id(&mut conn, &seed.ap_id)
        .await
        .expect("query")
        .expect("inserted")
        .id
}

async fn comments_feed(app: &TestApp) -> (String, Node) {
    let response = app.get("/comments.atom").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/atom+xml")
    );
    let body = response.text().await.expect("body");
    let doc = parse(&body);
    (body, doc)
}

fn feed_of(doc: &Node) -> &Node {
    let feed = doc.child("feed").expect("<feed>");
    assert_eq!(feed.attr("xmlns"), Some("http://www.w3.org/2005/Atom"));
    feed
}

fn entry_ids(feed: &Node) -> Vec<String> {
    feed.all("entry")
        .iter()
        .map(|e| e.child("id").expect("id").text.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_feed_lists_shown_comments_newest_first_with_links_and_authors() {
    let app = TestApp::spawn().await;
    app.publish_simple("Tea & \"biscuits\"", &[]).await;
    let slug = "tea-biscuits";
    let oldest = seed_comment(&app, slug, Seed::remote(1, "<p>First!</p>", 30)).await;
    let reader = seed_comment(
        &app,
        slug,
        Seed {
            ap_id: app.url("/comments/900"),
            origin: "reader",
            author_name: Some("Bob <the reader>"),
            reader_website: Some("https://bob.example/"),
            ..Seed::remote(0, "<p>From the form.</p>", 20)
        },
    )
    .await;
    let answer = seed_comment(
        &app,
        slug,
        Seed {
            ap_id: app.url("/comments/901"),
            origin: "author",
            author_name: Some("Blog Author"),
            ..Seed::remote(0, "<p>Thanks!</p>", 10)
        },
    )
    .await;
    let warned = seed_comment(
        &app,
        slug,
        Seed {
            summary: Some("spoilers & <plot>"),
            ..Seed::remote(2, "<p>The butler did it.</p>", 5)
        },
    )
    .await;

    let (_, doc) = comments_feed(&app).await;
    let feed = feed_of(&doc);
    let self_link = feed
        .all("link")
        .into_iter()
        .find(|l| l.attr("rel") == Some("self"))
        .expect("self link");
    assert_eq!(
        self_link.attr("href"),
        Some(app.url("/comments.atom").as_str())
    );
    assert!(
        chrono::DateTime::parse_from_rfc3339(&feed.child("updated").expect("updated").text).is_ok()
    );
    assert_eq!(
        entry_ids(feed),
        vec![
            "https://remote.example/notes/2".to_string(),
            app.url("/comments/901"),
            app.url("/comments/900"),
            "https://remote.example/notes/1".to_string(),
        ],
        "newest first, identified by their ActivityPub ids"
    );
    let entries = feed.all("entry");
    let link = |e: &Node| {
        e.child("link")
            .and_then(|l| l.attr("href"))
            .expect("link")
            .to_string()
    };
    for (entry, id) in entries.iter().zip([warned, answer, reader, oldest]) {
        assert_eq!(link(entry), app.url(&format!("/posts/{slug}#comment-{id}")));
        for date in ["published", "updated"] {
            assert!(
                chrono::DateTime::parse_from_rfc3339(&entry.child(date).expect(date).text).is_ok()
            );
        }
        assert_eq!(
            entry.child("content").and_then(|c| c.attr("type")),
            Some("html")
        );
    }
    let title = |e: &Node| e.child("title").expect("title").text.clone();
    let author = |e: &Node| {
        let a = e.child("author").expect("author");
        (
            a.child("name").expect("name").text.clone(),
            a.child("uri").map(|u| u.text.clone()),
        )
    };
    assert_eq!(title(entries[0]), "Alice on \"Tea & \"biscuits\"\"");
    assert_eq!(
        author(entries[0]),
        (
            "Alice".into(),
            Some("https://remote.example/users/alice".into())
        )
    );
    assert_eq!(
        author(entries[1]),
        ("Blog Author".into(), Some(app.url("/")))
    );
    assert_eq!(
        title(entries[2]),
        "Bob <the reader> on \"Tea & \"biscuits\"\""
    );
    assert_eq!(
        author(entries[2]),
        (
            "Bob <the reader>".into(),
            Some("https://bob.example/".into())
        )
    );

    // A content warning is the summary; the content is still there.
    assert_eq!(
        entries[0].child("summary").map(|s| s.text.as_str()),
        Some("spoilers & <plot>")
    );
    assert_eq!(
        entries[0].child("content").expect("content").text,
        "<p>The butler did it.</p>"
    );
    assert!(entries[1].child("summary").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_feed_leaves_out_held_rejected_and_private_comments() {
    let app = TestApp::spawn().await;
    app.publish_simple("Quiet post", &[]).await;
    let slug = "quiet-post";
    seed_comment(&app, slug, Seed::remote(1, "<p>Shown.</p>", 9)).await;
    let hidden = [
        ("pending", "public"),
        ("rejected", "public"),
        ("deleted", "public"),
        ("approved", "followers"),
        ("approved", "direct"),
        ("approved", "unlisted"),
    ];
    for (n, (state, visibility)) in (2..).zip(hidden) {
        seed_comment(
            &app,
            slug,
            Seed {
                state,
                visibility,
                ..Seed::remote(n, "<p>Not for the feed.</p>", 1)
            },
        )
        .await;
    }

    let (body, doc) = comments_feed(&app).await;
    assert_eq!(
        entry_ids(feed_of(&doc)),
        vec!["https://remote.example/notes/1".to_string()]
    );
    assert!(!body.contains("Not for the feed"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_comment_html_cannot_break_out_of_the_comments_feed() {
    let app = TestApp::spawn().await;
    app.publish_simple("Target", &[]).await;
    let hostile = "</content></entry><entry><title>forged</title><script>alert(1)</script>\
                   <![CDATA[ ]]> & \u{1} ]]>";
    seed_comment(
        &app,
        "target",
        Seed {
            author_name: Some("</name></author><script>x</script>"),
            summary: Some("<script>cw</script>"),
            ..Seed::remote(1, hostile, 1)
        },
    )
    .await;

    let (body, doc) = comments_feed(&app).await;
    let feed = feed_of(&doc);
    let entries = feed.all("entry");
    assert_eq!(entries.len(), 1, "no entry was forged");
    assert!(!body.contains("<script"), "markup only escaped: {body}");
    assert!(body.contains("&lt;script"));
    let content = &entries[0].child("content").expect("content").text;
    assert!(
        content.starts_with("</content></entry><entry>"),
        "{content}"
    );
    assert!(
        !content.contains('\u{1}'),
        "characters XML forbids are dropped"
    );
    assert_eq!(
        entries[0]
            .child("author")
            .and_then(|a| a.child("name"))
            .map(|n| n.text.as_str()),
        Some("</name></author><script>x</script>")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_feed_without_comments_is_valid_atom() {
    let app = TestApp::spawn().await;
    app.publish_simple("Nobody answered", &[]).await;
    let (_, doc) = comments_feed(&app).await;
    let feed = feed_of(&doc);
    assert!(feed.all("entry").is_empty());
    for required in ["id", "title", "updated"] {
        assert!(feed.child(required).is_some(), "<{required}> is required");
    }
    assert!(
        chrono::DateTime::parse_from_rfc3339(&feed.child("updated").expect("updated").text).is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_link_to_the_comments_feed() {
    let app = TestApp::spawn().await;
    let (_, body) = app.page("/").await;
    let doc = crate::common::html(&body);
    let links = crate::common::attrs(
        &doc,
        r#"head link[rel="alternate"][type="application/atom+xml"][title="Comments"]"#,
        "href",
    );
    assert_eq!(links, vec![app.url("/comments.atom")]);
}
