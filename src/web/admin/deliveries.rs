//! `/admin/deliveries`: what did not reach other servers yet, per server:
//! waiting, failing (with the last error), given up; and "retry now".

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::Owner;
use crate::models::delivery::{self, InstanceQueue};
use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::site::{SiteContext, site_context};

/// Servers listed at most.
const SERVERS: i64 = 200;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    /// How many deliveries were just made due, to say so.
    retried: Option<usize>,
}

#[derive(Serialize)]
struct DeliveriesPage {
    site: SiteContext,
    csrf: String,
    servers: Vec<ServerRow>,
    retried: Option<usize>,
}

#[derive(Serialize)]
struct ServerRow {
    #[serde(flatten)]
    queue: InstanceQueue,
    next_attempt: Option<String>,
}

/// `GET /admin/deliveries`.
pub(super) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let rows = {
        let mut conn = state.pool.get().await?;
        delivery::per_instance(&mut conn, SERVERS).await?
    };
    let tz = state.settings().blog.time_zone;
    let servers = rows
        .into_iter()
        .map(|queue| ServerRow {
            next_attempt: queue
                .next_attempt_at
                .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()),
            queue,
        })
        .collect();
    let html = state.templates.render(
        "admin_deliveries.html",
        DeliveriesPage {
            site: site_context(&state.settings()),
            csrf: owner.csrf,
            servers,
            retried: query.retried,
        },
    )?;
    Ok(Html(html).into_response())
}

#[derive(Deserialize)]
pub(super) struct RetryForm {
    #[serde(default)]
    csrf: String,
    /// One server (`host[:port]`); empty: all of them.
    #[serde(default)]
    instance: String,
}

/// `POST /admin/deliveries/retry`: due now, given-up ones too.
pub(super) async fn retry(
    State(state): State<AppState>,
    owner: Owner,
    Form(form): Form<RetryForm>,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    let n = {
        let mut conn = state.pool.get().await?;
        match form.instance.trim() {
            "" => delivery::retry_now(&mut conn, None).await?,
            instance => delivery::retry_instance(&mut conn, instance).await?,
        }
    };
    Ok(Redirect::to(&format!("/admin/deliveries?retried={n}")).into_response())
}
