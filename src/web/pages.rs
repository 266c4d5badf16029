//! The public pages: home, post, tag, archive, static theme files.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Datelike, TimeZone, Utc};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::csrf::BrowserId;
use super::error::PageError;
use crate::comments;
use crate::config::{CommentPolicy, Settings};
use crate::federation::negotiate::wants_activity_json;
use crate::federation::objects::person;
use crate::models::comment::{self, AttachmentKind, Comment};
use crate::models::post::{self, PublicScope, TimeRange};
use crate::models::reaction;
use crate::models::tag;
use crate::posts::{self, PostWithTags};
use crate::render::markdown::{self, FirstImage};
use crate::render::{slug, time};
use crate::state::AppState;
use crate::urls;
use crate::web::activitypub;

#[derive(Serialize)]
pub struct SiteContext {
    title: String,
    description: String,
    language: String,
    base_url: String,
    home_url: String,
    archive_url: String,
    feed_atom_url: String,
    feed_rss_url: String,
    author_name: String,
    author_handle: String,
}

pub fn site_context(settings: &Settings) -> SiteContext {
    let blog = &settings.blog;
    SiteContext {
        title: blog.title.clone(),
        description: blog.description.clone(),
        language: blog.language.clone(),
        base_url: settings.url(""),
        home_url: settings.url("/"),
        archive_url: settings.url("/archive"),
        feed_atom_url: settings.url("/feed.atom"),
        feed_rss_url: settings.url("/feed.rss"),
        author_name: blog.author_name.clone(),
        author_handle: format!("@{}@{}", blog.author_handle, settings.domain),
    }
}

#[derive(Serialize)]
struct TagLink {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct PostContext {
    language: Option<String>,
    title: String,
    url: String,
    /// The ActivityPub id (the address of the post's JSON), once published.
    ap_id: Option<String>,
    html: String,
    summary: String,
    /// The body's first image: the link card's picture (`og:image`).
    image: Option<FirstImage>,
    published_display: String,
    published_iso: String,
    updated_display: Option<String>,
    updated_iso: Option<String>,
    tags: Vec<TagLink>,
    author_name: String,
    /// Shown comments (filled in on listings).
    comment_count: i64,
}

fn post_context(settings: &Settings, item: PostWithTags, with_body: bool) -> PostContext {
    let tz = settings.blog.time_zone;
    let PostWithTags { post, tags } = item;
    let published = post.published_at.unwrap_or(post.created_at);
    let url = urls::post(settings, &post.slug);
    let image = match url::Url::parse(&url) {
        Ok(page) if with_body => markdown::first_image(&post.body_html, &page),
        _ => None,
    };
    PostContext {
        // Set on the post's element only when it differs from the page's.
        language: post
            .language
            .clone()
            .filter(|l| *l != settings.blog.language),
        image,
        url,
        ap_id: post.ap_id,
        title: post.title,
        html: if with_body {
            post.body_html
        } else {
            String::new()
        },
        summary: post.excerpt,
        published_display: time::display_date(published, tz),
        published_iso: time::iso(published, tz),
        updated_display: post.updated_at.map(|at| time::display_date(at, tz)),
        updated_iso: post.updated_at.map(|at| time::iso(at, tz)),
        tags: tags
            .into_iter()
            .map(|t| TagLink {
                url: urls::tag(settings, &t.slug),
                name: t.name,
            })
            .collect(),
        author_name: settings.blog.author_name.clone(),
        comment_count: 0,
    }
}

fn html_page(
    state: &AppState,
    template: &str,
    context: serde_json::Value,
) -> Result<Response, PageError> {
    let html = state.templates.render(template, context)?;
    Ok(Html(html).into_response())
}

/// `?page=N`: 1 when absent; anything but a positive number is a bad request.
fn page_number(query: Option<&str>) -> Result<i64, PageError> {
    let Some(query) = query else { return Ok(1) };
    let mut page = 1;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key == "page" {
            page = value
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| PageError::BadRequest(format!("{value:?} is not a page number.")))?;
        }
    }
    Ok(page)
}

fn page_url(base: &str, page: i64) -> String {
    if page <= 1 {
        base.to_string()
    } else {
        format!("{base}?page={page}")
    }
}

/// How many faces of likers and boosters a post page shows.
const REACTION_FACES: i64 = 24;

