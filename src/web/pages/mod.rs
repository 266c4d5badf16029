//! The public pages, a file per what they show: a post (and its comments'
//! threads), listings, and the files they use.

mod assets;
mod listings;
mod post_page;
mod thread;

use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::config::Settings;
use crate::posts::PostWithTags;
use crate::render::markdown::{self, FirstImage};
use crate::render::time;
use crate::state::AppState;
use crate::urls;
use crate::web::error::PageError;

pub use crate::web::site::{SiteContext, site_context};
pub use assets::{attachment, avatar, media_file, static_file};
pub use listings::{archive, archive_month, home, show_tag};
pub use post_page::{FormInput, render_post, show_comment, show_post};

#[derive(Serialize)]
pub(super) struct TagLink {
    name: String,
    url: String,
}

#[derive(Serialize)]
pub(super) struct PostContext {
    language: Option<String>,
    title: String,
    url: String,
    /// The ActivityPub id (the address of the post's JSON), once published.
    ap_id: Option<String>,
    html: String,
    summary: String,
    /// The body's first image: the link card's picture (`og:image`).
    image: Option<FirstImage>,
    published_display: String,
    published_iso: String,
    updated_display: Option<String>,
    updated_iso: Option<String>,
    tags: Vec<TagLink>,
    author_name: String,
    /// Shown comments (filled in on listings).
    comment_count: i64,
}

pub(super) fn post_context(
    settings: &Settings,
    item: PostWithTags,
    with_body: bool,
) -> PostContext {
    let tz = settings.blog.time_zone;
    let PostWithTags { post, tags } = item;
    let published = post.published_at.unwrap_or(post.created_at);
    let url = urls::post(settings, &post.slug);
    let image = match url::Url::parse(&url) {
        Ok(page) if with_body => markdown::first_image(&post.body_html, &page),
        _ => None,
    };
    PostContext {
        // Set on the post's element only when it differs from the page's.
        language: post
            .language
            .clone()
            .filter(|l| *l != settings.blog.language),
        image,
        url,
        ap_id: post.ap_id,
        title: post.title,
        html: if with_body {
            post.body_html
        } else {
            String::new()
        },
        summary: post.excerpt,
        published_display: time::display_date(published, tz),
        published_iso: time::iso(published, tz),
        updated_display: post.updated_at.map(|at| time::display_date(at, tz)),
        updated_iso: post.updated_at.map(|at| time::iso(at, tz)),
        tags: tags
            .into_iter()
            .map(|t| TagLink {
                url: urls::tag(settings, &t.slug),
                name: t.name,
            })
            .collect(),
        author_name: settings.blog.author_name.clone(),
        comment_count: 0,
    }
}

pub(super) fn html_page(
    state: &AppState,
    template: &str,
    context: impl Serialize,
) -> Result<Response, PageError> {
    let html = state.templates.render(template, context)?;
    Ok(Html(html).into_response())
}

/// `?page=N`: 1 when absent; anything but a positive number is a bad request.
pub(super) fn page_number(query: Option<&str>) -> Result<i64, PageError> {
    let Some(query) = query else { return Ok(1) };
    let mut page = 1;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key == "page" {
            page = value
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| PageError::BadRequest(format!("{value:?} is not a page number.")))?;
        }
    }
    Ok(page)
}

pub(super) fn page_url(base: &str, page: i64) -> String {
    if page <= 1 {
        base.to_string()
    } else {
        format!("{base}?page={page}")
    }
}

pub async fn not_found() -> PageError {
    PageError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers() {
        assert_eq!(page_number(None).ok(), Some(1));
        assert_eq!(page_number(Some("page=3")).ok(), Some(3));
        assert_eq!(page_number(Some("utm=x")).ok(), Some(1));
        for bad in ["page=0", "page=-1", "page=abc", "page=", "page=99999999999"] {
            assert!(
                matches!(page_number(Some(bad)), Err(PageError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
