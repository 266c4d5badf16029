//! The comments under a post as the page shows them: threaded to a depth,
//! with avatars, attachments and reply links.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::federation::objects::person;
use crate::models::comment::{AttachmentKind, Comment, Origin};
use crate::render::time;
use crate::state::AppState;
use crate::urls;
use crate::web::error::PageError;

/// Nesting shown on the page; deeper answers are shown at this depth, "in reply to" someone.
pub(super) const MAX_COMMENT_DEPTH: usize = 3;

/// Colours of the initials avatars (`.avatar-0` ... in the stylesheet).
pub(super) const AVATAR_COLOURS: u8 = 12;

#[derive(Serialize)]
pub(super) struct CommentContext {
    pub(super) id: i64,
    depth: usize,
    /// "remote", "author" or "reader".
    origin: Origin,
    pub(super) author_name: String,
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
pub(super) struct AttachmentView {
    /// The original (a link, never loaded by the page).
    url: String,
    /// The picture as cached here, once it is.
    src: Option<String>,
    alt: Option<String>,
    /// What a link to it says: `🖼 alt`, `🎞 video`...
    label: String,
}

/// What the comment list needs besides the comments.
pub(super) struct ThreadView<'a> {
    /// Pictures attached to comments, cached here (fetched when missing).
    pub(super) attachments: &'a Arc<crate::state::image_cache::ImageCache>,
    pub(super) settings: &'a Settings,
    pub(super) post_slug: &'a str,
    pub(super) counts: HashMap<i64, (i64, i64, i64)>,
    /// Whether readers can answer (the form is on).
    pub(super) replies: bool,
    /// Cached avatars by commenter (actor id).
    pub(super) avatars: HashMap<String, String>,
}

/// The comments as a tree, oldest first at each level: answers nested in
/// their parent's `children` down to [`MAX_COMMENT_DEPTH`]; deeper answers
/// follow their ancestor at that depth, each "in reply to" its parent.
pub(super) fn threaded(view: &ThreadView<'_>, comments: &[Comment]) -> Vec<CommentContext> {
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

pub(super) struct Tree<'a> {
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
pub(super) fn find_comment(thread: &[CommentContext], id: i64) -> Option<&CommentContext> {
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
pub(super) fn count_comments(thread: &[CommentContext]) -> usize {
    thread.iter().map(|c| 1 + count_comments(&c.children)).sum()
}

pub(super) fn comment_context(
    view: &ThreadView<'_>,
    c: &Comment,
    depth: usize,
    reply_to_name: Option<String>,
) -> CommentContext {
    let settings = view.settings;
    let tz = settings.blog.time_zone;
    let name = c.display_name();
    let (author_link, website_display, colour_key) = match c.origin {
        Origin::Reader => (
            c.reader_website.clone(),
            c.reader_website
                .as_deref()
                .map(crate::render::website::display_website),
            format!(
                "reader:{name}:{}",
                c.reader_website.as_deref().unwrap_or("")
            ),
        ),
        Origin::Author => (Some(settings.url("/")), None, c.author_ap_id.clone()),
        Origin::Remote => (Some(c.author_ap_id.clone()), None, c.author_ap_id.clone()),
    };
    let (likes, boosts, quotes) = view.counts.get(&c.id).copied().unwrap_or((0, 0, 0));
    CommentContext {
        id: c.id,
        depth: depth.min(MAX_COMMENT_DEPTH),
        origin: c.origin,
        author_handle: (c.origin != Origin::Reader)
            .then(|| c.author_handle.clone())
            .flatten(),
        author_link,
        website_display,
        initials: initials(&name),
        avatar_url: match c.origin {
            // The blog's own profile picture, when it has one.
            Origin::Author => settings
                .profile
                .avatar
                .as_ref()
                .map(|file| settings.url(&person::media_path("avatar", file))),
            Origin::Reader => None,
            Origin::Remote => view.avatars.get(&c.author_ap_id).cloned(),
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
pub(super) fn attachment_views(view: &ThreadView<'_>, c: &Comment) -> Vec<AttachmentView> {
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
pub(super) async fn cached_avatars(
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
                cached.insert(actor, state.settings().url(&format!("/avatars/{key}")));
            }
            None => state.avatars.fetch_in_background(&icon),
        }
    }
    Ok(cached)
}

/// The post page with the comment form set up to answer comment `id`.
pub(super) fn reply_url(settings: &Settings, slug: &str, id: i64) -> String {
    format!("{}?reply_to={id}#comment-form", urls::post(settings, slug))
}

/// The first letters of the first and last words of a name (`Ada Lovelace`
/// → `AL`, `@alice@example.org` → `A`), for an avatar without an image.
pub(super) fn initials(name: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
