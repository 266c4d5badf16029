//! Writing in the browser: the list of posts (by status, searched by title,
//! in pages), the editor for a new post and an existing one, with a preview
//! by the public page's renderer, and deleting with a confirmation. Every
//! change goes through [`crate::posts`], as from the CLI and the API (an
//! edit of a published post federates as an Update).

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{Owner, Pages, Paging};
use crate::models::post::{self, AuthorListing, PostStatus, StatusFilter};
use crate::posts::{self, PostEdit, PostError, PostInput, PostWithTags};
use crate::render::slug;
use crate::state::AppState;
use crate::urls;
use crate::web::error::PageError;
use crate::web::site::{SiteContext, site_context};

/// Posts per page of the list.
const PER_PAGE: i64 = 20;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    page: Option<i64>,
    /// The title of a post just deleted, to say so.
    deleted: Option<String>,
}

/// What `admin_posts.html` is given.
#[derive(Serialize)]
struct ListPage {
    site: SiteContext,
    csrf: String,
    posts: Vec<PostRow>,
    status: StatusFilter,
    statuses: &'static [StatusFilter],
    q: String,
    total: i64,
    #[serde(flatten)]
    pages: Pages,
    deleted: Option<String>,
}

#[derive(Serialize)]
struct PostRow {
    title: String,
    status: PostStatus,
    /// When a scheduled draft will be published, in the blog's time zone.
    scheduled: Option<String>,
    edit_url: String,
    /// The public page, once published.
    view_url: Option<String>,
    date: String,
}

/// `GET /admin/posts`.
pub(super) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(query) = query.map_err(|_| {
        PageError::BadRequest("This listing's address is not one the blog makes.".into())
    })?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => StatusFilter::All,
        Some(s) => StatusFilter::parse(s).ok_or_else(|| {
            PageError::BadRequest(format!("status must be {}", StatusFilter::one_of()))
        })?,
    };
    let paging = Paging::new(query.page, PER_PAGE)?;
    let q = query.q.unwrap_or_default();
    let listing = AuthorListing {
        status,
        title_contains: Some(q.as_str()),
    };
    let settings = &state.settings;
    let (total, rows) = {
        let mut conn = state.pool.get().await?;
        let total = post::count_for_author(&mut conn, listing).await?;
        (
            total,
            post::list_for_author(&mut conn, listing, PER_PAGE, paging.offset()).await?,
        )
    };
    let tz = settings.blog.time_zone;
    let posts = rows
        .into_iter()
        .map(|p| PostRow {
            scheduled: p.publish_at.map(|at| local_time(settings, at)),
            edit_url: edit_url(&p.slug),
            view_url: p.is_public().then(|| urls::post(settings, &p.slug)),
            date: p
                .published_at
                .unwrap_or(p.created_at)
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            status: p.status,
            title: p.title,
        })
        .collect();
    let pages = paging.around(total, |n: i64| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("status", status.as_str())
            .append_pair("q", &q)
            .append_pair("page", &n.to_string())
            .finish();
        format!("/admin/posts?{query}")
    })?;
    render(
        &state,
        "admin_posts.html",
        StatusCode::OK,
        ListPage {
            site: site_context(settings),
            csrf: owner.csrf,
            posts,
            status,
            statuses: StatusFilter::ALL,
            total,
            pages,
            q,
            deleted: query.deleted,
        },
    )
}

/// A time as the blog's owner reads it: in the blog's time zone.
fn local_time(settings: &crate::config::Settings, at: chrono::DateTime<chrono::Utc>) -> String {
    let tz = settings.blog.time_zone;
    format!(
        "{} ({})",
        at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
        tz.name()
    )
}

