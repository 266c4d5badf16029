//! fedblog: a self-hosted blog that is a full citizen of the fediverse.
//!
//! Layers, top to bottom: `cli` and `web` (and `server`, which runs `web`);
//! `authoring` (what the author does to posts); `models` (tables and queries);
//! `db` (pool, migrations, the embedded cluster); `render` and `config`.

pub mod cli;
pub mod cli_comments;
pub mod cli_output;
pub mod comments;
pub mod config;
pub mod db;
pub mod delivery;
pub mod federation;
pub mod inbox;
pub mod models;
pub mod net;
pub mod posts;
pub mod profile;
pub mod render;
pub mod server;
pub mod state;
pub mod urls;
pub mod web;
