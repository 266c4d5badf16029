//! QuoteRequest (FEP-044f): someone quotes one of our posts. Anyone may
//! (the Article's `interactionPolicy`), so the request is approved at once,
//! once the quoting post is known to be the requester's (embedded with its
//! author, as Mastodon sends it, or else fetched from its origin):
//! the approval is stored, served as a QuoteAuthorization, and named in an
//! Accept. A post that is not public (any more), or a requester blocked
//! since, gets a Reject.

use activitypub_federation::config::Data;
use activitypub_federation::traits::Actor;
use diesel_async::AsyncConnection;
use serde_json::Value;
use url::Url;

use super::InboxActivity;
use crate::delivery;
use crate::federation::error::FederationError;
use crate::federation::objects::remote_actor::RemoteActor;
use crate::federation::objects::remote_note::{self, FetchError};
use crate::federation::{object_id, outgoing, same_origin};
use crate::models::{block, post, quote, received_activity};
use crate::state::AppState;
use crate::urls;

/// The request's parts, checked.
struct QuoteRequest<'a> {
    id: &'a Url,
    actor: &'a Url,
    /// Our post quoted.
    object: Url,
    /// The quoting post.
    instrument: Url,
    /// Whether the request embeds the quoting post with its author (as
    /// Mastodon sends it); otherwise the post is fetched to learn it.
    author_embedded: bool,
}

impl<'a> QuoteRequest<'a> {
    /// As our Accept or Reject echoes it.
    fn echo(&self) -> outgoing::QuoteRequest<'_> {
        outgoing::QuoteRequest {
            id: self.id.as_str(),
            actor: self.actor.as_str(),
            object: self.object.as_str(),
            instrument: self.instrument.as_str(),
        }
    }

    /// Checks what can be checked without fetching: the quoted post is on
    /// this server, and the quoting post is the requester's (on its server,
    /// written by it, quoting what it asks to quote).
    fn parse(activity: &'a InboxActivity, data: &Data<AppState>) -> Result<Self, FederationError> {
        let invalid = |why: &str| FederationError::Invalid(format!("QuoteRequest: {why}"));
        let object = activity
            .object_id()
            .ok_or_else(|| invalid("`object` must name the quoted post"))?;
        let ours = Url::parse(&data.settings().url("/")).map_err(|_| invalid("no base URL"))?;
        if !same_origin(&object, &ours) {
            return Err(invalid("`object` is not a post on this server"));
        }
        let instrument = activity.rest.get("instrument").unwrap_or(&Value::Null);
        let quoting = object_id(instrument)
            .ok_or_else(|| invalid("`instrument` must be the quoting post or its id"))?;
        if !same_origin(&quoting, &activity.actor) {
            return Err(invalid("the quoting post is not on the requester's server"));
        }
        let author = instrument
            .get("attributedTo")
            .and_then(remote_note::author_of);
        if author.as_ref().is_some_and(|a| *a != activity.actor) {
            return Err(invalid("the quoting post is not the requester's"));
        }
        let quoted = ["quote", "quoteUrl", "quoteUri", "_misskey_quote"]
            .iter()
            .find_map(|key| instrument.get(*key).and_then(object_id));
        if quoted.is_some_and(|q| q != object) {
            return Err(invalid("the quoting post quotes something else"));
        }
        Ok(QuoteRequest {
            id: &activity.id,
            actor: &activity.actor,
            object,
            instrument: quoting,
            author_embedded: author.is_some(),
        })
    }
}

pub(super) fn verify(
    activity: &InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    QuoteRequest::parse(activity, data).map(drop)
}

pub(super) async fn receive(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let request = QuoteRequest::parse(&activity, data)?;
    if !request.author_embedded {
        // Only its id came: its author is read at its origin.
        let quoting = match remote_note::fetch(&request.instrument, data).await {
            Ok(note) => note,
            Err(FetchError::Protocol(e)) if FederationError::is_transient_protocol(&e) => {
                return Err(e.into());
            }
            Err(e) => {
                return Err(FederationError::Invalid(format!(
                    "QuoteRequest: the quoting post could not be had: {e}"
                )));
            }
        };
        if quoting.attributed_to.as_ref() != Some(&activity.actor) {
            return Err(FederationError::Invalid(
                "QuoteRequest: the quoting post is not the requester's".into(),
            ));
        }
    }
    // Known already: its key signed the request.
    let requester = RemoteActor::dereference_exact(&activity.actor, data, false).await?;
    let inbox = requester.inbox().to_string();
    let settings = data.settings().clone();
    let mut conn = data.pool.get().await?;
    conn.transaction::<_, FederationError, _>(async |conn| {
        if !received_activity::record(conn, activity.id.as_str()).await? {
            return Ok(());
        }
        let quoted = post::find_by_ap_id(conn, request.object.as_str())
            .await?
            .filter(|p| p.is_public());
        let blocked = block::is_blocked(conn, activity.actor.as_str()).await?;
        let answer = match quoted {
            Some(quoted) if !blocked => {
                let id = quote::approve(
                    conn,
                    quoted.id,
                    request.instrument.as_str(),
                    activity.actor.as_str(),
                    activity.id.as_str(),
                )
                .await?;
                tracing::info!(quoter = %activity.actor, post = %quoted.slug, quote = %request.instrument, "approved a quote");
                outgoing::accept_quote(
                    &settings,
                    request.echo(),
                    &urls::quote_authorization(&settings, id),
                )
            }
            _ => {
                tracing::info!(quoter = %activity.actor, object = %request.object, blocked, "refused a quote");
                outgoing::reject_quote(&settings, request.echo())
            }
        };
        delivery::enqueue(conn, &answer, std::slice::from_ref(&inbox)).await?;
        Ok(())
    })
    .await
}