/// The form's `publish_at`, read in the blog's time zone; `None` when empty.
fn schedule_of(
    state: &AppState,
    form: &EditorForm,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, PostError> {
    use chrono::TimeZone;
    let text = form.publish_at.trim();
    if text.is_empty() || !matches!(form.action.as_str(), "schedule" | "draft") {
        return Ok(None);
    }
    let invalid = |message: String| PostError::Invalid {
        field: "publish_at",
        message,
    };
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| {
            invalid(format!(
                "{text:?} is not a date and time such as 2026-12-24T09:00"
            ))
        })?;
    let tz = state.settings.blog.time_zone;
    let at = tz
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| {
            invalid(format!(
                "{text} does not exist in {} (a clock change)",
                tz.name()
            ))
        })?
        .with_timezone(&chrono::Utc);
    if at <= chrono::Utc::now() {
        return Err(invalid("must be in the future".into()));
    }
    Ok(Some(at))
}

fn edit_url(slug: &str) -> String {
    format!("/admin/posts/{slug}/edit")
}

/// The editor's fields, named as in the JSON API; `tags` comma-separated.
#[derive(Debug, Default, Deserialize)]
pub(super) struct EditorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    language: String,
    /// When to publish (`YYYY-MM-DDTHH:MM` in the blog's time zone).
    #[serde(default)]
    publish_at: String,
    /// Which button: `preview`, `draft`, `publish`, `save`, `schedule` or
    /// `unschedule`.
    #[serde(default)]
    action: String,
}

