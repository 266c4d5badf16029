//! The owner's sessions in the admin UI (`admin_sessions`), kept by the
//! SHA-256 of their token.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::admin_sessions;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = admin_sessions)]
pub struct Session {
    pub token_sha256: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

pub async fn create(conn: &mut AsyncPgConnection, token_sha256: &str) -> QueryResult<()> {
    diesel::insert_into(admin_sessions::table)
        .values(admin_sessions::token_sha256.eq(token_sha256))
        .execute(conn)
        .await?;
    Ok(())
}

/// The session, if it was used within `idle` and began within `max_age`;
/// it counts as used now.
pub async fn touch(
    conn: &mut AsyncPgConnection,
    token_sha256: &str,
    idle: chrono::Duration,
    max_age: chrono::Duration,
) -> QueryResult<Option<Session>> {
    let now = Utc::now();
    diesel::update(admin_sessions::table)
        .filter(admin_sessions::token_sha256.eq(token_sha256))
        .filter(admin_sessions::last_seen_at.gt(now - idle))
        .filter(admin_sessions::created_at.gt(now - max_age))
        .set(admin_sessions::last_seen_at.eq(now))
        .returning(Session::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn delete(conn: &mut AsyncPgConnection, token_sha256: &str) -> QueryResult<bool> {
    let n = diesel::delete(admin_sessions::table.find(token_sha256))
        .execute(conn)
        .await?;
    Ok(n > 0)
}

/// Ends every session but `keep` (all of them with `None`).
pub async fn delete_others(conn: &mut AsyncPgConnection, keep: Option<&str>) -> QueryResult<usize> {
    match keep {
        Some(keep) => {
            diesel::delete(admin_sessions::table.filter(admin_sessions::token_sha256.ne(keep)))
                .execute(conn)
                .await
        }
        None => diesel::delete(admin_sessions::table).execute(conn).await,
    }
}

/// Forgets sessions that can no longer be used.
pub async fn purge_expired(
    conn: &mut AsyncPgConnection,
    idle: chrono::Duration,
    max_age: chrono::Duration,
) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::delete(
        admin_sessions::table.filter(
            admin_sessions::last_seen_at
                .le(now - idle)
                .or(admin_sessions::created_at.le(now - max_age)),
        ),
    )
    .execute(conn)
    .await
}
