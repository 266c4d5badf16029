//! Posts: rows, their states, and every query on the `posts` and
//! `post_slug_redirects` tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{post_slug_redirects, post_tags, posts};
use crate::db::text_enum::text_enum;

/// A post with its tags, as pages, feeds, documents and the author's tools
/// show it.
#[derive(Debug, Clone)]
pub struct PostWithTags {
    pub post: Post,
    pub tags: Vec<crate::models::tag::Tag>,
}

text_enum! {
    /// Whether the public sees a post.
    pub enum PostStatus {
        Draft = "draft",
        Published = "published",
    }
}

text_enum! {
    /// Which posts an author's listing shows.
    pub enum StatusFilter {
        All = "all",
        Draft = "draft",
        Published = "published",
    }
}

impl StatusFilter {
    /// The one status listed, or `None` for all.
    pub fn status(self) -> Option<PostStatus> {
        match self {
            StatusFilter::All => None,
            StatusFilter::Draft => Some(PostStatus::Draft),
            StatusFilter::Published => Some(PostStatus::Published),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = posts)]
pub struct Post {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub body_markdown: String,
    pub body_html: String,
    pub summary: Option<String>,
    pub excerpt: String,
    pub status: PostStatus,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The ActivityPub id, fixed at first publication.
    pub ap_id: Option<String>,
    /// The post's own language tag; `None`: the blog's.
    pub language: Option<String>,
    /// A draft scheduled for publication at this time.
    pub publish_at: Option<DateTime<Utc>>,
    /// How often it was unpublished: its next publication's id differs.
    pub times_unpublished: i32,
}

impl Post {
    /// The language the post is written in: its own, or the blog's.
    pub fn language_or<'a>(&'a self, blog_language: &'a str) -> &'a str {
        self.language.as_deref().unwrap_or(blog_language)
    }

    /// Published and not deleted: what the public may see.
    pub fn is_public(&self) -> bool {
        self.status == PostStatus::Published && self.deleted_at.is_none()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = posts)]
pub struct NewPost<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub body_markdown: &'a str,
    pub body_html: &'a str,
    pub summary: Option<&'a str>,
    pub excerpt: &'a str,
    pub status: PostStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub ap_id: Option<&'a str>,
    pub language: Option<&'a str>,
}

/// The content columns an edit rewrites.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = posts, treat_none_as_null = true)]
pub struct ContentUpdate<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub body_markdown: &'a str,
    pub body_html: &'a str,
    pub summary: Option<&'a str>,
    pub excerpt: &'a str,
    pub language: Option<&'a str>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A span of publication times `[start, end)`, e.g. a month in the blog's zone.
#[derive(Debug, Clone, Copy)]
pub struct TimeRange {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Which public posts a page lists.
#[derive(Debug, Clone, Copy)]
pub enum PublicScope {
    All,
    Tag(i64),
    Published(TimeRange),
}

type BoxedPosts<'a> = posts::BoxedQuery<'a, diesel::pg::Pg>;

fn public(scope: PublicScope) -> BoxedPosts<'static> {
    let query = posts::table
        .filter(posts::status.eq(PostStatus::Published))
        .filter(posts::deleted_at.is_null())
        .into_boxed();
    match scope {
        PublicScope::All => query,
        PublicScope::Tag(tag_id) => query.filter(
            posts::id.eq_any(
                post_tags::table
                    .filter(post_tags::tag_id.eq(tag_id))
                    .select(post_tags::post_id),
            ),
        ),
        PublicScope::Published(range) => query
            .filter(posts::published_at.ge(range.start))
            .filter(posts::published_at.lt(range.end)),
    }
}

/// One page of public posts, newest first.
pub async fn list_public(
    conn: &mut AsyncPgConnection,
    scope: PublicScope,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Post>> {
    public(scope)
        .order((posts::published_at.desc(), posts::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(Post::as_select())
        .load(conn)
        .await
}

pub async fn count_public(conn: &mut AsyncPgConnection, scope: PublicScope) -> QueryResult<i64> {
    public(scope).count().get_result(conn).await
}

/// Which posts the author's listing shows: by status, and with a title
/// containing some text (any case).
#[derive(Debug, Clone, Copy)]
pub struct AuthorListing<'a> {
    pub status: StatusFilter,
    pub title_contains: Option<&'a str>,
}

impl From<StatusFilter> for AuthorListing<'static> {
    fn from(status: StatusFilter) -> Self {
        AuthorListing {
            status,
            title_contains: None,
        }
    }
}

/// The author's listing: drafts and published posts, not deleted ones;
/// drafts first (newest created), then published (newest first).
pub async fn list_for_author<'a>(
    conn: &mut AsyncPgConnection,
    listing: impl Into<AuthorListing<'a>>,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Post>> {
    for_author(listing.into())
        .order((
            posts::published_at.desc().nulls_first(),
            posts::created_at.desc(),
            posts::id.desc(),
        ))
        .limit(limit)
        .offset(offset)
        .select(Post::as_select())
        .load(conn)
        .await
}