impl EditorForm {
    fn tags(&self) -> Vec<String> {
        self.tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn of(item: &PostWithTags) -> Self {
        let p = &item.post;
        EditorForm {
            title: p.title.clone(),
            body: p.body_markdown.clone(),
            summary: p.summary.clone().unwrap_or_default(),
            tags: item
                .tags
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            language: p.language.clone().unwrap_or_default(),
            publish_at: String::new(),
            ..EditorForm::default()
        }
    }
}

/// What `admin_editor.html` is given.
#[derive(Serialize)]
struct EditorPage {
    site: SiteContext,
    csrf: String,
    /// `None` for a new post.
    post: Option<EditedPost>,
    title: String,
    body: String,
    summary: String,
    tags: String,
    language: String,
    publish_at: String,
    /// The blog's time zone, for the schedule field.
    time_zone: &'static str,
    /// The post's address: its slug now, or the one it will get.
    slug: String,
    preview: Option<PreviewContext>,
    error: Option<FieldError>,
    /// What was just done ("draft", "published", "updated").
    saved: Option<String>,
}

#[derive(Serialize)]
struct EditedPost {
    slug: String,
    status: PostStatus,
    /// When it is scheduled to be published, in the blog's time zone.
    scheduled: Option<String>,
    view_url: Option<String>,
    action: String,
    delete_url: String,
}

#[derive(Serialize)]
struct PreviewContext {
    title: String,
    html: String,
    excerpt: String,
}

#[derive(Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

#[derive(Deserialize)]
pub(super) struct EditorQuery {
    saved: Option<String>,
}

/// `GET /admin/posts/new`.
pub(super) async fn new(
    State(state): State<AppState>,
    owner: Owner,
) -> Result<Response, PageError> {
    editor(
        &state,
        owner,
        None,
        EditorForm::default(),
        None,
        None,
        None,
        StatusCode::OK,
    )
}

/// `POST /admin/posts/new`: preview, save as a draft or publish.
pub(super) async fn create(
    State(state): State<AppState>,
    owner: Owner,
    form: Result<Form<EditorForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(unreadable)?;
    owner.check_form(&state, &form.csrf)?;
    if form.action == "preview" {
        return preview(&state, owner, None, form).await;
    }
    let schedule = match schedule_of(&state, &form) {
        Ok(schedule) => schedule,
        Err(e) => return refused(&state, owner, None, form, e),
    };
    let input = PostInput {
        title: form.title.clone(),
        body: form.body.clone(),
        summary: Some(form.summary.clone()),
        tags: form.tags(),
        language: Some(form.language.clone()),
        draft: form.action != "publish",
    };
    let created = {
        let mut conn = state.pool.get().await?;
        match posts::create(&mut conn, &state.settings, input).await {
            Ok(item) if schedule.is_some() => {
                posts::schedule(&mut conn, &item.post.slug, schedule).await
            }
            other => other,
        }
    };
    match created {
        Ok(item) => {
            let saved = match (item.post.status, item.post.publish_at) {
                (PostStatus::Published, _) => "published",
                (_, Some(_)) => "scheduled",
                _ => "draft",
            };
            Ok(saved_redirect(&item.post.slug, saved))
        }
        Err(e) => refused(&state, owner, None, form, e),
    }
}

/// `GET /admin/posts/{slug}/edit`.
pub(super) async fn edit(
    State(state): State<AppState>,
    owner: Owner,
    Path(slug): Path<String>,
    Query(query): Query<EditorQuery>,
) -> Result<Response, PageError> {
    let item = load(&state, &slug).await?;
    let form = EditorForm::of(&item);
    let saved = query.saved.filter(|s| {
        matches!(
            s.as_str(),
            "draft" | "published" | "updated" | "scheduled" | "unscheduled"
        )
    });
    editor(
        &state,
        owner,
        Some(&item),
        form,
        None,
        None,
        saved,
        StatusCode::OK,
    )
}

/// `POST /admin/posts/{slug}/edit`: preview, save, or save and publish.
pub(super) async fn update(
    State(state): State<AppState>,
    owner: Owner,
    Path(slug): Path<String>,
    form: Result<Form<EditorForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(unreadable)?;
    owner.check_form(&state, &form.csrf)?;
    let item = load(&state, &slug).await?;
    if form.action == "preview" {
        return preview(&state, owner, Some(&item), form).await;
    }
    let edit = PostEdit {
        title: Some(form.title.clone()),
        body: Some(form.body.clone()),
        summary: Some(Some(form.summary.clone()).filter(|s| !s.trim().is_empty())),
        tags: Some(form.tags()),
        language: Some(Some(form.language.clone()).filter(|l| !l.trim().is_empty())),
    };
    let draft = item.post.status == PostStatus::Draft;
    let publish = form.action == "publish" && draft;
    let schedule = match form.action.as_str() {
        "schedule" if draft => match schedule_of(&state, &form) {
            Ok(Some(at)) => Some(Some(at)),
            Ok(None) => {
                let e = PostError::Invalid {
                    field: "publish_at",
                    message: "needs a date and a time".into(),
                };
                return refused(&state, owner, Some(&item), form, e);
            }
            Err(e) => return refused(&state, owner, Some(&item), form, e),
        },
        "unschedule" if draft => Some(None),
        _ => None,
    };
    let result = {
        let mut conn = state.pool.get().await?;
        match posts::edit(&mut conn, &state.settings, &slug, edit).await {
            Ok(edited) if publish => {
                posts::publish(&mut conn, &state.settings, &edited.post.slug).await
            }
            Ok(edited) if schedule.is_some() => {
                posts::schedule(&mut conn, &edited.post.slug, schedule.flatten()).await
            }
            other => other,
        }
    };
    match result {
        Ok(edited) => {
            let saved = match (publish, schedule) {
                (true, _) => "published",
                (_, Some(Some(_))) => "scheduled",
                (_, Some(None)) => "unscheduled",
                _ => "updated",
            };
            Ok(saved_redirect(&edited.post.slug, saved))
        }
        Err(e) => refused(&state, owner, Some(&item), form, e),
    }
}

/// The editor again, with the post as it would be shown.
async fn preview(
    state: &AppState,
    owner: Owner,
    item: Option<&PostWithTags>,
    form: EditorForm,
) -> Result<Response, PageError> {
    let summary = Some(form.summary.as_str()).filter(|s| !s.trim().is_empty());
    match posts::preview(&form.title, &form.body, summary) {
        Ok(preview) => {
            let context = PreviewContext {
                title: preview.title,
                html: preview.body_html,
                excerpt: preview.excerpt,
            };
            editor(
                state,
                owner,
                item,
                form,
                Some(context),
                None,
                None,
                StatusCode::OK,
            )
        }
        Err(e) => refused(state, owner, item, form, e),
    }
}

/// The editor again, with what was typed and why it was not taken.
fn refused(
    state: &AppState,
    owner: Owner,
    item: Option<&PostWithTags>,
    form: EditorForm,
    error: PostError,
) -> Result<Response, PageError> {
    match error {
        PostError::Invalid { field, message } => {
            let label = match field {
                "title" => "The title",
                "body" => "The text",
                "summary" => "The summary",
                "tags" => "The tags",
                "language" => "The language",
                "publish_at" => "The time to publish",
                other => other,
            };
            let error = FieldError {
                field,
                message: format!("{label} {message}"),
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            editor(state, owner, item, form, None, Some(error), None, status)
        }
        PostError::NotFound(_) => Err(PageError::NotFound),
        PostError::Database(e) => Err(PageError::Internal(e.to_string())),
    }
}

#[allow(clippy::too_many_arguments)]
fn editor(
    state: &AppState,
    owner: Owner,
    item: Option<&PostWithTags>,
    form: EditorForm,
    preview: Option<PreviewContext>,
    error: Option<FieldError>,
    saved: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let settings = &state.settings;
    let post = item.map(|item| {
        let p = &item.post;
        EditedPost {
            slug: p.slug.clone(),
            status: p.status,
            scheduled: p.publish_at.map(|at| local_time(settings, at)),
            view_url: p.is_public().then(|| urls::post(settings, &p.slug)),
            action: edit_url(&p.slug),
            delete_url: format!("/admin/posts/{}/delete", p.slug),
        }
    });
    // The address it has, or (new, or retitled) the one its title makes.
    let slug = match item {
        Some(item) if item.post.title == form.title.trim() => item.post.slug.clone(),
        _ => slug::slugify(&form.title, "post"),
    };
    render(
        state,
        "admin_editor.html",
        status,
        EditorPage {
            site: site_context(settings),
            csrf: owner.csrf,
            post,
            title: form.title,
            body: form.body,
            summary: form.summary,
            tags: form.tags,
            language: form.language,
            publish_at: form.publish_at,
            time_zone: settings.blog.time_zone.name(),
            slug,
            preview,
            error,
            saved,
        },
    )
}

#[derive(Serialize)]
struct DeletePage {
    site: SiteContext,
    csrf: String,
    title: String,
    published: bool,
    action: String,
    cancel_url: String,
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    #[serde(default)]
    csrf: String,
}

/// `GET /admin/posts/{slug}/delete`: are you sure?
pub(super) async fn confirm_delete(
    State(state): State<AppState>,
    owner: Owner,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let item = load(&state, &slug).await?;
    render(
        &state,
        "admin_delete.html",
        StatusCode::OK,
        DeletePage {
            site: site_context(&state.settings),
            csrf: owner.csrf,
            published: item.post.is_public(),
            action: format!("/admin/posts/{slug}/delete"),
            cancel_url: edit_url(&slug),
            title: item.post.title,
        },
    )
}

/// `POST /admin/posts/{slug}/delete`.
pub(super) async fn delete(
    State(state): State<AppState>,
    owner: Owner,
    Path(slug): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    let item = load(&state, &slug).await?;
    {
        let mut conn = state.pool.get().await?;
        posts::delete(&mut conn, &state.settings, &slug).await?;
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("deleted", &item.post.title)
        .finish();
    Ok(Redirect::to(&format!("/admin/posts?{query}")).into_response())
}

async fn load(state: &AppState, slug: &str) -> Result<PostWithTags, PageError> {
    if !slug::is_slug(slug) {
        return Err(PageError::NotFound);
    }
    let mut conn = state.pool.get().await?;
    Ok(posts::get(&mut conn, slug).await?)
}

fn saved_redirect(slug: &str, saved: &str) -> Response {
    Redirect::to(&format!("{}?saved={saved}", edit_url(slug))).into_response()
}

fn unreadable(rejection: FormRejection) -> PageError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => PageError::PayloadTooLarge,
        _ => PageError::BadRequest("The form could not be read.".into()),
    }
}

fn render(
    state: &AppState,
    template: &str,
    status: StatusCode,
    context: impl Serialize,
) -> Result<Response, PageError> {
    let html = state.templates.render(template, context)?;
    Ok((status, Html(html)).into_response())
}
