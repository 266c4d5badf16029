//! Integration tests: the real server over loopback HTTP, the real CLI as a
//! process, against a real PostgreSQL.

mod admin;
mod admin_blocks;
mod admin_media;
mod admin_settings;
mod admin_unpublish;
mod api;
mod architecture;
mod avatars;
mod browser;
mod cli;
mod comments;
mod common;
mod contracts;
mod conversation;
mod delivery;
mod embedded;
mod federation;
mod feeds;
mod inbox;
mod inbox_trust;
mod pages;
mod peer;
mod quotes;
mod reader_comments;
mod reply_forms;
mod threads;
