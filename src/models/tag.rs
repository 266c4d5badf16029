//! Tags and the posts they label.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{post_tags, tags};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = tags)]
pub struct Tag {
    #[serde(skip)]
    pub id: i64,
    pub name: String,
    pub slug: String,
}

/// A tag as the author wrote it, normalised: its display name and slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagName {
    pub name: String,
    pub slug: String,
}

pub async fn find_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<Tag>> {
    tags::table
        .filter(tags::slug.eq(slug))
        .select(Tag::as_select())
        .first(conn)
        .await
        .optional()
}

/// Replaces the tags of `post_id` with `names`, in order, creating new tags.
pub async fn set_for_post(
    conn: &mut AsyncPgConnection,
    post_id: i64,
    names: &[TagName],
) -> QueryResult<()> {
    diesel::delete(post_tags::table.filter(post_tags::post_id.eq(post_id)))
        .execute(conn)
        .await?;
    if names.is_empty() {
        return Ok(());
    }
    let new_rows: Vec<_> = names
        .iter()
        .map(|t| (tags::name.eq(&t.name), tags::slug.eq(&t.slug)))
        .collect();
    diesel::insert_into(tags::table)
        .values(&new_rows)
        .on_conflict(tags::slug)
        .do_nothing()
        .execute(conn)
        .await?;
    let slugs: Vec<&str> = names.iter().map(|t| t.slug.as_str()).collect();
    let ids: HashMap<String, i64> = tags::table
        .filter(tags::slug.eq_any(&slugs))
        .select((tags::slug, tags::id))
        .load::<(String, i64)>(conn)
        .await?
        .into_iter()
        .collect();
    let links: Vec<_> = names
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let tag_id = *ids.get(&t.slug)?;
            Some((
                post_tags::post_id.eq(post_id),
                post_tags::tag_id.eq(tag_id),
                post_tags::position.eq(i as i32),
            ))
        })
        .collect();
    diesel::insert_into(post_tags::table)
        .values(&links)
        .execute(conn)
        .await
        .map(drop)
}

/// The tags of each of `post_ids`, in the author's order.
pub async fn for_posts(
    conn: &mut AsyncPgConnection,
    post_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<Tag>>> {
    let rows: Vec<(i64, Tag)> = post_tags::table
        .inner_join(tags::table)
        .filter(post_tags::post_id.eq_any(post_ids))
        .order((post_tags::post_id, post_tags::position))
        .select((post_tags::post_id, Tag::as_select()))
        .load(conn)
        .await?;
    let mut by_post: HashMap<i64, Vec<Tag>> = HashMap::new();
    for (post_id, tag) in rows {
        by_post.entry(post_id).or_default().push(tag);
    }
    Ok(by_post)
}
