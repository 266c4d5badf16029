//! `/admin/followers`: who follows the blog, from which server, since when;
//! removing one.

use axum::Form;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{Listing, Owner, Pages, Paging, done_redirect};
use crate::followers;
use crate::models::delivery::instance_of;
use crate::models::follower;
use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::site::{SiteContext, site_context};

/// Followers per page.
const PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    page: Option<i64>,
    /// The follower just removed, to say so.
    removed: Option<String>,
}

#[derive(Serialize)]
struct FollowersPage {
    site: SiteContext,
    csrf: String,
    followers: Vec<Row>,
    total: i64,
    #[serde(flatten)]
    pages: Pages,
    removed: Option<String>,
}

#[derive(Serialize)]
struct Row {
    actor: String,
    server: String,
    since: String,
}

/// `GET /admin/followers`.
pub(super) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    Listing(query): Listing<ListQuery>,
) -> Result<Response, PageError> {
    let paging = Paging::new(query.page, PER_PAGE)?;
    let (total, rows) = {
        let mut conn = state.pool.get().await?;
        let total = follower::count(&mut conn).await?;
        (
            total,
            follower::page(&mut conn, PER_PAGE, paging.offset()).await?,
        )
    };
    let pages = paging.around(total, |n| format!("/admin/followers?page={n}"))?;
    let tz = state.settings().blog.time_zone;
    let followers = rows
        .into_iter()
        .map(|f| Row {
            server: instance_of(&f.actor_id),
            since: f
                .created_at
                .with_timezone(&tz)
                .format("%Y-%m-%d")
                .to_string(),
            actor: f.actor_id,
        })
        .collect();
    let html = state.templates.render(
        "admin_followers.html",
        FollowersPage {
            site: site_context(&state.settings()),
            csrf: owner.csrf,
            followers,
            total,
            pages,
            removed: query.removed,
        },
    )?;
    Ok(Html(html).into_response())
}

#[derive(Deserialize)]
pub(super) struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    actor: String,
}

/// `POST /admin/followers/remove`.
pub(super) async fn remove(
    State(state): State<AppState>,
    owner: Owner,
    Form(form): Form<RemoveForm>,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    let removed = {
        let mut conn = state.pool.get().await?;
        followers::remove(&mut conn, &state.settings(), &form.actor).await?
    };
    if !removed {
        return Err(PageError::NotFound);
    }
    Ok(done_redirect("/admin/followers", "removed", &form.actor))
}
