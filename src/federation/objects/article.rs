//! A published post as an ActivityPub `Article`. Mastodon shows an Article as
//! its `name`, `summary` and a link to `url` (with a preview card from the
//! page's OpenGraph tags); other servers render the full `content`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::authoring::PostWithTags;
use crate::config::Settings;
use crate::federation::PUBLIC;
use crate::federation::context::context;
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
        attachment: first_image(&post.body_html, &urls::post(settings, &post.slug))
            .into_iter()
            .collect(),
        to: vec![PUBLIC.to_string()],
        cc: vec![urls::actor_path(settings, "followers")],
        kind: "Article",
        id,
    })
}

/// The first image of the (sanitized) body, with its alt text, as an absolute URL.
fn first_image(html: &str, page_url: &str) -> Option<Image> {
    let start = html.find("<img ")?;
    let tag = &html[start..start + html[start..].find('>')?];
    let attr = |name: &str| -> Option<String> {
        let key = format!(" {name}=\"");
        let from = tag.find(&key)? + key.len();
        let len = tag[from..].find('"')?;
        Some(unescape_attr(&tag[from..from + len]))
    };
    let src = url::Url::parse(page_url).ok()?.join(&attr("src")?).ok()?;
    if !matches!(src.scheme(), "http" | "https") {
        return None;
    }
    Some(Image {
        kind: "Image",
        url: src.to_string(),
        name: attr("alt").unwrap_or_default(),
    })
}

fn unescape_attr(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_image_becomes_an_attachment_with_its_alt_text() {
        let html = r#"<p>x</p><p><img src="/static/cover.png?a=1&amp;b=2" alt="A &quot;cover&quot;"></p><img src="https://x.example/2.png" alt="">"#;
        let image = first_image(html, "https://blog.example/posts/p").expect("image");
        assert_eq!(image.url, "https://blog.example/static/cover.png?a=1&b=2");
        assert_eq!(image.name, "A \"cover\"");
        assert!(first_image("<p>no image</p>", "https://blog.example/").is_none());
        assert!(
            first_image(
                r#"<img src="data:image/png;base64,xx">"#,
                "https://blog.example/"
            )
            .is_none()
        );
    }
}
