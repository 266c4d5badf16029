//! Text objects of other servers (Note, Article, Page, Question): read from
//! JSON, and fetched from their origin when an activity's copy cannot be believed.

use activitypub_federation::config::Data;
use activitypub_federation::error::Error as ProtocolError;
use activitypub_federation::fetch::fetch_object_http;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::federation::{PUBLIC, object_id, same_origin};
use crate::models::comment::{Attachment, AttachmentKind, Visibility};
use crate::render::escape::xml_escape;
use crate::render::sanitize;
use crate::state::AppState;

/// Objects that become comments when they answer one of ours: text, and the
/// media and event types Mastodon shows as statuses too.
pub const COMMENT_TYPES: &[&str] = &[
    "Note", "Article", "Page", "Question", "Audio", "Video", "Image", "Event", "Document",
];

/// A text object of another server, read into what a comment keeps of it.
#[derive(Debug, Clone)]
pub struct RemoteNote {
    pub id: Url,
    pub attributed_to: Option<Url>,
    /// The parent to follow: the first of `in_reply_to_all`.
    pub in_reply_to: Option<Url>,
    /// Every parent it names (`inReplyTo` may be a list); the one we hold
    /// is chosen when it names several.
    pub in_reply_to_all: Vec<Url>,
    /// The text, sanitized for our pages.
    pub content_html: String,
    /// The content warning as plain text (`summary` is HTML), trimmed;
    /// `None` when empty.
    pub summary: Option<String>,
    /// The language of the text, from `contentMap`.
    pub language: Option<String>,
    pub sensitive: bool,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// What it attaches (at most [`MAX_ATTACHMENTS`]).
    pub attachments: Vec<Attachment>,
    /// What it quotes (`quote`, `quoteUrl`, `quoteUri`, `_misskey_quote`, or
    /// a FEP-e232 Link tag).
    pub quote: Option<Url>,
    /// Where the sender shows it to people: only an address on the
    /// object's own server (a sender's choice of someone else's page is not
    /// a permalink we show).
    pub url: Option<String>,
    pub visibility: Visibility,
}

/// The object as it comes on the wire: the fields that take several shapes
/// stay JSON here and are read into one value each by [`RemoteNote::parse`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    /// A type, or a list of them.
    #[serde(rename = "type")]
    kind: Value,
    id: Url,
    #[serde(default)]
    attributed_to: Value,
    #[serde(default)]
    in_reply_to: Value,
    content: Option<String>,
    #[serde(default)]
    content_map: Value,
    name: Option<String>,
    summary: Option<String>,
    sensitive: Option<bool>,
    published: Option<String>,
    updated: Option<String>,
    #[serde(default)]
    url: Value,
    #[serde(default)]
    to: Value,
    #[serde(default)]
    cc: Value,
    #[serde(default)]
    tag: Value,
    #[serde(default)]
    attachment: Value,
    #[serde(default)]
    quote: Value,
    #[serde(default)]
    quote_url: Value,
    #[serde(default)]
    quote_uri: Value,
    #[serde(default, rename = "_misskey_quote")]
    misskey_quote: Value,
}

