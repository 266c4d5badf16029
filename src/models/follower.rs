//! The actors following the blog.

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::prepared;
use crate::db::schema::followers;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = followers)]
pub struct Follower {
    pub id: i64,
    pub actor_id: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub follow_activity_id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    followers::table.count().get_result(conn).await
}

/// Adds (or refreshes) a follower.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    actor_id: &str,
    inbox_url: &str,
    shared_inbox_url: Option<&str>,
    follow_activity_id: &str,
) -> QueryResult<()> {
    prepared(
        diesel::insert_into(followers::table)
            .values((
                followers::actor_id.eq(actor_id),
                followers::inbox_url.eq(inbox_url),
                followers::shared_inbox_url.eq(shared_inbox_url),
                followers::follow_activity_id.eq(follow_activity_id),
            ))
            .on_conflict(followers::actor_id)
            .do_update()
            .set((
                followers::inbox_url.eq(excluded(followers::inbox_url)),
                followers::shared_inbox_url.eq(excluded(followers::shared_inbox_url)),
                followers::follow_activity_id.eq(excluded(followers::follow_activity_id)),
            )),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Removes a follower; true if there was one.
pub async fn remove(conn: &mut AsyncPgConnection, actor_id: &str) -> QueryResult<bool> {
    diesel::delete(followers::table.filter(followers::actor_id.eq(actor_id)))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

pub async fn find(conn: &mut AsyncPgConnection, actor_id: &str) -> QueryResult<Option<Follower>> {
    followers::table
        .filter(followers::actor_id.eq(actor_id))
        .select(Follower::as_select())
        .first(conn)
        .await
        .optional()
}

/// Where to deliver to reach every follower: one shared inbox per server
/// that has one, else each personal inbox.
pub async fn delivery_inboxes(conn: &mut AsyncPgConnection) -> QueryResult<Vec<String>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    followers::table
        .select(sql::<Text>("COALESCE(shared_inbox_url, inbox_url)"))
        .distinct()
        .load(conn)
        .await
}

/// All followers, newest first.
pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Follower>> {
    followers::table
        .order(followers::id.desc())
        .select(Follower::as_select())
        .load(conn)
        .await
}

/// One page of followers, newest first.
pub async fn page(
    conn: &mut AsyncPgConnection,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Follower>> {
    followers::table
        .order(followers::id.desc())
        .select(Follower::as_select())
        .limit(limit)
        .offset(offset)
        .load(conn)
        .await
}

/// One page of follower ids, oldest first.
pub async fn page_of_ids(
    conn: &mut AsyncPgConnection,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<String>> {
    followers::table
        .order(followers::id.asc())
        .select(followers::actor_id)
        .limit(limit)
        .offset(offset)
        .load(conn)
        .await
}