/// Likes and boosts of a post: counts and who (the newest few).
async fn reactions_context(
    conn: &mut diesel_async::AsyncPgConnection,
    post_id: i64,
) -> Result<serde_json::Value, PageError> {
    let mut out = serde_json::Map::new();
    for (name, kind) in [
        ("likes", reaction::Kind::Like),
        ("boosts", reaction::Kind::Announce),
    ] {
        let target = reaction::Target {
            post_id,
            comment_id: None,
        };
        let count = reaction::count(conn, target, kind).await?;
        let people: Vec<serde_json::Value> = reaction::people(conn, post_id, kind, REACTION_FACES)
            .await?
            .into_iter()
            .map(|(actor, display)| json!({"name": display.unwrap_or_else(|| actor.clone()), "link": actor}))
            .collect();
        out.insert(name.into(), json!({"count": count, "people": people}));
    }
    let target = reaction::Target {
        post_id,
        comment_id: None,
    };
    let count = reaction::count(conn, target, reaction::Kind::Quote).await?;
    let people: Vec<serde_json::Value> = reaction::quotes(conn, post_id, REACTION_FACES)
        .await?
        .into_iter()
        .map(|(note, name)| json!({"name": name, "link": note}))
        .collect();
    out.insert("quotes".into(), json!({"count": count, "people": people}));
    Ok(serde_json::Value::Object(out))
}

/// Nesting shown on the page; deeper answers are shown at this depth, "in reply to" someone.
const MAX_COMMENT_DEPTH: usize = 3;

/// Colours of the initials avatars (`.avatar-0` ... in the stylesheet).
const AVATAR_COLOURS: u8 = 12;

#[derive(Serialize)]
struct CommentContext {
    id: i64,
    depth: usize,
    /// "remote", "author" or "reader".
    origin: String,
    author_name: String,
    author_handle: Option<String>,
    /// The profile (fediverse), the blog (author) or the website (reader), if any.
    author_link: Option<String>,
    /// A reader's website as people read it (`www.tjäna.se`).
    website_display: Option<String>,
    initials: String,
    avatar_colour: u8,
    /// The commenter's avatar as cached here (none: initials are shown).
    avatar_url: Option<String>,
    permalink: String,
    content_html: String,
    /// The language it is written in, when its sender said.
    language: Option<String>,
    /// The content warning: its own, or a generic one for a post marked
    /// sensitive without one.
    summary: Option<String>,
    published_display: String,
    published_iso: String,
    edited: bool,
    reply_to_name: Option<String>,
    /// The anchor of the comment it answers, when that is not the one it
    /// is nested under (past [`MAX_COMMENT_DEPTH`]).
    reply_to_anchor: Option<String>,
    likes: i64,
    boosts: i64,
    /// Posts elsewhere that quote it.
    quotes: i64,
    /// The post page with the form set up to answer this comment.
    reply_url: Option<String>,
    /// What it attaches: pictures from our cache, the rest as links.
    attachments: Vec<AttachmentView>,
    /// Its answers, nested in the markup (as WordPress nests `ol.children`),
    /// so that the thread reads without the stylesheet too.
    children: Vec<CommentContext>,
}

/// An attachment as the page shows it.
#[derive(Serialize)]
struct AttachmentView {
    /// The original (a link, never loaded by the page).
    url: String,
    /// The picture as cached here, once it is.
    src: Option<String>,
    alt: Option<String>,
    /// What a link to it says: `🖼 alt`, `🎞 video`...
    label: String,
}

/// What the comment list needs besides the comments.
struct ThreadView<'a> {
    /// Pictures attached to comments, cached here (fetched when missing).
    attachments: &'a Arc<crate::state::image_cache::ImageCache>,
    settings: &'a Settings,
    post_slug: &'a str,
    counts: HashMap<i64, (i64, i64, i64)>,
    /// Whether readers can answer (the form is on).
    replies: bool,
    /// Cached avatars by commenter (actor id).
    avatars: HashMap<String, String>,
}

/// The comments as a tree, oldest first at each level: answers nested in
/// their parent's `children` down to [`MAX_COMMENT_DEPTH`]; deeper answers
/// follow their ancestor at that depth, each "in reply to" its parent.
fn threaded(view: &ThreadView<'_>, comments: &[Comment]) -> Vec<CommentContext> {
    let known: HashSet<i64> = comments.iter().map(|c| c.id).collect();
    let mut children: HashMap<Option<i64>, Vec<&Comment>> = HashMap::new();
    for c in comments {
        // An answer to a comment that is not shown hangs under the post.
        let parent = c.parent_id.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(c);
    }
    let tree = Tree {
        view,
        children,
        names: comments.iter().map(|c| (c.id, c.display_name())).collect(),
    };
    tree.level(None, 0)
}

