//! fedblog: a self-hosted blog that is a full citizen of the fediverse.
//!
//! # Layers
//!
//! A module imports only from its own layer and the layers below it, and no
//! two files or top-level modules import each other, however indirectly.
//! `tests/it/architecture.rs` reads the list below and every file in `src/`,
//! and fails on an import against it, naming the file and the import.
//!
//! 1. entry points: `cli`, `server`, `web`, `inbox` — the command line, the
//!    process that serves, the HTTP routes (pages, API, ActivityPub
//!    documents), and the inbox (its HTTP handler, queue and workers).
//! 2. services: `posts`, `comments`, `media`, `followers`, `blocks`, `profile`, `access`
//!    — what the owner and readers do, the same whether it comes from the
//!    CLI, the API, a form or another server.
//! 3. protocol: `federation`, `delivery` — ActivityPub objects and
//!    activities, signatures, and the queue that sends them.
//! 4. shared state: `state` — what the processes share at run time (the
//!    pool, settings, keys, caches, limits), plain data loaded at start.
//! 5. tables: `models` — rows and queries.
//! 6. infrastructure: `db`, `net`, `errors` — the pool, migrations and the
//!    embedded cluster; the guarded HTTP client; how errors become answers.
//! 7. foundation: `render`, `config`, `urls` — Markdown, HTML and templates,
//!    settings, addresses.

pub mod access;
pub mod blocks;
pub mod cli;
pub mod comments;
pub mod config;
pub mod db;
pub mod delivery;
pub mod errors;
pub mod federation;
pub mod followers;
pub mod inbox;
pub mod media;
pub mod models;
pub mod net;
pub mod posts;
pub mod profile;
pub mod render;
pub mod server;
pub mod state;
pub mod urls;
pub mod web;
