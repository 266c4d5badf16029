//! The database: the connection pool, embedded migrations, and the choice
//! between a configured PostgreSQL server and the embedded default.

pub mod embedded;
pub(crate) mod pool;
pub mod prepared;
pub mod queue_runner;
pub mod schema;
pub mod text_enum;

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::Settings;
use embedded::{EmbeddedError, EmbeddedPostgres};

pub use pool::{Conn, Pool, PoolError, QueryError, held_by_this_task, rule_violations, violation};
pub use prepared::prepared;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The database name the embedded cluster serves.
pub const EMBEDDED_DATABASE: &str = "fedblog";

/// Serialises migrations between processes sharing a database.
const MIGRATION_LOCK: i64 = 0x0066_6564_626c_6f67; // "fedblog" in ASCII

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("starting the embedded database: {0}")]
    Start(#[from] tokio::task::JoinError),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database migration failed: {0}")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    PoolBuild(#[from] deadpool::managed::BuildError),
    #[error("database pool: {0}")]
    Pool(#[from] PoolError),
}

/// What closing a [`Database`] does to an embedded cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnClose {
    /// The server owns the cluster: stop it, even if a crashed run left it going.
    StopCluster,
    /// A CLI command stops only a cluster it started itself.
    StopIfStartedHere,
}

/// An open, migrated database.
pub struct Database {
    pub pool: Pool,
    pub url: String,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `database.url`, or starts the embedded cluster; then migrates.
    pub async fn open(settings: &Settings) -> Result<Self, DbError> {
        let (url, embedded) = match &settings.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let data_dir = settings.data_dir.clone();
                let bin_dir = settings.postgres_bin_dir.clone();
                let cluster = tokio::task::spawn_blocking(move || {
                    EmbeddedPostgres::start(&data_dir, bin_dir.as_deref())
                })
                .await??;
                let url = cluster.url(EMBEDDED_DATABASE);
                if let Err(e) =
                    create_database_if_missing(&cluster.url("postgres"), EMBEDDED_DATABASE).await
                {
                    stop_quietly(&cluster);
                    return Err(e);
                }
                (url, Some(cluster))
            }
        };
        let opened = async {
            let applied = migrate(&url).await?;
            if !applied.is_empty() {
                tracing::info!(migrations = ?applied, "database migrated");
            }
            connect_pool(&url, settings.pool_size)
        }
        .await;
        match opened {
            Ok(pool) => Ok(Database {
                pool,
                url,
                embedded,
            }),
            Err(e) => {
                if let Some(cluster) = &embedded {
                    stop_quietly(cluster);
                }
                Err(e)
            }
        }
    }

    pub fn embedded(&self) -> Option<&EmbeddedPostgres> {
        self.embedded.as_ref()
    }

    /// Closes the pool and, depending on `on_close`, stops the embedded cluster.
    pub async fn close(self, on_close: OnClose) {
        self.pool.close();
        if let Some(cluster) = self.embedded {
            let stop = on_close == OnClose::StopCluster || cluster.started_here();
            if stop {
                let _ = tokio::task::spawn_blocking(move || stop_quietly(&cluster)).await;
            }
        }
    }
}

fn stop_quietly(cluster: &EmbeddedPostgres) {
    if let Err(e) = cluster.stop_unless_in_use() {
        tracing::error!(error = %e, "could not stop the embedded PostgreSQL");
    }
}

/// A pool whose connections are checked before use and time out instead of hanging.
pub fn connect_pool(url: &str, size: usize) -> Result<Pool, DbError> {
    Ok(Pool::new(url, size)?)
}

/// Applies pending migrations, one process at a time; returns the versions applied.
pub async fn migrate(url: &str) -> Result<Vec<String>, DbError> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .execute(&mut conn)
        .await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let result = harness
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(DbError::Migration);
    let mut conn = harness.into_inner();
    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .execute(&mut conn)
        .await?;
    result
}

/// Creates `name` (owned by the connecting role) unless it exists.
pub async fn create_database_if_missing(admin_url: &str, name: &str) -> Result<(), DbError> {
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        #[allow(dead_code)]
        one: i32,
    }
    let mut conn = AsyncPgConnection::establish(admin_url).await?;
    let exists: Vec<Found> =
        diesel::sql_query("SELECT 1 AS one FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(name)
            .load(&mut conn)
            .await?;
    if exists.is_empty() {
        diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(name)))
            .execute(&mut conn)
            .await?;
        tracing::info!(database = name, "database created");
    }
    Ok(())
}

/// Quotes an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A liveness check for /healthz.
pub async fn ping(pool: &Pool) -> Result<(), DbError> {
    let mut conn = pool.get().await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}

/// Wakes `wake` whenever a transaction that sent a NOTIFY on `channel`
/// commits (in this process or another): how queue workers learn of new
/// work. The listening connection is taken out of the pool for good (it must
/// not be handed to anyone else); when it fails, this reconnects after
/// `pause`, and the workers' own poll still finds the work meanwhile.
pub async fn listen(
    pool: Pool,
    channel: &'static str,
    wake: std::sync::Arc<tokio::sync::Notify>,
    pause: Duration,
) {
    use futures_util::StreamExt;
    loop {
        let listened = async {
            let mut conn = pool.get().await?.detach();
            diesel::sql_query(format!("LISTEN {channel}"))
                .execute(&mut conn)
                .await?;
            let notifications = conn.notifications_stream();
            tokio::pin!(notifications);
            while let Some(n) = notifications.next().await {
                n?;
                wake.notify_one();
            }
            Ok::<(), QueryError>(())
        };
        if let Err(e) = listened.await {
            tracing::debug!(channel, error = %e, "queue listener reconnecting");
        }
        tokio::time::sleep(pause).await;
    }
}
