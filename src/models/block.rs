//! Blocked actors and domains (moderation).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::prepared;
use crate::db::schema::blocks;
use crate::db::text_enum::text_enum;

text_enum! {
    /// What a block names.
    pub enum Kind {
        /// One actor, by its id (e.g. https://mastodon.example/users/spammer).
        Actor = "actor",
        /// A server and its subdomains (e.g. spam.example).
        Domain = "domain",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = blocks)]
pub struct Block {
    pub id: i64,
    pub kind: Kind,
    pub value: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A value that cannot be blocked, with what was expected.
#[derive(Debug, thiserror::Error)]
pub enum InvalidBlock {
    #[error("{0:?} is not an actor URL such as https://mastodon.example/users/name")]
    Actor(String),
    #[error("{0:?} is not a domain such as spam.example")]
    Domain(String),
}

/// An actor id to block: an http(s) URL with a host.
pub fn parse_actor(value: &str) -> Result<String, InvalidBlock> {
    match url::Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            Ok(url.to_string())
        }
        _ => Err(InvalidBlock::Actor(value.to_string())),
    }
}

/// A domain as blocks store it: lowercase, no scheme, port or path.
pub fn parse_domain(value: &str) -> Result<String, InvalidBlock> {
    let trimmed = value
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = url::Url::parse(&format!("https://{trimmed}"))
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        })
        .filter(|h| !h.is_empty() && !trimmed.contains('/') && !trimmed.contains(' '));
    host.ok_or_else(|| InvalidBlock::Domain(value.to_string()))
}

/// A value of `kind`, as blocks store it.
pub fn parse_value(kind: Kind, value: &str) -> Result<String, InvalidBlock> {
    match kind {
        Kind::Actor => parse_actor(value),
        Kind::Domain => parse_domain(value),
    }
}

/// SQL deciding whether the actor id in `column` is blocked (by itself or its domain).
pub fn blocked_sql(column: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM blocks b WHERE (b.kind = 'actor' AND b.value = {column}) \
         OR (b.kind = 'domain' AND (lower(substring({column} from '^[a-z]+://([^/:]+)')) = b.value \
             OR lower(substring({column} from '^[a-z]+://([^/:]+)')) LIKE '%.' || b.value)))"
    )
}

pub async fn add(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    value: &str,
    reason: Option<&str>,
) -> QueryResult<bool> {
    diesel::insert_into(blocks::table)
        .values((
            blocks::kind.eq(kind),
            blocks::value.eq(value),
            blocks::reason.eq(reason),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

pub async fn remove(conn: &mut AsyncPgConnection, kind: Kind, value: &str) -> QueryResult<bool> {
    diesel::delete(
        blocks::table
            .filter(blocks::kind.eq(kind))
            .filter(blocks::value.eq(value)),
    )
    .execute(conn)
    .await
    .map(|n| n > 0)
}

pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Block>> {
    blocks::table
        .order(blocks::id)
        .select(Block::as_select())
        .load(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    blocks::table.count().get_result(conn).await
}

/// A page of blocks, the newest first.
pub async fn page(
    conn: &mut AsyncPgConnection,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Block>> {
    blocks::table
        .order(blocks::id.desc())
        .limit(limit)
        .offset(offset)
        .select(Block::as_select())
        .load(conn)
        .await
}

pub async fn is_blocked(conn: &mut AsyncPgConnection, actor: &str) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Bool)]
        blocked: bool,
    }
    let found: Found = prepared(
        diesel::sql_query(format!("SELECT {} AS blocked", blocked_sql("$1::text")))
            .bind::<Text, _>(actor),
    )
    .get_result(conn)
    .await?;
    Ok(found.blocked)
}

/// After a block: drop the blocked followers and give up what was queued for them.
pub async fn apply(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!(
        "DELETE FROM followers WHERE {}",
        blocked_sql("followers.actor_id")
    ))
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "UPDATE deliveries SET gave_up_at = now(), last_error = 'blocked' \
         WHERE delivered_at IS NULL AND gave_up_at IS NULL AND {}",
        blocked_sql("deliveries.inbox_url")
    ))
    .execute(conn)
    .await
    .map(drop)
}
