//! Moderation in the browser: the comments, held ones first by default,
//! filtered by state and post, each with its post, what it answers, its
//! author and server and why it was held; approve, reject as spam, delete,
//! answer as the blog, block the author or their server. Every action goes
//! through [`crate::comments`] and the blocks' model, as from the CLI and
//! the API.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{Listing, Owner, Pages, Paging};
use crate::blocks;
use crate::comments::{self, CommentError, Target};
use crate::models::block;
use crate::models::comment::{
    self, Comment, ListFilter, Origin, State as CommentState, StateFilter,
};
use crate::models::delivery::instance_of;
use crate::models::post;
use crate::render::sanitize;
use crate::state::AppState;
use crate::urls;
use crate::web::error::PageError;
use crate::web::site::{SiteContext, site_context};

/// Comments per page.
const PER_PAGE: i64 = 20;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    state: Option<String>,
    post: Option<String>,
    page: Option<i64>,
    /// What was just done, to say so.
    done: Option<String>,
}

/// What `admin_comments.html` is given.
#[derive(Serialize)]
struct CommentsPage {
    site: SiteContext,
    csrf: String,
    comments: Vec<CommentRow>,
    state: StateFilter,
    states: &'static [StateFilter],
    post: String,
    total: i64,
    #[serde(flatten)]
    pages: Pages,
    /// This listing's address, for the actions to come back to.
    back: String,
    done: Option<&'static str>,
    /// The words that hold a comment whatever the policy.
    hold_keywords: Vec<String>,
}

#[derive(Serialize)]
struct CommentRow {
    id: i64,
    state: CommentState,
    origin: Origin,
    author: String,
    /// Where the author's profile (or website) is.
    author_link: Option<String>,
    /// The author's server, for a comment from the fediverse.
    server: Option<String>,
    post_title: String,
    post_url: String,
    /// The comment it answers: who, and the start of what they wrote.
    parent: Option<String>,
    html: String,
    held_because: Option<String>,
    published: String,
    can_approve: bool,
    can_reject: bool,
    can_delete: bool,
    can_block: bool,
}

/// `GET /admin/comments`.
pub(super) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    Listing(query): Listing<ListQuery>,
) -> Result<Response, PageError> {
    let filter_state = match query.state.as_deref().filter(|s| !s.is_empty()) {
        None => StateFilter::Pending,
        Some(s) => StateFilter::parse(s).ok_or_else(|| {
            PageError::BadRequest(format!("state must be {}", StateFilter::one_of()))
        })?,
    };
    let paging = Paging::new(query.page, PER_PAGE)?;
    let post_slug = query.post.unwrap_or_default();
    let settings = &state.settings();
    let mut conn = state.pool.get().await?;
    let post_id = match post_slug.trim() {
        "" => None,
        slug => Some(
            post::find_by_slug(&mut conn, slug)
                .await?
                .ok_or(PageError::NotFound)?
                .id,
        ),
    };
    let filter = ListFilter {
        state: filter_state.state(),
        post_id,
    };
    let total = comment::count(&mut conn, &filter).await?;
    let rows = comment::list(&mut conn, &filter, PER_PAGE, paging.offset()).await?;
    let post_ids: Vec<i64> = rows.iter().map(|c| c.post_id).collect();
    let headings = post::headings_by_id(&mut conn, &post_ids).await?;
    let parent_ids: Vec<i64> = rows.iter().filter_map(|c| c.parent_id).collect();
    let parents: HashMap<i64, Comment> = comment::find_many(&mut conn, &parent_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    drop(conn);
    let tz = settings.blog.time_zone;
    let comments = rows
        .into_iter()
        .map(|c| {
            let (slug, title) = headings.get(&c.post_id).cloned().unwrap_or_default();
            let remote = c.origin == Origin::Remote;
            CommentRow {
                id: c.id,
                state: c.state,
                origin: c.origin,
                author: c.display_name(),
                author_link: match c.origin {
                    Origin::Remote => Some(c.author_ap_id.clone()),
                    Origin::Reader => c.reader_website.clone(),
                    Origin::Author => None,
                },
                server: remote.then(|| instance_of(&c.author_ap_id)),
                post_title: title,
                post_url: urls::post(settings, &slug),
                parent: c
                    .parent_id
                    .and_then(|id| parents.get(&id))
                    .map(|p| format!("{}: {}", p.display_name(), excerpt(&p.content_html))),
                html: c.content_html.clone(),
                held_because: c
                    .moderation_note
                    .clone()
                    .filter(|_| c.state == CommentState::Pending),
                published: c
                    .published_at
                    .with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                can_approve: matches!(c.state, CommentState::Pending | CommentState::Rejected),
                can_reject: matches!(c.state, CommentState::Pending | CommentState::Approved)
                    && c.origin != Origin::Author,
                can_delete: c.state != CommentState::Deleted,
                can_block: remote,
            }
        })
        .collect();
    let listing_url = |n: i64| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", filter_state.as_str())
            .append_pair("post", &post_slug)
            .append_pair("page", &n.to_string())
            .finish();
        format!("/admin/comments?{query}")
    };
    let html = state.templates.render(
        "admin_comments.html",
        CommentsPage {
            site: site_context(settings),
            csrf: owner.csrf,
            comments,
            state: filter_state,
            states: StateFilter::ALL,
            total,
            back: listing_url(paging.page),
            pages: paging.around(total, listing_url)?,
            post: post_slug,
            done: query.done.as_deref().and_then(done_message),
            hold_keywords: settings.comments.hold_keywords.clone(),
        },
    )?;
    Ok(Html(html).into_response())
}

