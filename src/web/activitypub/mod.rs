//! Discovery and the blog actor's documents: WebFinger, host-meta, NodeInfo,
//! the actor, its outbox and collections, and posts as Articles.

pub mod thread;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Settings;
use crate::errors::JsonError;
use crate::federation::negotiate::{ActivityJson, wants_activity_json};
use crate::federation::objects::replies;
use crate::federation::objects::tombstone::Tombstone;
use crate::federation::objects::{collection, person};
use crate::federation::outgoing;
use crate::models::post::{self, PublicScope};
use crate::models::{block, follower, quote, reaction};
use crate::posts;
use crate::state::AppState;
use crate::urls;

/// Items per outbox page.
const OUTBOX_PAGE: i64 = 20;
/// Followers per page of the followers collection (when it is shown).
const FOLLOWERS_PAGE: i64 = 50;

pub(crate) fn not_found() -> JsonError {
    JsonError::not_found()
}

#[derive(Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// `GET /.well-known/webfinger?resource=acct:handle@domain` (or the actor's URL).
pub async fn webfinger(
    State(state): State<AppState>,
    Query(query): Query<WebfingerQuery>,
) -> Response {
    let settings = &state.settings();
    let Some(resource) = query.resource.filter(|r| !r.trim().is_empty()) else {
        return JsonError::new(
            StatusCode::BAD_REQUEST,
            "the `resource` parameter is required",
        )
        .into_response();
    };
    let resource = resource.trim();
    let account = urls::account(settings);
    let actor = urls::actor(settings);
    let known = resource
        .strip_prefix("acct:")
        .map(|acct| acct.trim_start_matches('@').eq_ignore_ascii_case(&account))
        .unwrap_or(resource == actor || resource == settings.url("/"));
    if !known {
        if !(resource.starts_with("acct:")
            || resource.starts_with("http://")
            || resource.starts_with("https://"))
        {
            return JsonError::new(
                StatusCode::BAD_REQUEST,
                "`resource` must be an acct: URI or a URL",
            )
            .into_response();
        }
        return not_found().into_response();
    }
    let jrd = json!({
        "subject": format!("acct:{account}"),
        "aliases": [actor, settings.url("/")],
        "links": [
            {"rel": "self", "type": crate::federation::ACTIVITY_JSON, "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": settings.url("/")},
        ],
    });
    let mut response = Json(jrd).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jrd+json"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn webfinger_template(settings: &Settings) -> String {
    settings.url("/.well-known/webfinger?resource={uri}")
}

/// `GET /.well-known/host-meta`: where WebFinger is (Mastodon asks when WebFinger 404s).
pub async fn host_meta(State(state): State<AppState>) -> Response {
    let template = crate::render::escape::xml_escape(&webfinger_template(&state.settings()));
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{template}\"/>\n</XRD>\n"
    );
    let mut response = xml.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xrd+xml; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

pub async fn host_meta_json(State(state): State<AppState>) -> Response {
    let mut response = Json(json!({
        "links": [{"rel": "lrdd", "template": webfinger_template(&state.settings())}]
    }))
    .into_response();
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `GET /.well-known/nodeinfo`: links to the NodeInfo documents.
pub async fn nodeinfo_links(State(state): State<AppState>) -> Json<Value> {
    let settings = &state.settings();
    Json(json!({
        "links": [
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": settings.url("/nodeinfo/2.1")},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": settings.url("/nodeinfo/2.0")},
        ]
    }))
}

/// `GET /nodeinfo/{version}` for 2.0 and 2.1.
pub async fn nodeinfo(
    State(state): State<AppState>,
    Path(version): Path<String>,
) -> Result<Response, JsonError> {
    if version != "2.0" && version != "2.1" {
        return Err(not_found());
    }
    let mut conn = state.pool.get().await?;
    let posts = post::count_public(&mut conn, PublicScope::All).await?;
    let mut software = json!({"name": "fedblog", "version": env!("CARGO_PKG_VERSION")});
    // Only a real address: servers and directories link to it.
    let repository = env!("CARGO_PKG_REPOSITORY");
    if version == "2.1" && !repository.is_empty() {
        software["repository"] = json!(repository);
    }
    let document = json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0", "rss2.0"]},
        "openRegistrations": false,
        "usage": {
            "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
            "localPosts": posts,
            "localComments": 0,
        },
        "metadata": {
            "nodeName": state.settings().blog.title,
            "nodeDescription": state.settings().blog.description,
        },
    });
    let mut response = Json(document).into_response();
    let profile = format!(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""
    );
    if let Ok(value) = HeaderValue::from_str(&profile) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

