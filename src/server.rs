//! `fedblog serve`: open the database, make sure an admin token exists, serve
//! HTTP until SIGINT/SIGTERM, then shut down in order.

use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::db::{Database, OnClose};
use crate::state::AppState;
use crate::web;

/// How long open connections may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let db = Database::open(&settings).await?;
    let result = run(settings, &db).await;
    db.close(OnClose::StopCluster).await;
    result
}

async fn run(settings: Settings, db: &Database) -> anyhow::Result<()> {
    {
        let mut conn = db.pool.get().await.context("connecting to the database")?;
        if let Some(token) = web::auth::ensure_token(&mut conn, &settings).await? {
            println!(
                "\nA token for the JSON API was generated. It is shown only this once; keep it safe:\n\n    {token}\n\n\
                 (`fedblog admin token --reset` makes a new one.)\n"
            );
        }
    }
    let listen = settings.listen;
    let base_url = settings.url("/");
    let state = AppState::new(settings, db.pool.clone())?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (server.listen)"))?;
    tracing::info!(address = %listen, url = %base_url, "fedblog is serving");
    println!("fedblog is serving {base_url} (listening on http://{listen})");

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, web::router(state)).with_graceful_shutdown(async move {
        shutdown_signal().await;
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
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
