//! What the author does to posts, through the CLI or the JSON API: input is
//! validated into typed values first, then each change runs in one
//! transaction (slug, tags and, with federation, the outgoing activities).

use chrono::Utc;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::comments;
use crate::config::Settings;
use crate::delivery;
use crate::federation::outgoing;
use crate::models::post::{self, ContentUpdate, NewPost, Post, PostStatus};
use crate::models::tag::{self, TagName};
use crate::render::{markdown, slug};
use crate::urls;

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub const MAX_SUMMARY_CHARS: usize = 1000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no post with the slug {0:?}")]
    NotFound(String),
    #[error("database error: {0}")]
    Database(#[from] DieselError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> PostError {
    PostError::Invalid {
        field,
        message: message.into(),
    }
}

/// A new post as the author submits it.
#[derive(Debug, Clone, Default)]
pub struct PostInput {
    pub title: String,
    pub body: String,
    pub summary: Option<String>,
    pub tags: Vec<String>,
    /// The post's language when it is not the blog's.
    pub language: Option<String>,
    pub draft: bool,
}

/// An edit: `None` leaves a field as it is; `summary: Some(None)` clears it
/// (and `language: Some(None)` returns the post to the blog's language).
#[derive(Debug, Clone, Default)]
pub struct PostEdit {
    pub title: Option<String>,
    pub body: Option<String>,
    pub summary: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub language: Option<Option<String>>,
}

/// A post's validated content.
#[derive(Debug, Clone)]
struct Content {
    title: String,
    body: String,
    body_html: String,
    summary: Option<String>,
    excerpt: String,
}

impl Content {
    fn new(title: &str, body: &str, summary: Option<&str>) -> Result<Self, PostError> {
        let title = valid_title(title)?;
        if body.len() > MAX_BODY_BYTES {
            return Err(invalid(
                "body",
                format!("must be at most {MAX_BODY_BYTES} bytes (1 MiB)"),
            ));
        }
        if body.contains('\0') {
            return Err(invalid("body", "must not contain NUL characters"));
        }
        let summary = match summary.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) if s.chars().count() > MAX_SUMMARY_CHARS => {
                return Err(invalid(
                    "summary",
                    format!("must be at most {MAX_SUMMARY_CHARS} characters"),
                ));
            }
            Some(s) if s.contains('\0') => {
                return Err(invalid("summary", "must not contain NUL characters"));
            }
            other => other.map(str::to_string),
        };
        let excerpt = match &summary {
            Some(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
            None => markdown::excerpt(body),
        };
        Ok(Content {
            body_html: markdown::to_html(body),
            body: body.to_string(),
            title,
            summary,
            excerpt,
        })
    }
}

/// A post as it would be shown, without saving it: the same validation and
/// the same Markdown renderer as the public page.
#[derive(Debug, Clone)]
pub struct Preview {
    pub title: String,
    pub body_html: String,
    pub excerpt: String,
}

pub fn preview(title: &str, body: &str, summary: Option<&str>) -> Result<Preview, PostError> {
    let content = Content::new(title, body, summary)?;
    Ok(Preview {
        title: content.title,
        body_html: content.body_html,
        excerpt: content.excerpt,
    })
}

/// A post's language: a language tag, or nothing (blank means nothing).
fn valid_language(language: Option<&str>) -> Result<Option<String>, PostError> {
    match language.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(tag) if crate::config::is_language_tag(tag) => Ok(Some(tag.to_string())),
        Some(tag) => Err(invalid(
            "language",
            format!("{tag:?} is not a language tag such as \"en\" or \"pt-BR\""),
        )),
    }
}

