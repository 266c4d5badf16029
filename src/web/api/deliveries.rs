//! The delivery queue in the API: list, retry.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{Paging, choice, query};
use crate::errors::JsonError;
use crate::models::delivery::{self, DeliveryFilter};
use crate::state::AppState;
use crate::web::auth::Admin;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveryParams {
    state: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// `GET /api/v1/deliveries?state=unfinished|failing|given-up|delivered|all`.
pub(super) async fn list(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<DeliveryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, JsonError> {
    let params = query(params)?;
    let filter = choice("state", params.state.as_deref(), DeliveryFilter::Unfinished)?;
    let paging = Paging::new(params.page, params.per_page, 50, 500)?;
    let mut conn = state.pool.get().await?;
    let total = delivery::count(&mut conn, filter).await?;
    let rows = delivery::list(&mut conn, filter, paging.per_page, paging.offset()).await?;
    Ok(Json(serde_json::json!({
        "deliveries": rows,
        "page": paging.page,
        "per_page": paging.per_page,
        "total": total,
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetryBody {
    id: Option<i64>,
}

/// `POST /api/v1/deliveries/retry` with `{"id": N}` or `{}` for all.
pub(super) async fn retry(
    State(state): State<AppState>,
    _: Admin,
    body: Bytes,
) -> Result<Json<serde_json::Value>, JsonError> {
    let RetryBody { id } = if body.is_empty() {
        RetryBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| JsonError::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))?
    };
    let mut conn = state.pool.get().await?;
    let retried = delivery::retry_now(&mut conn, id).await?;
    if id.is_some() && retried == 0 {
        return Err(JsonError::new(
            StatusCode::NOT_FOUND,
            "no undelivered delivery with that id",
        ));
    }
    Ok(Json(serde_json::json!({"retried": retried})))
}
