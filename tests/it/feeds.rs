//! The Atom and RSS feeds, parsed back as a feed reader would.

use quick_xml::Reader;
use quick_xml::events::Event;
use reqwest::StatusCode;
use serde_json::json;

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
