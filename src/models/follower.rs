//! The actors following the blog.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::followers;

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    followers::table.count().get_result(conn).await
}