/// The start of a comment's text, without markup.
pub(super) fn excerpt(html: &str) -> String {
    sanitize::one_line(&sanitize::plain_text(html), 140)
}

fn done_message(done: &str) -> Option<&'static str> {
    Some(match done {
        "approve" => "Approved: the comment is shown.",
        "reject" => "Rejected as spam: hidden for good.",
        "delete" => "Deleted.",
        "reply" => "Your answer is published under the comment.",
        "block-author" => {
            "The author is blocked: their comments are hidden, their activities refused."
        }
        "block-server" => {
            "The server is blocked: its people's comments are hidden, its activities refused."
        }
        _ => return None,
    })
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// The listing to come back to.
    #[serde(default)]
    back: String,
    /// For `reply`.
    #[serde(default)]
    text: String,
}

/// `POST /admin/comments/{id}/{action}`.
pub(super) async fn act(
    State(state): State<AppState>,
    owner: Owner,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    let settings = &state.settings();
    let mut conn = state.pool.get().await?;
    let done: &'static str = match action.as_str() {
        "approve" => {
            comments::approve(&mut conn, settings, id)
                .await
                .map_err(page_error)?;
            "approve"
        }
        "reject" => {
            comments::reject(&mut conn, settings, id)
                .await
                .map_err(page_error)?;
            "reject"
        }
        "delete" => {
            comments::delete(&mut conn, settings, id)
                .await
                .map_err(page_error)?;
            "delete"
        }
        "reply" => {
            comments::reply_as_author(&mut conn, settings, Target::Comment(id), &form.text)
                .await
                .map_err(page_error)?;
            "reply"
        }
        "block-author" | "block-server" => {
            let c = comment::find(&mut conn, id)
                .await?
                .filter(|c| c.origin == Origin::Remote)
                .ok_or(PageError::NotFound)?;
            let reason = format!("from the comment {id}");
            let (kind, value) = if action == "block-author" {
                (block::Kind::Actor, c.author_ap_id.clone())
            } else {
                let domain = block::parse_domain(&instance_of(&c.author_ap_id))
                    .map_err(|e| PageError::BadRequest(e.to_string()))?;
                (block::Kind::Domain, domain)
            };
            blocks::add(&mut conn, kind, &value, Some(&reason)).await?;
            if action == "block-author" {
                "block-author"
            } else {
                "block-server"
            }
        }
        _ => return Err(PageError::NotFound),
    };
    drop(conn);
    let back = Some(form.back.as_str())
        .filter(|b| b.starts_with("/admin/comments") && !b.contains("//"))
        .unwrap_or("/admin/comments");
    let separator = if back.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{back}{separator}done={done}")).into_response())
}

fn page_error(e: CommentError) -> PageError {
    match e {
        CommentError::Invalid { .. } => PageError::BadRequest(e.to_string()),
        CommentError::NotFound(_) => PageError::NotFound,
        CommentError::Conflict(message) => PageError::BadRequest(message),
        CommentError::Database(e) => PageError::Internal(e.to_string()),
    }
}
