//! A published post as an ActivityPub `Article`. Mastodon shows an Article as
//! its `name`, `summary` and a link to `url` (with a preview card from the
//! page's OpenGraph tags); other servers render the full `content`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::config::Settings;
use crate::federation::PUBLIC;
use crate::federation::context::context;
use crate::models::post::PostWithTags;
use crate::render::markdown;
use crate::urls;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    attributed_to: String,
    name: String,
    summary: String,
    content: String,
    /// The same, keyed by the blog's language (how servers learn it).
    content_map: BTreeMap<String, String>,
    media_type: &'static str,
    published: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<DateTime<Utc>>,
    tag: Vec<Hashtag>,
    attachment: Vec<Image>,
    to: Vec<String>,
    cc: Vec<String>,
    replies: String,
    likes: String,
    shares: String,
    context: String,
}

#[derive(Debug, Serialize)]
struct Hashtag {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    href: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    name: String,
}

/// The object with its `@context`, as served at its id.
#[derive(Debug, Serialize)]
pub struct WithContext<T> {
    #[serde(rename = "@context")]
    context: Value,
    #[serde(flatten)]
    inner: T,
}

pub fn with_context<T>(inner: T) -> WithContext<T> {
    WithContext {
        context: context(),
        inner,
    }
}

/// The Article for a public post; `None` for drafts and deleted posts.
pub fn article(settings: &Settings, item: &PostWithTags) -> Option<Article> {
    let post = &item.post;
    if !post.is_public() {
        return None;
    }
    let id = post.ap_id.clone()?;
    let published = post.published_at?;
    let page = url::Url::parse(&urls::post(settings, &post.slug)).ok()?;
    let content = markdown::federated(&post.body_html, &page);
    Some(Article {
        replies: format!("{id}/replies"),
        likes: format!("{id}/likes"),
        shares: format!("{id}/shares"),
        context: urls::context(&id),
        url: urls::post(settings, &post.slug),
        attributed_to: urls::actor(settings),
        name: post.title.clone(),
        summary: post.excerpt.clone(),
        content_map: BTreeMap::from([(settings.blog.language.clone(), content.clone())]),
        content,
        media_type: "text/html",
        published,
        updated: post.updated_at,
        tag: item
            .tags
            .iter()
            .map(|t| Hashtag {
                kind: "Hashtag",
                name: format!("#{}", t.name.split_whitespace().collect::<String>()),
                href: urls::tag(settings, &t.slug),
            })
            .collect(),
        attachment: markdown::first_image(&post.body_html, &page)
            .map(|image| Image {
                kind: "Image",
                url: image.url,
                name: image.alt,
            })
            .into_iter()
            .collect(),
        to: vec![PUBLIC.to_string()],
        cc: vec![urls::actor_path(settings, "followers")],
        kind: "Article",
        id,
    })
}
