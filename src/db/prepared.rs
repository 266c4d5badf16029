//! Statements prepared once per connection and reused, where diesel would
//! prepare them anew on every execution.
//!
//! diesel caches a connection's prepared statements only for queries it can
//! prove constant: never for `sql_query`, an UPDATE or an upsert (their SQL
//! *may* vary with the values). Each of those costs PostgreSQL a parse and a
//! plan, and the client an extra round trip, every time; in an inbox burst
//! that was most of PostgreSQL's work. [`prepared`] marks a query whose SQL
//! text is the same on every call, and diesel then caches it under that text
//! (with its bind types), as it does its own constant queries.
//!
//! Only for statements whose text is constant: one that varies (a batch
//! insert of N rows, an `IN` list, optional changeset fields) would add a
//! cache entry per variant for the connection's lifetime.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// `query`, cached by its SQL text; see the module's comment.
pub fn prepared<Q>(query: Q) -> Prepared<Q> {
    Prepared(query)
}

#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache key is the SQL text, so two statements can never
/// be confused.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}
