//! Likes, boosts and quotes of posts, and of comments written here.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{reactions, remote_actors};
use crate::db::text_enum::text_enum;

text_enum! {
    /// What a reaction is.
    pub enum Kind {
        Like = "like",
        /// A boost.
        Announce = "announce",
        /// A post elsewhere quoting ours; its activity id is the quoting post's.
        Quote = "quote",
    }
}

/// What was liked or boosted: a post, or a comment under it.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub post_id: i64,
    pub comment_id: Option<i64>,
}

/// Records a reaction; a second one of the same kind by the same actor changes nothing.
pub async fn add(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    target: Target,
    actor: &str,
    activity: &str,
) -> QueryResult<bool> {
    diesel::insert_into(reactions::table)
        .values((
            reactions::kind.eq(kind),
            reactions::post_id.eq(target.post_id),
            reactions::comment_id.eq(target.comment_id),
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

/// The quotes of a post: (quoting post, its author's display name or id),
/// newest first, up to `limit`.
pub async fn quotes(
    conn: &mut AsyncPgConnection,
    post_id: i64,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<(String, String, Option<String>)> = reactions::table
        .left_join(remote_actors::table.on(remote_actors::ap_id.eq(reactions::actor_ap_id)))
        .filter(reactions::post_id.eq(post_id))
        .filter(reactions::comment_id.is_null())
        .filter(reactions::kind.eq(Kind::Quote))
        .order(reactions::id.desc())
        .limit(limit)
        .select((
            reactions::activity_ap_id,
            reactions::actor_ap_id,
            remote_actors::name.nullable(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(note, actor, name)| (note, name.filter(|n| !n.trim().is_empty()).unwrap_or(actor)))
        .collect())
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
        .filter(reactions::comment_id.is_null())
        .filter(reactions::kind.eq(kind))
        .order(reactions::id.desc())
        .limit(limit)
        .select((reactions::actor_ap_id, remote_actors::name.nullable()))
        .load::<(String, Option<String>)>(conn)
        .await
}

/// How many reactions of a kind the post (or the comment) has.
pub async fn count(conn: &mut AsyncPgConnection, target: Target, kind: Kind) -> QueryResult<i64> {
    let query = reactions::table
        .filter(reactions::post_id.eq(target.post_id))
        .filter(reactions::kind.eq(kind))
        .into_boxed();
    let query = match target.comment_id {
        Some(c) => query.filter(reactions::comment_id.eq(c)),
        None => query.filter(reactions::comment_id.is_null()),
    };
    query.count().get_result(conn).await
}

/// Likes, boosts and quotes of each comment of a post: comment id →
/// (likes, boosts, quotes).
pub async fn counts_for_comments(
    conn: &mut AsyncPgConnection,
    post_id: i64,
) -> QueryResult<std::collections::HashMap<i64, (i64, i64, i64)>> {
    let rows: Vec<(Option<i64>, Kind)> = reactions::table
        .filter(reactions::post_id.eq(post_id))
        .filter(reactions::comment_id.is_not_null())
        .select((reactions::comment_id, reactions::kind))
        .load(conn)
        .await?;
    let mut out = std::collections::HashMap::new();
    for (comment, kind) in rows {
        if let Some(comment) = comment {
            let entry = out.entry(comment).or_insert((0, 0, 0));
            match kind {
                Kind::Like => entry.0 += 1,
                Kind::Announce => entry.1 += 1,
                Kind::Quote => entry.2 += 1,
            }
        }
    }
    Ok(out)
}
