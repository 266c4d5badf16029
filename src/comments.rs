//! What happens to comments through the CLI, the API and the comment form:
//! the author's answers, readers' comments, and moderation. Like
//! [`crate::posts`], input is validated first, then each change runs in
//! one transaction together with the activities it sends.

use chrono::Utc;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::Value;

use crate::config::{CommentPolicy, Settings};
use crate::delivery;
use crate::federation::objects::note::{self, Note};
use crate::federation::outgoing;
use crate::models::comment::{self, Comment, NewComment, Origin, State};
use crate::models::post::{self, Post};
use crate::models::{block, follower, remote_actor};
use crate::render::markdown;
use crate::urls;

/// The longest comment (the author's or a reader's), in characters.
pub const MAX_COMMENT_CHARS: usize = 5000;
pub const MAX_NAME_CHARS: usize = 80;
pub const MAX_WEBSITE_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    /// The comment is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] DieselError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> CommentError {
    CommentError::Invalid {
        field,
        message: message.into(),
    }
}

/// What a new comment answers.
#[derive(Debug, Clone)]
pub enum Target {
    /// The post with this slug.
    Post(String),
    /// The comment with this id.
    Comment(i64),
}

/// A comment's post and the comment it answers (if any).
struct Thread {
    post: Post,
    parent: Option<Comment>,
}

impl Thread {
    fn in_reply_to(&self) -> Option<&str> {
        match &self.parent {
            Some(parent) => Some(&parent.ap_id),
            None => self.post.ap_id.as_deref(),
        }
    }
}

async fn thread_of(conn: &mut AsyncPgConnection, target: &Target) -> Result<Thread, CommentError> {
    match target {
        Target::Post(slug) => {
            let post = post::find_by_slug(conn, slug)
                .await?
                .filter(Post::is_public)
                .ok_or_else(|| {
                    CommentError::NotFound(format!("no published post with the slug {slug:?}"))
                })?;
            Ok(Thread { post, parent: None })
        }
        Target::Comment(id) => {
            let parent = comment::find(conn, *id)
                .await?
                .ok_or_else(|| CommentError::NotFound(format!("no comment with the id {id}")))?;
            if parent.state == State::Pending {
                return Err(CommentError::Conflict(format!(
                    "comment {id} waits for moderation; approve it before answering it"
                )));
            }
            if !parent.is_visible() {
                return Err(CommentError::NotFound(format!(
                    "comment {id} is not shown on the blog ({}, {})",
                    parent.state, parent.visibility
                )));
            }
            let post = post::find_by_id(conn, parent.post_id)
                .await?
                .filter(Post::is_public)
                .ok_or_else(|| {
                    CommentError::NotFound(format!("comment {id}'s post is not published"))
                })?;
            Ok(Thread {
                post,
                parent: Some(parent),
            })
        }
    }
}

/// The parent comment of `c`, if it answers one.
async fn parent_of(
    conn: &mut AsyncPgConnection,
    c: &Comment,
) -> Result<Option<Comment>, DieselError> {
    match c.parent_id {
        Some(id) => comment::find(conn, id).await,
        None => Ok(None),
    }
}

fn valid_body(text: &str) -> Result<String, CommentError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("body", "must not be empty"));
    }
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(invalid(
            "body",
            format!("must be at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    Ok(text.to_string())
}

/// The first of `comments.hold_keywords` in `text` (any case).
pub fn held_keyword<'a>(settings: &'a Settings, text: &str) -> Option<&'a str> {
    let lowered = text.to_lowercase();
    settings
        .comments
        .hold_keywords
        .iter()
        .find(|w| lowered.contains(w.as_str()))
        .map(String::as_str)
}

