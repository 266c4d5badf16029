//! Comments, threaded under a post: replies from the fediverse (`remote`),
//! the author's answers (`author`) and readers' comments from the blog page
//! (`reader`); the last two are Notes of the blog actor, with ids here.

use chrono::Timelike;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::prepared;
use crate::db::schema::comments;
use crate::db::text_enum::text_enum;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = comments)]
pub struct Comment {
    pub id: i64,
    pub ap_id: String,
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub in_reply_to: String,
    pub url: Option<String>,
    pub author_ap_id: String,
    pub author_name: Option<String>,
    pub author_handle: Option<String>,
    pub content_html: String,
    pub summary: Option<String>,
    pub sensitive: bool,
    pub visibility: Visibility,
    pub state: State,
    pub published_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub origin: Origin,
    pub source: Option<String>,
    pub reader_website: Option<String>,
    pub moderation_note: Option<String>,
    /// The language it is written in, when its sender said.
    pub language: Option<String>,
    /// What it attaches ([`Attachment`]s, as JSON).
    pub attachments: serde_json::Value,
}

impl Comment {
    /// Its attachments (none when the stored JSON is not a list of them).
    pub fn attachment_list(&self) -> Vec<Attachment> {
        serde_json::from_value(self.attachments.clone()).unwrap_or_default()
    }
}

/// Something a comment from another server attaches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub kind: AttachmentKind,
    /// The original, http(s).
    pub url: String,
    /// Its description (alt text).
    pub alt: Option<String>,
    pub media_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    Image,
    Video,
    Audio,
    Document,
}

text_enum! {
    /// Where a comment comes from.
    pub enum Origin {
        Remote = "remote",
        Author = "author",
        Reader = "reader",
    }
}

text_enum! {
    /// Who may see a comment, from its addressing (Mastodon's four levels).
    pub enum Visibility {
        /// Addressed to the public: shown and listed.
        Public = "public",
        /// The public only in `cc`: shown on the page, as Mastodon shows it on profiles.
        Unlisted = "unlisted",
        /// To the author's followers only: never shown here.
        Followers = "followers",
        /// To named people only: never shown here.
        Direct = "direct",
    }
}

impl Visibility {
    /// Whether a comment so addressed may be shown to everyone.
    pub fn is_shown(self) -> bool {
        matches!(self, Visibility::Public | Visibility::Unlisted)
    }
}

text_enum! {
    /// A comment's moderation state.
    pub enum State {
        /// Held for the author's approval.
        Pending = "pending",
        Approved = "approved",
        /// Rejected as spam: never shown, kept so a redelivery does not bring it back.
        Rejected = "rejected",
        Deleted = "deleted",
    }
}

text_enum! {
    /// Which comments the author's listing shows.
    pub enum StateFilter {
        /// Held for approval.
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Deleted = "deleted",
        All = "all",
    }
}

impl StateFilter {
    /// The one state listed, or `None` for all.
    pub fn state(self) -> Option<State> {
        match self {
            StateFilter::Pending => Some(State::Pending),
            StateFilter::Approved => Some(State::Approved),
            StateFilter::Rejected => Some(State::Rejected),
            StateFilter::Deleted => Some(State::Deleted),
            StateFilter::All => None,
        }
    }
}

impl Comment {
    /// Written here (by the author or a reader), so its id is ours.
    pub fn is_local(&self) -> bool {
        self.origin != Origin::Remote
    }

    /// The name to show: the display name, else the handle, else the actor id.
    pub fn display_name(&self) -> String {
        self.author_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| self.author_handle.clone())
            .unwrap_or_else(|| self.author_ap_id.clone())
    }

    /// Shown on the page and listed in collections (blocks aside).
    pub fn is_visible(&self) -> bool {
        self.state == State::Approved && self.visibility.is_shown()
    }
}

/// The visibilities [`Visibility::is_shown`] accepts, as stored.
const SHOWN: [Visibility; 2] = [Visibility::Public, Visibility::Unlisted];

