//! Comments: replies from the fediverse, threaded under a post.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::comments;

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
    pub visibility: String,
    pub state: String,
    pub published_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
}

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
    pub visibility: &'a str,
    pub published_at: DateTime<Utc>,
}

/// Inserts a comment unless one with its id exists; true when inserted.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewComment<'_>) -> QueryResult<bool> {
    diesel::insert_into(comments::table)
        .values(new)
        .on_conflict(comments::ap_id)
        .do_nothing()
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
        .filter(comments::state.eq("approved"))
        .filter(comments::visibility.eq_any(["public", "unlisted"]))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "NOT {}",
            super::block::blocked_sql("comments.author_ap_id")
        )))
        .order((comments::published_at.asc(), comments::id.asc()))
        .select(Comment::as_select())
        .load(conn)
        .await
}

/// New content for a comment.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = comments, treat_none_as_null = true)]
pub struct Edit<'a> {
    pub content_html: &'a str,
    pub summary: Option<&'a str>,
    pub sensitive: bool,
    pub updated_at: DateTime<Utc>,
}

/// Applies an edit by the comment's author if it is newer than the last one
/// (and the comment is not deleted); true when applied.
pub async fn apply_edit(
    conn: &mut AsyncPgConnection,
    ap_id: &str,
    author: &str,
    edit: &Edit<'_>,
) -> QueryResult<bool> {
    diesel::update(
        comments::table
            .filter(comments::ap_id.eq(ap_id))
            .filter(comments::author_ap_id.eq(author))
            .filter(comments::state.ne("deleted"))
            .filter(comments::published_at.lt(edit.updated_at))
            .filter(
                comments::updated_at
                    .is_null()
                    .or(comments::updated_at.lt(edit.updated_at)),
            ),
    )
    .set(edit)
    .execute(conn)
    .await
    .map(|n| n > 0)
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
    .set((comments::state.eq("deleted"), comments::content_html.eq("")))
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