/// The moderation state of a new comment, and why it is held.
pub async fn initial_state(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    origin: Origin,
    author: &str,
    text: &str,
) -> Result<(State, Option<String>), DieselError> {
    let policy = match origin {
        // The author is not moderated, keywords or not.
        Origin::Author => return Ok((State::Approved, None)),
        Origin::Remote => settings.comments.fediverse_policy,
        Origin::Reader => settings.comments.reader_policy,
    };
    if let Some(word) = held_keyword(settings, text) {
        return Ok((State::Pending, Some(format!("contains \"{word}\""))));
    }
    Ok(match policy {
        CommentPolicy::ApproveAll => (State::Approved, None),
        CommentPolicy::HoldAll => (
            State::Pending,
            Some("every comment waits for approval".into()),
        ),
        CommentPolicy::HoldFirstTime if comment::has_approved(conn, author).await? => {
            (State::Approved, None)
        }
        CommentPolicy::HoldFirstTime => (
            State::Pending,
            Some("first comment from this account".into()),
        ),
    })
}

/// The inboxes a local comment's activities go to: the followers for the
/// author's answers, and the parent's author when that is someone on the
/// fediverse (so that they are notified). Blocked servers get nothing.
async fn recipients(
    conn: &mut AsyncPgConnection,
    c: &Comment,
    parent: Option<&Comment>,
) -> Result<Vec<String>, DieselError> {
    let mut inboxes = if c.origin == Origin::Author {
        follower::delivery_inboxes(conn).await?
    } else {
        Vec::new()
    };
    if let Some(m) = note::mentioned(parent)
        && !block::is_blocked(conn, &m.author_ap_id).await?
        && let Some(actor) = remote_actor::find(conn, &m.author_ap_id).await?
    {
        inboxes.push(actor.shared_inbox_url.unwrap_or(actor.inbox_url));
    }
    Ok(inboxes)
}

/// Queues `build(note)` for the comment's recipients.
async fn send(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    c: &Comment,
    post: &Post,
    build: impl FnOnce(&Settings, Note) -> Value,
) -> Result<(), DieselError> {
    let parent = parent_of(conn, c).await?;
    let Some(note) = note::note(settings, c, post, parent.as_ref()) else {
        return Ok(());
    };
    let inboxes = recipients(conn, c, parent.as_ref()).await?;
    delivery::enqueue(conn, &build(settings, note), &inboxes).await
}

/// A local comment's row before it has an id.
struct LocalComment<'a> {
    origin: Origin,
    author_name: &'a str,
    author_handle: Option<&'a str>,
    source: &'a str,
    reader_website: Option<&'a str>,
}

async fn insert_local(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    thread: &Thread,
    local: LocalComment<'_>,
) -> Result<Comment, CommentError> {
    let in_reply_to = thread
        .in_reply_to()
        .ok_or_else(|| CommentError::NotFound("the post has no ActivityPub id".into()))?
        .to_string();
    let content_html = markdown::comment_to_html(local.source);
    let actor = urls::actor(settings);
    let text = format!(
        "{} {} {}",
        local.author_name,
        local.reader_website.unwrap_or_default(),
        local.source
    );
    let (state, note) = initial_state(conn, settings, local.origin, &actor, &text).await?;
    let id = comment::next_id(conn).await?;
    let ap_id = urls::comment(settings, id);
    let new = NewComment {
        ap_id: &ap_id,
        post_id: thread.post.id,
        parent_id: thread.parent.as_ref().map(|p| p.id),
        in_reply_to: &in_reply_to,
        url: None,
        author_ap_id: &actor,
        author_name: Some(local.author_name),
        author_handle: local.author_handle,
        content_html: &content_html,
        summary: None,
        sensitive: false,
        visibility: comment::Visibility::Public,
        published_at: Utc::now(),
        state,
        origin: local.origin,
        source: Some(local.source),
        reader_website: local.reader_website,
        language: None,
        attachments: serde_json::json!([]),
        moderation_note: note.as_deref(),
    };
    Ok(comment::insert_with_id(conn, id, &new).await?)
}

/// The author answers a post or a comment: a Note from the blog actor,
/// delivered to the followers and to the parent's author.
pub async fn reply_as_author(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    target: Target,
    body: &str,
) -> Result<Comment, CommentError> {
    let body = valid_body(body)?;
    let settings = settings.clone();
    conn.transaction::<_, CommentError, _>(async |conn| {
        let thread = thread_of(conn, &target).await?;
        let handle = format!("@{}", urls::account(&settings));
        let local = LocalComment {
            origin: Origin::Author,
            author_name: &settings.blog.author_name,
            author_handle: Some(&handle),
            source: &body,
            reader_website: None,
        };
        let c = insert_local(conn, &settings, &thread, local).await?;
        if c.state == State::Approved {
            send(conn, &settings, &c, &thread.post, outgoing::create_note).await?;
        }
        Ok(c)
    })
    .await
}