pub async fn count_for_author<'a>(
    conn: &mut AsyncPgConnection,
    listing: impl Into<AuthorListing<'a>>,
) -> QueryResult<i64> {
    for_author(listing.into()).count().get_result(conn).await
}

/// The posts an author's listing shows: not deleted, of the listing's
/// status and title.
fn for_author(listing: AuthorListing<'_>) -> BoxedPosts<'static> {
    let mut query = posts::table
        .filter(posts::deleted_at.is_null())
        .into_boxed();
    if let Some(status) = listing.status.status() {
        query = query.filter(posts::status.eq(status));
    }
    if let Some(text) = listing
        .title_contains
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(posts::title.ilike(format!("%{escaped}%")).escape('\\'));
    }
    query
}

/// A post by its current slug, in any state (deleted ones too, for 410).
pub async fn find_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<Post>> {
    posts::table
        .filter(posts::slug.eq(slug))
        .select(Post::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_id(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Post>> {
    posts::table
        .find(id)
        .select(Post::as_select())
        .first(conn)
        .await
        .optional()
}

/// A post by its ActivityPub id, in any state.
/// The slugs of the posts with these ids.
pub async fn slugs_by_id(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, String>> {
    Ok(headings_by_id(conn, ids)
        .await?
        .into_iter()
        .map(|(id, (slug, _))| (id, slug))
        .collect())
}

/// The slugs and titles of the posts with these ids.
pub async fn headings_by_id(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, (String, String)>> {
    let rows: Vec<(i64, String, String)> = posts::table
        .filter(posts::id.eq_any(ids))
        .select((posts::id, posts::slug, posts::title))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, title)| (id, (slug, title)))
        .collect())
}

pub async fn find_by_ap_id(conn: &mut AsyncPgConnection, ap_id: &str) -> QueryResult<Option<Post>> {
    posts::table
        .filter(posts::ap_id.eq(ap_id))
        .select(Post::as_select())
        .first(conn)
        .await
        .optional()
}

/// The post whose id is `base`, or `base?v=N` (published again after being
/// unpublished): the post first published at that address.
pub async fn find_by_object_base(
    conn: &mut AsyncPgConnection,
    base: &str,
) -> QueryResult<Option<Post>> {
    let escaped = base
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    posts::table
        .filter(
            posts::ap_id
                .eq(base)
                .or(posts::ap_id.like(format!("{escaped}?v=%")).escape('\\')),
        )
        .order(posts::id.desc())
        .select(Post::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks a post for an edit by its current slug; deleted posts are not found.
pub async fn lock_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<Post>> {
    posts::table
        .filter(posts::slug.eq(slug))
        .filter(posts::deleted_at.is_null())
        .select(Post::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The current slug of the post that once had `old_slug`.
pub async fn redirect_target(
    conn: &mut AsyncPgConnection,
    old_slug: &str,
) -> QueryResult<Option<String>> {
    post_slug_redirects::table
        .inner_join(posts::table)
        .filter(post_slug_redirects::slug.eq(old_slug))
        .select(posts::slug)
        .first(conn)
        .await
        .optional()
}

/// Whether `slug` is in use by a post, or is an old slug of a post other than `except`.
pub async fn slug_taken(
    conn: &mut AsyncPgConnection,
    slug: &str,
    except: Option<i64>,
) -> QueryResult<bool> {
    let as_current = posts::table.filter(posts::slug.eq(slug)).select(posts::id);
    let mut as_old = post_slug_redirects::table
        .filter(post_slug_redirects::slug.eq(slug))
        .select(post_slug_redirects::post_id)
        .into_boxed();
    if let Some(id) = except {
        as_old = as_old.filter(post_slug_redirects::post_id.ne(id));
    }
    let current: Option<i64> = as_current.first(conn).await.optional()?;
    if current.is_some_and(|found| Some(found) != except) {
        return Ok(true);
    }
    Ok(as_old.first::<i64>(conn).await.optional()?.is_some())
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewPost<'_>) -> QueryResult<Post> {
    diesel::insert_into(posts::table)
        .values(new)
        .returning(Post::as_returning())
        .get_result(conn)
        .await
}

pub async fn update_content(
    conn: &mut AsyncPgConnection,
    id: i64,
    changes: &ContentUpdate<'_>,
) -> QueryResult<Post> {
    diesel::update(posts::table.find(id))
        .set(changes)
        .returning(Post::as_returning())
        .get_result(conn)
        .await
}

/// Remembers `old_slug` as a way to reach post `id`; a slug the post takes back
/// stops being a redirect.
pub async fn record_rename(
    conn: &mut AsyncPgConnection,
    id: i64,
    old_slug: &str,
    new_slug: &str,
) -> QueryResult<()> {
    diesel::delete(
        post_slug_redirects::table
            .filter(post_slug_redirects::slug.eq(new_slug))
            .filter(post_slug_redirects::post_id.eq(id)),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(post_slug_redirects::table)
        .values((
            post_slug_redirects::slug.eq(old_slug),
            post_slug_redirects::post_id.eq(id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// Publishes a draft under the ActivityPub id `ap_id`.
pub async fn mark_published(
    conn: &mut AsyncPgConnection,
    id: i64,
    at: DateTime<Utc>,
    ap_id: &str,
) -> QueryResult<Post> {
    diesel::update(posts::table.find(id))
        .set((
            posts::status.eq(PostStatus::Published),
            posts::published_at.eq(at),
            posts::ap_id.eq(ap_id),
            posts::publish_at.eq(None::<DateTime<Utc>>),
        ))
        .returning(Post::as_returning())
        .get_result(conn)
        .await
}

/// Takes a published post back to a draft, forgetting its id (servers
/// were told to delete it).
pub async fn mark_unpublished(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Post> {
    diesel::update(posts::table.find(id))
        .set((
            posts::status.eq(PostStatus::Draft),
            posts::ap_id.eq(None::<String>),
            posts::times_unpublished.eq(posts::times_unpublished + 1),
        ))
        .returning(Post::as_returning())
        .get_result(conn)
        .await
}

/// Schedules a draft for `at`, or (`None`) no longer.
pub async fn set_schedule(
    conn: &mut AsyncPgConnection,
    id: i64,
    at: Option<DateTime<Utc>>,
) -> QueryResult<Post> {
    diesel::update(posts::table.find(id))
        .set(posts::publish_at.eq(at))
        .returning(Post::as_returning())
        .get_result(conn)
        .await
}

/// The slugs of the drafts whose time to be published has come.
pub async fn due_for_publishing(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<Vec<String>> {
    posts::table
        .filter(posts::status.eq(PostStatus::Draft))
        .filter(posts::deleted_at.is_null())
        .filter(posts::publish_at.le(now))
        .order(posts::publish_at.asc())
        .select(posts::slug)
        .load(conn)
        .await
}

/// Deletes a post but keeps its row, so its URL answers 410 Gone and its slug
/// is never handed to another post.
pub async fn mark_deleted(
    conn: &mut AsyncPgConnection,
    id: i64,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(posts::table.find(id))
        .set((
            posts::deleted_at.eq(at),
            posts::body_markdown.eq(""),
            posts::body_html.eq(""),
            posts::summary.eq(None::<String>),
            posts::excerpt.eq(""),
        ))
        .execute(conn)
        .await?;
    diesel::delete(post_tags::table.filter(post_tags::post_id.eq(id)))
        .execute(conn)
        .await
        .map(drop)
}

/// Months with public posts in time zone `tz`: (year, month, count), newest first.
pub async fn archive_months(
    conn: &mut AsyncPgConnection,
    tz: &str,
) -> QueryResult<Vec<(i32, i32, i64)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        year: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        month: i32,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT EXTRACT(YEAR FROM published_at AT TIME ZONE $1)::int AS year, \
                EXTRACT(MONTH FROM published_at AT TIME ZONE $1)::int AS month, \
                count(*) AS count \
         FROM posts WHERE status = 'published' AND deleted_at IS NULL \
         GROUP BY 1, 2 ORDER BY 1 DESC, 2 DESC",
    )
    .bind::<diesel::sql_types::Text, _>(tz)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.year, r.month, r.count))
        .collect())
}
