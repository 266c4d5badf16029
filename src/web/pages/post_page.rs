//! A post's page (and a comment's, which is the post's page at that
//! comment), with its reactions and the comment form.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Serialize;

use super::thread::{
    CommentContext, ThreadView, cached_avatars, count_comments, find_comment, threaded,
};
use super::{PostContext, SiteContext, html_page, post_context, site_context};
use crate::comments;
use crate::config::{CommentPolicy, Settings};
use crate::federation::negotiate::wants_activity_json;
use crate::models::comment;
use crate::models::post;
use crate::models::reaction;
use crate::posts;
use crate::render::slug;
use crate::state::AppState;
use crate::urls;
use crate::web::activitypub;
use crate::web::csrf::BrowserId;
use crate::web::error::PageError;

/// How many faces of likers and boosters a post page shows.
pub(super) const REACTION_FACES: i64 = 24;

/// What `post.html` is given.
#[derive(Serialize)]
struct PostPage {
    site: SiteContext,
    post: PostContext,
    comment_count: usize,
    comments: Vec<CommentContext>,
    reactions: ReactionsContext,
    comment_form: Option<FormContext>,
}

/// Likes, boosts and quotes of a post: how many, and who (the newest few).
#[derive(Serialize)]
struct ReactionsContext {
    likes: Reactions,
    boosts: Reactions,
    quotes: Reactions,
}

#[derive(Serialize)]
struct Reactions {
    count: i64,
    people: Vec<Link>,
}

/// A name linking somewhere: a person's profile, a quoting post, a comment.
#[derive(Serialize)]
struct Link {
    name: String,
    link: String,
}

async fn reactions_context(
    conn: &mut diesel_async::AsyncPgConnection,
    post_id: i64,
) -> Result<ReactionsContext, PageError> {
    let target = reaction::Target {
        post_id,
        comment_id: None,
    };
    let mut people = async |kind| -> Result<Reactions, PageError> {
        let count = reaction::count(conn, target, kind).await?;
        let people = match kind {
            reaction::Kind::Quote => reaction::quotes(conn, post_id, REACTION_FACES)
                .await?
                .into_iter()
                .map(|(note, name)| Link { name, link: note })
                .collect(),
            _ => reaction::people(conn, post_id, kind, REACTION_FACES)
                .await?
                .into_iter()
                .map(|(actor, display)| Link {
                    name: display.unwrap_or_else(|| actor.clone()),
                    link: actor,
                })
                .collect(),
        };
        Ok(Reactions { count, people })
    };
    Ok(ReactionsContext {
        likes: people(reaction::Kind::Like).await?,
        boosts: people(reaction::Kind::Announce).await?,
        quotes: people(reaction::Kind::Quote).await?,
    })
}

/// `GET /comments/{id}`: the comment's Note for servers, its place on the
/// post's page for people.
pub async fn show_comment(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let as_json = wants_activity_json(&headers);
    match crate::web::activitypub::thread::comment_document(&state, id, as_json).await {
        Ok(response) => response,
        Err(e) if as_json => e.into_response(),
        Err(e) if e.status == StatusCode::NOT_FOUND => PageError::NotFound.into_response(),
        Err(e) => PageError::Internal(e.message).into_response(),
    }
}

pub async fn show_post(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if !slug::is_slug(&slug) {
        return Err(PageError::NotFound);
    }
    if wants_activity_json(&headers) {
        return Ok(activitypub::post_json(&state, &slug).await.into_response());
    }
    let mut conn = state.pool.get().await?;
    match post::find_by_slug(&mut conn, &slug).await? {
        Some(row) if row.deleted_at.is_some() => Err(PageError::Gone),
        Some(row) if row.is_public() => {
            let form = FormInput::from_query(query.as_deref());
            let browser = BrowserId::from_headers(&headers);
            render_post(&state, &mut conn, row, browser, form, StatusCode::OK).await
        }
        Some(_draft) => Err(PageError::NotFound),
        None => match post::redirect_target(&mut conn, &slug).await? {
            Some(current) => {
                Ok(Redirect::permanent(&urls::post(&state.settings(), &current)).into_response())
            }
            None => Err(PageError::NotFound),
        },
    }
}

