//! `GET /admin`: where things stand, and where to go next.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use super::Owner;
use super::comments::excerpt;
use crate::models::comment::{self, ListFilter, State as CommentState};
use crate::models::delivery::{self, DeliveryFilter};
use crate::models::follower;
use crate::models::post::{self, StatusFilter};
use crate::state::AppState;
use crate::urls;
use crate::web::error::PageError;
use crate::web::site::{SiteContext, site_context};

/// How many of the newest comments the dashboard shows.
const RECENT_COMMENTS: i64 = 5;

/// What `admin_dashboard.html` is given.
#[derive(Serialize)]
struct DashboardPage {
    site: SiteContext,
    csrf: String,
    counts: Counts,
    recent_comments: Vec<RecentComment>,
}

#[derive(Serialize)]
struct Counts {
    followers: i64,
    published: i64,
    drafts: i64,
    comments_waiting: i64,
    deliveries_failing: i64,
    deliveries_given_up: i64,
}

#[derive(Serialize)]
struct RecentComment {
    author: String,
    state: CommentState,
    excerpt: String,
    post_title: String,
    url: String,
    published: String,
}

pub(super) async fn show(
    State(state): State<AppState>,
    owner: Owner,
) -> Result<Response, PageError> {
    let mut conn = state.pool.get().await?;
    let counts = Counts {
        followers: follower::count(&mut conn).await?,
        published: post::count_for_author(&mut conn, StatusFilter::Published).await?,
        drafts: post::count_for_author(&mut conn, StatusFilter::Draft).await?,
        comments_waiting: comment::count(
            &mut conn,
            &ListFilter {
                state: Some(CommentState::Pending),
                post_id: None,
            },
        )
        .await?,
        deliveries_failing: delivery::count(&mut conn, DeliveryFilter::Failing).await?,
        deliveries_given_up: delivery::count(&mut conn, DeliveryFilter::GivenUp).await?,
    };
    let all = ListFilter {
        state: None,
        post_id: None,
    };
    let comments = comment::list(&mut conn, &all, RECENT_COMMENTS, 0).await?;
    let ids: Vec<i64> = comments.iter().map(|c| c.post_id).collect();
    let headings = post::headings_by_id(&mut conn, &ids).await?;
    drop(conn);
    let settings = &state.settings();
    let tz = settings.blog.time_zone;
    let recent_comments = comments
        .into_iter()
        .map(|c| {
            let (slug, title) = headings.get(&c.post_id).cloned().unwrap_or_default();
            RecentComment {
                author: c.display_name(),
                state: c.state,
                excerpt: excerpt(&c.content_html),
                post_title: title,
                url: format!("{}#comment-{}", urls::post(settings, &slug), c.id),
                published: c
                    .published_at
                    .with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            }
        })
        .collect();
    let html = state.templates.render(
        "admin_dashboard.html",
        DashboardPage {
            site: site_context(settings),
            csrf: owner.csrf,
            counts,
            recent_comments,
        },
    )?;
    Ok(Html(html).into_response())
}