#[derive(Debug, Insertable)]
#[diesel(table_name = comments)]
pub struct NewComment<'a> {
    pub ap_id: &'a str,
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub in_reply_to: &'a str,
    pub url: Option<&'a str>,
    pub author_ap_id: &'a str,
    pub author_name: Option<&'a str>,
    pub author_handle: Option<&'a str>,
    pub content_html: &'a str,
    pub summary: Option<&'a str>,
    pub sensitive: bool,
    pub visibility: Visibility,
    pub published_at: DateTime<Utc>,
    pub state: State,
    pub origin: Origin,
    pub source: Option<&'a str>,
    pub reader_website: Option<&'a str>,
    pub moderation_note: Option<&'a str>,
    pub language: Option<&'a str>,
    pub attachments: serde_json::Value,
}

/// The next comment id, taken before inserting a comment whose ActivityPub id contains it.
pub async fn next_id(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "nextval('comments_id_seq')",
    ))
    .get_result(conn)
    .await
}

/// Inserts a local comment with the id from [`next_id`].
pub async fn insert_with_id(
    conn: &mut AsyncPgConnection,
    id: i64,
    new: &NewComment<'_>,
) -> QueryResult<Comment> {
    diesel::insert_into(comments::table)
        .values((comments::id.eq(id), new))
        .returning(Comment::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Comment>> {
    comments::table
        .find(id)
        .select(Comment::as_select())
        .first(conn)
        .await
        .optional()
}

/// The comments with these ids (those that exist), in no order.
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Comment>> {
    comments::table
        .filter(comments::id.eq_any(ids))
        .select(Comment::as_select())
        .load(conn)
        .await
}

/// Locks a comment's row for a change of state or content.
pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Comment>> {
    comments::table
        .find(id)
        .for_update()
        .select(Comment::as_select())
        .first(conn)
        .await
        .optional()
}

/// Whether `author` has an approved comment here (for "hold first-time commenters").
pub async fn has_approved(conn: &mut AsyncPgConnection, author: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        comments::table
            .filter(comments::author_ap_id.eq(author))
            .filter(comments::state.eq(State::Approved)),
    ))
    .get_result(conn)
    .await
}

