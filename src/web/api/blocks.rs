//! Blocks in the API: list, block an actor or a server, lift a block.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::extract::{ApiJson, query};
use crate::blocks;
use crate::errors::JsonError;
use crate::models::block;
use crate::state::AppState;
use crate::web::auth::Admin;

pub(super) async fn list(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<serde_json::Value>, JsonError> {
    let mut conn = state.pool.get().await?;
    let blocks = block::list(&mut conn).await?;
    Ok(Json(json!({"blocks": blocks})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BlockBody {
    /// "actor" or "domain".
    kind: String,
    value: String,
    #[serde(default)]
    reason: Option<String>,
}

fn parse_block(kind: &str, value: &str) -> Result<(block::Kind, String), JsonError> {
    let kind = block::Kind::parse(kind).ok_or_else(|| {
        JsonError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind",
            format!("kind must be \"actor\" or \"domain\", not {kind:?}"),
        )
    })?;
    let value = block::parse_value(kind, value)
        .map_err(|e| JsonError::field(StatusCode::UNPROCESSABLE_ENTITY, "value", e.to_string()))?;
    Ok((kind, value))
}

/// `POST /api/v1/blocks` `{"kind": "actor"|"domain", "value": ..., "reason": ...}`.
pub(super) async fn add(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<BlockBody>,
) -> Result<Response, JsonError> {
    let (kind, value) = parse_block(&body.kind, &body.value)?;
    let mut conn = state.pool.get().await?;
    let added = blocks::add(&mut conn, kind, &value, body.reason.as_deref()).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"kind": kind.as_str(), "value": value, "created": added})),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UnblockParams {
    kind: String,
    value: String,
}

/// `DELETE /api/v1/blocks?kind=actor|domain&value=...`.
pub(super) async fn remove(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<UnblockParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, JsonError> {
    let params = query(params)?;
    let (kind, value) = parse_block(&params.kind, &params.value)?;
    let mut conn = state.pool.get().await?;
    if !block::remove(&mut conn, kind, &value).await? {
        return Err(JsonError::new(
            StatusCode::NOT_FOUND,
            format!("{value} is not blocked"),
        ));
    }
    Ok(Json(
        json!({"kind": kind.as_str(), "value": value, "removed": true}),
    ))
}
