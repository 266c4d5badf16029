//! Where a reply belongs: one of our posts or a comment we hold, found at once
//! or by fetching the unknown parents from their origins, one `inReplyTo` at a
//! time, within a budget of hops.

use std::collections::HashSet;

use activitypub_federation::config::Data;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use url::Url;

use super::error::FederationError;
use super::objects::remote_note::{self, FetchError, RemoteNote};
use super::same_origin;
use crate::models::comment;
use crate::models::post::{self, Post};
use crate::state::AppState;
use crate::urls;

/// The most parents fetched for one reply. Every fetch (and every author
/// looked up) also counts against the federation's `http_fetch_limit` for
/// the inbound request.
pub const MAX_HOPS: usize = 8;

/// A public post, and the comment under it a reply answers (if any).
#[derive(Debug, Clone)]
pub struct Anchor {
    pub post: Post,
    pub comment_id: Option<i64>,
}

/// What an `inReplyTo` names here.
enum Place {
    Here(Box<Anchor>),
    /// Ours, but not something that takes replies (a draft, a comment on one).
    Closed,
    Unknown,
}

/// What one of our own addresses names, when it is not an ActivityPub id: a
/// post's page (its current or an old slug; some servers reply to `url`
/// rather than `id`), or a comment's place on it (`#comment-N`).
async fn our_page(
    conn: &mut AsyncPgConnection,
    address: &Url,
) -> QueryResult<Option<(Post, Option<i64>)>> {
    let Some(slug) = address.path().strip_prefix("/posts/") else {
        return Ok(None);
    };
    if slug.contains('/') {
        return Ok(None);
    }
    let post = match post::find_by_slug(conn, slug).await? {
        Some(post) => post,
        None => match post::redirect_target(conn, slug).await? {
            Some(current) => match post::find_by_slug(conn, &current).await? {
                Some(post) => post,
                None => return Ok(None),
            },
            None => return Ok(None),
        },
    };
    let comment_id = match address
        .fragment()
        .and_then(|f| f.strip_prefix("comment-"))
        .map(str::parse::<i64>)
    {
        None => None,
        Some(Ok(id)) => match comment::find(conn, id).await? {
            Some(c) if c.post_id == post.id => Some(c.id),
            _ => return Ok(None),
        },
        Some(Err(_)) => return Ok(None),
    };
    Ok(Some((post, comment_id)))
}

async fn place(conn: &mut AsyncPgConnection, address: &Url, ours: &Url) -> QueryResult<Place> {
    let ap_id = address.as_str();
    if let Some(post) = post::find_by_ap_id(conn, ap_id).await? {
        return Ok(if post.is_public() {
            Place::Here(Box::new(Anchor {
                post,
                comment_id: None,
            }))
        } else {
            Place::Closed
        });
    }
    let Some(c) = comment::find_by_ap_id(conn, ap_id).await? else {
        if same_origin(address, ours)
            && let Some((post, comment_id)) = our_page(conn, address).await?
        {
            return Ok(if post.is_public() {
                Place::Here(Box::new(Anchor { post, comment_id }))
            } else {
                Place::Closed
            });
        }
        return Ok(Place::Unknown);
    };
    Ok(match post::find_by_id(conn, c.post_id).await? {
        Some(post) if post.is_public() => Place::Here(Box::new(Anchor {
            post,
            comment_id: Some(c.id),
        })),
        _ => Place::Closed,
    })
}

/// What one address names here, when it is a public post of ours or a
/// comment under one (by its id, or by the post's page address).
pub async fn anchor_of(
    conn: &mut AsyncPgConnection,
    address: &Url,
    ours: &Url,
) -> QueryResult<Option<Anchor>> {
    Ok(match place(conn, address, ours).await? {
        Place::Here(anchor) => Some(*anchor),
        Place::Closed | Place::Unknown => None,
    })
}

/// The parent to follow when a reply names several (`inReplyTo` as a list):
/// the first that is a post of ours or a comment we hold; else the first.
pub async fn choose_parent(
    data: &Data<AppState>,
    reply: &RemoteNote,
) -> Result<Option<Url>, FederationError> {
    if reply.in_reply_to_all.len() <= 1 {
        return Ok(reply.in_reply_to.clone());
    }
    let ours = Url::parse(&urls::actor(&data.settings()))
        .map_err(|e| FederationError::Invalid(e.to_string()))?;
    let conn = &mut *data.pool.get().await?;
    for candidate in &reply.in_reply_to_all {
        if matches!(place(conn, candidate, &ours).await?, Place::Here(_)) {
            return Ok(Some(candidate.clone()));
        }
    }
    let named: Vec<&str> = reply.in_reply_to_all.iter().map(Url::as_str).collect();
    tracing::info!(reply = %reply.id, parents = ?named, "a reply names several parents, none of them here; the first is followed");
    Ok(reply.in_reply_to.clone())
}

/// A reply's place, and the parents fetched to get there, top-down (each one
/// answers the one before it; the first answers the anchor).
#[derive(Debug)]
pub struct Chain {
    pub anchor: Anchor,
    pub fetched: Vec<RemoteNote>,
}

/// Follows `in_reply_to` (what `reply` answers) up to one of our posts or a
/// comment we hold. `None` when it ends elsewhere, cycles, leaves the budget,
/// or a fetch fails for good or is not believed: the reply is then none of
/// ours. A fetch that may succeed later (a network failure, a 5xx) is an
/// error, so that the worker tries the activity again.
/// A connection is taken for each look-up and given back before each fetch.
pub async fn climb(
    data: &Data<AppState>,
    reply: &Url,
    in_reply_to: &Url,
) -> Result<Option<Chain>, FederationError> {
    let ours = Url::parse(&urls::actor(&data.settings()))
        .map_err(|e| FederationError::Invalid(e.to_string()))?;
    let mut seen = HashSet::from([reply.clone()]);
    let mut fetched = Vec::new();
    let mut next = in_reply_to.clone();
    loop {
        if !seen.insert(next.clone()) {
            tracing::info!(reply = %reply, at = %next, "a reply's parents go in a circle; ignored");
            return Ok(None);
        }
        let here = place(&mut *data.pool.get().await?, &next, &ours).await?;
        match here {
            Place::Here(anchor) => {
                fetched.reverse();
                return Ok(Some(Chain {
                    anchor: *anchor,
                    fetched,
                }));
            }
            Place::Closed => return Ok(None),
            Place::Unknown => {}
        }
        if same_origin(&next, &ours) || !matches!(next.scheme(), "http" | "https") {
            return Ok(None);
        }
        if fetched.len() >= MAX_HOPS {
            tracing::info!(reply = %reply, hops = MAX_HOPS, "a reply's parents do not reach us within the budget; ignored");
            return Ok(None);
        }
        let parent = match remote_note::fetch(&next, data).await {
            Ok(parent) => parent,
            Err(FetchError::Protocol(e)) if FederationError::is_transient_protocol(&e) => {
                // The activity is processed again later (with back-off).
                return Err(e.into());
            }
            Err(e) => {
                tracing::info!(reply = %reply, parent = %next, error = %e, "a reply's parent could not be had; ignored");
                return Ok(None);
            }
        };
        let Some(grandparent) = parent.in_reply_to.clone() else {
            return Ok(None);
        };
        fetched.push(parent);
        next = grandparent;
    }
}
