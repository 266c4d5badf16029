//! Our objects as ActivityPub JSON, one file per type.

pub mod article;
pub mod collection;
pub mod person;