impl RemoteNote {
    /// `None` unless `json` is an object of a comment type with an id.
    pub fn parse(json: Value) -> Option<Self> {
        let wire: Wire = serde_json::from_value(json).ok()?;
        let kinds = match &wire.kind {
            Value::String(kind) => vec![kind.as_str()],
            Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !kinds.iter().any(|k| COMMENT_TYPES.contains(k)) {
            return None;
        }
        let (content, language) = content_and_language(wire.content, &wire.content_map);
        let url = link_of(&wire.url).filter(|u| same_origin(u, &wire.id));
        let mut content_html = sanitize::remote_html(&content.unwrap_or_default());
        if content_html.trim().is_empty()
            && let Some(name) = wire
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
        {
            // A media object or event: its name, as Mastodon shows it.
            content_html = format!("<p>{}</p>", xml_escape(name));
        }
        let quote = [
            &wire.quote,
            &wire.quote_url,
            &wire.quote_uri,
            &wire.misskey_quote,
        ]
        .into_iter()
        .find_map(link_of)
        .or_else(|| quote_link(&wire.tag));
        content_html = link_tags(content_html, &wire.tag, &wire.id);
        let in_reply_to_all = parents(&wire.in_reply_to);
        Some(RemoteNote {
            attributed_to: author_of(&wire.attributed_to),
            in_reply_to: in_reply_to_all.first().cloned(),
            in_reply_to_all,
            content_html,
            summary: wire
                .summary
                .as_deref()
                .map(sanitize::plain_text)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            language,
            sensitive: wire.sensitive.unwrap_or(false),
            published: wire.published.as_deref().and_then(timestamp),
            updated: wire.updated.as_deref().and_then(timestamp),
            url: url.map(String::from),
            attachments: attachments(&wire.attachment),
            quote,
            visibility: visibility(&addresses(&wire.to), &addresses(&wire.cc)),
            id: wire.id,
        })
    }
}

/// The text and its language: `content` with the `contentMap` key whose
/// value is that text (or the map's only key); without `content`, the
/// map's first value.
fn content_and_language(content: Option<String>, map: &Value) -> (Option<String>, Option<String>) {
    let entries: Vec<(&String, &str)> = map
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k, v.as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    let language = |key: &String| {
        let key = key.trim();
        crate::config::is_language_tag(key).then(|| key.to_string())
    };
    match content.filter(|c| !c.trim().is_empty()) {
        Some(content) => {
            let key = match entries.as_slice() {
                [(key, _)] => Some(*key),
                more => more.iter().find(|(_, v)| *v == content).map(|(k, _)| *k),
            };
            (Some(content), key.and_then(language))
        }
        None => match entries.first() {
            Some((key, value)) => (Some((*value).to_string()), language(key)),
            None => (None, None),
        },
    }
}

/// The most tags (mentions, hashtags) of one object that are linked.
const MAX_TAGS: usize = 64;
/// The most hashtags added at the end of a comment.
const MAX_TRAILING_HASHTAGS: usize = 10;
/// The most parents of an `inReplyTo` list that are looked at.
const MAX_PARENTS: usize = 8;

/// The most attachments kept of one comment (Mastodon allows 4).
pub const MAX_ATTACHMENTS: usize = 8;

/// What `attachment` lists (one object or a list): each with an http(s)
/// address, sorted by its media type (or its type) into pictures, video,
/// audio and the rest.
fn attachments(field: &Value) -> Vec<Attachment> {
    let items: Vec<&Value> = match field {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![field],
        _ => Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|item| {
            let url = link_of(item.get("url").unwrap_or(&Value::Null))
                .or_else(|| link_of(item.get("href").unwrap_or(&Value::Null)))
                .filter(|u| matches!(u.scheme(), "http" | "https"))?;
            let media_type = item
                .get("mediaType")
                .and_then(Value::as_str)
                .map(|m| m.trim().to_ascii_lowercase())
                .filter(|m| !m.is_empty());
            let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
            let major = media_type
                .as_deref()
                .and_then(|m| m.split('/').next())
                .unwrap_or_default();
            let kind = match (major, kind) {
                ("image", _) | ("", "Image") => AttachmentKind::Image,
                ("video", _) | ("", "Video") => AttachmentKind::Video,
                ("audio", _) | ("", "Audio") => AttachmentKind::Audio,
                _ => AttachmentKind::Document,
            };
            let alt = ["name", "summary"]
                .iter()
                .find_map(|key| item.get(*key).and_then(Value::as_str))
                .map(sanitize::plain_text)
                .filter(|alt| !alt.is_empty());
            Some(Attachment {
                kind,
                url: url.to_string(),
                alt,
                media_type,
            })
        })
        .take(MAX_ATTACHMENTS)
        .collect()
}

/// A FEP-e232 object link to an ActivityPub object in `tag` (Misskey's
/// and others' way to mark a quote).
fn quote_link(tags: &Value) -> Option<Url> {
    tags.as_array()?.iter().find_map(|tag| {
        let is_link = tag.get("type").and_then(Value::as_str) == Some("Link");
        let media = tag
            .get("mediaType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let activity_json = media == "application/activity+json"
            || (media.starts_with("application/ld+json")
                && media.contains("https://www.w3.org/ns/activitystreams"));
        (is_link && activity_json)
            .then(|| tag.get("href").and_then(Value::as_str))
            .flatten()
            .and_then(|href| Url::parse(href).ok())
    })
}

/// Mentions and hashtags from `tag` made links in the text, as Mastodon
/// writes them: `@user@server` written as plain text becomes an h-card link
/// to the actor, `#tag` a link to the tag on the sender's server, and
/// hashtags that are only in `tag` are added at the end.
fn link_tags(mut html: String, tags: &Value, origin: &Url) -> String {
    let items: Vec<&serde_json::Map<String, Value>> = match tags {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_object)
            .take(MAX_TAGS)
            .collect(),
        Value::Object(one) => vec![one],
        _ => Vec::new(),
    };
    let mut trailing = Vec::new();
    for tag in items {
        let kind = tag.get("type").and_then(Value::as_str).unwrap_or_default();
        let name = tag
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        let Some(href) = tag
            .get("href")
            .and_then(Value::as_str)
            .and_then(|h| Url::parse(h).ok())
            .filter(|h| matches!(h.scheme(), "http" | "https"))
        else {
            continue;
        };
        // A hashtag links to the tag on the sender's own server.
        let senders = same_origin(&href, origin);
        let href = xml_escape(href.as_str());
        match kind {
            "Mention" if name.starts_with('@') => {
                let user = name
                    .trim_start_matches('@')
                    .split('@')
                    .next()
                    .unwrap_or_default();
                let link = format!(
                    "<span class=\"h-card\"><a href=\"{href}\" class=\"u-url mention\" rel=\"nofollow noopener noreferrer ugc\">@<span>{}</span></a></span>",
                    xml_escape(user)
                );
                if let Some(linked) = link_plain(&html, &xml_escape(name), &link) {
                    html = linked;
                }
            }
            "Hashtag" if !name.is_empty() && senders => {
                let text = format!("#{}", name.trim_start_matches('#'));
                let link = format!(
                    "<a href=\"{href}\" class=\"mention hashtag\" rel=\"nofollow noopener noreferrer ugc\">#<span>{}</span></a>",
                    xml_escape(name.trim_start_matches('#'))
                );
                match link_plain(&html, &xml_escape(&text), &link) {
                    Some(linked) => html = linked,
                    None if trailing.len() < MAX_TRAILING_HASHTAGS
                        && !html.contains(&format!(
                            ">{}<",
                            xml_escape(name.trim_start_matches('#'))
                        )) =>
                    {
                        trailing.push(link)
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }
    if !trailing.is_empty() {
        html.push_str(&format!("<p>{}</p>", trailing.join(" ")));
    }
    html
}

/// `html` with the first occurrence of `needle` in its text (outside tags
/// and outside links) replaced by `link`; `None` when there is none. A
/// match must end at a word boundary (`#rust` does not match `#rustacean`).
fn link_plain(html: &str, needle: &str, link: &str) -> Option<String> {
    let mut in_link = 0usize;
    let mut pos = 0;
    while pos < html.len() {
        let rest = &html[pos..];
        if rest.starts_with('<') {
            let end = pos + rest.find('>')? + 1;
            let tag = &html[pos..end];
            if tag.starts_with("<a ") || tag == "<a>" {
                in_link += 1;
            } else if tag == "</a>" {
                in_link = in_link.saturating_sub(1);
            }
            pos = end;
            continue;
        }
        let text_end = pos + rest.find('<').unwrap_or(rest.len());
        if in_link == 0 {
            for (at, _) in html[pos..text_end].match_indices(needle) {
                let start = pos + at;
                let after = start + needle.len();
                let word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '@' | '#');
                let boundary = html[after..].chars().next().is_none_or(|c| !word(c))
                    && html[..start].chars().next_back().is_none_or(|c| !word(c));
                if boundary {
                    return Some(format!("{}{link}{}", &html[..start], &html[after..]));
                }
            }
        }
        pos = text_end;
    }
    None
}

/// The parents an `inReplyTo` names: an id, an object with an `id`, a Link
/// (`href`), or a list of those.
fn parents(field: &Value) -> Vec<Url> {
    match field {
        Value::Array(items) => items.iter().filter_map(link_of).take(MAX_PARENTS).collect(),
        other => link_of(other).into_iter().collect(),
    }
}

/// The address in one reference: a string, an object's `id`, or a Link's
/// `href` (for `url`, the first of a list too).
fn link_of(value: &Value) -> Option<Url> {
    match value {
        Value::Array(items) => items.iter().find_map(link_of),
        Value::Object(o) if o.get("id").is_none() => o
            .get("href")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok()),
        other => object_id(other),
    }
}

/// The author an `attributedTo` names: one id or object, or the first of a list.
pub fn author_of(attributed_to: &Value) -> Option<Url> {
    match attributed_to {
        Value::Array(items) => items.first().and_then(object_id),
        other => object_id(other),
    }
}

fn timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The ids in an addressing field (one, or a list).
fn addresses(field: &Value) -> Vec<String> {
    match field {
        Value::String(s) => vec![s.clone()],
        // Kept as written: "Public" and "as:Public" are no URLs to parse.
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(s.clone()),
                other => object_id(other).map(String::from),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Who may see an object, from its addressing (Mastodon's rules).
fn visibility(to: &[String], cc: &[String]) -> Visibility {
    let is_public = |a: &String| matches!(a.as_str(), PUBLIC | "as:Public" | "Public");
    if to.iter().any(is_public) {
        Visibility::Public
    } else if cc.iter().any(is_public) {
        Visibility::Unlisted
    } else if to
        .iter()
        .chain(cc.iter())
        .any(|a| a.ends_with("/followers"))
    {
        Visibility::Followers
    } else {
        Visibility::Direct
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("{0}")]
    Untrusted(&'static str),
    #[error("not a Note, Article, Page or Question")]
    NotText,
}

/// Fetches a text object from its origin: a GET signed as the blog actor,
/// through the guarded client, counted against the inbound request's fetch
/// budget. Believed only if its id is the URL it was served from, that URL is
/// on the server we asked (one redirect at most, within it), and its author is
/// on that server too.
pub async fn fetch(url: &Url, data: &Data<AppState>) -> Result<RemoteNote, FetchError> {
    let response = fetch_object_http::<_, Value>(url, data).await?;
    if object_id(&response.object).as_ref() != Some(&response.url) {
        return Err(FetchError::Untrusted(
            "its id is not the URL it was served from",
        ));
    }
    if !same_origin(url, &response.url) {
        return Err(FetchError::Untrusted("it was served from another server"));
    }
    let note = RemoteNote::parse(response.object).ok_or(FetchError::NotText)?;
    match &note.attributed_to {
        Some(author) if same_origin(author, &note.id) => Ok(note),
        _ => Err(FetchError::Untrusted(
            "its author is not on the server that serves it",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_text_objects_with_ids_are_read() {
        let note = RemoteNote::parse(json!({
            "id": "https://m.example/notes/1",
            "type": "Article",
            "attributedTo": [{"id": "https://m.example/users/a"}],
            "inReplyTo": {"id": "https://b.example/posts/x", "type": "Note"},
        }))
        .expect("an article");
        assert_eq!(
            note.attributed_to.map(String::from).as_deref(),
            Some("https://m.example/users/a")
        );
        assert_eq!(
            note.in_reply_to.map(String::from).as_deref(),
            Some("https://b.example/posts/x")
        );
        assert!(
            RemoteNote::parse(json!({"id": "https://m.example/1", "type": "Person"})).is_none()
        );
        assert!(RemoteNote::parse(json!({"type": "Note"})).is_none());
        assert!(RemoteNote::parse(json!("https://m.example/notes/1")).is_none());
    }

    /// A document from `tests/fixtures/remote/` (see SOURCES.md there for
    /// where each comes from), its object unwrapped from a Create.
    fn fixture(name: &str) -> RemoteNote {
        let path = format!(
            "{}/tests/fixtures/remote/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("fixture");
        let json: Value = serde_json::from_str(&text).expect("json");
        let object = match json["type"].as_str() {
            Some("Create") => json["object"].clone(),
            _ => json,
        };
        RemoteNote::parse(object).unwrap_or_else(|| panic!("{name} is not read"))
    }

    #[test]
    fn documents_as_real_servers_write_them_are_read() {
        let url = |s: &str| Url::parse(s).expect("url");
        // Mastodon: a reply with an image, a mention and its language.
        let n = fixture("mastodon-reply-image.json");
        assert_eq!(
            n.in_reply_to,
            Some(url(
                "https://floss.social/users/kde/statuses/113306824627995724"
            ))
        );
        assert_eq!(n.language.as_deref(), Some("en"));
        assert_eq!(n.visibility, Visibility::Public);
        assert_eq!(
            n.url.as_deref(),
            Some("https://floss.social/@kde/113306831140126616")
        );
        assert!(
            n.content_html.contains("class=\"h-card\""),
            "{}",
            n.content_html
        );
        // Mastodon: hashtags as it links them stay links.
        let n = fixture("mastodon-hashtag-image.json");
        assert!(
            n.content_html.contains("class=\"mention hashtag\""),
            "{}",
            n.content_html
        );
        // Mastodon: a content warning.
        let n = fixture("mastodon-cw.json");
        assert_eq!(
            n.summary.as_deref(),
            Some("reading: Punishment and Reward in the Corporate University")
        );
        assert!(n.sensitive);
        // Mastodon 4.5 and Misskey: quotes.
        let n = fixture("mastodon-quote.json");
        assert_eq!(
            n.quote,
            Some(url(
                "https://mastodon.example/users/bob/statuses/115509510238572041"
            ))
        );
        let n = fixture("misskey-quote.json");
        assert_eq!(
            n.quote,
            Some(url(
                "https://example.com/objects/43479e20-c0f8-4f49-bf7f-13fab8234924"
            ))
        );
        assert_eq!(n.in_reply_to, None);
        // GoToSocial: `to` and `tag` as single values.
        let n = fixture("gotosocial-reply.json");
        assert_eq!(n.visibility, Visibility::Public);
        assert_eq!(n.language.as_deref(), Some("en"));
        assert!(n.in_reply_to.is_some());
        assert!(
            fixture("gotosocial-reply-approved.json")
                .in_reply_to
                .is_some()
        );
        // Pleroma: public only in cc (unlisted), an empty summary is none.
        let n = fixture("pleroma-reply.json");
        assert_eq!(n.visibility, Visibility::Unlisted);
        assert_eq!(n.summary, None);
        assert_eq!(
            n.in_reply_to,
            Some(url("https://enterprise.lemmy.ml/post/55143"))
        );
        let n = fixture("akkoma-reply-create.json");
        assert_eq!(n.visibility, Visibility::Public);
        assert_eq!(
            n.in_reply_to,
            Some(url("https://mk.absturztau.be/notes/93e7nm8wqg"))
        );
        // Lemmy: a comment to a post, public beside the community.
        let n = fixture("lemmy-comment.json");
        assert_eq!(n.visibility, Visibility::Public);
        assert_eq!(n.content_html.trim(), "<p>first comment!</p>");
        // PeerTube: a Video is shown (its url a list of Links), and a comment.
        let n = fixture("peertube-video.json");
        assert!(!n.content_html.is_empty());
        assert!(
            n.url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://tilvids.com/")),
            "{:?}",
            n.url
        );
        let n = fixture("peertube-comment.json");
        assert!(n.content_html.contains("idk"), "{}", n.content_html);
        assert_eq!(
            n.in_reply_to,
            Some(url(
                "https://bae.st/objects/87c1cbf5-542a-491d-af57-0414c8648381"
            ))
        );
    }

    #[test]
    fn mentions_and_hashtags_become_links() {
        let tags = json!([
            {"type": "Mention", "href": "https://m.example/users/bob", "name": "@bob@m.example"},
            {"type": "Hashtag", "href": "https://m.example/tags/rust", "name": "#rust"},
            {"type": "Hashtag", "href": "https://m.example/tags/only", "name": "#only"},
            {"type": "Hashtag", "href": "javascript:alert(1)", "name": "#evil"},
        ]);
        let origin = Url::parse("https://m.example/notes/1").expect("url");
        let html = link_tags(
            "<p>hi @bob@m.example, about #rustacean and x#rust #rust <a href=\"x\">@bob@m.example</a></p>"
                .into(),
            &tags,
            &origin,
        );
        assert_eq!(
            html,
            concat!(
                "<p>hi <span class=\"h-card\"><a href=\"https://m.example/users/bob\" class=\"u-url mention\" rel=\"nofollow noopener noreferrer ugc\">@<span>bob</span></a></span>, ",
                "about #rustacean and x#rust <a href=\"https://m.example/tags/rust\" class=\"mention hashtag\" rel=\"nofollow noopener noreferrer ugc\">#<span>rust</span></a> ",
                "<a href=\"x\">@bob@m.example</a></p>",
                "<p><a href=\"https://m.example/tags/only\" class=\"mention hashtag\" rel=\"nofollow noopener noreferrer ugc\">#<span>only</span></a></p>"
            )
        );
        // Already linked (as Mastodon writes them): unchanged.
        let mastodon = "<p><a href=\"https://m.example/tags/rust\" class=\"mention hashtag\">#<span>rust</span></a></p>";
        assert_eq!(
            link_tags(mastodon.into(), &json!([tags[1]]), &origin),
            mastodon
        );
        // A hashtag pointing at another server is not linked.
        let elsewhere =
            json!([{"type": "Hashtag", "href": "https://x.example/tags/rust", "name": "#rust"}]);
        assert_eq!(
            link_tags("<p>#rust</p>".into(), &elsewhere, &origin),
            "<p>#rust</p>"
        );
    }

    #[test]
    fn addressing_decides_visibility() {
        let of = |json: Value| {
            let mut note = json!({"id": "https://m.example/notes/1", "type": "Note"});
            if let (Some(note), Value::Object(fields)) = (note.as_object_mut(), json) {
                note.extend(fields);
            }
            RemoteNote::parse(note).expect("a note").visibility
        };
        let followers = "https://m.example/users/a/followers";
        assert_eq!(
            of(json!({"to": [PUBLIC], "cc": [followers]})),
            Visibility::Public
        );
        assert_eq!(of(json!({"to": "as:Public"})), Visibility::Public);
        assert_eq!(
            of(json!({"to": [followers], "cc": [PUBLIC]})),
            Visibility::Unlisted
        );
        assert_eq!(
            of(json!({"to": [followers], "cc": ["https://b.example/users/b"]})),
            Visibility::Followers
        );
        assert_eq!(
            of(json!({"to": ["https://b.example/users/b"]})),
            Visibility::Direct
        );
        assert_eq!(of(json!({})), Visibility::Direct);
    }

    #[test]
    fn the_text_is_sanitized_and_the_dates_read() {
        let note = RemoteNote::parse(json!({
            "id": "https://m.example/notes/1",
            "type": "Note",
            "content": "<p>hi<script>alert(1)</script></p>",
            "summary": "  ",
            "published": "2026-01-02T03:04:05Z",
            "updated": "not a date",
            "sensitive": true,
        }))
        .expect("a note");
        assert!(
            !note.content_html.contains("script"),
            "{}",
            note.content_html
        );
        assert!(note.content_html.contains("hi"));
        assert_eq!(note.summary, None, "an empty warning is no warning");
        assert!(note.sensitive);
        assert_eq!(
            note.published.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-02T03:04:05+00:00")
        );
        assert_eq!(note.updated, None);
    }
}
