//! Signing in and out.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{DEVICE_COOKIE, FORM_LIFETIME, Owner, SESSION_COOKIE, admin_cookie};
use crate::access;
use crate::state::AppState;
use crate::web::client_ip::client_ip;
use crate::web::csrf::{BrowserId, cookie};
use crate::web::error::PageError;
use crate::web::site::{SiteContext, site_context};

/// How long a browser is remembered as one that signed in before.
const DEVICE_DAYS: i64 = 365;

/// What `admin_login.html` is given.
#[derive(Serialize)]
struct LoginPage {
    site: SiteContext,
    csrf: String,
    /// Why the last attempt failed.
    error: Option<String>,
    /// No password has been set yet.
    no_password: bool,
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `GET /admin/login`: the form (or the dashboard, when signed in).
pub(super) async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    owner: Result<Owner, Response>,
) -> Result<Response, PageError> {
    if owner.is_ok() {
        return Ok(Redirect::to("/admin").into_response());
    }
    let no_password = {
        let mut conn = state.pool.get().await?;
        access::password_hash(&mut conn).await?.is_none()
    };
    page(&state, &headers, StatusCode::OK, None, no_password)
}

/// The sign-in page, with a form token for this browser (given a cookie if
/// it has none yet).
fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
    no_password: bool,
) -> Result<Response, PageError> {
    let (browser, is_new) = match BrowserId::from_headers(headers) {
        Some(browser) => (browser, false),
        None => (BrowserId::generate(), true),
    };
    let csrf = state
        .form_secret
        .issue_for(&login_scope(&browser), Utc::now());
    let html = state.templates.render(
        "admin_login.html",
        LoginPage {
            site: site_context(&state.settings()),
            csrf,
            error,
            no_password,
        },
    )?;
    let mut response = (status, Html(html)).into_response();
    if is_new {
        let secure = state.settings().base_url.scheme() == "https";
        response
            .headers_mut()
            .insert(header::SET_COOKIE, browser.set_cookie(secure));
    }
    Ok(response)
}

fn login_scope(browser: &BrowserId) -> String {
    format!("admin-login\n{}", browser.as_str())
}

fn device_scope(id: &str) -> String {
    format!("admin-device\n{id}")
}

/// Whether the browser signed in here before: its device cookie, `ID.TOKEN`,
/// carries a token the blog issued for that id within a year.
fn known_device(state: &AppState, headers: &HeaderMap) -> bool {
    cookie(headers, DEVICE_COOKIE)
        .and_then(|value| value.split_once('.'))
        .is_some_and(|(id, token)| {
            id.len() == 32
                && state.form_secret.verify_for(
                    token,
                    &device_scope(id),
                    Utc::now(),
                    chrono::Duration::days(DEVICE_DAYS),
                )
        })
}

/// `POST /admin/login`.
pub(super) async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) =
        form.map_err(|_| PageError::BadRequest("The sign-in form could not be read.".into()))?;
    let trusted = BrowserId::from_headers(&headers).is_some_and(|browser| {
        state.form_secret.verify_for(
            &form.csrf,
            &login_scope(&browser),
            Utc::now(),
            FORM_LIFETIME,
        )
    });
    if !trusted {
        return Err(PageError::Forbidden(
            "This sign-in form has expired or did not come from this blog. \
             Please reload the sign-in page and try again (it needs cookies)."
                .into(),
        ));
    }
    let refuse = |status, message: String| page(&state, &headers, status, Some(message), false);
    let ip = client_ip(peer, &headers, state.settings().trust_proxy);
    let now = Instant::now();
    let limited = state.login_limiter.check(ip, now).err().or_else(|| {
        if known_device(&state, &headers) {
            None
        } else {
            // One key for the whole account.
            state
                .account_limiter
                .check(IpAddr::V4(Ipv4Addr::UNSPECIFIED), now)
                .err()
        }
    });
    if let Some(wait) = limited {
        tracing::warn!(client = %ip, "sign-in attempts over the limit");
        let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, too_many(wait))?;
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(wait.as_secs().max(1)),
        );
        return Ok(response);
    }
    let hash = {
        let mut conn = state.pool.get().await?;
        access::password_hash(&mut conn).await?
    };
    let Some(hash) = hash else {
        return page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("No password is set yet.".into()),
            true,
        );
    };
    if !access::password_matches(hash, form.password).await {
        tracing::info!(client = %ip, "a sign-in with a wrong password");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "That password is not right.".into(),
        );
    }
    let session = {
        let mut conn = state.pool.get().await?;
        access::start_session(&mut conn, state.settings().sessions).await?
    };
    tracing::info!(client = %ip, "the owner signed in");
    let mut response = Redirect::to("/admin").into_response();
    let max_age = state.settings().sessions.max_age.num_seconds();
    let headers_out = response.headers_mut();
    headers_out.append(
        header::SET_COOKIE,
        admin_cookie(
            &state.settings(),
            SESSION_COOKIE,
            Some(session.as_str()),
            max_age,
        ),
    );
    let device = BrowserId::generate();
    let device_token = state
        .form_secret
        .issue_for(&device_scope(device.as_str()), Utc::now());
    headers_out.append(
        header::SET_COOKIE,
        admin_cookie(
            &state.settings(),
            DEVICE_COOKIE,
            Some(&format!("{}.{device_token}", device.as_str())),
            DEVICE_DAYS * 24 * 3600,
        ),
    );
    Ok(response)
}

fn too_many(wait: Duration) -> String {
    let minutes = wait.as_secs().max(1).div_ceil(60);
    format!(
        "Too many sign-in attempts. Please wait {minutes} {} and try again.",
        if minutes == 1 { "minute" } else { "minutes" }
    )
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/logout`: ends this browser's session.
pub(super) async fn logout(
    State(state): State<AppState>,
    owner: Owner,
    Form(form): Form<LogoutForm>,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    {
        let mut conn = state.pool.get().await?;
        access::end_session(&mut conn, &owner.session).await?;
    }
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        admin_cookie(&state.settings(), SESSION_COOKIE, None, 0),
    );
    Ok(response)
}
