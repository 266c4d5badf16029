//! Remote objects deleted before we saw them, so that a late Create is ignored.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::tombstones;

/// Records that `actor` deleted `ap_id`.
pub async fn add(conn: &mut AsyncPgConnection, ap_id: &str, actor: &str) -> QueryResult<()> {
    diesel::insert_into(tombstones::table)
        .values((
            tombstones::ap_id.eq(ap_id),
            tombstones::actor_ap_id.eq(actor),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

pub async fn exists(conn: &mut AsyncPgConnection, ap_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        tombstones::table.filter(tombstones::ap_id.eq(ap_id)),
    ))
    .get_result(conn)
    .await
}
