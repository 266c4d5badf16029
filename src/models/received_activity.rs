//! Ids of accepted inbound activities: recorded in the same transaction as
//! their effect, so a redelivered activity changes nothing.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::received_activities;

/// Records `ap_id`; false if it was seen before.
pub async fn record(conn: &mut AsyncPgConnection, ap_id: &str) -> QueryResult<bool> {
    diesel::insert_into(received_activities::table)
        .values(received_activities::ap_id.eq(ap_id))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}