/// A reader's comment from the form on the blog page.
#[derive(Debug, Clone, Default)]
pub struct ReaderInput {
    pub name: String,
    pub website: Option<String>,
    pub body: String,
}

/// Stores a reader's comment, held or approved by `comments.reader_policy`;
/// an approved one is published as a Note at once.
pub async fn submit_reader_comment(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    target: Target,
    input: &ReaderInput,
) -> Result<Comment, CommentError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "must be one line of text"));
    }
    let website = normalize_website(input.website.as_deref().unwrap_or_default())?;
    let body = valid_body(&input.body)?;
    let settings = settings.clone();
    conn.transaction::<_, CommentError, _>(async |conn| {
        let thread = thread_of(conn, &target).await?;
        let local = LocalComment {
            origin: Origin::Reader,
            author_name: name,
            author_handle: None,
            source: &body,
            reader_website: website.as_deref(),
        };
        let c = insert_local(conn, &settings, &thread, local).await?;
        if c.state == State::Approved {
            send(conn, &settings, &c, &thread.post, outgoing::create_note).await?;
        }
        Ok(c)
    })
    .await
}

/// Checks and normalises a reader's website: http(s) only, a real host name
/// (international names are stored in their ASCII form), no credentials.
/// An empty value is no website.
pub fn normalize_website(raw: &str) -> Result<Option<String>, CommentError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.chars().count() > MAX_WEBSITE_CHARS {
        return Err(invalid(
            "website",
            format!("must be at most {MAX_WEBSITE_CHARS} characters"),
        ));
    }
    let lowered = raw.to_ascii_lowercase();
    let with_scheme = if lowered.starts_with("http://") || lowered.starts_with("https://") {
        raw.to_string()
    } else if lowered.contains(':') && !lowered.contains('.') || has_scheme(&lowered) {
        return Err(invalid("website", "must be an http:// or https:// address"));
    } else {
        format!("https://{raw}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|_| {
        invalid(
            "website",
            "is not a web address (such as https://example.org)",
        )
    })?;
    let host = url
        .host_str()
        .ok_or_else(|| invalid("website", "has no host name"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "website",
            "must not contain a user name or password",
        ));
    }
    if !host.contains('.') || host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(invalid(
            "website",
            "must have a domain name (such as example.org)",
        ));
    }
    Ok(Some(url.to_string()))
}

/// Whether `s` starts with a URL scheme such as `javascript:` or `data:`.
fn has_scheme(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                && !scheme.contains('.')
        }
        None => false,
    }
}

/// Loads a comment and its (public) post for a change.
async fn locked(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<(Comment, Option<Post>), CommentError> {
    let c = comment::lock(conn, id)
        .await?
        .ok_or_else(|| CommentError::NotFound(format!("no comment with the id {id}")))?;
    let post = post::find_by_id(conn, c.post_id)
        .await?
        .filter(Post::is_public);
    Ok((c, post))
}

/// Approves a held comment; a reader's comment is then published as a Note.
pub async fn approve(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    id: i64,
) -> Result<Comment, CommentError> {
    let settings = settings.clone();
    conn.transaction::<_, CommentError, _>(async |conn| {
        let (c, post) = locked(conn, id).await?;
        match c.state {
            State::Approved => return Ok(c),
            State::Deleted => {
                return Err(CommentError::Conflict(format!("comment {id} was deleted")));
            }
            _ => {}
        }
        comment::set_state(conn, id, State::Approved, None).await?;
        let c = comment::find(conn, id)
            .await?
            .ok_or_else(|| CommentError::NotFound(format!("no comment with the id {id}")))?;
        if let Some(post) = post {
            send(conn, &settings, &c, &post, outgoing::create_note).await?;
        }
        Ok(c)
    })
    .await
}

/// Rejects a comment as spam (hidden, kept so that it does not come back);
/// a published local comment is withdrawn with a Delete.
pub async fn reject(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    id: i64,
) -> Result<Comment, CommentError> {
    withdraw(conn, settings, id, State::Rejected).await
}

/// Deletes a comment; a published local comment is withdrawn with a Delete.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    id: i64,
) -> Result<Comment, CommentError> {
    withdraw(conn, settings, id, State::Deleted).await
}

