//! Likes and boosts of posts.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{reactions, remote_actors};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Like,
    Announce,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Like => "like",
            Kind::Announce => "announce",
        }
    }
}

/// Records a reaction; a second one of the same kind by the same actor changes nothing.
pub async fn add(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    post_id: i64,
    actor: &str,
    activity: &str,
) -> QueryResult<bool> {
    diesel::insert_into(reactions::table)
        .values((
            reactions::kind.eq(kind.as_str()),
            reactions::post_id.eq(post_id),
            reactions::actor_ap_id.eq(actor),
            reactions::activity_ap_id.eq(activity),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// Undoes a reaction by its activity id, only for the actor that made it.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    activity: &str,
    actor: &str,
) -> QueryResult<bool> {
    diesel::delete(
        reactions::table
            .filter(reactions::activity_ap_id.eq(activity))
            .filter(reactions::actor_ap_id.eq(actor)),
    )
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Removes everything an actor did (the actor was deleted).
pub async fn delete_by_actor(conn: &mut AsyncPgConnection, actor: &str) -> QueryResult<usize> {
    diesel::delete(reactions::table.filter(reactions::actor_ap_id.eq(actor)))
        .execute(conn)
        .await
}

/// Who reacted to a post: (actor id, display name), newest first, up to `limit`.
pub async fn people(
    conn: &mut AsyncPgConnection,
    post_id: i64,
    kind: Kind,
    limit: i64,
) -> QueryResult<Vec<(String, Option<String>)>> {
    reactions::table
        .left_join(remote_actors::table.on(remote_actors::ap_id.eq(reactions::actor_ap_id)))
        .filter(reactions::post_id.eq(post_id))
        .filter(reactions::kind.eq(kind.as_str()))
        .order(reactions::id.desc())
        .limit(limit)
        .select((reactions::actor_ap_id, remote_actors::name.nullable()))
        .load::<(String, Option<String>)>(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection, post_id: i64, kind: Kind) -> QueryResult<i64> {
    reactions::table
        .filter(reactions::post_id.eq(post_id))
        .filter(reactions::kind.eq(kind.as_str()))
        .count()
        .get_result(conn)
        .await
}
