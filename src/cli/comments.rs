//! `fedblog comment ...`: moderation and the author's answers from the
//! command line, through the same [`crate::comments`] code as the API.

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;
use diesel_async::AsyncPgConnection;

use super::input::text_of;
use super::output::{out, terminal_safe};
use crate::comments::{self, Target};
use crate::config::Settings;
use crate::models::comment::{self, Comment, ListFilter, Origin, StateFilter};
use crate::models::post;
use crate::render::sanitize;
use crate::urls;

#[derive(Debug, Subcommand)]
pub enum CommentCommand {
    /// List comments, newest first (pending ones by default).
    List {
        #[arg(long, value_enum, default_value_t = StateFilter::Pending)]
        state: StateFilter,
        /// Only the comments under this post.
        #[arg(long, value_name = "SLUG")]
        post: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Show one comment: who, where, its state and its text.
    Show { id: i64 },
    /// Answer a comment (by id) or a post (--post SLUG) as the blog: a Note
    /// delivered to the followers and to the comment's author. The text
    /// (plain text or simple Markdown) comes from --text, --file or standard input.
    Reply {
        /// The comment to answer.
        #[arg(required_unless_present = "post", conflicts_with = "post")]
        id: Option<i64>,
        /// Answer the post itself.
        #[arg(long, value_name = "SLUG")]
        post: Option<String>,
        #[arg(long, conflicts_with = "file")]
        text: Option<String>,
        /// File with the text ("-" for standard input).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Change one of the blog's own answers (an Update goes where it went).
    Edit {
        id: i64,
        #[arg(long, conflicts_with = "file")]
        text: Option<String>,
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Approve held comments (a reader's comment is then published to the fediverse).
    Approve {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Reject comments as spam (hidden for good).
    Reject {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Delete comments (the blog's own are withdrawn with a Delete).
    Delete {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

/// Who wrote a comment, as the author reads it.
pub fn author_label(c: &Comment) -> String {
    terminal_safe(&raw_author_label(c))
}

fn raw_author_label(c: &Comment) -> String {
    let name = c.author_name.clone().unwrap_or_default();
    match c.origin {
        Origin::Author => format!("{name} (you)"),
        Origin::Reader => match &c.reader_website {
            Some(site) => format!(
                "{name} <{}> (reader)",
                crate::render::website::display_website(site)
            ),
            None => format!("{name} (reader)"),
        },
        Origin::Remote => match &c.author_handle {
            Some(handle) if name.is_empty() => handle.clone(),
            Some(handle) => format!("{name} {handle}"),
            None => c.author_ap_id.clone(),
        },
    }
}

/// The comment's text as plain text for a terminal.
fn plain_text(c: &Comment) -> String {
    terminal_safe(&raw_plain_text(c))
}

fn raw_plain_text(c: &Comment) -> String {
    if let Some(source) = &c.source {
        return source.clone();
    }
    let with_breaks = c.content_html.replace("<br>", "\n").replace("</p>", "\n\n");
    let mut out = String::new();
    let mut in_tag = false;
    for ch in with_breaks.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

fn report(what: &str, settings: &Settings, c: &Comment, slug: Option<&str>) {
    out!("{what}: comment {} ({})", c.id, c.state);
    if c.is_local() {
        out!("id:   {}", c.ap_id);
    }
    if let Some(slug) = slug {
        out!("page: {}", urls::comment_anchor(settings, slug, c.id));
    }
}

async fn post_slug(conn: &mut AsyncPgConnection, c: &Comment) -> anyhow::Result<Option<String>> {
    Ok(post::find_by_id(conn, c.post_id).await?.map(|p| p.slug))
}

pub async fn run(
    cmd: CommentCommand,
    settings: &Settings,
    conn: &mut AsyncPgConnection,
) -> anyhow::Result<()> {
    match cmd {
        CommentCommand::List { state, post, limit } => {
            let post_id = match &post {
                Some(slug) => match post::find_by_slug(conn, slug).await? {
                    Some(p) => Some(p.id),
                    None => bail!("no post with the slug {slug:?}"),
                },
                None => None,
            };
            let filter = ListFilter {
                state: state.state(),
                post_id,
            };
            let rows = comment::list(conn, &filter, limit.clamp(1, 10_000), 0).await?;
            let tz = settings.blog.time_zone;
            out!(
                "{:<6} {:<9} {:<10} {:<17} {:<32} TEXT",
                "ID",
                "STATE",
                "VISIBLE",
                "WHEN",
                "AUTHOR"
            );
            for c in &rows {
                out!(
                    "{:<6} {:<9} {:<10} {:<17} {:<32} {}",
                    c.id,
                    c.state,
                    c.visibility,
                    c.published_at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                    sanitize::one_line(&author_label(c), 32),
                    sanitize::one_line(&plain_text(c), 60),
                );
            }
            out!("{} comments", rows.len());
            Ok(())
        }
        CommentCommand::Show { id } => {
            let Some(c) = comment::find(conn, id).await? else {
                bail!("no comment with the id {id}");
            };
            let slug = post_slug(conn, &c).await?;
            let tz = settings.blog.time_zone;
            out!("comment {}  ({}, {})", c.id, c.state, c.visibility);
            out!("by:        {}", author_label(&c));
            if !c.is_local() {
                out!("actor:     {}", terminal_safe(&c.author_ap_id));
            }
            out!("id:        {}", terminal_safe(&c.ap_id));
            out!("replies to: {}", terminal_safe(&c.in_reply_to));
            if let Some(slug) = &slug {
                out!("on:        {}", urls::comment_anchor(settings, slug, c.id));
            }
            out!(
                "written:   {}",
                c.published_at.with_timezone(&tz).format("%Y-%m-%d %H:%M")
            );
            if let Some(note) = &c.moderation_note {
                out!("held:      {note}");
            }
            if let Some(cw) = &c.summary {
                out!("warning:   {}", terminal_safe(cw));
            }
            out!();
            out!("{}", plain_text(&c));
            Ok(())
        }
        CommentCommand::Reply {
            id,
            post,
            text,
            file,
        } => {
            let target = match (id, post) {
                (Some(id), _) => Target::Comment(id),
                (None, Some(slug)) => Target::Post(slug),
                (None, None) => bail!("give the comment's id, or --post SLUG"),
            };
            let body = text_of(text, file.as_ref())?;
            let c = comments::reply_as_author(conn, settings, target, &body).await?;
            let slug = post_slug(conn, &c).await?;
            report("answered", settings, &c, slug.as_deref());
            Ok(())
        }
        CommentCommand::Edit { id, text, file } => {
            let body = text_of(text, file.as_ref())?;
            let c = comments::edit_author_reply(conn, settings, id, &body).await?;
            let slug = post_slug(conn, &c).await?;
            report("edited", settings, &c, slug.as_deref());
            Ok(())
        }
        CommentCommand::Approve { ids } => {
            for id in ids {
                let c = comments::approve(conn, settings, id).await?;
                let slug = post_slug(conn, &c).await?;
                report("approved", settings, &c, slug.as_deref());
            }
            Ok(())
        }
        CommentCommand::Reject { ids } => {
            for id in ids {
                let c = comments::reject(conn, settings, id).await?;
                out!("rejected: comment {}", c.id);
            }
            Ok(())
        }
        CommentCommand::Delete { ids } => {
            for id in ids {
                let c = comments::delete(conn, settings, id).await?;
                out!("deleted: comment {}", c.id);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_text_cannot_drive_the_terminal() {
        assert_eq!(
            terminal_safe("Eve\u{1b}[2J\u{1b}]0;owned\u{7}\u{202E}gnp.exe\nline\ttab"),
            "Eve[2J]0;ownedgnp.exe\nlinetab"
        );
    }
}