pub async fn set_state(
    conn: &mut AsyncPgConnection,
    id: i64,
    state: State,
    note: Option<&str>,
) -> QueryResult<()> {
    diesel::update(comments::table.find(id))
        .set((
            comments::state.eq(state),
            comments::moderation_note.eq(note),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The comments written here (the author's, readers') published under a
/// post: what went out to the fediverse as Notes.
pub async fn published_local(
    conn: &mut AsyncPgConnection,
    post_id: i64,
) -> QueryResult<Vec<Comment>> {
    comments::table
        .filter(comments::post_id.eq(post_id))
        .filter(comments::origin.ne(Origin::Remote))
        .filter(comments::state.eq(State::Approved))
        .order(comments::id)
        .select(Comment::as_select())
        .load(conn)
        .await
}

/// Empties a deleted comment (its row stays, so a redelivery cannot bring it back).
pub async fn clear_content(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
    diesel::update(comments::table.find(id))
        .set((
            comments::content_html.eq(""),
            comments::source.eq(None::<String>),
            comments::summary.eq(None::<String>),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// New text for a local comment.
pub async fn set_local_content(
    conn: &mut AsyncPgConnection,
    id: i64,
    source: &str,
    html: &str,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(comments::table.find(id))
        .set((
            comments::source.eq(source),
            comments::content_html.eq(html),
            comments::updated_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A filter for the moderation list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<State>,
    pub post_id: Option<i64>,
}

/// The comments a filter lets through, all visibilities.
fn filtered(filter: &ListFilter) -> comments::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = comments::table.into_boxed();
    if let Some(state) = filter.state {
        query = query.filter(comments::state.eq(state));
    }
    if let Some(post) = filter.post_id {
        query = query.filter(comments::post_id.eq(post));
    }
    query
}

/// How many comments a filter lets through.
pub async fn count(conn: &mut AsyncPgConnection, filter: &ListFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}

/// Comments for the author (all visibilities), newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &ListFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Comment>> {
    filtered(filter)
        .select(Comment::as_select())
        .order((comments::published_at.desc(), comments::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)
        .await
}

/// The newest public comments anywhere on the blog (for the comments feed),
/// with their post's slug and title.
pub async fn recent_visible(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> QueryResult<Vec<(Comment, String, String)>> {
    use crate::db::schema::posts;
    comments::table
        .inner_join(posts::table)
        .filter(comments::state.eq(State::Approved))
        .filter(comments::visibility.eq(Visibility::Public))
        .filter(posts::status.eq(crate::models::post::PostStatus::Published))
        .filter(posts::deleted_at.is_null())
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "NOT {}",
            super::block::blocked_sql("comments.author_ap_id")
        )))
        .order((comments::published_at.desc(), comments::id.desc()))
        .limit(limit)
        .select((Comment::as_select(), posts::slug, posts::title))
        .load(conn)
        .await
}

/// Inserts a comment unless one with its id exists; true when inserted.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewComment<'_>) -> QueryResult<bool> {
    // Its text varies only with which optional fields are set.
    prepared(
        diesel::insert_into(comments::table)
            .values(new)
            .on_conflict(comments::ap_id)
            .do_nothing(),
    )
    .execute(conn)
    .await
    .map(|n| n == 1)
}

pub async fn find_by_ap_id(
    conn: &mut AsyncPgConnection,
    ap_id: &str,
) -> QueryResult<Option<Comment>> {
    comments::table
        .filter(comments::ap_id.eq(ap_id))
        .select(Comment::as_select())
        .first(conn)
        .await
        .optional()
}

/// The comments people may see under a post: approved, public or unlisted,
/// not by a blocked actor or server, oldest first.
pub async fn visible_for_post(
    conn: &mut AsyncPgConnection,
    post_id: i64,
) -> QueryResult<Vec<Comment>> {
    comments::table
        .filter(comments::post_id.eq(post_id))
        .filter(comments::state.eq(State::Approved))
        .filter(comments::visibility.eq_any(SHOWN))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "NOT {}",
            super::block::blocked_sql("comments.author_ap_id")
        )))
        .order((comments::published_at.asc(), comments::id.asc()))
        .select(Comment::as_select())
        .load(conn)
        .await
}

/// How many comments each of these posts shows (as [`visible_for_post`] counts them).
pub async fn visible_counts(
    conn: &mut AsyncPgConnection,
    post_ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = comments::table
        .filter(comments::post_id.eq_any(post_ids))
        .filter(comments::state.eq(State::Approved))
        .filter(comments::visibility.eq_any(SHOWN))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "NOT {}",
            super::block::blocked_sql("comments.author_ap_id")
        )))
        .group_by(comments::post_id)
        .select((comments::post_id, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// New content for a comment.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = comments, treat_none_as_null = true)]
pub struct Edit<'a> {
    pub content_html: &'a str,
    pub summary: Option<&'a str>,
    pub sensitive: bool,
    pub language: Option<&'a str>,
    pub attachments: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

/// Applies an edit by the comment's author (unless the comment is deleted),
/// as Mastodon does: unless what we hold is strictly newer than the edit's
/// `updated` time. An edit without one (`stamped` false) always applies.
/// True when applied.
pub async fn apply_edit(
    conn: &mut AsyncPgConnection,
    ap_id: &str,
    author: &str,
    edit: &Edit<'_>,
    stamped: bool,
) -> QueryResult<bool> {
    let mine = comments::table
        .filter(comments::ap_id.eq(ap_id))
        .filter(comments::author_ap_id.eq(author))
        .filter(comments::state.ne(State::Deleted));
    let applied = if stamped {
        // Compared by the second: servers write `updated` without fractions.
        let at = edit
            .updated_at
            .with_nanosecond(999_999_999)
            .unwrap_or(edit.updated_at);
        diesel::update(
            mine.filter(
                comments::updated_at.le(at).or(comments::updated_at
                    .is_null()
                    .and(comments::published_at.le(at))),
            ),
        )
        .set(edit)
        .execute(conn)
        .await?
    } else {
        diesel::update(mine).set(edit).execute(conn).await?
    };
    Ok(applied > 0)
}

/// Marks a comment deleted if `author` wrote it; true when it did.
pub async fn mark_deleted(
    conn: &mut AsyncPgConnection,
    ap_id: &str,
    author: &str,
) -> QueryResult<bool> {
    diesel::update(
        comments::table
            .filter(comments::ap_id.eq(ap_id))
            .filter(comments::author_ap_id.eq(author)),
    )
    .set((
        comments::state.eq(State::Deleted),
        comments::content_html.eq(""),
    ))
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Removes everything an actor wrote (the actor was deleted).
pub async fn delete_by_author(conn: &mut AsyncPgConnection, author: &str) -> QueryResult<usize> {
    diesel::delete(comments::table.filter(comments::author_ap_id.eq(author)))
        .execute(conn)
        .await
}