fn check_handle(state: &AppState, handle: &str) -> Result<(), JsonError> {
    if handle == state.settings().blog.author_handle {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// `GET /users/{handle}`: the actor for servers, the home page for people.
pub async fn actor(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    headers: HeaderMap,
) -> Result<Response, JsonError> {
    check_handle(&state, &handle)?;
    if !wants_activity_json(&headers) {
        return Ok(Redirect::to(&state.settings().url("/")).into_response());
    }
    let person = person::blog_actor(&state.settings(), &state.actor_keys);
    Ok(ActivityJson(StatusCode::OK, person).into_response())
}

#[derive(Deserialize)]
pub struct PageQuery {
    pub page: Option<i64>,
}

/// `GET /users/{handle}/outbox`: the Create activities of public posts, newest first.
pub async fn outbox(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, JsonError> {
    check_handle(&state, &handle)?;
    let settings = &state.settings();
    let id = urls::actor_path(settings, "outbox");
    let mut conn = state.pool.get().await?;
    let total = post::count_public(&mut conn, PublicScope::All).await?;
    let Some(page) = query.page else {
        return Ok(
            ActivityJson(StatusCode::OK, collection::paged(&id, total, OUTBOX_PAGE))
                .into_response(),
        );
    };
    if !(1..=1_000_000).contains(&page) {
        return Err(JsonError::new(
            StatusCode::BAD_REQUEST,
            "`page` must be a positive number",
        ));
    }
    let rows = post::list_public(
        &mut conn,
        PublicScope::All,
        OUTBOX_PAGE,
        (page - 1) * OUTBOX_PAGE,
    )
    .await?;
    let items = posts::with_tags_many(&mut conn, rows)
        .await?
        .iter()
        .filter_map(|item| outgoing::outbox_create(settings, item))
        .collect();
    Ok(ActivityJson(
        StatusCode::OK,
        collection::page(&id, page, OUTBOX_PAGE, total, items),
    )
    .into_response())
}

/// `GET /users/{handle}/followers`: counted; members listed in pages only
/// when `federation.show_followers` is on.
pub async fn followers(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, JsonError> {
    check_handle(&state, &handle)?;
    let mut conn = state.pool.get().await?;
    let total = follower::count(&mut conn).await?;
    let id = urls::actor_path(&state.settings(), "followers");
    if !state.settings().federation.show_followers {
        return Ok(ActivityJson(StatusCode::OK, collection::counted(&id, total)).into_response());
    }
    let Some(page) = query.page else {
        return Ok(ActivityJson(
            StatusCode::OK,
            collection::paged(&id, total, FOLLOWERS_PAGE),
        )
        .into_response());
    };
    if !(1..=1_000_000).contains(&page) {
        return Err(JsonError::new(
            StatusCode::BAD_REQUEST,
            "`page` must be a positive number",
        ));
    }
    let ids = follower::page_of_ids(&mut conn, FOLLOWERS_PAGE, (page - 1) * FOLLOWERS_PAGE).await?;
    let items = ids.into_iter().map(Value::String).collect();
    Ok(ActivityJson(
        StatusCode::OK,
        collection::page(&id, page, FOLLOWERS_PAGE, total, items),
    )
    .into_response())
}

/// `GET /users/{handle}/following` and `/featured`: the blog follows no one and pins nothing.
pub async fn empty_collection(
    State(state): State<AppState>,
    Path((handle, which)): Path<(String, String)>,
) -> Result<Response, JsonError> {
    check_handle(&state, &handle)?;
    if which != "following" && which != "featured" {
        return Err(not_found());
    }
    let id = urls::actor_path(&state.settings(), &which);
    Ok(ActivityJson(StatusCode::OK, collection::empty(&id)).into_response())
}

/// A post as ActivityPub JSON, for `GET /posts/{slug}` with an ActivityPub
/// `Accept`. The id never changes: a renamed post is still served at (and
/// redirected to) the address it was first published under.
pub async fn post_json(state: &AppState, slug: &str) -> Result<Response, JsonError> {
    let settings = &state.settings();
    let requested = urls::post(settings, slug);
    let mut conn = state.pool.get().await?;
    let row = match post::find_by_object_base(&mut conn, &requested).await? {
        Some(row) => row,
        None => match post::find_by_slug(&mut conn, slug).await? {
            Some(row) => match &row.ap_id {
                // Published again: `?v=N` at the same address.
                Some(ap_id) if urls::object_base(ap_id) != requested => {
                    return Ok(Redirect::permanent(ap_id).into_response());
                }
                _ => row,
            },
            None => match post::redirect_target(&mut conn, slug).await? {
                Some(current) => {
                    return Ok(Redirect::permanent(&urls::post(settings, &current)).into_response());
                }
                None => return Err(not_found()),
            },
        },
    };
    if let (Some(deleted), Some(ap_id)) = (row.deleted_at, &row.ap_id) {
        let tombstone = Tombstone::new(ap_id, "Article").deleted(deleted);
        return Ok(ActivityJson(StatusCode::GONE, tombstone).into_response());
    }
    let item = posts::with_tags(&mut conn, row).await?;
    match replies::article_document(&mut conn, settings, &item).await? {
        Some(document) => Ok(ActivityJson(StatusCode::OK, document).into_response()),
        None => Err(not_found()),
    }
}

/// `GET /quote-authorizations/{id}`: our approval of a quote of a post
/// (FEP-044f), which servers check when they show the quote, and again
/// later. Gone with the post, or once the quoter is blocked.
pub async fn quote_authorization(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, JsonError> {
    let settings = &state.settings();
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let mut conn = state.pool.get().await?;
    let Some(approval) = quote::find(&mut conn, id).await? else {
        return Err(not_found());
    };
    let url = urls::quote_authorization(settings, id);
    let quoted = post::find_by_id(&mut conn, approval.post_id).await?;
    // Blocking the quoter (or its server) withdraws the approval.
    let blocked = block::is_blocked(&mut conn, &approval.quoter).await?;
    let target = quoted
        .filter(|p| p.is_public() && !blocked)
        .and_then(|p| p.ap_id);
    let Some(target) = target else {
        let tombstone = Tombstone::new(&url, "QuoteAuthorization");
        return Ok(ActivityJson(StatusCode::GONE, tombstone).into_response());
    };
    let document = json!({
        "id": url,
        "type": "QuoteAuthorization",
        "attributedTo": urls::actor(settings),
        "interactingObject": approval.quoting_object,
        "interactionTarget": target,
    });
    Ok(ActivityJson(StatusCode::OK, document).into_response())
}

/// The public post at `/posts/{slug}` (`requested` is that URL): by its
/// ActivityPub id first, so a renamed post's collections stay at their id.
pub(crate) async fn public_post(
    conn: &mut diesel_async::AsyncPgConnection,
    requested: &str,
    slug: &str,
) -> diesel::QueryResult<Option<post::Post>> {
    let row = match post::find_by_object_base(conn, requested).await? {
        Some(row) => Some(row),
        None => post::find_by_slug(conn, slug).await?,
    };
    Ok(row.filter(|r| r.is_public()))
}

/// `GET /posts/{slug}/likes` and `/shares`: counted, as Mastodon shows them.
pub async fn post_reactions(
    State(state): State<AppState>,
    Path((slug, which)): Path<(String, String)>,
) -> Result<Response, JsonError> {
    let kind = match which.as_str() {
        "likes" => reaction::Kind::Like,
        "shares" => reaction::Kind::Announce,
        _ => return Err(not_found()),
    };
    let requested = urls::post(&state.settings(), &slug);
    let mut conn = state.pool.get().await?;
    let row = public_post(&mut conn, &requested, &slug).await?;
    let Some((id, ap_id)) = row.and_then(|r| Some((r.id, r.ap_id?))) else {
        return Err(not_found());
    };
    let target = reaction::Target {
        post_id: id,
        comment_id: None,
    };
    let total = reaction::count(&mut conn, target, kind).await?;
    let collection_id = format!("{}/{which}", urls::object_base(&ap_id));
    Ok(ActivityJson(StatusCode::OK, collection::counted(&collection_id, total)).into_response())
}
