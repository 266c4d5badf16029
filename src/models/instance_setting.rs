//! Small key-value pieces of instance state.

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::instance_settings;

pub async fn get(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<String>> {
    instance_settings::table
        .find(key)
        .select(instance_settings::value)
        .first(conn)
        .await
        .optional()
}

pub async fn set(conn: &mut AsyncPgConnection, key: &str, value: &str) -> QueryResult<()> {
    diesel::insert_into(instance_settings::table)
        .values((
            instance_settings::key.eq(key),
            instance_settings::value.eq(value),
        ))
        .on_conflict(instance_settings::key)
        .do_update()
        .set((
            instance_settings::value.eq(excluded(instance_settings::value)),
            instance_settings::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Inserts only if the key is absent; true when this call stored it.
pub async fn insert_new(conn: &mut AsyncPgConnection, key: &str, value: &str) -> QueryResult<bool> {
    diesel::insert_into(instance_settings::table)
        .values((
            instance_settings::key.eq(key),
            instance_settings::value.eq(value),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}
