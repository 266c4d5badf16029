//! A comment written here (the author's answer or an approved reader comment)
//! as the blog actor's `Note`: `inReplyTo` the exact parent, a Mention and cc
//! of the parent's author when that is someone on the fediverse, and the
//! post's conversation as its `context` (FEP-7888).

use serde_json::{Value, json};

use crate::config::Settings;
use crate::federation::PUBLIC;
use crate::models::comment::{Comment, Origin};
use crate::models::post::Post;
use crate::render::escape::xml_escape;
use crate::render::sanitize;
use crate::urls;

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
) -> Option<Value> {
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
        tag.push(json!({"type": "Mention", "href": m.author_ap_id, "name": handle}));
    }
    let mut content = String::new();
    if comment.origin == Origin::Reader.as_str() {
        let name = xml_escape(comment.author_name.as_deref().unwrap_or("A reader"));
        match &comment.reader_website {
            Some(site) => content.push_str(&format!(
                "<p><strong>{name}</strong> (<a href=\"{}\" rel=\"nofollow noopener noreferrer ugc\">{}</a>) wrote:</p>",
                xml_escape(site),
                xml_escape(&crate::comments::display_website(site))
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
    let mut note = json!({
        "id": id,
        "type": "Note",
        "attributedTo": urls::actor(settings),
        "inReplyTo": comment.in_reply_to,
        "content": content,
        "mediaType": "text/html",
        "published": comment.published_at,
        "url": urls::comment_anchor(settings, &post.slug, comment.id),
        "to": [PUBLIC],
        "cc": cc,
        "tag": tag,
        "context": urls::context(post_ap_id),
        "replies": format!("{id}/replies"),
        "likes": format!("{id}/likes"),
        "shares": format!("{id}/shares"),
        "sensitive": comment.sensitive,
    });
    if comment.origin == Origin::Author.as_str() {
        // The author writes in the blog's language; a reader's is not known.
        note["contentMap"] = json!({ settings.blog.language.as_str(): note["content"] });
    }
    if let Some(updated) = comment.updated_at {
        note["updated"] = json!(updated);
    }
    if let Some(summary) = &comment.summary {
        note["summary"] = json!(summary);
    }
    Some(note)
}
