//! `/admin/followers`: who follows the blog, from which server, since when;
//! removing one.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{Owner, Pages, Paging};
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
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(query) = query.map_err(|_| {
        PageError::BadRequest("This listing's address is not one the blog makes.".into())
    })?;
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
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("removed", &form.actor)
        .finish();
    Ok(Redirect::to(&format!("/admin/followers?{query}")).into_response())
}