struct Tree<'a> {
    view: &'a ThreadView<'a>,
    children: HashMap<Option<i64>, Vec<&'a Comment>>,
    names: HashMap<i64, String>,
}

impl Tree<'_> {
    /// The answers to `parent` shown at `depth`, each with its own answers.
    fn level(&self, parent: Option<i64>, depth: usize) -> Vec<CommentContext> {
        let Some(answers) = self.children.get(&parent) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(answers.len());
        for c in answers {
            let mut context = comment_context(self.view, c, depth, None);
            if depth < MAX_COMMENT_DEPTH {
                context.children = self.level(Some(c.id), depth + 1);
                out.push(context);
            } else {
                out.push(context);
                out.extend(self.flattened(c));
            }
        }
        out
    }

    /// Every answer below `c`, in reading order, at the deepest level shown;
    /// iterative, since a thread may be as deep as its senders make it.
    fn flattened(&self, c: &Comment) -> Vec<CommentContext> {
        let mut out = Vec::new();
        let mut stack: Vec<&Comment> = self
            .children
            .get(&Some(c.id))
            .map(|a| a.iter().rev().copied().collect())
            .unwrap_or_default();
        while let Some(answer) = stack.pop() {
            let name = answer.parent_id.and_then(|p| self.names.get(&p).cloned());
            let mut context = comment_context(self.view, answer, MAX_COMMENT_DEPTH + 1, name);
            context.reply_to_anchor = answer.parent_id.map(|p| format!("#comment-{p}"));
            out.push(context);
            if let Some(answers) = self.children.get(&Some(answer.id)) {
                stack.extend(answers.iter().rev().copied());
            }
        }
        out
    }
}

/// The comment with `id` anywhere in the tree.
fn find_comment(thread: &[CommentContext], id: i64) -> Option<&CommentContext> {
    let mut stack: Vec<&CommentContext> = thread.iter().collect();
    while let Some(c) = stack.pop() {
        if c.id == id {
            return Some(c);
        }
        stack.extend(c.children.iter());
    }
    None
}

/// How many comments the tree holds.
fn count_comments(thread: &[CommentContext]) -> usize {
    thread.iter().map(|c| 1 + count_comments(&c.children)).sum()
}

fn comment_context(
    view: &ThreadView<'_>,
    c: &Comment,
    depth: usize,
    reply_to_name: Option<String>,
) -> CommentContext {
    let settings = view.settings;
    let tz = settings.blog.time_zone;
    let name = c.display_name();
    let (author_link, website_display, colour_key) = match c.origin.as_str() {
        "reader" => (
            c.reader_website.clone(),
            c.reader_website
                .as_deref()
                .map(crate::render::website::display_website),
            format!(
                "reader:{name}:{}",
                c.reader_website.as_deref().unwrap_or("")
            ),
        ),
        "author" => (Some(settings.url("/")), None, c.author_ap_id.clone()),
        _ => (Some(c.author_ap_id.clone()), None, c.author_ap_id.clone()),
    };
    let (likes, boosts, quotes) = view.counts.get(&c.id).copied().unwrap_or((0, 0, 0));
    CommentContext {
        id: c.id,
        depth: depth.min(MAX_COMMENT_DEPTH),
        origin: c.origin.clone(),
        author_handle: (!c.origin.eq("reader"))
            .then(|| c.author_handle.clone())
            .flatten(),
        author_link,
        website_display,
        initials: initials(&name),
        avatar_url: match c.origin.as_str() {
            // The blog's own profile picture, when it has one.
            "author" => settings
                .profile
                .avatar
                .as_ref()
                .map(|file| settings.url(&person::media_path("avatar", file))),
            "reader" => None,
            _ => view.avatars.get(&c.author_ap_id).cloned(),
        },
        avatar_colour: Sha256::digest(colour_key.as_bytes())[0] % AVATAR_COLOURS,
        author_name: name,
        permalink: if c.is_local() {
            format!("#comment-{}", c.id)
        } else {
            c.url.clone().unwrap_or_else(|| c.ap_id.clone())
        },
        content_html: c.content_html.clone(),
        language: c.language.clone(),
        summary: c
            .summary
            .clone()
            .or_else(|| c.sensitive.then(|| "Sensitive content".to_string())),
        published_display: time::display_date(c.published_at, tz),
        published_iso: time::iso(c.published_at, tz),
        edited: c.updated_at.is_some(),
        reply_to_name,
        reply_to_anchor: None,
        children: Vec::new(),
        attachments: attachment_views(view, c),
        likes,
        boosts,
        quotes,
        reply_url: view
            .replies
            .then(|| reply_url(settings, view.post_slug, c.id)),
    }
}

