//! Remote actors we know: their inboxes and public keys, cached from their documents.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::db::prepared;
use crate::db::schema::remote_actors;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = remote_actors)]
pub struct RemoteActorRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub ap_id: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub public_key_pem: String,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub icon_url: Option<String>,
    pub fetched_at: DateTime<Utc>,
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    ap_id: &str,
) -> QueryResult<Option<RemoteActorRow>> {
    remote_actors::table
        .filter(remote_actors::ap_id.eq(ap_id))
        .select(RemoteActorRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The avatar (icon) URLs of these actors, for those that have one.
pub async fn icons(
    conn: &mut AsyncPgConnection,
    actors: &[&str],
) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<(String, Option<String>)> = remote_actors::table
        .filter(remote_actors::ap_id.eq_any(actors))
        .filter(remote_actors::icon_url.is_not_null())
        .select((remote_actors::ap_id, remote_actors::icon_url))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(actor, icon)| Some((actor, icon?)))
        .collect())
}

pub async fn upsert(
    conn: &mut AsyncPgConnection,
    row: &RemoteActorRow,
) -> QueryResult<RemoteActorRow> {
    use remote_actors::dsl as a;
    prepared(
        diesel::insert_into(remote_actors::table)
            .values(row)
            .on_conflict(a::ap_id)
            .do_update()
            .set((
                a::inbox_url.eq(excluded(a::inbox_url)),
                a::shared_inbox_url.eq(excluded(a::shared_inbox_url)),
                a::public_key_pem.eq(excluded(a::public_key_pem)),
                a::preferred_username.eq(excluded(a::preferred_username)),
                a::name.eq(excluded(a::name)),
                a::url.eq(excluded(a::url)),
                a::icon_url.eq(excluded(a::icon_url)),
                a::fetched_at.eq(excluded(a::fetched_at)),
            ))
            .returning(RemoteActorRow::as_returning()),
    )
    .get_result(conn)
    .await
}

pub async fn remove(conn: &mut AsyncPgConnection, ap_id: &str) -> QueryResult<()> {
    diesel::delete(remote_actors::table.filter(remote_actors::ap_id.eq(ap_id)))
        .execute(conn)
        .await
        .map(drop)
}

/// Drops everything an actor had here, in one transaction: as a follower,
/// its comments, likes and boosts, its cached profile (the actor is gone).
pub async fn forget(conn: &mut AsyncPgConnection, actor: &str) -> QueryResult<()> {
    use crate::models::{comment, follower, reaction};
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        follower::remove(conn, actor).await?;
        comment::delete_by_author(conn, actor).await?;
        reaction::delete_by_actor(conn, actor).await?;
        remove(conn, actor).await
    })
    .await
}
