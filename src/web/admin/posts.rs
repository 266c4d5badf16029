//! Writing in the browser: the list of posts (by status, searched by title,
//! in pages), the editor for a new post and an existing one, with a preview
//! by the public page's renderer, and deleting with a confirmation. Every
//! change goes through [`crate::posts`], as from the CLI and the API (an
//! edit of a published post federates as an Update).

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};

use super::{Listing, Owner, Pages, Paging, done_redirect};
use crate::errors::JsonError;
use crate::media::{self, MediaError};
use crate::models::post::{self, AuthorListing, PostStatus, StatusFilter};
use crate::posts::{self, PostEdit, PostError, PostInput, PostWithTags};
use crate::render::slug;
use crate::state::AppState;
use crate::urls;
use crate::web::error::PageError;
use crate::web::multipart::{self as upload, UploadedFile};
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
    Listing(query): Listing<ListQuery>,
) -> Result<Response, PageError> {
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
    let settings = &state.settings();
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
    let tz = state.settings().blog.time_zone;
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
    /// The description of the picture being added.
    #[serde(default)]
    image_alt: String,
    /// Which button: `preview`, `draft`, `publish`, `save`, `schedule`,
    /// `unschedule` or `upload` (add the chosen picture, save nothing).
    #[serde(default)]
    action: String,
}

/// The editor's form as sent: URL-encoded, or (from the page, which can
/// carry a picture) multipart with the picture in `image`.
pub(super) struct Submission {
    form: EditorForm,
    image: Option<UploadedFile>,
}

impl FromRequest<AppState> for Submission {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let Form(form) = Form::<EditorForm>::from_request(request, state)
                .await
                .map_err(unreadable)?;
            return Ok(Submission { form, image: None });
        }
        let multipart = Multipart::from_request(request, state)
            .await
            .map_err(|_| PageError::BadRequest("The form could not be read.".into()))?;
        let mut sent =
            upload::read(multipart, &["image"], state.settings().max_upload_bytes).await?;
        let form = EditorForm {
            csrf: sent.text("csrf"),
            title: sent.text("title"),
            body: sent.text("body"),
            summary: sent.text("summary"),
            tags: sent.text("tags"),
            language: sent.text("language"),
            publish_at: sent.text("publish_at"),
            image_alt: sent.text("image_alt"),
            action: sent.text("action"),
        };
        Ok(Submission {
            form,
            image: sent.take_file("image"),
        })
    }
}

/// Stores the picture sent with the form, if one was, and puts it at the
/// end of the text: `Ok(Ok(true))` when one was added, `Ok(Err(_))` when
/// the picture was refused (the form says why), `Err(_)` when storing it
/// failed.
async fn add_picture(
    state: &AppState,
    form: &mut EditorForm,
    image: Option<UploadedFile>,
) -> Result<Result<bool, PostError>, PageError> {
    let refused = |field, message| Ok(Err(PostError::Invalid { field, message }));
    let Some(file) = image else {
        if form.action == "upload" {
            return refused("image", "was not chosen: choose one first".into());
        }
        return Ok(Ok(false));
    };
    match super::media::store(state, file, &form.image_alt).await {
        Ok(stored) => {
            let markdown = media::markdown(&stored, &form.image_alt);
            let body = form.body.trim_end();
            form.body = if body.is_empty() {
                format!("{markdown}\n")
            } else {
                format!("{body}\n\n{markdown}\n")
            };
            form.image_alt.clear();
            Ok(Ok(true))
        }
        Err(MediaError::Rejected(why)) => refused("image", why.to_string()),
        Err(MediaError::AltTooLong) => refused(
            "image_alt",
            format!("is longer than {} characters", media::MAX_ALT_CHARS),
        ),
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
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
    image_alt: String,
    /// The blog's time zone, for the schedule field.
    time_zone: &'static str,
    /// The post's address: its slug now, or the one it will get.
    slug: String,
    preview: Option<PreviewContext>,
    error: Option<FieldError>,
    /// What was just done ("draft", "published", "updated").
    saved: Option<String>,
    /// A picture was just put at the end of the text (not saved yet).
    inserted: bool,
    max_upload_mb: usize,
}

/// What the editor shows besides the form.
#[derive(Default)]
struct View {
    preview: Option<PreviewContext>,
    error: Option<FieldError>,
    saved: Option<String>,
    inserted: bool,
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
        View::default(),
        StatusCode::OK,
    )
}

/// `POST /admin/posts/new`: preview, add a picture, save as a draft,
/// schedule or publish.
pub(super) async fn create(
    State(state): State<AppState>,
    owner: Owner,
    Submission { mut form, image }: Submission,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    let inserted = match add_picture(&state, &mut form, image).await? {
        Ok(inserted) => inserted,
        Err(e) => return refused(&state, owner, None, form, e),
    };
    if form.action == "preview" || form.action == "upload" {
        return preview(&state, owner, None, form, inserted).await;
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
        match posts::create(&mut conn, &state.settings(), input).await {
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
            "draft" | "published" | "updated" | "scheduled" | "unscheduled" | "unpublished"
        )
    });
    let view = View {
        saved,
        ..View::default()
    };
    editor(&state, owner, Some(&item), form, view, StatusCode::OK)
}

