//! Atom and RSS 2.0 feeds of the newest public posts, and an Atom feed of the
//! newest shown comments, with absolute links and every piece of text escaped for XML.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::error::PageError;
use crate::config::Settings;
use crate::models::comment::{self, Comment, Origin};
use crate::models::post::{self, PublicScope};
use crate::posts::{self, PostWithTags};
use crate::render::escape::xml_escape;
use crate::state::AppState;
use crate::urls;

/// Entries in a feed.
pub const FEED_ENTRIES: i64 = 20;

/// Entries in the comments feed.
pub const COMMENT_FEED_ENTRIES: i64 = 50;

async fn newest(state: &AppState) -> Result<Vec<PostWithTags>, PageError> {
    let mut conn = state.pool.get().await?;
    let rows = post::list_public(&mut conn, PublicScope::All, FEED_ENTRIES, 0).await?;
    Ok(posts::with_tags_many(&mut conn, rows).await?)
}

fn last_change(p: &PostWithTags) -> DateTime<Utc> {
    p.post
        .updated_at
        .or(p.post.published_at)
        .unwrap_or(p.post.created_at)
}

fn feed_response(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub async fn atom(State(state): State<AppState>) -> Result<Response, PageError> {
    let posts = newest(&state).await?;
    Ok(feed_response(
        atom_xml(&state.settings(), &posts),
        "application/atom+xml; charset=utf-8",
    ))
}

pub async fn rss(State(state): State<AppState>) -> Result<Response, PageError> {
    let posts = newest(&state).await?;
    Ok(feed_response(
        rss_xml(&state.settings(), &posts),
        "application/rss+xml; charset=utf-8",
    ))
}

pub async fn comments_atom(State(state): State<AppState>) -> Result<Response, PageError> {
    let rows = {
        let mut conn = state.pool.get().await?;
        comment::recent_visible(&mut conn, COMMENT_FEED_ENTRIES).await?
    };
    Ok(feed_response(
        comments_atom_xml(&state.settings(), &rows),
        "application/atom+xml; charset=utf-8",
    ))
}

/// The start of an Atom feed, up to its first entry: `id` is the feed's id,
/// `this` its own address.
fn atom_head(
    settings: &Settings,
    title: &str,
    subtitle: Option<&str>,
    id: &str,
    this: &str,
    updated: DateTime<Utc>,
) -> String {
    let e = xml_escape;
    let blog = &settings.blog;
    let home = settings.url("/");
    let mut xml = String::new();
    let _ = write!(
        xml,
        concat!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">\n",
            "  <title type=\"text\">{title}</title>\n",
        ),
        lang = e(&blog.language),
        title = e(title),
    );
    if let Some(subtitle) = subtitle {
        let _ = writeln!(xml, "  <subtitle type=\"text\">{}</subtitle>", e(subtitle));
    }
    let _ = write!(
        xml,
        concat!(
            "  <id>{id}</id>\n",
            "  <link rel=\"alternate\" type=\"text/html\" href=\"{home}\"/>\n",
            "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{this}\"/>\n",
            "  <updated>{updated}</updated>\n",
            "  <author><name>{author}</name><uri>{home}</uri></author>\n",
            "  <generator version=\"{version}\">fedblog</generator>\n",
        ),
        id = e(id),
        home = e(&home),
        this = e(this),
        updated = rfc3339(updated),
        author = e(&blog.author_name),
        version = env!("CARGO_PKG_VERSION"),
    );
    xml
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Where a comment's author lives on the web: the fediverse actor, the
/// reader's own website (if they gave one), or the blog for the author's answers.
fn comment_author_uri(settings: &Settings, c: &Comment) -> Option<String> {
    if c.origin == Origin::Reader {
        c.reader_website.clone()
    } else if c.origin == Origin::Author {
        Some(settings.url("/"))
    } else {
        Some(c.author_ap_id.clone())
    }
}

/// The comments feed: `(comment, post slug, post title)`, newest first, as
/// [`comment::recent_visible`] returns them.
pub fn comments_atom_xml(settings: &Settings, rows: &[(Comment, String, String)]) -> String {
    let e = xml_escape;
    let blog = &settings.blog;
    let last_change = |c: &Comment| c.updated_at.unwrap_or(c.published_at);
    let updated = rows
        .iter()
        .map(|(c, _, _)| last_change(c))
        .max()
        .unwrap_or_else(Utc::now);
    let this = settings.url("/comments.atom");
    let title = format!("Comments on {}", blog.title);
    let mut xml = atom_head(settings, &title, None, &this, &this, updated);
    for (c, slug, post_title) in rows {
        let name = c.display_name();
        let url = urls::comment_anchor(settings, slug, c.id);
        let _ = write!(
            xml,
            concat!(
                "  <entry>\n",
                "    <title type=\"text\">{title}</title>\n",
                "    <id>{id}</id>\n",
                "    <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\n",
                "    <published>{published}</published>\n",
                "    <updated>{updated}</updated>\n",
                "    <author><name>{name}</name>",
            ),
            title = e(&format!("{name} on \"{post_title}\"")),
            id = e(&c.ap_id),
            url = e(&url),
            published = rfc3339(c.published_at),
            updated = rfc3339(last_change(c)),
            name = e(&name),
        );
        if let Some(uri) = comment_author_uri(settings, c) {
            let _ = write!(xml, "<uri>{}</uri>", e(&uri));
        }
        xml.push_str("</author>\n");
        if let Some(warning) = &c.summary {
            let _ = writeln!(xml, "    <summary type=\"text\">{}</summary>", e(warning));
        }
        let _ = write!(
            xml,
            "    <content type=\"html\" xml:base=\"{}\">{}</content>\n  </entry>\n",
            e(&url),
            e(&c.content_html),
        );
    }
    xml.push_str("</feed>\n");
    xml
}

pub fn atom_xml(settings: &Settings, posts: &[PostWithTags]) -> String {
    let e = xml_escape;
    let blog = &settings.blog;
    let home = settings.url("/");
    let updated = posts.iter().map(last_change).max().unwrap_or_else(Utc::now);
    let mut xml = atom_head(
        settings,
        &blog.title,
        Some(&blog.description),
        &home,
        &settings.url("/feed.atom"),
        updated,
    );
    for p in posts {
        let url = urls::post(settings, &p.post.slug);
        let published = p.post.published_at.unwrap_or(p.post.created_at);
        let _ = write!(
            xml,
            concat!(
                "  <entry{lang}>\n",
                "    <title type=\"text\">{title}</title>\n",
                "    <id>{url}</id>\n",
                "    <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\n",
                "    <published>{published}</published>\n",
                "    <updated>{updated}</updated>\n",
                "    <author><name>{author}</name></author>\n",
            ),
            lang = match &p.post.language {
                Some(tag) if *tag != blog.language => format!(" xml:lang=\"{}\"", e(tag)),
                _ => String::new(),
            },
            title = e(&p.post.title),
            url = e(&url),
            published = rfc3339(published),
            updated = rfc3339(last_change(p)),
            author = e(&blog.author_name),
        );
        for t in &p.tags {
            let _ = writeln!(
                xml,
                "    <category term=\"{}\" label=\"{}\" scheme=\"{}\"/>",
                e(&t.slug),
                e(&t.name),
                e(&urls::tag(settings, &t.slug)),
            );
        }
        let _ = write!(
            xml,
            "    <summary type=\"text\">{}</summary>\n    <content type=\"html\" xml:base=\"{}\">{}</content>\n  </entry>\n",
            e(&p.post.excerpt),
            e(&url),
            e(&p.post.body_html),
        );
    }
    xml.push_str("</feed>\n");
    xml
}

pub fn rss_xml(settings: &Settings, posts: &[PostWithTags]) -> String {
    let e = xml_escape;
    let blog = &settings.blog;
    let updated = posts.iter().map(last_change).max().unwrap_or_else(Utc::now);
    let mut xml = String::new();
    let _ = write!(
        xml,
        concat!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
            "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n",
            "<channel>\n",
            "  <title>{title}</title>\n",
            "  <link>{home}</link>\n",
            "  <description>{description}</description>\n",
            "  <language>{lang}</language>\n",
            "  <lastBuildDate>{updated}</lastBuildDate>\n",
            "  <generator>fedblog {version}</generator>\n",
            "  <atom:link rel=\"self\" type=\"application/rss+xml\" href=\"{this}\"/>\n",
        ),
        title = e(&blog.title),
        home = e(&settings.url("/")),
        description = e(&blog.description),
        lang = e(&blog.language),
        updated = updated.to_rfc2822(),
        version = env!("CARGO_PKG_VERSION"),
        this = e(&settings.url("/feed.rss")),
    );
    for p in posts {
        let url = urls::post(settings, &p.post.slug);
        let published = p.post.published_at.unwrap_or(p.post.created_at);
        let _ = write!(
            xml,
            concat!(
                "  <item>\n",
                "    <title>{title}</title>\n",
                "    <link>{url}</link>\n",
                "    <guid isPermaLink=\"true\">{url}</guid>\n",
                "    <pubDate>{date}</pubDate>\n",
            ),
            title = e(&p.post.title),
            url = e(&url),
            date = published.to_rfc2822(),
        );
        for t in &p.tags {
            let _ = writeln!(xml, "    <category>{}</category>", e(&t.name));
        }
        let _ = write!(
            xml,
            "    <description>{}</description>\n  </item>\n",
            e(&p.post.body_html)
        );
    }
    xml.push_str("</channel>\n</rss>\n");
    xml
}
