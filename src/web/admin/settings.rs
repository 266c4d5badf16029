//! `/admin/settings`: what a blog owner changes (title, description,
//! language, time zone, author's name, the profile with its pictures, the
//! comment policies and the words that hold a comment), kept in the
//! database over the configuration file's values. Only what differs from
//! the file is kept, so a later change to the file still shows where the
//! owner did not override it. A change to the profile reaches followers'
//! servers as an `Update` of the actor.

use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::Owner;
use crate::config::{CommentPolicy, ConfigError, MediaFile, Settings, SiteOverrides};
use crate::media::MediaError;
use crate::profile::{self, SaveError};
use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::multipart::{self as upload, MultipartForm};
use crate::web::site::{SiteContext, site_context};

/// Profile field rows the form shows at least.
const FIELD_ROWS: usize = 4;
/// And at most (the configuration's limit).
const MAX_FIELDS: usize = 8;

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    saved: Option<String>,
}

#[derive(Serialize)]
struct SettingsPage {
    site: SiteContext,
    csrf: String,
    form: Values,
    /// The profile pictures in force: their addresses.
    avatar_url: Option<String>,
    header_url: Option<String>,
    time_zones: Vec<&'static str>,
    error: Option<FieldError>,
    /// "saved", or "profile" when followers were sent the new profile.
    saved: Option<String>,
    /// Whether anything differs from the configuration file.
    overridden: bool,
    max_upload_mb: usize,
    handle: String,
}

#[derive(Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

/// The form's values, as shown and as sent back.
#[derive(Serialize, Default)]
struct Values {
    title: String,
    description: String,
    language: String,
    time_zone: String,
    author_name: String,
    bio: String,
    fields: Vec<(String, String)>,
    fediverse_policy: &'static str,
    reader_comments: bool,
    reader_policy: &'static str,
    hold_keywords: String,
}

impl Values {
    fn of(settings: &Settings) -> Self {
        let mut fields = settings.profile.fields.clone();
        pad(&mut fields);
        Values {
            title: settings.blog.title.clone(),
            description: settings.blog.description.clone(),
            language: settings.blog.language.clone(),
            time_zone: settings.blog.time_zone.name().to_string(),
            author_name: settings.blog.author_name.clone(),
            bio: if settings.profile.bio == settings.blog.description {
                String::new()
            } else {
                settings.profile.bio.clone()
            },
            fields,
            fediverse_policy: settings.comments.fediverse_policy.as_str(),
            reader_comments: settings.comments.reader_comments,
            reader_policy: settings.comments.reader_policy.as_str(),
            hold_keywords: settings.comments.hold_keywords.join("\n"),
        }
    }

    fn sent(form: &MultipartForm) -> Self {
        let mut fields: Vec<(String, String)> = (0..MAX_FIELDS)
            .map(|i| {
                (
                    form.text(&format!("field_name_{i}")).trim().to_string(),
                    form.text(&format!("field_value_{i}")).trim().to_string(),
                )
            })
            .filter(|(name, value)| !name.is_empty() || !value.is_empty())
            .collect();
        pad(&mut fields);
        let policy = |name: &str| {
            CommentPolicy::from_name(&form.text(name)).map_or("", CommentPolicy::as_str)
        };
        Values {
            title: form.text("title").trim().to_string(),
            description: form.text("description").trim().to_string(),
            language: form.text("language").trim().to_string(),
            time_zone: form.text("time_zone").trim().to_string(),
            author_name: form.text("author_name").trim().to_string(),
            bio: form.text("bio").trim().to_string(),
            fields,
            fediverse_policy: policy("fediverse_policy"),
            reader_comments: !form.text("reader_comments").is_empty(),
            reader_policy: policy("reader_policy"),
            hold_keywords: form.text("hold_keywords"),
        }
    }

    /// The changes from the configuration file (`file`) these values make.
    fn overrides(&self, file: &Settings) -> SiteOverrides {
        fn differs<T: PartialEq + Clone>(sent: &T, file: &T) -> Option<T> {
            (sent != file).then(|| sent.clone())
        }
        let fields: Vec<(String, String)> = self
            .fields
            .iter()
            .filter(|(name, value)| !name.is_empty() || !value.is_empty())
            .cloned()
            .collect();
        let file_bio = if file.profile.bio == file.blog.description {
            String::new()
        } else {
            file.profile.bio.clone()
        };
        SiteOverrides {
            title: differs(&self.title, &file.blog.title),
            description: differs(&self.description, &file.blog.description),
            language: differs(&self.language, &file.blog.language),
            time_zone: differs(&self.time_zone, &file.blog.time_zone.name().to_string()),
            author_name: differs(&self.author_name, &file.blog.author_name),
            bio: differs(&self.bio, &file_bio),
            fields: differs(&fields, &file.profile.fields),
            fediverse_policy: differs(
                &self.fediverse_policy,
                &file.comments.fediverse_policy.as_str(),
            )
            .map(str::to_string),
            reader_comments: differs(&self.reader_comments, &file.comments.reader_comments),
            reader_policy: differs(&self.reader_policy, &file.comments.reader_policy.as_str())
                .map(str::to_string),
            hold_keywords: differs(&keywords(&self.hold_keywords), &file.comments.hold_keywords),
            avatar: None,
            header: None,
        }
    }
}