async fn withdraw(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    id: i64,
    to: State,
) -> Result<Comment, CommentError> {
    let settings = settings.clone();
    conn.transaction::<_, CommentError, _>(async |conn| {
        let (c, post) = locked(conn, id).await?;
        if c.state == State::Deleted {
            return if to == State::Deleted {
                Ok(c)
            } else {
                Err(CommentError::Conflict(format!("comment {id} was deleted")))
            };
        }
        let was_published = c.state == State::Approved;
        if was_published && let Some(post) = &post {
            send(conn, &settings, &c, post, outgoing::delete_note).await?;
        }
        let note = (to == State::Rejected).then_some("rejected as spam");
        comment::set_state(conn, id, to, note).await?;
        if to == State::Deleted {
            comment::clear_content(conn, id).await?;
        }
        comment::find(conn, id)
            .await?
            .ok_or_else(|| CommentError::NotFound(format!("no comment with the id {id}")))
    })
    .await
}

/// Withdraws what was written here under `post`, which is being deleted
/// (in the caller's transaction, before the post is marked): each published
/// comment is deleted, with a Delete sent where its Create went, and its id
/// answers 410 from then on. Returns how many were withdrawn.
pub async fn withdraw_under(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    post: &Post,
) -> Result<usize, DieselError> {
    let published = comment::published_local(conn, post.id).await?;
    for c in &published {
        send(conn, settings, c, post, outgoing::delete_note).await?;
        comment::set_state(conn, c.id, State::Deleted, None).await?;
        comment::clear_content(conn, c.id).await?;
    }
    Ok(published.len())
}

/// The author edits one of their answers; an Update goes where the Create went.
pub async fn edit_author_reply(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    id: i64,
    body: &str,
) -> Result<Comment, CommentError> {
    let body = valid_body(body)?;
    let settings = settings.clone();
    conn.transaction::<_, CommentError, _>(async |conn| {
        let (c, post) = locked(conn, id).await?;
        if c.origin != Origin::Author {
            return Err(CommentError::Conflict(format!(
                "comment {id} is not one of the author's answers; only those can be edited"
            )));
        }
        if c.state == State::Deleted {
            return Err(CommentError::Conflict(format!("comment {id} was deleted")));
        }
        let html = markdown::comment_to_html(&body);
        comment::set_local_content(conn, id, &body, &html, Utc::now()).await?;
        let c = comment::find(conn, id)
            .await?
            .ok_or_else(|| CommentError::NotFound(format!("no comment with the id {id}")))?;
        if c.state == State::Approved
            && let Some(post) = &post
        {
            send(conn, &settings, &c, post, outgoing::update_note).await?;
        }
        Ok(c)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::website::display_website;

    #[test]
    fn websites_are_checked_and_international_names_kept_readable() {
        let stored = normalize_website("http://www.tjäna.se").unwrap().unwrap();
        assert_eq!(stored, "http://www.xn--tjna-moa.se/");
        assert_eq!(display_website(&stored), "www.tjäna.se");
        assert_eq!(
            normalize_website("example.org/blog").unwrap().as_deref(),
            Some("https://example.org/blog")
        );
        assert_eq!(
            display_website("https://example.org/blog"),
            "example.org/blog"
        );
        assert_eq!(normalize_website("  ").unwrap(), None);
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "ftp://example.org/",
            "https://user:pw@example.org/",
            "https://localhost/",
            "http://127.0.0.1/",
            "vbscript:x",
        ] {
            assert!(
                matches!(
                    normalize_website(bad),
                    Err(CommentError::Invalid {
                        field: "website",
                        ..
                    })
                ),
                "{bad} was accepted"
            );
        }
    }
}