/// What the comment form shows: a fresh form (perhaps answering a comment,
/// perhaps with the thanks for a held comment), or a reader's input back
/// with what was wrong with it.
#[derive(Debug, Default)]
pub struct FormInput {
    pub name: String,
    pub website: String,
    pub body: String,
    /// The comment being answered (ignored unless it is shown under the post).
    pub parent: Option<i64>,
    /// The field at fault and the message for the reader.
    pub error: Option<(&'static str, String)>,
    /// The comment just sent waits for approval.
    pub held: bool,
}

impl FormInput {
    /// `?reply_to=ID` and `?comment=held`; anything else is ignored, so that
    /// a stale or mistyped link still shows the post.
    fn from_query(query: Option<&str>) -> Self {
        let mut form = FormInput::default();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*key {
                "reply_to" => form.parent = value.parse().ok(),
                "comment" => form.held = value == "held",
                _ => {}
            }
        }
        form
    }
}

/// Renders a public post's page with its comments and the comment form;
/// a browser without a form cookie gets one.
pub async fn render_post(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    row: post::Post,
    browser: Option<BrowserId>,
    form: FormInput,
    status: StatusCode,
) -> Result<Response, PageError> {
    let settings = &state.settings();
    let comments = comment::visible_for_post(conn, row.id).await?;
    let view = ThreadView {
        attachments: &state.attachments,
        settings,
        post_slug: &row.slug,
        counts: reaction::counts_for_comments(conn, row.id).await?,
        replies: settings.comments.reader_comments,
        avatars: cached_avatars(state, conn, &comments).await?,
    };
    let thread = threaded(&view, &comments);
    let reactions = reactions_context(conn, row.id).await?;
    let (new_browser, form_context) = if settings.comments.reader_comments {
        let (browser, is_new) = match browser {
            Some(b) => (b, false),
            None => (BrowserId::generate(), true),
        };
        let token = state
            .form_secret
            .issue(browser.as_str(), row.id, Utc::now());
        let context = form_context(settings, &row.slug, &thread, form, token);
        (is_new.then_some(browser), Some(context))
    } else {
        (None, None)
    };
    let item = posts::with_tags(conn, row).await?;
    let mut response = html_page(
        state,
        "post.html",
        PostPage {
            site: site_context(settings),
            post: post_context(settings, item, true),
            comment_count: count_comments(&thread),
            comments: thread,
            reactions,
            comment_form: form_context,
        },
    )?;
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(browser) = new_browser {
        let secure = settings.url("/").starts_with("https:");
        headers.insert(header::SET_COOKIE, browser.set_cookie(secure));
    }
    if settings.comments.reader_comments {
        // The form's token belongs to one browser: no shared caches.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }
    Ok(response)
}

/// The reader's comment form: where it posts, what was typed, what went wrong.
#[derive(Serialize)]
struct FormContext {
    action: String,
    cancel_url: String,
    token: String,
    name: String,
    website: String,
    body: String,
    /// The comment being answered.
    parent: Option<ParentLink>,
    error: Option<FieldError>,
    held: bool,
    moderated: bool,
    max_name: usize,
    max_website: usize,
    max_body: usize,
}

#[derive(Serialize)]
struct ParentLink {
    id: i64,
    name: String,
    url: String,
}

#[derive(Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

fn form_context(
    settings: &Settings,
    slug: &str,
    thread: &[CommentContext],
    form: FormInput,
    token: String,
) -> FormContext {
    let post_url = urls::post(settings, slug);
    let parent = form
        .parent
        .and_then(|id| find_comment(thread, id))
        .map(|c| ParentLink {
            id: c.id,
            name: c.author_name.clone(),
            url: format!("#comment-{}", c.id),
        });
    FormContext {
        action: format!("{post_url}/comments"),
        cancel_url: format!("{post_url}#comment-form"),
        token,
        name: form.name,
        website: form.website,
        body: form.body,
        parent,
        error: form
            .error
            .map(|(field, message)| FieldError { field, message }),
        held: form.held,
        moderated: settings.comments.reader_policy != CommentPolicy::ApproveAll,
        max_name: comments::MAX_NAME_CHARS,
        max_website: comments::MAX_WEBSITE_CHARS,
        max_body: comments::MAX_COMMENT_CHARS,
    }
}
