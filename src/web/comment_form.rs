//! `POST /posts/{slug}/comments`: a reader's comment from the form under a
//! post. Checked in order: the form token (CSRF), the client's rate limit,
//! the honeypot, then the comment itself (by [`crate::comments`]).

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::client_ip::client_ip;
use super::csrf::BrowserId;
use super::error::PageError;
use super::pages::{FormInput, render_post};
use crate::comments::{self, CommentError, ReaderInput, Target};
use crate::models::comment;
use crate::models::post::{self, Post};
use crate::render::slug;
use crate::state::AppState;
use crate::urls;

/// The largest form body accepted (the fields' own limits are far smaller).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The form's fields; absent ones are empty.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CommentFields {
    name: String,
    website: String,
    comment: String,
    /// The id of the comment answered; empty for the post.
    parent: String,
    token: String,
    /// The honeypot: hidden from people, filled in by bots.
    subject: String,
}

const EXPIRED: &str = "This comment form has expired or did not come from this blog's page, \
     so your comment was not sent. Please reload the post's page and try again \
     (the form needs cookies to be allowed for this site).";

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CommentFields>, FormRejection>,
) -> Result<Response, PageError> {
    if !state.settings().comments.reader_comments || !slug::is_slug(&slug) {
        return Err(PageError::NotFound);
    }
    let Form(fields) = form.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => PageError::PayloadTooLarge,
        _ => PageError::BadRequest("The comment form could not be read.".into()),
    })?;
    let mut conn = state.pool.get().await?;
    let post = post::find_by_slug(&mut conn, &slug)
        .await?
        .filter(Post::is_public)
        .ok_or(PageError::NotFound)?;
    let browser = BrowserId::from_headers(&headers)
        .filter(|b| {
            state
                .form_secret
                .verify(&fields.token, b.as_str(), post.id, Utc::now())
        })
        .ok_or_else(|| PageError::Forbidden(EXPIRED.into()))?;
    let ip = client_ip(peer, &headers, state.settings().trust_proxy);
    state
        .comment_limiter
        .check(ip, Instant::now())
        .map_err(PageError::TooManyRequests)?;
    if !fields.subject.trim().is_empty() {
        tracing::info!(post = %slug, "comment form honeypot filled; dropped");
        return Ok(held(&state, &slug));
    }

    let mut input = FormInput {
        name: fields.name,
        website: fields.website,
        body: fields.comment,
        parent: None,
        error: None,
        held: false,
    };
    let parent = match fields.parent.trim() {
        "" => None,
        id => Some(id.parse::<i64>().map_err(|_| {
            PageError::BadRequest("The comment you answered is not a comment here.".into())
        })?),
    };
    if let Some(id) = parent {
        let shown = comment::visible_for_post(&mut conn, post.id).await?;
        if shown.iter().any(|c| c.id == id) {
            input.parent = Some(id);
        } else {
            input.error = Some(("parent", gone_parent()));
            return reject(&state, &mut conn, post, browser, input).await;
        }
    }
    let target = match input.parent {
        Some(id) => Target::Comment(id),
        None => Target::Post(slug.clone()),
    };
    let reader = ReaderInput {
        name: input.name.clone(),
        website: Some(input.website.clone()),
        body: input.body.clone(),
    };
    match comments::submit_reader_comment(&mut conn, &state.settings(), target, &reader).await {
        Ok(c) if c.is_visible() => {
            let to = urls::comment_anchor(&state.settings(), &slug, c.id);
            Ok(Redirect::to(&to).into_response())
        }
        Ok(_) => Ok(held(&state, &slug)),
        Err(CommentError::Invalid { field, message }) => {
            input.error = Some((field, field_message(field, &message)));
            reject(&state, &mut conn, post, browser, input).await
        }
        Err(CommentError::NotFound(_) | CommentError::Conflict(_)) => {
            input.parent = None;
            input.error = Some(("parent", gone_parent()));
            reject(&state, &mut conn, post, browser, input).await
        }
        Err(CommentError::Database(e)) => Err(e.into()),
    }
}

/// 303 to the post's form with the thanks for a comment that waits for approval.
fn held(state: &AppState, slug: &str) -> Response {
    let to = format!(
        "{}?comment=held#comment-form",
        urls::post(&state.settings(), slug)
    );
    Redirect::to(&to).into_response()
}

/// 422: the post page again, the reader's input in the form with what is wrong.
async fn reject(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    post: Post,
    browser: BrowserId,
    input: FormInput,
) -> Result<Response, PageError> {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    render_post(state, conn, post, Some(browser), input, status).await
}

fn gone_parent() -> String {
    "The comment you are answering is no longer shown. Your comment was not sent; \
     you can send it as a comment on the post."
        .into()
}

/// The service's message about a field, as a sentence for the reader.
fn field_message(field: &str, message: &str) -> String {
    let label = match field {
        "name" => "Your name",
        "website" => "The website",
        "body" => "The comment",
        _ => "The form",
    };
    format!("{label} {message}.")
}
