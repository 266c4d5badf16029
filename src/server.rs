//! `fedblog serve`: open the database, make sure an admin token exists, serve
//! HTTP until SIGINT/SIGTERM, then shut down in order.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::Settings;
use crate::db::{Database, OnClose};
use crate::delivery::worker::Workers;
use crate::inbox::worker::InboxWorkers;
use crate::state::AppState;
use crate::web;

/// How long open connections may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Installed before anything starts, so a signal during start-up is not
    // lost (nor kills the process and strands the embedded cluster).
    let shutdown = ShutdownSignal::install().context("installing signal handlers")?;
    raise_open_files_limit();
    let db = Database::open(&settings).await?;
    let result = run(settings, &db, shutdown).await;
    db.close(OnClose::StopCluster).await;
    result
}

async fn run(settings: Settings, db: &Database, shutdown: ShutdownSignal) -> anyhow::Result<()> {
    {
        let mut conn = db.pool.get().await.context("connecting to the database")?;
        if let Some(token) = crate::access::ensure_token(&mut conn, &settings).await? {
            println!(
                "\nA token for the JSON API was generated. It is shown only this once; keep it safe:\n\n    {token}\n\n\
                 (`fedblog admin token --reset` makes a new one.)\n"
            );
        }
    }
    let listen = settings.listen;
    let base_url = settings.url("/");
    let state = AppState::load(settings, db.pool.clone()).await?;
    {
        let mut conn = db.pool.get().await.context("connecting to the database")?;
        crate::profile::publish_if_changed(&mut conn, &state.settings(), &state.actor_keys)
            .await
            .context("publishing the profile")?;
    }
    let federation = crate::federation::config(state.clone()).await?;
    let workers = Workers::spawn(federation.clone())?;
    let inbox_workers = InboxWorkers::spawn(federation.clone());
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (server.listen)"))?;
    tracing::info!(address = %listen, url = %base_url, "fedblog is serving");
    println!("fedblog is serving {base_url} (listening on http://{listen})");

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(publish_scheduled(state.clone(), stop_rx.clone()));
    let app = web::router(state, federation).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.recv().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    tokio::select! {
        result = server => result.context("HTTP server failed")?,
        _ = async {
            let _ = stop_rx.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them"),
    }
    scheduler.abort();
    inbox_workers.shutdown().await;
    workers.shutdown().await;
    Ok(())
}

/// How often the publishing job looks for scheduled posts whose time came.
const SCHEDULE_POLL: Duration = Duration::from_secs(15);

/// The publishing job: publishes scheduled drafts when their time comes
/// (within [`SCHEDULE_POLL`]), and takes up settings that another process
/// saved from the admin pages, until the server stops.
async fn publish_scheduled(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let published = async {
            let mut conn = state.pool.get().await?;
            if state.live.reload(&mut conn).await? {
                tracing::info!("took up the settings saved from the admin pages");
            }
            crate::posts::publish_due(&mut conn, &state.settings())
                .await
                .map_err(anyhow::Error::from)
        };
        if let Err(e) = published.await {
            tracing::warn!(error = %e, "publishing scheduled posts failed; trying again soon");
        }
        tokio::select! {
            _ = tokio::time::sleep(SCHEDULE_POLL) => {}
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
    }
}

/// A fan-out keeps a connection to each server for a while: lift the soft
/// limit on open files (often 1024) to the hard limit.
fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => tracing::debug!(from = soft, to = hard, "raised the open-files limit"),
            Err(e) => {
                tracing::warn!(error = %e, limit = soft, "could not raise the open-files limit")
            }
        }
    }
}

/// SIGINT and SIGTERM, caught from the moment of `install`.
pub struct ShutdownSignal {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignal {
    pub fn install() -> std::io::Result<Self> {
        Ok(ShutdownSignal {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves on the first SIGINT or SIGTERM (also one that came before).
    pub async fn recv(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