fn valid_title(title: &str) -> Result<String, PostError> {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() {
        return Err(invalid("title", "must not be empty"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(invalid(
            "title",
            format!("must be at most {MAX_TITLE_CHARS} characters"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err(invalid("title", "must not contain control characters"));
    }
    Ok(title)
}

/// Normalises tags: trimmed, a leading `#` dropped, duplicates (by slug) removed.
pub fn parse_tags(raw: &[String]) -> Result<Vec<TagName>, PostError> {
    let mut tags: Vec<TagName> = Vec::new();
    for item in raw {
        let name = item
            .trim()
            .trim_start_matches('#')
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if name.is_empty() {
            return Err(invalid("tags", "a tag must not be empty"));
        }
        if name.chars().count() > MAX_TAG_CHARS {
            return Err(invalid(
                "tags",
                format!("tag {name:?} is longer than {MAX_TAG_CHARS} characters"),
            ));
        }
        let tag_slug = slug::slugify(&name, "");
        if tag_slug.is_empty() {
            return Err(invalid(
                "tags",
                format!("tag {name:?} needs at least one letter or digit"),
            ));
        }
        if !tags.iter().any(|t| t.slug == tag_slug) {
            tags.push(TagName {
                name,
                slug: tag_slug,
            });
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(invalid("tags", format!("at most {MAX_TAGS} tags")));
    }
    Ok(tags)
}

pub use crate::models::post::PostWithTags;

/// Slugs can collide between two concurrent transactions; the unique index
/// decides, and the loser tries again with the next free slug.
const SLUG_RETRIES: usize = 5;

fn is_slug_conflict(e: &DieselError) -> bool {
    matches!(e, DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name().is_some_and(|c| c.contains("slug")))
}

/// Runs the transaction `change` (an async closure), and again (up to
/// [`SLUG_RETRIES`] more times) when another writer took the slug it chose
/// between its check and its insert. (A macro: the closure is made anew for
/// each attempt, as a transaction takes it by value.)
macro_rules! with_slug_retries {
    ($conn:expr, $change:expr) => {{
        let mut attempt = 0;
        loop {
            match $conn.transaction::<_, PostError, _>($change).await {
                Err(PostError::Database(e)) if is_slug_conflict(&e) && attempt < SLUG_RETRIES => {
                    attempt += 1
                }
                other => break other,
            }
        }
    }};
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    input: PostInput,
) -> Result<PostWithTags, PostError> {
    let content = Content::new(&input.title, &input.body, input.summary.as_deref())?;
    let tags = parse_tags(&input.tags)?;
    let language = valid_language(input.language.as_deref())?;
    let base = slug::slugify(&content.title, "post");
    with_slug_retries!(conn, async |conn| {
        let (content, tags, base) = (&content, &tags, &base);
        let slug = free_slug(conn, base, None).await?;
        let now = Utc::now();
        let ap_id = (!input.draft).then(|| urls::post(settings, &slug));
        let row = post::insert(
            conn,
            &NewPost {
                slug: &slug,
                title: &content.title,
                body_markdown: &content.body,
                body_html: &content.body_html,
                summary: content.summary.as_deref(),
                excerpt: &content.excerpt,
                status: if input.draft {
                    PostStatus::Draft
                } else {
                    PostStatus::Published
                },
                published_at: (!input.draft).then_some(now),
                ap_id: ap_id.as_deref(),
                language: language.as_deref(),
            },
        )
        .await?;
        tag::set_for_post(conn, row.id, tags).await?;
        let item = with_tags(conn, row).await?;
        if let Some(create) = outgoing::create_article(settings, &item) {
            delivery::enqueue_to_followers(conn, &create).await?;
        }
        Ok(item)
    })
}

pub async fn edit(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    current_slug: &str,
    edit: PostEdit,
) -> Result<PostWithTags, PostError> {
    if let Some(title) = &edit.title {
        valid_title(title)?;
    }
    let tags = edit.tags.as_deref().map(parse_tags).transpose()?;
    let language = edit
        .language
        .as_ref()
        .map(|l| valid_language(l.as_deref()))
        .transpose()?;
    with_slug_retries!(conn, async |conn| {
        let (edit, tags, language) = (&edit, &tags, &language);
        let existing = post::lock_by_slug(conn, current_slug)
            .await?
            .ok_or_else(|| PostError::NotFound(current_slug.to_string()))?;
        let content = Content::new(
            edit.title.as_deref().unwrap_or(&existing.title),
            edit.body.as_deref().unwrap_or(&existing.body_markdown),
            match &edit.summary {
                Some(new) => new.as_deref(),
                None => existing.summary.as_deref(),
            },
        )?;
        let slug = if content.title == existing.title {
            existing.slug.clone()
        } else {
            free_slug(
                conn,
                &slug::slugify(&content.title, "post"),
                Some(existing.id),
            )
            .await?
        };
        if slug != existing.slug {
            post::record_rename(conn, existing.id, &existing.slug, &slug).await?;
        }
        let published = existing.status == PostStatus::Published;
        let row = post::update_content(
            conn,
            existing.id,
            &ContentUpdate {
                slug: &slug,
                title: &content.title,
                body_markdown: &content.body,
                body_html: &content.body_html,
                summary: content.summary.as_deref(),
                excerpt: &content.excerpt,
                language: match language {
                    Some(new) => new.as_deref(),
                    None => existing.language.as_deref(),
                },
                updated_at: if published {
                    Some(Utc::now())
                } else {
                    existing.updated_at
                },
            },
        )
        .await?;
        if let Some(tags) = tags {
            tag::set_for_post(conn, row.id, tags).await?;
        }
        let item = with_tags(conn, row).await?;
        if published && let Some(update) = outgoing::update_article(settings, &item) {
            delivery::enqueue_to_followers(conn, &update).await?;
        }
        Ok(item)
    })
}

/// Publishes a draft; publishing a published post changes nothing.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    slug: &str,
) -> Result<PostWithTags, PostError> {
    conn.transaction::<_, PostError, _>(async |conn| {
        let existing = post::lock_by_slug(conn, slug)
            .await?
            .ok_or_else(|| PostError::NotFound(slug.to_string()))?;
        let row = if existing.status == PostStatus::Published {
            existing
        } else {
            let ap_id = existing.ap_id.clone().unwrap_or_else(|| {
                let url = urls::post(settings, &existing.slug);
                match existing.times_unpublished {
                    0 => url,
                    n => format!("{url}?v={}", n + 1),
                }
            });
            let row = post::mark_published(conn, existing.id, Utc::now(), &ap_id).await?;
            let item = with_tags(conn, row).await?;
            if let Some(create) = outgoing::create_article(settings, &item) {
                delivery::enqueue_to_followers(conn, &create).await?;
            }
            return Ok(item);
        };
        with_tags(conn, row).await
    })
    .await
}

/// Unpublishes a published post: it becomes a draft (its page is gone for
/// readers), and followers' servers are told to delete it; its comments are
/// kept, and come back with it. Published again, it goes out as a new
/// object (servers keep a tombstone of a deleted id and would ignore it).
pub async fn unpublish(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    slug: &str,
) -> Result<PostWithTags, PostError> {
    conn.transaction::<_, PostError, _>(async |conn| {
        let existing = post::lock_by_slug(conn, slug)
            .await?
            .filter(|p| p.deleted_at.is_none())
            .ok_or_else(|| PostError::NotFound(slug.to_string()))?;
        if !existing.is_public() {
            return with_tags(conn, existing).await;
        }
        let row = post::mark_unpublished(conn, existing.id).await?;
        if let Some(ap_id) = &existing.ap_id {
            let delete = outgoing::delete_article(settings, ap_id);
            delivery::enqueue_to_followers(conn, &delete).await?;
        }
        with_tags(conn, row).await
    })
    .await
}

/// Schedules a draft to be published at `at` (in the future), or (`None`)
/// takes it off the schedule.
pub async fn schedule(
    conn: &mut AsyncPgConnection,
    slug: &str,
    at: Option<chrono::DateTime<Utc>>,
) -> Result<PostWithTags, PostError> {
    if at.is_some_and(|at| at <= Utc::now()) {
        return Err(invalid("publish_at", "must be in the future"));
    }
    conn.transaction::<_, PostError, _>(async |conn| {
        let existing = post::lock_by_slug(conn, slug)
            .await?
            .filter(|p| p.deleted_at.is_none())
            .ok_or_else(|| PostError::NotFound(slug.to_string()))?;
        if existing.status == PostStatus::Published {
            return Err(invalid("publish_at", "the post is published already"));
        }
        let row = post::set_schedule(conn, existing.id, at).await?;
        with_tags(conn, row).await
    })
    .await
}

/// Publishes the scheduled drafts whose time has come (the publishing job,
/// in every serving process: publishing twice changes nothing); how many.
pub async fn publish_due(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
) -> Result<usize, PostError> {
    let due = post::due_for_publishing(conn, Utc::now()).await?;
    for slug in &due {
        publish(conn, settings, slug).await?;
        tracing::info!(post = %slug, "published a scheduled post");
    }
    Ok(due.len())
}

/// Deletes a post: its URL answers 410 Gone from now on, and followers'
/// servers are told to remove it, and the comments written here under it
/// (the author's answers, readers' comments) with it.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    slug: &str,
) -> Result<(), PostError> {
    conn.transaction::<_, PostError, _>(async |conn| {
        let existing = post::lock_by_slug(conn, slug)
            .await?
            .ok_or_else(|| PostError::NotFound(slug.to_string()))?;
        if existing.is_public() {
            comments::withdraw_under(conn, settings, &existing).await?;
        }
        post::mark_deleted(conn, existing.id, Utc::now()).await?;
        if existing.is_public()
            && let Some(ap_id) = &existing.ap_id
        {
            let delete = outgoing::delete_article(settings, ap_id);
            delivery::enqueue_to_followers(conn, &delete).await?;
        }
        Ok(())
    })
    .await
}

/// A post by slug for the author (drafts included, deleted posts not).
pub async fn get(conn: &mut AsyncPgConnection, slug: &str) -> Result<PostWithTags, PostError> {
    match post::find_by_slug(conn, slug).await? {
        Some(row) if row.deleted_at.is_none() => with_tags(conn, row).await,
        _ => Err(PostError::NotFound(slug.to_string())),
    }
}

pub async fn with_tags(conn: &mut AsyncPgConnection, row: Post) -> Result<PostWithTags, PostError> {
    let mut tags = tag::for_posts(conn, &[row.id]).await?;
    Ok(PostWithTags {
        tags: tags.remove(&row.id).unwrap_or_default(),
        post: row,
    })
}

/// Tags for a page of posts, in one query.
pub async fn with_tags_many(
    conn: &mut AsyncPgConnection,
    rows: Vec<Post>,
) -> Result<Vec<PostWithTags>, PostError> {
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let mut tags = tag::for_posts(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|post| PostWithTags {
            tags: tags.remove(&post.id).unwrap_or_default(),
            post,
        })
        .collect())
}

async fn free_slug(
    conn: &mut AsyncPgConnection,
    base: &str,
    post_id: Option<i64>,
) -> Result<String, PostError> {
    for n in 1..=1000 {
        let candidate = slug::numbered(base, n);
        if !post::slug_taken(conn, &candidate, post_id).await? {
            return Ok(candidate);
        }
    }
    Err(invalid("title", "too many posts share this title"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_limited() {
        assert_eq!(
            valid_title("  Hello \n world ").expect("valid"),
            "Hello world"
        );
        assert!(matches!(
            valid_title("   "),
            Err(PostError::Invalid { field: "title", .. })
        ));
        assert!(valid_title(&"é".repeat(300)).is_ok());
        assert!(matches!(
            valid_title(&"é".repeat(301)),
            Err(PostError::Invalid { field: "title", .. })
        ));
    }

    #[test]
    fn body_limit_is_one_mebibyte() {
        assert!(Content::new("t", &"a".repeat(MAX_BODY_BYTES), None).is_ok());
        let err = Content::new("t", &"a".repeat(MAX_BODY_BYTES + 1), None).expect_err("too big");
        assert!(matches!(err, PostError::Invalid { field: "body", .. }));
    }

    #[test]
    fn explicit_summary_wins_over_the_derived_one() {
        let c = Content::new("t", "Body text.", Some("  My  summary ")).expect("valid");
        assert_eq!(c.excerpt, "My summary");
        let c = Content::new("t", "Body *text*.", None).expect("valid");
        assert_eq!(c.excerpt, "Body text.");
        assert_eq!(c.summary, None);
    }

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        let tags = parse_tags(&[
            "#Rust".into(),
            "rust".into(),
            " Fediverse  Tools ".into(),
            "Åland".into(),
        ])
        .expect("valid");
        let pairs: Vec<_> = tags
            .iter()
            .map(|t| (t.name.as_str(), t.slug.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Rust", "rust"),
                ("Fediverse Tools", "fediverse-tools"),
                ("Åland", "aland")
            ]
        );
        assert!(parse_tags(&["  ".into()]).is_err());
        assert!(parse_tags(&["x".repeat(65)]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(parse_tags(&many).is_err());
    }
}