/// A comment's attachments for the page: a picture is shown from our cache
/// (and fetched in the background until it is there, a link meanwhile);
/// video, audio and documents are links to the original.
fn attachment_views(view: &ThreadView<'_>, c: &Comment) -> Vec<AttachmentView> {
    c.attachment_list()
        .into_iter()
        .map(|a| {
            let src = match a.kind {
                AttachmentKind::Image => match view.attachments.cached(&a.url) {
                    Some(key) => Some(view.settings.url(&format!("/attachments/{key}"))),
                    None => {
                        view.attachments.fetch_in_background(&a.url);
                        None
                    }
                },
                _ => None,
            };
            let what = match a.kind {
                AttachmentKind::Image => "🖼",
                AttachmentKind::Video => "🎞 video",
                AttachmentKind::Audio => "🔊 audio",
                AttachmentKind::Document => "📄 document",
            };
            let label = match &a.alt {
                Some(alt) => format!("{what} {alt}"),
                None if a.kind == AttachmentKind::Image => format!("{what} picture"),
                None => what.to_string(),
            };
            AttachmentView {
                url: a.url,
                src,
                alt: a.alt,
                label,
            }
        })
        .collect()
}

/// The avatars of the fediverse commenters that are cached here, by actor
/// id; the others are fetched in the background (initials until then).
async fn cached_avatars(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    comments: &[Comment],
) -> Result<HashMap<String, String>, PageError> {
    let authors: Vec<&str> = comments
        .iter()
        .filter(|c| !c.is_local())
        .map(|c| c.author_ap_id.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let icons = crate::models::remote_actor::icons(conn, &authors).await?;
    let mut cached = HashMap::with_capacity(icons.len());
    for (actor, icon) in icons {
        match state.avatars.cached(&icon) {
            Some(key) => {
                cached.insert(actor, state.settings.url(&format!("/avatars/{key}")));
            }
            None => state.avatars.fetch_in_background(&icon),
        }
    }
    Ok(cached)
}

/// `GET /avatars/{key}`: a commenter's avatar as cached here.
pub async fn avatar(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    cached_image(&state.avatars, &key).await
}

/// `GET /attachments/{key}`: a picture attached to a comment, as cached here.
pub async fn attachment(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    cached_image(&state.attachments, &key).await
}

async fn cached_image(
    cache: &crate::state::image_cache::ImageCache,
    key: &str,
) -> Result<Response, PageError> {
    let (bytes, content_type) = cache.read(key).await.ok_or(PageError::NotFound)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The key is the image URL's hash: the bytes behind it do not change.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=604800"),
    );
    Ok(response)
}

/// The post page with the comment form set up to answer comment `id`.
fn reply_url(settings: &Settings, slug: &str, id: i64) -> String {
    format!("{}?reply_to={id}#comment-form", urls::post(settings, slug))
}

/// The first letters of the first and last words of a name (`Ada Lovelace`
/// → `AL`, `@alice@example.org` → `A`), for an avatar without an image.
fn initials(name: &str) -> String {
    let first_letter = |word: &str| word.chars().find(|ch| ch.is_alphanumeric());
    let name = name.trim_start_matches('@');
    let name = name.split('@').next().unwrap_or(name);
    let words: Vec<&str> = name
        .split_whitespace()
        .filter(|w| first_letter(w).is_some())
        .collect();
    let letters: String = match words.as_slice() {
        [] => return "?".into(),
        [only] => first_letter(only).into_iter().collect(),
        [first, .., last] => first_letter(first)
            .into_iter()
            .chain(first_letter(last))
            .collect(),
    };
    letters.to_uppercase()
}

