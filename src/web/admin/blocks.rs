//! `/admin/blocks`: who may not talk to the blog. Block an actor or a
//! server, lift a block, and import a server blocklist exported by
//! Mastodon, with a preview of what the import will do first.

use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{Listing, Owner, Pages, Paging, done_redirect};
use crate::blocks::{self, Planned};
use crate::models::block::{self, Kind};
use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::multipart as upload;
use crate::web::site::{SiteContext, site_context};

/// Blocks per page.
const PER_PAGE: i64 = 50;
/// The largest blocklist file taken.
pub const MAX_LIST_BYTES: usize = 2 * 1024 * 1024;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    page: Option<i64>,
    added: Option<String>,
    removed: Option<String>,
    imported: Option<usize>,
}

#[derive(Serialize)]
struct BlocksPage {
    site: SiteContext,
    csrf: String,
    blocks: Vec<Row>,
    total: i64,
    #[serde(flatten)]
    pages: Pages,
    #[serde(flatten)]
    notices: Notices,
}

/// What the page says besides the list.
#[derive(Serialize, Default)]
struct Notices {
    added: Option<String>,
    removed: Option<String>,
    imported: Option<usize>,
    /// The add form, as typed (after a refusal).
    kind: String,
    value: String,
    reason: String,
    error: Option<String>,
    /// The import's preview.
    preview: Option<Preview>,
    import_error: Option<String>,
}

#[derive(Serialize)]
struct Row {
    kind: Kind,
    value: String,
    reason: String,
    since: String,
}

#[derive(Serialize, Default)]
struct Preview {
    /// The list, sent back with the confirmation.
    list: String,
    include_limited: bool,
    to_block: Vec<(String, String)>,
    already: Vec<String>,
    skipped: Vec<(usize, String, String)>,
}

/// `GET /admin/blocks`.
pub(super) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    Listing(query): Listing<ListQuery>,
) -> Result<Response, PageError> {
    let page = Notices {
        added: query.added,
        removed: query.removed,
        imported: query.imported,
        kind: "domain".into(),
        ..Notices::default()
    };
    render(&state, owner, query.page, page, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    owner: Owner,
    page_number: Option<i64>,
    notices: Notices,
    status: StatusCode,
) -> Result<Response, PageError> {
    let paging = Paging::new(page_number, PER_PAGE)?;
    let (total, rows) = {
        let mut conn = state.pool.get().await?;
        (
            block::count(&mut conn).await?,
            block::page(&mut conn, PER_PAGE, paging.offset()).await?,
        )
    };
    let settings = state.settings();
    let tz = settings.blog.time_zone;
    let page = BlocksPage {
        pages: paging.around(total, |n| format!("/admin/blocks?page={n}"))?,
        total,
        blocks: rows
            .into_iter()
            .map(|b| Row {
                kind: b.kind,
                since: b
                    .created_at
                    .with_timezone(&tz)
                    .format("%Y-%m-%d")
                    .to_string(),
                reason: b.reason.unwrap_or_default(),
                value: b.value,
            })
            .collect(),
        site: site_context(&settings),
        csrf: owner.csrf,
        notices,
    };
    let html = state.templates.render("admin_blocks.html", page)?;
    Ok((status, Html(html)).into_response())
}

#[derive(Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    reason: String,
}

/// `POST /admin/blocks`: block an actor or a server.
pub(super) async fn add(
    State(state): State<AppState>,
    owner: Owner,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    let kind = Kind::parse(&form.kind)
        .ok_or_else(|| PageError::BadRequest("kind must be actor or domain".into()))?;
    let value = match block::parse_value(kind, &form.value) {
        Ok(value) => value,
        Err(e) => {
            let page = Notices {
                error: Some(format!("Not blocked: {e}.")),
                kind: form.kind,
                value: form.value,
                reason: form.reason,
                ..Notices::default()
            };
            return render(&state, owner, None, page, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
    {
        let mut conn = state.pool.get().await?;
        blocks::add(&mut conn, kind, &value, reason).await?;
    }
    Ok(done_redirect("/admin/blocks", "added", &value))
}

#[derive(Deserialize)]
pub(super) struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
}

/// `POST /admin/blocks/remove`: lift a block.
pub(super) async fn remove(
    State(state): State<AppState>,
    owner: Owner,
    Form(form): Form<RemoveForm>,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    let kind = Kind::parse(&form.kind).ok_or(PageError::NotFound)?;
    let removed = {
        let mut conn = state.pool.get().await?;
        block::remove(&mut conn, kind, &form.value).await?
    };
    if !removed {
        return Err(PageError::NotFound);
    }
    Ok(done_redirect("/admin/blocks", "removed", &form.value))
}

/// `POST /admin/blocks/import`: a blocklist (a file, or pasted), previewed
/// (`action=preview`), then imported as previewed (`action=import`).
pub(super) async fn import(
    State(state): State<AppState>,
    owner: Owner,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let mut form = upload::read(multipart, &["file"], MAX_LIST_BYTES).await?;
    owner.check_form(&state, &form.text("csrf"))?;
    let include_limited = !form.text("include_limited").is_empty();
    let list = match form.take_file("file") {
        Some(file) if file.too_large => {
            return import_refused(&state, owner, "The file is larger than 2 MiB.".into()).await;
        }
        Some(file) => match String::from_utf8(file.bytes) {
            Ok(text) => text,
            Err(_) => {
                return import_refused(&state, owner, "The file is not a text (CSV) file.".into())
                    .await;
            }
        },
        None => form.text("list"),
    };
    if list.trim().is_empty() {
        return import_refused(&state, owner, "Choose a file or paste a list.".into()).await;
    }
    let planned = match blocks::parse_blocklist(&list, include_limited) {
        Ok(planned) => planned,
        Err(e) => {
            return import_refused(&state, owner, format!("The list cannot be read: {e}.")).await;
        }
    };
    let planned = {
        let mut conn = state.pool.get().await?;
        let planned = blocks::plan(&mut conn, planned).await?;
        if form.text("action") == "import" {
            let added = blocks::import(&mut conn, &planned).await?;
            return Ok(Redirect::to(&format!("/admin/blocks?imported={added}")).into_response());
        }
        planned
    };
    let mut preview = Preview {
        list,
        include_limited,
        ..Preview::default()
    };
    for item in planned {
        match item {
            Planned::Block { domain, reason } => {
                preview.to_block.push((domain, reason.unwrap_or_default()));
            }
            Planned::AlreadyBlocked { domain } => preview.already.push(domain),
            Planned::Skip { line, text, why } => preview.skipped.push((line, text, why)),
        }
    }
    let page = Notices {
        preview: Some(preview),
        kind: "domain".into(),
        ..Notices::default()
    };
    render(&state, owner, None, page, StatusCode::OK).await
}

async fn import_refused(
    state: &AppState,
    owner: Owner,
    message: String,
) -> Result<Response, PageError> {
    let page = Notices {
        import_error: Some(message),
        kind: "domain".into(),
        ..Notices::default()
    };
    render(state, owner, None, page, StatusCode::UNPROCESSABLE_ENTITY).await
}
