//! A comment written here (the author's answer or an approved reader comment)
//! as the blog actor's `Note`: `inReplyTo` the exact parent, a Mention and cc
//! of the parent's author when that is someone on the fediverse, and the
//! post's conversation as its `context` (FEP-7888).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Settings;
use crate::federation::PUBLIC;
use crate::models::comment::{Comment, Origin};
use crate::models::post::Post;
use crate::render::escape::xml_escape;
use crate::render::sanitize;
use crate::render::website::display_website;
use crate::urls;

/// A local comment as the blog actor's Note.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    attributed_to: String,
    in_reply_to: String,
    content: String,
    media_type: &'static str,
    pub published: DateTime<Utc>,
    url: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    tag: Vec<Mention>,
    context: String,
    /// Its address; served at its id, the collection with its first page.
    pub replies: Value,
    likes: String,
    shares: String,
    sensitive: bool,
    /// The author's answers only: a reader's language is not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_map: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct Mention {
    #[serde(rename = "type")]
    kind: &'static str,
    href: String,
    name: String,
}

/// Who a local comment answers on the fediverse: the parent comment's author
/// when the parent came from another server.
pub fn mentioned(parent: Option<&Comment>) -> Option<&Comment> {
    parent.filter(|p| !p.is_local())
}

/// The Note for a local comment; `None` when it is not one (a remote
/// comment, or one whose post has no ActivityPub id).
pub fn note(
    settings: &Settings,
    comment: &Comment,
    post: &Post,
    parent: Option<&Comment>,
) -> Option<Note> {
    if !comment.is_local() {
        return None;
    }
    let post_ap_id = post.ap_id.as_deref()?;
    let id = comment.ap_id.clone();
    let mention = mentioned(parent);
    let mut cc = vec![urls::actor_path(settings, "followers")];
    let mut tag = Vec::new();
    let mut mention_html = String::new();
    if let Some(m) = mention {
        cc.push(m.author_ap_id.clone());
        let handle = m
            .author_handle
            .clone()
            .unwrap_or_else(|| m.author_ap_id.clone());
        let user = handle
            .trim_start_matches('@')
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string();
        mention_html = format!(
            "<span class=\"h-card\" translate=\"no\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span> ",
            xml_escape(&m.author_ap_id),
            xml_escape(&user)
        );
        tag.push(Mention {
            kind: "Mention",
            href: m.author_ap_id.clone(),
            name: handle,
        });
    }
    let mut content = String::new();
    if comment.origin == Origin::Reader {
        let name = xml_escape(comment.author_name.as_deref().unwrap_or("A reader"));
        match &comment.reader_website {
            Some(site) => content.push_str(&format!(
                "<p><strong>{name}</strong> (<a href=\"{}\" rel=\"nofollow noopener noreferrer ugc\">{}</a>) wrote:</p>",
                xml_escape(site),
                xml_escape(&display_website(site))
            )),
            None => content.push_str(&format!("<p><strong>{name}</strong> wrote:</p>")),
        }
    }
    let page = url::Url::parse(&urls::post(settings, &post.slug)).ok()?;
    let own = sanitize::comment_for_federation(&comment.content_html, &page);
    // The mention goes at the start of the first paragraph, as Mastodon writes it.
    match own.strip_prefix("<p>") {
        Some(rest) if !mention_html.is_empty() && content.is_empty() => {
            content.push_str(&format!("<p>{mention_html}{rest}"));
        }
        _ => {
            if !mention_html.is_empty() {
                content.push_str(&format!("<p>{}</p>", mention_html.trim_end()));
            }
            content.push_str(&own);
        }
    }
    // The author writes in the post's language; a reader's is not known.
    let language = post.language_or(&settings.blog.language).to_string();
    let content_map =
        (comment.origin == Origin::Author).then(|| BTreeMap::from([(language, content.clone())]));
    Some(Note {
        replies: json!(format!("{id}/replies")),
        likes: format!("{id}/likes"),
        shares: format!("{id}/shares"),
        kind: "Note",
        attributed_to: urls::actor(settings),
        in_reply_to: comment.in_reply_to.clone(),
        content,
        media_type: "text/html",
        published: comment.published_at,
        url: urls::comment_anchor(settings, &post.slug, comment.id),
        to: vec![PUBLIC.to_string()],
        cc,
        tag,
        context: urls::context(post_ap_id),
        sensitive: comment.sensitive,
        content_map,
        updated: comment.updated_at,
        summary: comment.summary.clone(),
        id,
    })
}
