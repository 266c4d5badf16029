//! Quotes of our posts that the blog approved (FEP-044f): one row per quoting
//! object, served as its QuoteAuthorization.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::quote_authorizations;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = quote_authorizations)]
pub struct QuoteAuthorization {
    pub id: i64,
    pub post_id: i64,
    pub quoting_object: String,
    pub quoter: String,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
}

/// Approves `quoting_object` (by `quoter`) quoting the post; asked again
/// (a retry, a new request for the same quote), the same approval is
/// answered, under the latest request's id. Returns the approval's id.
pub async fn approve(
    conn: &mut AsyncPgConnection,
    post_id: i64,
    quoting_object: &str,
    quoter: &str,
    request_id: &str,
) -> QueryResult<i64> {
    use quote_authorizations::dsl as q;
    diesel::insert_into(q::quote_authorizations)
        .values((
            q::post_id.eq(post_id),
            q::quoting_object.eq(quoting_object),
            q::quoter.eq(quoter),
            q::request_id.eq(request_id),
        ))
        .on_conflict((q::post_id, q::quoting_object))
        .do_update()
        .set(q::request_id.eq(request_id))
        .returning(q::id)
        .get_result(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> QueryResult<Option<QuoteAuthorization>> {
    quote_authorizations::table
        .find(id)
        .select(QuoteAuthorization::as_select())
        .first(conn)
        .await
        .optional()
}
