//! A published post as an ActivityPub `Article`, shaped so that it looks
//! right on both families of servers (the evidence is in
//! `docs/federation.md`): Mastodon shows `name` and a link to `url`, and the
//! link card built from the page's OpenGraph tags (excerpt, first picture);
//! GoToSocial, Pleroma, Misskey and Friendica show the full `content`. No
//! `summary`: most servers other than Mastodon would make the excerpt a
//! content warning the author never wrote. No `attachment`: Mastodon shows no
//! link card for a post with media. The post's first picture is its `image`
//! (as Lemmy, Misskey and WordPress's plugin read an article's cover), and
//! the page's `og:image`, which Mastodon's link card shows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Settings;
use crate::federation::PUBLIC;
use crate::models::post::PostWithTags;
use crate::render::escape::xml_escape;
use crate::render::markdown;
use crate::urls;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    pub id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    attributed_to: String,
    name: String,
    content: String,
    /// The same, keyed by the blog's language (how servers learn it).
    content_map: BTreeMap<String, String>,
    media_type: &'static str,
    pub published: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<DateTime<Utc>>,
    tag: Vec<Hashtag>,
    /// The first picture of the post.
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Image>,
    /// FEP-b2b8's short form (title, excerpt, link) for servers that show
    /// one instead of the whole text.
    preview: Preview,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    replies: String,
    likes: String,
    shares: String,
    context: String,
    /// Anyone may quote the post, approved at once (FEP-044f): without it,
    /// Mastodon tells its users the post cannot be quoted.
    interaction_policy: InteractionPolicy,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InteractionPolicy {
    can_quote: Approval,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Approval {
    /// The full Public URI: GoToSocial ignores `as:Public` here.
    automatic_approval: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    /// Its alt text.
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_type: Option<&'static str>,
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
struct Preview {
    #[serde(rename = "type")]
    kind: &'static str,
    attributed_to: String,
    content: String,
    media_type: &'static str,
}

/// The longest `content` sent in full (Pleroma's and Akkoma's default
/// `remote_limit`); a longer post is sent as its short form.
pub const MAX_CONTENT_CHARS: usize = 100_000;

/// The Article for a public post; `None` for drafts and deleted posts.
pub fn article(settings: &Settings, item: &PostWithTags) -> Option<Article> {
    let post = &item.post;
    if !post.is_public() {
        return None;
    }
    let id = post.ap_id.clone()?;
    let published = post.published_at?;
    let url = urls::post(settings, &post.slug);
    let page = url::Url::parse(&url).ok()?;
    let short = format!(
        "<p><strong>{}</strong></p><p>{}</p><p><a href=\"{url}\">{url}</a></p>",
        xml_escape(&post.title),
        xml_escape(&post.excerpt),
        url = xml_escape(&url),
    );
    let image = markdown::first_image(&post.body_html, &page).map(|image| Image {
        kind: "Image",
        media_type: media_type_of(&image.url),
        url: image.url,
        name: image.alt,
    });
    let full = markdown::federated(&post.body_html, &page);
    // Pleroma and Akkoma refuse a longer object outright.
    let content = if full.chars().count() <= MAX_CONTENT_CHARS {
        full
    } else {
        short.clone()
    };
    Some(Article {
        preview: Preview {
            kind: "Note",
            attributed_to: urls::actor(settings),
            content: short,
            media_type: "text/html",
        },
        replies: format!("{}/replies", urls::object_base(&id)),
        likes: format!("{}/likes", urls::object_base(&id)),
        shares: format!("{}/shares", urls::object_base(&id)),
        context: urls::context(&id),
        url,
        attributed_to: urls::actor(settings),
        name: post.title.clone(),
        content_map: BTreeMap::from([(
            post.language_or(&settings.blog.language).to_string(),
            content.clone(),
        )]),
        content,
        media_type: "text/html",
        published,
        // GoToSocial refuses an object updated before it was published (a
        // draft edited, then published).
        updated: post.updated_at.filter(|at| *at > published),
        tag: item
            .tags
            .iter()
            .map(|t| Hashtag {
                kind: "Hashtag",
                name: format!("#{}", t.name.split_whitespace().collect::<String>()),
                href: urls::tag(settings, &t.slug),
            })
            .collect(),
        image,
        to: vec![PUBLIC.to_string()],
        cc: vec![urls::actor_path(settings, "followers")],
        interaction_policy: InteractionPolicy {
            can_quote: Approval {
                automatic_approval: vec![PUBLIC],
            },
        },
        kind: "Article",
        id,
    })
}

/// The type of a picture, from its address's extension (as uploads are
/// named); `None` when it does not say.
fn media_type_of(url: &str) -> Option<&'static str> {
    let path = url::Url::parse(url).ok()?.path().to_ascii_lowercase();
    let extension = path.rsplit_once('.')?.1;
    Some(match extension {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        _ => return None,
    })
}