/// `POST /admin/posts/{slug}/edit`: preview, add a picture, save, save and
/// publish, schedule, or save and unpublish.
pub(super) async fn update(
    State(state): State<AppState>,
    owner: Owner,
    Path(slug): Path<String>,
    Submission { mut form, image }: Submission,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    let item = load(&state, &slug).await?;
    let inserted = match add_picture(&state, &mut form, image).await? {
        Ok(inserted) => inserted,
        Err(e) => return refused(&state, owner, Some(&item), form, e),
    };
    if form.action == "preview" || form.action == "upload" {
        return preview(&state, owner, Some(&item), form, inserted).await;
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
    let unpublish = form.action == "unpublish" && !draft;
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
    // The edit and what the button asks for, together or not at all.
    let settings = state.settings();
    let result = {
        let mut conn = state.pool.get().await?;
        conn.transaction::<_, PostError, _>(async |conn| {
            if unpublish {
                // Unpublished first, so the edit sends no Update.
                let draft = posts::unpublish(conn, &settings, &slug).await?;
                return posts::edit(conn, &settings, &draft.post.slug, edit).await;
            }
            let edited = posts::edit(conn, &settings, &slug, edit).await?;
            if publish {
                return posts::publish(conn, &settings, &edited.post.slug).await;
            }
            match schedule {
                Some(at) => posts::schedule(conn, &edited.post.slug, at).await,
                None => Ok(edited),
            }
        })
        .await
    };
    match result {
        Ok(edited) => {
            let saved = match (publish, unpublish, schedule) {
                (true, _, _) => "published",
                (_, true, _) => "unpublished",
                (_, _, Some(Some(_))) => "scheduled",
                (_, _, Some(None)) => "unscheduled",
                _ => "updated",
            };
            Ok(saved_redirect(&edited.post.slug, saved))
        }
        Err(e) => refused(&state, owner, Some(&item), form, e),
    }
}

#[derive(Deserialize)]
pub(super) struct PreviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    summary: String,
}

#[derive(Serialize)]
struct PreviewAnswer {
    title: String,
    html: String,
    excerpt: String,
}

/// `POST /admin/posts/preview`: the editor's live preview (its script),
/// rendered as the public page renders it; JSON.
pub(super) async fn live_preview(
    State(state): State<AppState>,
    owner: Owner,
    form: Result<Form<PreviewForm>, FormRejection>,
) -> Result<Response, JsonError> {
    let Form(form) = form.map_err(|e| JsonError::new(e.status(), e.body_text()))?;
    owner.check_form(&state, &form.csrf)?;
    let summary = Some(form.summary.as_str()).filter(|s| !s.trim().is_empty());
    match posts::preview(&form.title, &form.body, summary) {
        Ok(preview) => Ok(Json(PreviewAnswer {
            title: preview.title,
            html: preview.body_html,
            excerpt: preview.excerpt,
        })
        .into_response()),
        Err(PostError::Invalid { field, message }) => Err(JsonError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
            message,
        )),
        Err(e) => Err(JsonError::internal(e)),
    }
}

/// The editor again, with the post as it would be shown.
async fn preview(
    state: &AppState,
    owner: Owner,
    item: Option<&PostWithTags>,
    form: EditorForm,
    inserted: bool,
) -> Result<Response, PageError> {
    let summary = Some(form.summary.as_str()).filter(|s| !s.trim().is_empty());
    match posts::preview(&form.title, &form.body, summary) {
        Ok(preview) => {
            let view = View {
                preview: Some(PreviewContext {
                    title: preview.title,
                    html: preview.body_html,
                    excerpt: preview.excerpt,
                }),
                inserted,
                ..View::default()
            };
            editor(state, owner, item, form, view, StatusCode::OK)
        }
        // Adding a picture to a post without a title yet: no preview.
        Err(PostError::Invalid { .. }) if inserted => {
            let view = View {
                inserted,
                ..View::default()
            };
            editor(state, owner, item, form, view, StatusCode::OK)
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
                "image" => "The picture",
                "image_alt" => "The picture's description",
                other => other,
            };
            let view = View {
                error: Some(FieldError {
                    field,
                    message: format!("{label} {message}"),
                }),
                ..View::default()
            };
            editor(
                state,
                owner,
                item,
                form,
                view,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        PostError::NotFound(_) => Err(PageError::NotFound),
        PostError::Database(e) => Err(PageError::Internal(e.to_string())),
    }
}

fn editor(
    state: &AppState,
    owner: Owner,
    item: Option<&PostWithTags>,
    form: EditorForm,
    view: View,
    status: StatusCode,
) -> Result<Response, PageError> {
    let settings = &state.settings();
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
            image_alt: form.image_alt,
            time_zone: settings.blog.time_zone.name(),
            slug,
            preview: view.preview,
            error: view.error,
            saved: view.saved,
            inserted: view.inserted,
            max_upload_mb: settings.max_upload_bytes / (1024 * 1024),
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
            site: site_context(&state.settings()),
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
        posts::delete(&mut conn, &state.settings(), &slug).await?;
    }
    Ok(done_redirect("/admin/posts", "deleted", &item.post.title))
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