/// The hold keywords typed, one per line: trimmed, lowercased, each once.
fn keywords(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in text.lines().map(|w| w.trim().to_lowercase()) {
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

fn pad(fields: &mut Vec<(String, String)>) {
    let rows = (fields.len() + 1).clamp(FIELD_ROWS, MAX_FIELDS);
    fields.resize(rows, (String::new(), String::new()));
}

fn picture_url(which: &str, file: Option<&MediaFile>) -> Option<String> {
    file.map(|f| crate::federation::objects::person::media_path(which, f))
}

/// `GET /admin/settings`.
pub(super) async fn show(
    State(state): State<AppState>,
    owner: Owner,
    Query(query): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let settings = state.settings();
    let saved = query
        .saved
        .filter(|s| matches!(s.as_str(), "saved" | "profile" | "reset"));
    render(
        &state,
        owner,
        Values::of(&settings),
        None,
        saved,
        StatusCode::OK,
    )
}

fn render(
    state: &AppState,
    owner: Owner,
    form: Values,
    error: Option<FieldError>,
    saved: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let settings = state.settings();
    let html = state.templates.render(
        "admin_settings.html",
        SettingsPage {
            site: site_context(&settings),
            csrf: owner.csrf,
            form,
            avatar_url: picture_url("avatar", settings.profile.avatar.as_ref()),
            header_url: picture_url("header", settings.profile.header.as_ref()),
            time_zones: chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect(),
            error,
            saved,
            overridden: state.live.overrides() != SiteOverrides::default(),
            max_upload_mb: settings.max_upload_bytes / (1024 * 1024),
            handle: format!("@{}@{}", settings.blog.author_handle, settings.domain),
        },
    )?;
    Ok((status, Html(html)).into_response())
}

/// The form again, with what was typed and why it was not saved.
fn refused(
    state: &AppState,
    owner: Owner,
    values: Values,
    error: FieldError,
) -> Result<Response, PageError> {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    render(state, owner, values, Some(error), None, status)
}

/// `POST /admin/settings`: save, or go back to the configuration file's
/// values (`action=reset`).
pub(super) async fn save(
    State(state): State<AppState>,
    owner: Owner,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let max = state.settings().max_upload_bytes;
    let mut form = upload::read(multipart, &["avatar", "header"], max).await?;
    owner.check_form(&state, &form.text("csrf"))?;
    let values = Values::sent(&form);
    let file = state.live.base().clone();
    let overrides = if form.text("action") == "reset" {
        SiteOverrides::default()
    } else {
        let current = state.live.overrides();
        let mut overrides = values.overrides(&file);
        // Checked before any picture is stored: a refused form keeps nothing.
        if let Err(invalid) = overrides.validate() {
            let error = field_error(invalid.field, &invalid.message);
            return refused(&state, owner, values, error);
        }
        let pictures = [
            ("avatar", current.avatar, file.profile.avatar.is_some()),
            ("header", current.header, file.profile.header.is_some()),
        ];
        for (which, saved, in_file) in pictures {
            let chosen = match chosen_picture(&state, &mut form, which, saved, in_file).await? {
                Ok(chosen) => chosen,
                Err(error) => return refused(&state, owner, values, error),
            };
            if which == "avatar" {
                overrides.avatar = chosen;
            } else {
                overrides.header = chosen;
            }
        }
        overrides
    };
    let saved = {
        let mut conn = state.pool.get().await?;
        profile::save(&mut conn, &state.live, &state.actor_keys, overrides).await
    };
    match saved {
        Ok(profile_sent) => {
            let saved = match (form.text("action").as_str(), profile_sent) {
                ("reset", _) => "reset",
                (_, true) => "profile",
                _ => "saved",
            };
            Ok(Redirect::to(&format!("/admin/settings?saved={saved}")).into_response())
        }
        Err(SaveError::Invalid(ConfigError::Invalid { key, message })) => {
            let error = field_error(&key, &message);
            refused(&state, owner, values, error)
        }
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
}

/// The picture the form chooses as the `which` (avatar or header): one just
/// uploaded, none (its "remove" box), or the one saved before; `None` when
/// that is the configuration file's (`in_file`: whether it has one).
/// `Ok(Err(_))`: the upload is refused, and why.
async fn chosen_picture(
    state: &AppState,
    form: &mut MultipartForm,
    which: &'static str,
    saved: Option<String>,
    in_file: bool,
) -> Result<Result<Option<String>, FieldError>, PageError> {
    let chosen = match form.take_file(which) {
        Some(picture) => {
            let alt = format!("The blog's {which}");
            match super::media::store(state, picture, &alt).await {
                Ok(stored) => Some(stored.display_file_name()),
                Err(MediaError::Rejected(why)) => {
                    return Ok(Err(FieldError {
                        field: which,
                        message: format!("The {which} {why}"),
                    }));
                }
                Err(e) => return Err(PageError::Internal(e.to_string())),
            }
        }
        None if !form.text(&format!("{which}_remove")).is_empty() => Some(String::new()),
        None => saved,
    };
    // "No picture" when the file has none is the file's value.
    Ok(Ok(chosen.filter(|name| !name.is_empty() || in_file)))
}

/// An error at its field, named as the form names it.
fn field_error(key: &str, message: &str) -> FieldError {
    match FIELDS.iter().find(|(name, _)| *name == key) {
        Some((field, label)) => FieldError {
            field,
            message: format!("{label}: {message}"),
        },
        // Not one of the form's fields: said at the top of the page.
        None => FieldError {
            field: "",
            message: message.to_string(),
        },
    }
}

/// The form's fields, as their errors name them.
const FIELDS: &[(&str, &str)] = &[
    ("title", "The title"),
    ("description", "The description"),
    ("language", "The language"),
    ("time_zone", "The time zone"),
    ("author_name", "The author's name"),
    ("bio", "The bio"),
    ("fields", "The profile fields"),
    ("avatar", "The avatar"),
    ("header", "The header picture"),
    ("fediverse_policy", "The policy for replies"),
    ("reader_policy", "The policy for readers' comments"),
    ("hold_keywords", "The held words"),
];
