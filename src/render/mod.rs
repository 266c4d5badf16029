//! Turning text into what readers see: Markdown to sanitized HTML, slugs,
//! plain-text excerpts, dates, and the themeable page templates.

pub mod escape;
pub mod markdown;
pub mod sanitize;
pub mod slug;
pub mod tags;
pub mod templates;
pub mod time;
pub mod website;
