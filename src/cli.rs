//! The command line: `serve`, `migrate`, `post ...`, `comment ...` (in
//! cli_comments.rs), blocks, deliveries and `admin ...`. Post
//! commands work on the database directly (starting the embedded cluster if
//! the server is not running) through the same `posts` code as the API.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::cli_output::out;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Settings;
use crate::db::{Database, OnClose};
use crate::models::delivery::{self, DeliveryFilter};
use crate::models::post::{self, PostStatus, StatusFilter};
use crate::models::{block, follower};
use crate::posts::{self, PostEdit, PostError, PostInput, PostWithTags};
use crate::urls;
use crate::web::auth;

#[derive(Debug, Parser)]
#[command(
    name = "fedblog",
    version,
    about = "A self-hosted blog that is a full citizen of the fediverse"
)]
pub struct Cli {
    /// Configuration file (TOML) on top of the built-in defaults.
    #[arg(
        long,
        short,
        global = true,
        env = "FEDBLOG_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the blog (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write, list, edit, publish and delete posts.
    #[command(subcommand)]
    Post(PostCommand),
    /// Administration.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Show the delivery queue (pending, failing, given up), or retry.
    Deliveries {
        #[command(subcommand)]
        action: Option<DeliveriesCommand>,
        /// Which deliveries to list.
        #[arg(long, value_enum, default_value_t = DeliveryState::Unfinished)]
        state: DeliveryState,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Show the inbox queue: activities other servers sent that wait to be
    /// processed, or were given up (with why); or retry them.
    Inbox {
        #[command(subcommand)]
        action: Option<InboxCommand>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// List the blog's followers.
    Followers,
    /// Block an actor or a whole server (domain): their activities are
    /// refused, their comments hidden, their follows rejected.
    #[command(subcommand)]
    Block(BlockCommand),
    /// Lift a block.
    Unblock {
        #[arg(value_enum)]
        kind: BlockKind,
        value: String,
    },
    /// List the blocks.
    Blocks,
    /// Moderate comments and answer them as the blog.
    #[command(subcommand)]
    Comment(crate::cli_comments::CommentCommand),
}

#[derive(Debug, Subcommand)]
pub enum BlockCommand {
    /// Block one actor, by its id (e.g. https://mastodon.example/users/spammer).
    Actor {
        url: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Block a server and its subdomains (e.g. spam.example).
    Domain {
        domain: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Import a domain blocklist in Mastodon's CSV export format.
    Import { file: PathBuf },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BlockKind {
    Actor,
    Domain,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// Make failing and given-up deliveries due now (all, or one by id).
    Retry { id: Option<i64> },
}

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Process given-up and waiting activities again now (all, or one by id).
    Retry { id: Option<i64> },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DeliveryState {
    /// Pending and failing.
    Unfinished,
    Failing,
    GivenUp,
    Delivered,
    All,
}

impl From<DeliveryState> for DeliveryFilter {
    fn from(state: DeliveryState) -> Self {
        match state {
            DeliveryState::Unfinished => DeliveryFilter::Unfinished,
            DeliveryState::Failing => DeliveryFilter::Failing,
            DeliveryState::GivenUp => DeliveryFilter::GivenUp,
            DeliveryState::Delivered => DeliveryFilter::Delivered,
            DeliveryState::All => DeliveryFilter::All,
        }
    }
}

impl Command {
    pub fn is_server(&self) -> bool {
        matches!(self, Command::Serve)
    }
}

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
        #[arg(long, value_enum, default_value_t = ListStatus::All)]
        status: ListStatus,
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
    /// Delete a post: its address answers "410 Gone" afterwards.
    Delete { slug: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListStatus {
    All,
    Draft,
    Published,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage the JSON API token.
    Token {
        /// Replace the token with a new one and print it.
        #[arg(long)]
        reset: bool,
    },
}

pub async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => crate::server::serve(settings).await,
        Command::Migrate => {
            let db = Database::open(&settings).await?;
            out!("the database is migrated");
            db.close(OnClose::StopIfStartedHere).await;
            Ok(())
        }
        Command::Post(cmd) => {
            with_database(&settings, async |conn| {
                post_command(cmd, &settings, conn).await
            })
            .await
        }
        Command::Deliveries {
            action,
            state,
            limit,
        } => {
            with_database(&settings, async |conn| {
                deliveries_command(conn, action, state.into(), limit).await
            })
            .await
        }
        Command::Inbox { action, limit } => {
            with_database(&settings, async |conn| {
                inbox_command(conn, action, limit).await
            })
            .await
        }
        Command::Followers => {
            with_database(&settings, async |conn| {
                let all = follower::list(conn).await?;
                for f in &all {
                    out!(
                        "{}  (since {})",
                        f.actor_id,
                        f.created_at.format("%Y-%m-%d")
                    );
                }
                out!("{} followers", all.len());
                Ok(())
            })
            .await
        }
        Command::Block(cmd) => {
            with_database(&settings, async |conn| block_command(conn, cmd).await).await
        }
        Command::Unblock { kind, value } => {
            with_database(&settings, async |conn| {
                let (kind, value) = match kind {
                    BlockKind::Actor => (block::Kind::Actor, parse_actor(&value)?),
                    BlockKind::Domain => (block::Kind::Domain, parse_domain(&value)?),
                };
                if !block::remove(conn, kind, &value).await? {
                    bail!("{value} is not blocked");
                }
                out!("unblocked {value}");
                Ok(())
            })
            .await
        }
        Command::Comment(cmd) => {
            with_database(&settings, async |conn| {
                crate::cli_comments::run(cmd, &settings, conn).await
            })
            .await
        }
        Command::Blocks => {
            with_database(&settings, async |conn| {
                let all = block::list(conn).await?;
                for b in &all {
                    let reason = b
                        .reason
                        .as_deref()
                        .map(|r| format!("  ({r})"))
                        .unwrap_or_default();
                    out!("{:<7} {}{reason}", b.kind, b.value);
                }
                out!("{} blocks", all.len());
                Ok(())
            })
            .await
        }
        Command::Admin(AdminCommand::Token { reset }) => {
            if !reset {
                bail!(
                    "the token is stored only as a hash and cannot be shown again; \
                     use `fedblog admin token --reset` to make a new one"
                );
            }
            if settings.admin_token.is_some() {
                bail!("the token is set in the configuration (admin.token); change it there");
            }
            with_database(&settings, async |conn| {
                out!("{}", auth::reset_token(conn).await?);
                Ok(())
            })
            .await
        }
    }
}

type Conn = diesel_async::AsyncPgConnection;

/// Opens the database (starting the embedded cluster if need be), runs `f`
/// with a connection, and closes it again, stopping the cluster only if this
/// command started it.
async fn with_database(
    settings: &Settings,
    f: impl AsyncFnOnce(&mut Conn) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let db = Database::open(settings).await?;
    let result = async {
        let mut conn = db.pool.get().await.context("connecting to the database")?;
        f(&mut conn).await
    }
    .await;
    db.close(OnClose::StopIfStartedHere).await;
    result
}

fn parse_actor(value: &str) -> anyhow::Result<String> {
    block::parse_actor(value).map_err(|e| anyhow::anyhow!(e))
}

fn parse_domain(value: &str) -> anyhow::Result<String> {
    block::parse_domain(value).map_err(|e| anyhow::anyhow!(e))
}

async fn block_command(conn: &mut Conn, cmd: BlockCommand) -> anyhow::Result<()> {
    match cmd {
        BlockCommand::Actor { url, reason } => {
            let actor = parse_actor(&url)?;
            let added = block::add(conn, block::Kind::Actor, &actor, reason.as_deref()).await?;
            block::apply(conn).await?;
            out!(
                "{} {actor}",
                if added { "blocked" } else { "already blocked:" }
            );
        }
        BlockCommand::Domain { domain, reason } => {
            let domain = parse_domain(&domain)?;
            let added = block::add(conn, block::Kind::Domain, &domain, reason.as_deref()).await?;
            block::apply(conn).await?;
            out!(
                "{} {domain} and its subdomains",
                if added { "blocked" } else { "already blocked:" }
            );
        }
        BlockCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let (mut added, mut skipped) = (0, 0);
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                // Mastodon: domain,severity,reject_media,reject_reports,public_comment,obfuscate
                let fields: Vec<&str> = line.split(',').collect();
                if fields
                    .get(1)
                    .is_some_and(|severity| severity.trim() == "noop")
                {
                    skipped += 1;
                    continue;
                }
                let domain = parse_domain(fields[0])
                    .with_context(|| format!("{}: line {}", file.display(), n + 1))?;
                let reason = fields.get(4).map(|r| r.trim()).filter(|r| !r.is_empty());
                if block::add(conn, block::Kind::Domain, &domain, reason).await? {
                    added += 1;
                } else {
                    skipped += 1;
                }
            }
            block::apply(conn).await?;
            out!("imported {added} domain blocks ({skipped} skipped: already blocked or noop)");
        }
    }
    Ok(())
}

async fn deliveries_command(
    conn: &mut Conn,
    action: Option<DeliveriesCommand>,
    filter: DeliveryFilter,
    limit: i64,
) -> anyhow::Result<()> {
    if let Some(DeliveriesCommand::Retry { id }) = action {
        let n = delivery::retry_now(conn, id).await?;
        if id.is_some() && n == 0 {
            bail!("no undelivered delivery with that id");
        }
        out!("{n} deliveries will be tried again now (by the running server)");
        return Ok(());
    }
    if !(1..=10_000).contains(&limit) {
        bail!("--limit must be 1 to 10000");
    }
    let total = delivery::count(conn, filter).await?;
    let rows = delivery::list(conn, filter, limit, 0).await?;
    out!(
        "{:<8} {:<10} {:>8} {:<20} {:<40} LAST ERROR",
        "ID",
        "STATE",
        "ATTEMPTS",
        "NEXT ATTEMPT",
        "INBOX"
    );
    for r in &rows {
        let next = if r.state == "pending" || r.state == "failing" {
            r.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            "-".into()
        };
        let error = match (&r.last_status, &r.last_error) {
            (_, Some(e)) => e.clone(),
            (Some(status), None) => format!("HTTP {status}"),
            _ => String::new(),
        };
        out!(
            "{:<8} {:<10} {:>8} {:<20} {:<40} {}",
            r.id,
            r.state,
            r.attempts,
            next,
            r.inbox,
            error
        );
        out!("         {} {}", r.kind, r.activity);
    }
    out!("\n{} of {total} shown", rows.len());
    Ok(())
}

async fn inbox_command(
    conn: &mut Conn,
    action: Option<InboxCommand>,
    limit: i64,
) -> anyhow::Result<()> {
    use crate::cli_comments::terminal_safe;
    use crate::models::inbox_queue;
    if let Some(InboxCommand::Retry { id }) = action {
        let n = inbox_queue::retry_now(conn, id).await?;
        if id.is_some() && n == 0 {
            bail!("no activity with that id in the inbox queue");
        }
        out!("{n} activities will be processed again now (by the running server)");
        return Ok(());
    }
    if !(1..=10_000).contains(&limit) {
        bail!("--limit must be 1 to 10000");
    }
    let (total, given_up) = inbox_queue::counts(conn).await?;
    let rows = inbox_queue::list(conn, limit).await?;
    out!(
        "{:<8} {:<9} {:>8} {:<20} {:<10} ACTOR",
        "ID",
        "STATE",
        "ATTEMPTS",
        "NEXT ATTEMPT",
        "KIND"
    );
    for r in &rows {
        let (state, next) = match r.gave_up_at {
            Some(_) => ("given-up", "-".to_string()),
            None => (
                "waiting",
                r.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            ),
        };
        out!(
            "{:<8} {:<9} {:>8} {:<20} {:<10} {}",
            r.id,
            state,
            r.attempts,
            next,
            terminal_safe(&r.kind),
            terminal_safe(&r.actor_ap_id)
        );
        out!("         {}", terminal_safe(&r.ap_id));
        if let Some(error) = &r.last_error {
            out!("         last error: {}", terminal_safe(error));
        }
    }
    out!(
        "\n{} of {total} shown ({given_up} given up; the rest are processed by the running server)",
        rows.len()
    );
    Ok(())
}

async fn post_command(
    cmd: PostCommand,
    settings: &Settings,
    conn: &mut Conn,
) -> anyhow::Result<()> {
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
            .await
            .map_err(cli_error)?;
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
            let filter = match status {
                ListStatus::All => StatusFilter::All,
                ListStatus::Draft => StatusFilter::Only(PostStatus::Draft),
                ListStatus::Published => StatusFilter::Only(PostStatus::Published),
            };
            let total = post::count_for_author(conn, filter).await?;
            let rows = post::list_for_author(conn, filter, per_page, (page - 1) * per_page).await?;
            print_table(settings, &rows);
            let shown_to = ((page - 1) * per_page + rows.len() as i64).min(total);
            out!("\n{shown_to} of {total} posts");
        }
        PostCommand::Show { slug } => {
            let item = posts::get(conn, &slug).await.map_err(cli_error)?;
            let p = &item.post;
            out!("title:     {}", p.title);
            out!("slug:      {}", p.slug);
            out!("status:    {}", p.status().as_str());
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
            let item = posts::edit(conn, settings, &slug, edit)
                .await
                .map_err(cli_error)?;
            if item.post.slug != slug {
                out!("the title changed, so the address did too; the old one redirects to the new");
            }
            report("updated", settings, &item);
        }
        PostCommand::Publish { slug } => {
            let item = posts::publish(conn, settings, &slug)
                .await
                .map_err(cli_error)?;
            report("published", settings, &item);
        }
        PostCommand::Delete { slug } => {
            posts::delete(conn, settings, &slug)
                .await
                .map_err(cli_error)?;
            out!("deleted {slug}; its address now answers 410 Gone");
        }
    }
    Ok(())
}

fn cli_error(e: PostError) -> anyhow::Error {
    match e {
        PostError::Invalid { field, message } => anyhow::anyhow!("invalid {field}: {message}"),
        other => other.into(),
    }
}

fn report(what: &str, settings: &Settings, item: &PostWithTags) {
    let p = &item.post;
    let state = if p.status() == PostStatus::Published {
        "published"
    } else {
        "draft"
    };
    out!("{what} ({state}): {}", p.title);
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
            p.status().as_str(),
            published,
            p.slug,
            p.title
        );
    }
}

/// The Markdown body: from FILE, from standard input for "-" or when input is piped.
pub(crate) fn read_body(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let from_stdin = || -> anyhow::Result<String> {
        let mut body = String::new();
        std::io::stdin()
            .read_to_string(&mut body)
            .context("reading the body from standard input (it must be UTF-8)")?;
        Ok(body)
    };
    match file {
        Some(path) if path.as_os_str() == "-" => from_stdin(),
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            String::from_utf8(bytes)
                .with_context(|| format!("{} is not UTF-8 text", path.display()))
        }
        None if std::io::stdin().is_terminal() => {
            bail!("give the Markdown body with --file FILE, or pipe it in on standard input")
        }
        None => from_stdin(),
    }
}