/// What a listing with no public posts at all shows.
enum WhenEmpty {
    /// The home page: an empty blog is still a page.
    Message(&'static str),
    /// A tag or month with no public posts does not exist for the public
    /// (a tag used only by drafts must not leak).
    NotFound,
}

/// Renders one page of a public post listing, or 404 past its last page.
async fn listing(
    state: &AppState,
    scope: PublicScope,
    page: i64,
    base_url: String,
    heading: Option<String>,
    when_empty: WhenEmpty,
) -> Result<Response, PageError> {
    let per_page = state.settings.blog.posts_per_page;
    let mut conn = state.pool.get().await?;
    let total = post::count_public(&mut conn, scope).await?;
    let total_pages = ((total + per_page - 1) / per_page).max(1);
    let empty_message = match when_empty {
        WhenEmpty::NotFound if total == 0 => return Err(PageError::NotFound),
        WhenEmpty::NotFound => "",
        WhenEmpty::Message(message) => message,
    };
    if page > total_pages {
        return Err(PageError::NotFound);
    }
    let rows = post::list_public(&mut conn, scope, per_page, (page - 1) * per_page).await?;
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let comment_counts = comment::visible_counts(&mut conn, &ids).await?;
    let posts: Vec<PostContext> = posts::with_tags_many(&mut conn, rows)
        .await?
        .into_iter()
        .map(|p| {
            let comments = comment_counts.get(&p.post.id).copied().unwrap_or(0);
            PostContext {
                comment_count: comments,
                ..post_context(&state.settings, p, false)
            }
        })
        .collect();
    html_page(
        state,
        "list.html",
        json!({
            "site": site_context(&state.settings),
            "heading": heading,
            "intro": null,
            "posts": posts,
            "empty_message": empty_message,
            "pagination": {
                "page": page,
                "total_pages": total_pages,
                "prev_url": (page > 1).then(|| page_url(&base_url, page - 1)),
                "next_url": (page < total_pages).then(|| page_url(&base_url, page + 1)),
            },
        }),
    )
}

pub async fn home(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let page = page_number(query.as_deref())?;
    let base = state.settings.url("/");
    let empty = WhenEmpty::Message("Nothing has been published here yet.");
    listing(&state, PublicScope::All, page, base, None, empty).await
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
        Err(activitypub::FedError(StatusCode::NOT_FOUND, _)) => PageError::NotFound.into_response(),
        Err(activitypub::FedError(_, message)) => {
            PageError::Internal(message.into()).into_response()
        }
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
                Ok(Redirect::permanent(&urls::post(&state.settings, &current)).into_response())
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
    let settings = &state.settings;
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
        json!({
            "site": site_context(settings),
            "post": post_context(settings, item, true),
            "comment_count": count_comments(&thread),
            "comments": thread,
            "reactions": reactions,
            "comment_form": form_context,
        }),
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

fn form_context(
    settings: &Settings,
    slug: &str,
    thread: &[CommentContext],
    form: FormInput,
    token: String,
) -> serde_json::Value {
    let post_url = urls::post(settings, slug);
    let parent = form
        .parent
        .and_then(|id| find_comment(thread, id))
        .map(|c| json!({"id": c.id, "name": c.author_name, "url": format!("#comment-{}", c.id)}));
    json!({
        "action": format!("{post_url}/comments"),
        "cancel_url": format!("{post_url}#comment-form"),
        "token": token,
        "name": form.name,
        "website": form.website,
        "body": form.body,
        "parent": parent,
        "error": form.error.map(|(field, message)| json!({"field": field, "message": message})),
        "held": form.held,
        "moderated": settings.comments.reader_policy != CommentPolicy::ApproveAll,
        "max_name": comments::MAX_NAME_CHARS,
        "max_website": comments::MAX_WEBSITE_CHARS,
        "max_body": comments::MAX_COMMENT_CHARS,
    })
}

pub async fn show_tag(
    State(state): State<AppState>,
    Path(tag_slug): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let page = page_number(query.as_deref())?;
    if !slug::is_slug(&tag_slug) {
        return Err(PageError::NotFound);
    }
    let mut conn = state.pool.get().await?;
    let Some(tag) = tag::find_by_slug(&mut conn, &tag_slug).await? else {
        return Err(PageError::NotFound);
    };
    drop(conn);
    let heading = format!("Posts tagged “{}”", tag.name);
    let base = urls::tag(&state.settings, &tag.slug);
    listing(
        &state,
        PublicScope::Tag(tag.id),
        page,
        base,
        Some(heading),
        WhenEmpty::NotFound,
    )
    .await
}

pub async fn archive(State(state): State<AppState>) -> Result<Response, PageError> {
    let mut conn = state.pool.get().await?;
    let months = post::archive_months(&mut conn, state.settings.blog.time_zone.name()).await?;
    let mut years: Vec<serde_json::Value> = Vec::new();
    let mut current: Option<(i32, i64, Vec<serde_json::Value>)> = None;
    for (year, month, count) in months {
        if current.as_ref().is_some_and(|(y, _, _)| *y != year)
            && let Some((y, total, list)) = current.take()
        {
            years.push(json!({"year": y, "count": total, "months": list}));
        }
        let entry = current.get_or_insert_with(|| (year, 0, Vec::new()));
        entry.1 += count;
        entry.2.push(json!({
            "name": time::month_name(month as u32),
            "url": state.settings.url(&format!("/archive/{year}/{month:02}")),
            "count": count,
        }));
    }
    if let Some((y, total, list)) = current {
        years.push(json!({"year": y, "count": total, "months": list}));
    }
    html_page(
        &state,
        "archive.html",
        json!({"site": site_context(&state.settings), "years": years}),
    )
}

pub async fn archive_month(
    State(state): State<AppState>,
    Path((year, month)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let page = page_number(query.as_deref())?;
    let (Ok(year), Ok(month)) = (year.parse::<i32>(), month.parse::<u32>()) else {
        return Err(PageError::NotFound);
    };
    let range =
        month_range(state.settings.blog.time_zone, year, month).ok_or(PageError::NotFound)?;
    let heading = format!("{} {year}", time::month_name(month));
    let base = state.settings.url(&format!("/archive/{year}/{month:02}"));
    listing(
        &state,
        PublicScope::Published(range),
        page,
        base,
        Some(heading),
        WhenEmpty::NotFound,
    )
    .await
}

/// The UTC span of a calendar month in the blog's time zone.
fn month_range(tz: chrono_tz::Tz, year: i32, month: u32) -> Option<TimeRange> {
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    let start = tz.with_ymd_and_hms(year, month, 1, 0, 0, 0).earliest()?;
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let end = tz
        .with_ymd_and_hms(next_year, next_month, 1, 0, 0, 0)
        .earliest()?;
    debug_assert_eq!(start.month(), month);
    Some(TimeRange {
        start: start.with_timezone(&Utc),
        end: end.with_timezone(&Utc),
    })
}

pub async fn static_file(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let (bytes, content_type) = state
        .templates
        .static_file(&name)
        .ok_or(PageError::NotFound)?;
    let mut response = (StatusCode::OK, bytes.into_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}

/// `GET /media/{avatar|header}-{digest}.{ext}`: the profile images from the
/// configuration, at addresses that change with their content (cached for
/// good); `/media/{avatar|header}.{ext}`, the address before, still answers.
pub async fn profile_image(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let profile = &state.settings.profile;
    let (file, immutable) = [("avatar", &profile.avatar), ("header", &profile.header)]
        .into_iter()
        .find_map(|(which, file)| {
            let file = file.as_ref()?;
            if name == person::media_path(which, file).trim_start_matches("/media/") {
                Some((file, true))
            } else {
                (name == format!("{which}.{}", file.extension)).then_some((file, false))
            }
        })
        .ok_or(PageError::NotFound)?;
    let bytes = tokio::fs::read(&file.path)
        .await
        .map_err(|e| PageError::Internal(format!("reading {}: {e}", file.path.display())))?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600"
        }),
    );
    Ok(response)
}

pub async fn not_found() -> PageError {
    PageError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers() {
        assert_eq!(page_number(None).ok(), Some(1));
        assert_eq!(page_number(Some("page=3")).ok(), Some(3));
        assert_eq!(page_number(Some("utm=x")).ok(), Some(1));
        for bad in ["page=0", "page=-1", "page=abc", "page=", "page=99999999999"] {
            assert!(
                matches!(page_number(Some(bad)), Err(PageError::BadRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn initials_for_avatars() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("Ada King Lovelace"), "AL");
        assert_eq!(initials("åsa"), "Å");
        assert_eq!(initials("@alice@example.org"), "A");
        assert_eq!(initials("  \"Bo\"  "), "B");
        assert_eq!(initials("🙂"), "?");
        assert_eq!(initials(""), "?");
    }

    #[test]
    fn months_in_a_time_zone() {
        let range = month_range(chrono_tz::Europe::Stockholm, 2026, 12).expect("valid month");
        assert_eq!(range.start.to_rfc3339(), "2026-11-30T23:00:00+00:00");
        assert_eq!(range.end.to_rfc3339(), "2026-12-31T23:00:00+00:00");
        assert!(month_range(chrono_tz::UTC, 2026, 13).is_none());
        assert!(month_range(chrono_tz::UTC, 1, 1).is_none());
    }
}
