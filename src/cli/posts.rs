//! `fedblog post ...`: write, list, edit, publish and delete posts, through
//! the same [`crate::posts`] service as the API.

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;

use super::Conn;
use super::input::read_body;
use super::output::out;
use crate::config::Settings;
use crate::models::post::{self, StatusFilter};
use crate::posts::{self, PostEdit, PostInput, PostWithTags};
use crate::urls;

#[derive(Debug, Subcommand)]
pub enum PostCommand {
    /// Create a post from Markdown (--file, or standard input); published unless --draft.
    New {
        #[arg(long)]
        title: String,
        /// A tag (repeat for more).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// A plain-text summary; otherwise one is derived from the body.
        #[arg(long)]
        summary: Option<String>,
        /// The post's language tag (e.g. "en", "pt-BR") when it is not the blog's.
        #[arg(long)]
        language: Option<String>,
        /// Save as a draft instead of publishing.
        #[arg(long)]
        draft: bool,
        /// Markdown file with the body ("-" for standard input).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// List posts, drafts included.
    List {
        #[arg(long, value_enum, default_value_t = StatusFilter::All)]
        status: StatusFilter,
        #[arg(long, default_value_t = 1)]
        page: i64,
        #[arg(long, default_value_t = 50)]
        per_page: i64,
    },
    /// Show one post with its Markdown.
    Show { slug: String },
    /// Change a post; only the options given change.
    Edit {
        slug: String,
        #[arg(long)]
        title: Option<String>,
        /// Replace the tags (repeat for more).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Remove all tags.
        #[arg(long, conflicts_with = "tags")]
        clear_tags: bool,
        #[arg(long, conflicts_with = "clear_summary")]
        summary: Option<String>,
        /// Remove the summary (one is derived from the body again).
        #[arg(long)]
        clear_summary: bool,
        /// The post's language tag (e.g. "en", "pt-BR").
        #[arg(long, conflicts_with = "clear_language")]
        language: Option<String>,
        /// The post is in the blog's language again.
        #[arg(long)]
        clear_language: bool,
        /// Markdown file with the new body ("-" for standard input).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Publish a draft.
    Publish { slug: String },
    /// Make a published post a draft again: it leaves the blog and
    /// followers' servers are told to remove it (published again, it goes
    /// out as a new post).
    Unpublish { slug: String },
    /// Delete a post: its address answers "410 Gone" afterwards.
    Delete { slug: String },
}

pub async fn run(cmd: PostCommand, settings: &Settings, conn: &mut Conn) -> anyhow::Result<()> {
    match cmd {
        PostCommand::New {
            title,
            tags,
            summary,
            language,
            draft,
            file,
        } => {
            let body = read_body(file.as_ref())?;
            let created = posts::create(
                conn,
                settings,
                PostInput {
                    title,
                    body,
                    summary,
                    tags,
                    language,
                    draft,
                },
            )
            .await?;
            report("created", settings, &created);
        }
        PostCommand::List {
            status,
            page,
            per_page,
        } => {
            if page < 1 || !(1..=1000).contains(&per_page) {
                bail!("--page must be 1 or more and --per-page 1 to 1000");
            }
            let total = post::count_for_author(conn, status).await?;
            let rows = post::list_for_author(conn, status, per_page, (page - 1) * per_page).await?;
            print_table(settings, &rows);
            let shown_to = ((page - 1) * per_page + rows.len() as i64).min(total);
            out!("\n{shown_to} of {total} posts");
        }
        PostCommand::Show { slug } => {
            let item = posts::get(conn, &slug).await?;
            let p = &item.post;
            out!("title:     {}", p.title);
            out!("slug:      {}", p.slug);
            out!("status:    {}", p.status);
            out!("url:       {}", urls::post(settings, &p.slug));
            out!(
                "tags:      {}",
                item.tags
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            out!("summary:   {}", p.excerpt);
            out!(
                "language:  {}",
                match &p.language {
                    Some(tag) => tag.clone(),
                    None => format!("{} (the blog's)", settings.blog.language),
                }
            );
            out!(
                "published: {}",
                p.published_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "-".into())
            );
            out!(
                "updated:   {}",
                p.updated_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "-".into())
            );
            out!("\n{}", p.body_markdown);
        }
        PostCommand::Edit {
            slug,
            title,
            tags,
            clear_tags,
            summary,
            clear_summary,
            language,
            clear_language,
            file,
        } => {
            let body = file.as_ref().map(|f| read_body(Some(f))).transpose()?;
            let edit = PostEdit {
                title,
                body,
                summary: if clear_summary {
                    Some(None)
                } else {
                    summary.map(Some)
                },
                tags: if clear_tags {
                    Some(Vec::new())
                } else {
                    (!tags.is_empty()).then_some(tags)
                },
                language: if clear_language {
                    Some(None)
                } else {
                    language.map(Some)
                },
            };
            if edit.title.is_none()
                && edit.body.is_none()
                && edit.summary.is_none()
                && edit.tags.is_none()
                && edit.language.is_none()
            {
                bail!(
                    "nothing to change: give --title, --file, --summary, --clear-summary, --tag, --clear-tags, --language or --clear-language"
                );
            }
            let item = posts::edit(conn, settings, &slug, edit).await?;
            if item.post.slug != slug {
                out!("the title changed, so the address did too; the old one redirects to the new");
            }
            report("updated", settings, &item);
        }
        PostCommand::Publish { slug } => {
            let item = posts::publish(conn, settings, &slug).await?;
            report("published", settings, &item);
        }
        PostCommand::Unpublish { slug } => {
            let item = posts::unpublish(conn, settings, &slug).await?;
            report("unpublished (a draft again)", settings, &item);
        }
        PostCommand::Delete { slug } => {
            posts::delete(conn, settings, &slug).await?;
            out!("deleted {slug}; its address now answers 410 Gone");
        }
    }
    Ok(())
}

fn report(what: &str, settings: &Settings, item: &PostWithTags) {
    let p = &item.post;
    out!("{what} ({}): {}", p.status, p.title);
    out!("slug: {}", p.slug);
    out!("url:  {}", urls::post(settings, &p.slug));
}

fn print_table(settings: &Settings, rows: &[post::Post]) {
    let tz = settings.blog.time_zone;
    out!("{:<10} {:<17} {:<40} TITLE", "STATUS", "PUBLISHED", "SLUG");
    for p in rows {
        let published = p
            .published_at
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "-".into());
        out!(
            "{:<10} {:<17} {:<40} {}",
            p.status,
            published,
            p.slug,
            p.title
        );
    }
}
