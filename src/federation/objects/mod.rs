//! Our objects as ActivityPub JSON, and the remote ones we read; one file per type.

pub mod article;
pub mod blog_actor;
pub mod collection;
pub mod note;
pub mod person;
pub mod remote_actor;
pub mod remote_note;
pub mod replies;
pub mod tombstone;
