//! Contracts: every document other servers read from us, compared with a
//! reviewed copy in `tests/contracts/`, so that any change to one shows up
//! as a diff to review. After a deliberate change, run
//! `FEDBLOG_BLESS=1 cargo test --test it contracts` and review the diff.
//! Addresses are written as `https://blog.example`; times, UUIDs and the
//! key are placeholders. Then the Article is read the way Mastodon's and
//! GoToSocial's code read it (docs/federation.md), and what each would show
//! is checked.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;
use fedblog::comments::{self, ReaderInput, Target};
use fedblog::federation::context::WithContext;
use fedblog::federation::objects::person;
use fedblog::federation::outgoing;
use fedblog::state::keys;

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

fn contract_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/contracts")
        .join(format!("{name}.json"))
}

/// `s` with 8-4-4-4-12 hex groups replaced by `<uuid>`.
fn without_uuids(s: &str) -> String {
    let is_uuid = |candidate: &str| {
        candidate.len() == 36
            && candidate.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        match rest.get(..36) {
            Some(candidate) if is_uuid(candidate) => {
                out.push_str("<uuid>");
                rest = &rest[36..];
            }
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// The document with what changes from run to run replaced.
fn normalize(value: &Value, base: &str) -> Value {
    match value {
        Value::String(s) => {
            if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
                return json!("<time>");
            }
            if s.starts_with("-----BEGIN PUBLIC KEY-----") {
                return json!("<public key>");
            }
            let s = s
                .replace(base, "https://blog.example")
                .replace(base.trim_start_matches("http://"), "blog.example");
            json!(without_uuids(&s))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| normalize(v, base)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), normalize(v, base)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Compares a document with its contract (or, with FEDBLOG_BLESS=1, writes it).
fn check(app: &TestApp, name: &str, document: &Value, mismatches: &mut Vec<String>) {
    let normalized = normalize(document, app.url("").trim_end_matches('/'));
    let text = serde_json::to_string_pretty(&normalized).expect("json") + "\n";
    let path = contract_path(name);
    if std::env::var_os("FEDBLOG_BLESS").is_some() {
        std::fs::write(&path, &text).expect("write contract");
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == text => {}
        Ok(expected) => mismatches.push(format!(
            "{name}: the document changed.\n--- tests/contracts/{name}.json\n{expected}\n+++ now\n{text}"
        )),
        Err(e) => mismatches.push(format!("{name}: no contract at {}: {e}", path.display())),
    }
}

async fn served(app: &TestApp, url: &str, status: StatusCode) -> Value {
    let (got, _, document) = app.fetch_ap(url).await;
    assert_eq!(got, status, "{url}: {document}");
    document
}

#[tokio::test(flavor = "multi_thread")]
async fn every_document_other_servers_read_matches_its_contract() {
    let app = TestApp::spawn().await;
    let settings = &app.settings;
    let post = app
        .create_post(json!({
            "title": "A post for everyone",
            "body": "An *introduction*.\n\n![A cat on a mat](/static/cat.png)\n\n## Details\n\nSee [above](#details) and [the archive](/archive).\n",
            "tags": ["Rust", "Fediverse Tools"],
        }))
        .await;
    let slug = post["slug"].as_str().expect("slug").to_string();
    let post_url = app.url(&format!("/posts/{slug}"));
    let gone = app.publish_simple("Gone soon", &[]).await;
    let gone_slug = gone["slug"].as_str().expect("slug").to_string();
    let response = app
        .api(reqwest::Method::DELETE, &format!("/posts/{gone_slug}"))
        .send()
        .await
        .expect("delete");
    assert!(response.status().is_success());

    let mut conn = app.pool.get().await.expect("conn");
    let answer = comments::reply_as_author(
        &mut conn,
        settings,
        Target::Post(slug.clone()),
        "Thanks for *reading*.",
    )
    .await
    .expect("answer");
    let reader = comments::submit_reader_comment(
        &mut conn,
        settings,
        Target::Comment(answer.id),
        &ReaderInput {
            name: "Åsa Reader".into(),
            website: None,
            body: "Well said.".into(),
        },
    )
    .await
    .expect("reader comment");
    comments::approve(&mut conn, settings, reader.id)
        .await
        .expect("approve");
    let item = fedblog::posts::get(&mut conn, &slug).await.expect("post");
    let approval = fedblog::models::quote::approve(
        &mut conn,
        item.post.id,
        "http://localhost:9/notes/quoting",
        "http://localhost:9/users/quoter",
        "http://localhost:9/users/quoter/quote_requests/1",
    )
    .await
    .expect("quote");
    let actor_keys = keys::load_or_create(&mut conn).await.expect("keys");
    drop(conn);

    let mut mismatches = Vec::new();
    // Served.
    let actor = served(&app, "/users/blog", StatusCode::OK).await;
    check(&app, "person", &actor, &mut mismatches);
    let article = served(&app, &post_url, StatusCode::OK).await;
    check(&app, "article", &article, &mut mismatches);
    for (name, path, status) in [
        ("tombstone", format!("/posts/{gone_slug}"), StatusCode::GONE),
        ("note", answer.ap_id.clone(), StatusCode::OK),
        ("reader-note", reader.ap_id.clone(), StatusCode::OK),
        (
            "post-replies",
            format!("{post_url}/replies"),
            StatusCode::OK,
        ),
        (
            "post-replies-page",
            format!("{post_url}/replies?page=1"),
            StatusCode::OK,
        ),
        (
            "note-replies",
            format!("{}/replies", answer.ap_id),
            StatusCode::OK,
        ),
        ("context", format!("{post_url}/context"), StatusCode::OK),
        ("likes", format!("{post_url}/likes"), StatusCode::OK),
        ("outbox", "/users/blog/outbox".into(), StatusCode::OK),
        (
            "outbox-page",
            "/users/blog/outbox?page=1".into(),
            StatusCode::OK,
        ),
        ("followers", "/users/blog/followers".into(), StatusCode::OK),
        ("featured", "/users/blog/featured".into(), StatusCode::OK),
        (
            "quote-authorization",
            format!("/quote-authorizations/{approval}"),
            StatusCode::OK,
        ),
    ] {
        let document = served(&app, &path, status).await;
        check(&app, name, &document, &mut mismatches);
    }
    let webfinger: Value = app
        .get(&format!(
            "/.well-known/webfinger?resource=acct:blog@localhost:{}",
            app.addr.port()
        ))
        .await
        .json()
        .await
        .expect("webfinger");
    check(&app, "webfinger", &webfinger, &mut mismatches);
    let nodeinfo: Value = app
        .get("/nodeinfo/2.1")
        .await
        .json()
        .await
        .expect("nodeinfo");
    check(&app, "nodeinfo", &nodeinfo, &mut mismatches);

    // Sent, as the delivery worker puts them on the wire.
    let sent = |activity: Value| json!(WithContext::new(activity));
    let person_json =
        serde_json::to_value(person::blog_actor(settings, &actor_keys)).expect("person");
    let update = sent(outgoing::update_actor(settings, person_json));
    check(&app, "update-person", &update, &mut mismatches);
    let create = sent(outgoing::create_article(settings, &item).expect("create"));
    check(&app, "create-article", &create, &mut mismatches);
    let update_article = sent(outgoing::update_article(settings, &item).expect("update"));
    check(&app, "update-article", &update_article, &mut mismatches);
    let delete = sent(outgoing::delete_article(settings, &post_url));
    check(&app, "delete-article", &delete, &mut mismatches);
    let accept = sent(outgoing::accept_follow(
        settings,
        "http://localhost:9/users/follower#follows/1",
        "http://localhost:9/users/follower",
    ));
    check(&app, "accept-follow", &accept, &mut mismatches);
    let note = || {
        fedblog::federation::objects::note::note(settings, &answer, &item.post, None)
            .expect("a local comment is a Note")
    };
    let create_note = sent(outgoing::create_note(settings, note()));
    check(&app, "create-note", &create_note, &mut mismatches);
    let delete_note = sent(outgoing::delete_note(settings, note()));
    check(&app, "delete-note", &delete_note, &mut mismatches);

    assert!(
        mismatches.is_empty(),
        "{}\n\nIf the change is meant, run FEDBLOG_BLESS=1 cargo test --test it contracts and review the diff.",
        mismatches.join("\n\n")
    );
}

/// What Mastodon makes of our Article (docs/federation.md, "Mastodon"):
/// `app/lib/activitypub/parser/status_parser.rb` for an object of a
/// converted type.
struct MastodonStatus {
    text: String,
    spoiler_text: String,
    language: Option<String>,
    media: usize,
    /// The link its card is built from (`FetchLinkCardService`).
    card: Option<String>,
    quote_policy: &'static str,
}

fn as_mastodon_reads_it(article: &Value) -> MastodonStatus {
    const CONVERTED: [&str; 6] = ["Image", "Audio", "Video", "Article", "Page", "Event"];
    let kind = article["type"].as_str().unwrap_or_default();
    assert!(CONVERTED.contains(&kind), "an Article is a converted type");
    let title = article["name"].as_str().filter(|s| !s.is_empty());
    let summary = article["summary"].as_str().filter(|s| !s.is_empty());
    let url = article["url"]
        .as_str()
        .or(article["id"].as_str())
        .unwrap_or_default();
    let link = format!("<a href=\"{url}\">{url}</a>");
    let text = [
        title.map(|t| format!("<h2>{t}</h2>")),
        summary.map(str::to_string),
        Some(link),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n\n");
    let media = article["attachment"].as_array().map_or(0, Vec::len);
    let public = |v: &Value| {
        let spellings = [PUBLIC, "as:Public", "Public"];
        match v {
            Value::String(s) => spellings.contains(&s.as_str()),
            Value::Array(a) => a
                .iter()
                .any(|s| s.as_str().is_some_and(|s| spellings.contains(&s))),
            _ => false,
        }
    };
    let policy = &article["interactionPolicy"]["canQuote"];
    MastodonStatus {
        // The first non-mention, non-hashtag link, unless there is media.
        card: (media == 0).then(|| url.to_string()),
        text,
        spoiler_text: String::new(),
        language: article["contentMap"]
            .as_object()
            .and_then(|m| m.keys().next().cloned()),
        media,
        quote_policy: if public(&policy["automaticApproval"]) {
            "automatic"
        } else if public(&policy["manualApproval"]) {
            "manual"
        } else {
            "denied"
        },
    }
}

/// What GoToSocial makes of it (docs/federation.md, "GoToSocial"):
/// `ASStatusToStatus` and `ContentToContentLanguage`, with its sanitizer
/// dropping `<img>`.
struct GoToSocialStatus {
    content_warning: String,
    content: String,
    language: Option<String>,
    rejected: bool,
    backfills_replies: bool,
}

fn as_gotosocial_reads_it(article: &Value) -> GoToSocialStatus {
    let content = article["content"].as_str().unwrap_or_default();
    let language = article["contentMap"].as_object().and_then(|map| {
        map.iter()
            .find(|(_, v)| v.as_str() == Some(content))
            .map(|(k, _)| k.clone())
    });
    let time = |key: &str| {
        article[key]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    let rejected = matches!((time("published"), time("updated")), (Some(p), Some(u)) if u < p);
    // bluemonday without `img`: the tag goes, its paragraph stays.
    let mut shown = String::new();
    let mut rest = content;
    while let Some(start) = rest.find("<img") {
        shown.push_str(&rest[..start]);
        rest = rest[start..].split_once('>').map_or("", |(_, after)| after);
    }
    shown.push_str(rest);
    GoToSocialStatus {
        content_warning: article["summary"]
            .as_str()
            .or(article["name"].as_str())
            .unwrap_or_default()
            .to_string(),
        content: shown,
        language,
        rejected,
        backfills_replies: article["replies"]["first"]["orderedItems"].is_array()
            || article["replies"]["first"]["items"].is_array(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn our_article_reads_right_in_mastodon_and_gotosocial() {
    let app = TestApp::spawn().await;
    let post = app
        .create_post(json!({
            "title": "Seen from elsewhere",
            "body": "Opening *words*.\n\n![A heron](/static/heron.png)\n\n## More\n\nThe rest, [here](#more).\n",
        }))
        .await;
    let url = post["url"].as_str().expect("url").to_string();
    let (_, _, article) = app.fetch_ap(&url).await;
    let language = app.settings.blog.language.clone();

    let mastodon = as_mastodon_reads_it(&article);
    assert!(
        mastodon.text.starts_with("<h2>Seen from elsewhere</h2>"),
        "{}",
        mastodon.text
    );
    assert!(
        mastodon
            .text
            .ends_with(&format!("<a href=\"{url}\">{url}</a>")),
        "{}",
        mastodon.text
    );
    assert!(
        !mastodon.text.contains("Opening"),
        "Mastodon shows no content; the card carries the excerpt"
    );
    assert_eq!(mastodon.spoiler_text, "");
    assert_eq!(mastodon.language.as_deref(), Some(language.as_str()));
    assert_eq!(mastodon.media, 0, "media would suppress the link card");
    assert_eq!(mastodon.card.as_deref(), Some(url.as_str()));
    assert_eq!(mastodon.quote_policy, "automatic");
    // The card comes from the page's OpenGraph tags.
    let slug = post["slug"].as_str().expect("slug");
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    assert!(
        page.contains("<meta property=\"og:title\" content=\"Seen from elsewhere\">"),
        "{page}"
    );
    assert!(
        page.contains(
            "<meta property=\"og:description\" content=\"Opening words. More The rest, here.\">"
        ),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "<meta property=\"og:image\" content=\"{}\">",
            app.url("/static/heron.png")
        )),
        "{page}"
    );

    let gts = as_gotosocial_reads_it(&article);
    assert!(!gts.rejected);
    assert_eq!(
        gts.content_warning, "Seen from elsewhere",
        "the title, the author's words (accepted gap)"
    );
    assert!(
        gts.content.contains("Opening <em>words</em>."),
        "{}",
        gts.content
    );
    assert!(
        gts.content.contains("[🖼 A heron]"),
        "the picture leaves a trace: {}",
        gts.content
    );
    assert!(!gts.content.contains("<p></p>"), "{}", gts.content);
    assert!(
        gts.content.contains(&format!("href=\"{url}#more\"")),
        "{}",
        gts.content
    );
    assert_eq!(gts.language.as_deref(), Some(language.as_str()));
    assert!(gts.backfills_replies);
}

#[test]
fn normalizing_replaces_what_changes_between_runs() {
    let doc = json!({
        "id": "http://localhost:4242/users/blog#accepts/0b7e5c1a-7f3e-4c2b-9a51-2d3c4b5a6f70",
        "published": "2026-12-06T23:00:00.123Z",
        "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nMIIB...",
        "n": 3,
        "host": "localhost:4242",
        "not-a-uuid": "abcdefab-1234",
        "text": "[🖼 åäö]",
    });
    assert_eq!(
        normalize(&doc, "http://localhost:4242"),
        json!({
            "id": "https://blog.example/users/blog#accepts/<uuid>",
            "published": "<time>",
            "publicKeyPem": "<public key>",
            "n": 3,
            "host": "blog.example",
            "not-a-uuid": "abcdefab-1234",
            "text": "[🖼 åäö]",
        })
    );
}
