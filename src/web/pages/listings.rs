//! Listings of posts: the home page, a tag's page, the archive by month.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{Datelike, TimeZone, Utc};
use serde::Serialize;

use super::{
    PostContext, SiteContext, html_page, page_number, page_url, post_context, site_context,
};
use crate::models::comment;
use crate::models::post::{self, PublicScope, TimeRange};
use crate::models::tag;
use crate::posts;
use crate::render::{slug, time};
use crate::state::AppState;
use crate::urls;
use crate::web::error::PageError;

/// What `list.html` is given.
#[derive(Serialize)]
struct ListPage {
    site: SiteContext,
    heading: Option<String>,
    intro: Option<String>,
    posts: Vec<PostContext>,
    empty_message: &'static str,
    pagination: Pagination,
}

#[derive(Serialize)]
struct Pagination {
    page: i64,
    total_pages: i64,
    prev_url: Option<String>,
    next_url: Option<String>,
}

/// What `archive.html` is given: the months with posts, newest first,
/// grouped by year.
#[derive(Serialize)]
struct ArchivePage {
    site: SiteContext,
    years: Vec<ArchiveYear>,
}

#[derive(Serialize)]
struct ArchiveYear {
    year: i32,
    count: i64,
    months: Vec<ArchiveMonth>,
}

#[derive(Serialize)]
struct ArchiveMonth {
    name: &'static str,
    url: String,
    count: i64,
}

/// What a listing with no public posts at all shows.
pub(super) enum WhenEmpty {
    /// The home page: an empty blog is still a page.
    Message(&'static str),
    /// A tag or month with no public posts does not exist for the public
    /// (a tag used only by drafts must not leak).
    NotFound,
}

/// Renders one page of a public post listing, or 404 past its last page.
pub(super) async fn listing(
    state: &AppState,
    scope: PublicScope,
    page: i64,
    base_url: String,
    heading: Option<String>,
    when_empty: WhenEmpty,
) -> Result<Response, PageError> {
    let per_page = state.settings().blog.posts_per_page;
    let mut conn = state.pool.get().await?;
    let total = post::count_public(&mut conn, scope).await?;
    let total_pages = ((total + per_page - 1) / per_page).max(1);
    let empty_message = match when_empty {
        WhenEmpty::NotFound if total == 0 => return Err(PageError::NotFound),
        WhenEmpty::NotFound => "",
        WhenEmpty::Message(message) => message,
    };
    if page > total_pages {
        return Err(PageError::NotFound);
    }
    let rows = post::list_public(&mut conn, scope, per_page, (page - 1) * per_page).await?;
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let comment_counts = comment::visible_counts(&mut conn, &ids).await?;
    let posts: Vec<PostContext> = posts::with_tags_many(&mut conn, rows)
        .await?
        .into_iter()
        .map(|p| {
            let comments = comment_counts.get(&p.post.id).copied().unwrap_or(0);
            PostContext {
                comment_count: comments,
                ..post_context(&state.settings(), p, false)
            }
        })
        .collect();
    html_page(
        state,
        "list.html",
        ListPage {
            site: site_context(&state.settings()),
            heading,
            intro: None,
            posts,
            empty_message,
            pagination: Pagination {
                page,
                total_pages,
                prev_url: (page > 1).then(|| page_url(&base_url, page - 1)),
                next_url: (page < total_pages).then(|| page_url(&base_url, page + 1)),
            },
        },
    )
}

pub async fn home(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let page = page_number(query.as_deref())?;
    let base = state.settings().url("/");
    let empty = WhenEmpty::Message("Nothing has been published here yet.");
    listing(&state, PublicScope::All, page, base, None, empty).await
}

pub async fn show_tag(
    State(state): State<AppState>,
    Path(tag_slug): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let page = page_number(query.as_deref())?;
    if !slug::is_slug(&tag_slug) {
        return Err(PageError::NotFound);
    }
    let mut conn = state.pool.get().await?;
    let Some(tag) = tag::find_by_slug(&mut conn, &tag_slug).await? else {
        return Err(PageError::NotFound);
    };
    drop(conn);
    let heading = format!("Posts tagged “{}”", tag.name);
    let base = urls::tag(&state.settings(), &tag.slug);
    listing(
        &state,
        PublicScope::Tag(tag.id),
        page,
        base,
        Some(heading),
        WhenEmpty::NotFound,
    )
    .await
}

pub async fn archive(State(state): State<AppState>) -> Result<Response, PageError> {
    let mut conn = state.pool.get().await?;
    let months = post::archive_months(&mut conn, state.settings().blog.time_zone.name()).await?;
    let mut years: Vec<ArchiveYear> = Vec::new();
    for (year, month, count) in months {
        if years.last().is_none_or(|y| y.year != year) {
            years.push(ArchiveYear {
                year,
                count: 0,
                months: Vec::new(),
            });
        }
        if let Some(entry) = years.last_mut() {
            entry.count += count;
            entry.months.push(ArchiveMonth {
                name: time::month_name(month as u32),
                url: state.settings().url(&format!("/archive/{year}/{month:02}")),
                count,
            });
        }
    }
    html_page(
        &state,
        "archive.html",
        ArchivePage {
            site: site_context(&state.settings()),
            years,
        },
    )
}

pub async fn archive_month(
    State(state): State<AppState>,
    Path((year, month)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let page = page_number(query.as_deref())?;
    let (Ok(year), Ok(month)) = (year.parse::<i32>(), month.parse::<u32>()) else {
        return Err(PageError::NotFound);
    };
    let range =
        month_range(state.settings().blog.time_zone, year, month).ok_or(PageError::NotFound)?;
    let heading = format!("{} {year}", time::month_name(month));
    let base = state.settings().url(&format!("/archive/{year}/{month:02}"));
    listing(
        &state,
        PublicScope::Published(range),
        page,
        base,
        Some(heading),
        WhenEmpty::NotFound,
    )
    .await
}

/// The UTC span of a calendar month in the blog's time zone.
pub(super) fn month_range(tz: chrono_tz::Tz, year: i32, month: u32) -> Option<TimeRange> {
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    let start = tz.with_ymd_and_hms(year, month, 1, 0, 0, 0).earliest()?;
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let end = tz
        .with_ymd_and_hms(next_year, next_month, 1, 0, 0, 0)
        .earliest()?;
    debug_assert_eq!(start.month(), month);
    Some(TimeRange {
        start: start.with_timezone(&Utc),
        end: end.with_timezone(&Utc),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_in_a_time_zone() {
        let range = month_range(chrono_tz::Europe::Stockholm, 2026, 12).expect("valid month");
        assert_eq!(range.start.to_rfc3339(), "2026-11-30T23:00:00+00:00");
        assert_eq!(range.end.to_rfc3339(), "2026-12-31T23:00:00+00:00");
        assert!(month_range(chrono_tz::UTC, 2026, 13).is_none());
        assert!(month_range(chrono_tz::UTC, 1, 1).is_none());
    }
}
