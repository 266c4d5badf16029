//! The admin UI under /admin: the owner signs in with the password set by
//! `fedblog admin password`, and works from the browser.
//!
//! - Sessions live in PostgreSQL ([`crate::access`]); the browser holds a
//!   random token in an HttpOnly, SameSite=Lax cookie (Secure over https),
//!   valid for `/admin` only.
//! - Every admin page needs a session: without one it answers 303 to the
//!   sign-in page. Every form carries a token bound to the session (the
//!   sign-in form: to the browser's cookie); a POST without a valid one is
//!   403.
//! - Sign-in attempts are limited per address, and for browsers that never
//!   signed in before, for the account as a whole; a browser that signed in
//!   before (it has a device cookie signed by the blog) is held back only by
//!   its own address's limit, so an attacker cannot lock the owner out.

mod blocks;
mod comments;
mod dashboard;
mod deliveries;
mod followers;
mod login;
mod media;
mod posts;
mod settings;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::access::{self, SessionToken};
use crate::config::Settings;
use crate::state::AppState;
use crate::web::csrf::cookie;
use crate::web::error::PageError;

/// The session's cookie (path `/admin`).
pub const SESSION_COOKIE: &str = "fedblog_session";
/// Marks a browser that signed in before (path `/admin`).
pub const DEVICE_COOKIE: &str = "fedblog_device";

/// The editor's form: a 1 MiB body, percent-encoded, fits (and a picture
/// from the upload limit with it).
const EDITOR_FORM_BYTES: usize = crate::web::multipart::MAX_TEXT_BYTES;

/// How long a served admin form can be sent.
const FORM_LIFETIME: chrono::Duration = chrono::Duration::hours(12);

pub fn router(settings: &Settings) -> Router<AppState> {
    // A form with a picture: the picture up to the limit, and more, so that
    // a picture a little over it is answered by the form saying so.
    let with_picture = DefaultBodyLimit::max(EDITOR_FORM_BYTES + settings.max_upload_bytes * 2);
    Router::new()
        .route("/admin", get(dashboard::show))
        .route("/admin/login", get(login::form).post(login::submit))
        .route("/admin/logout", post(login::logout))
        .route("/admin/blocks", get(blocks::list).post(blocks::add))
        .route("/admin/blocks/remove", post(blocks::remove))
        .route(
            "/admin/blocks/import",
            post(blocks::import).layer(DefaultBodyLimit::max(blocks::MAX_LIST_BYTES * 3)),
        )
        .route("/admin/comments", get(comments::list))
        .route("/admin/comments/{id}/{action}", post(comments::act))
        .route("/admin/deliveries", get(deliveries::list))
        .route("/admin/deliveries/retry", post(deliveries::retry))
        .route("/admin/followers", get(followers::list))
        .route("/admin/followers/remove", post(followers::remove))
        .route(
            "/admin/media",
            get(media::list).post(media::create).layer(with_picture),
        )
        .route("/admin/media/{hash}/delete", post(media::delete))
        .route(
            "/admin/settings",
            get(settings::show).post(settings::save).layer(with_picture),
        )
        .route("/admin/posts", get(posts::list))
        .route(
            "/admin/posts/preview",
            post(posts::live_preview).layer(DefaultBodyLimit::max(EDITOR_FORM_BYTES)),
        )
        .route(
            "/admin/posts/new",
            get(posts::new).post(posts::create).layer(with_picture),
        )
        .route(
            "/admin/posts/{slug}/edit",
            get(posts::edit).post(posts::update).layer(with_picture),
        )
        .route(
            "/admin/posts/{slug}/delete",
            get(posts::confirm_delete).post(posts::delete),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // The public pages run no script at all; the admin pages run the
        // blog's own (static/admin.js), and nothing inline.
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' https: data:; media-src 'self' https:; \
                 style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; \
                 frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        ))
}

/// Proof that the request comes from the signed-in owner, with the token
/// that the page's forms must send back.
pub struct Owner {
    session: SessionToken,
    /// For the pages' forms.
    pub csrf: String,
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(session) = cookie(&parts.headers, SESSION_COOKIE).and_then(SessionToken::parse)
        else {
            return Err(to_sign_in());
        };
        let valid = async {
            let mut conn = state.pool.get().await?;
            Ok::<_, PageError>(
                access::session_is_valid(&mut conn, &session, state.settings().sessions).await?,
            )
        }
        .await
        .map_err(IntoResponse::into_response)?;
        if !valid {
            return Err(to_sign_in());
        }
        let csrf = state
            .form_secret
            .issue_for(&session_scope(&session), Utc::now());
        Ok(Owner { session, csrf })
    }
}

impl Owner {
    /// Refuses a form whose token was not issued for this session.
    pub fn check_form(&self, state: &AppState, token: &str) -> Result<(), PageError> {
        if state.form_secret.verify_for(
            token,
            &session_scope(&self.session),
            Utc::now(),
            FORM_LIFETIME,
        ) {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "This form has expired or did not come from this blog's admin pages. \
                 Please go back, reload the page and try again."
                    .into(),
            ))
        }
    }
}

fn session_scope(session: &SessionToken) -> String {
    format!("admin-session\n{}", session.digest())
}

/// `?page=N` of an admin listing, from 1.
struct Paging {
    page: i64,
    per_page: i64,
}

/// The listing's pages around the one shown: how to reach them.
#[derive(serde::Serialize)]
struct Pages {
    page: i64,
    prev_url: Option<String>,
    next_url: Option<String>,
}

impl Paging {
    fn new(page: Option<i64>, per_page: i64) -> Result<Self, PageError> {
        let page = page.unwrap_or(1);
        if page < 1 {
            return Err(PageError::BadRequest("page must be 1 or more".into()));
        }
        Ok(Paging { page, per_page })
    }

    fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// The links to the pages before and after, given how many items there
    /// are and each page's address; past the last page there is nothing.
    fn around(&self, total: i64, url: impl Fn(i64) -> String) -> Result<Pages, PageError> {
        let last = ((total + self.per_page - 1) / self.per_page).max(1);
        if self.page > last {
            return Err(PageError::NotFound);
        }
        Ok(Pages {
            page: self.page,
            prev_url: (self.page > 1).then(|| url(self.page - 1)),
            next_url: (self.page < last).then(|| url(self.page + 1)),
        })
    }
}

/// A listing's `?query`; an address the blog does not make is answered
/// with a page saying so.
pub struct Listing<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Listing<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(query)| Listing(query))
            .map_err(|_| {
                PageError::BadRequest("This listing's address is not one the blog makes.".into())
            })
    }
}

/// 303 to `path` with `?key=value`: a page saying what was just done.
fn done_redirect(path: &str, key: &str, value: &str) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(key, value)
        .finish();
    Redirect::to(&format!("{path}?{query}")).into_response()
}

/// 303 to the sign-in page.
fn to_sign_in() -> Response {
    Redirect::to("/admin/login").into_response()
}

/// A `Set-Cookie` value for an admin cookie; `None` clears it.
fn admin_cookie(settings: &Settings, name: &str, value: Option<&str>, max_age: i64) -> HeaderValue {
    let secure = if settings.base_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let (value, max_age) = match value {
        Some(value) => (value, max_age),
        None => ("", 0),
    };
    let cookie =
        format!("{name}={value}; Path=/admin; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}
