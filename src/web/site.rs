//! What every page of the blog shows: its title, description, language,
//! links to home, archive and feeds, and the author.

use serde::Serialize;

use crate::config::Settings;

#[derive(Serialize)]
pub struct SiteContext {
    title: String,
    description: String,
    language: String,
    base_url: String,
    home_url: String,
    archive_url: String,
    feed_atom_url: String,
    feed_rss_url: String,
    author_name: String,
    author_handle: String,
}

pub fn site_context(settings: &Settings) -> SiteContext {
    let blog = &settings.blog;
    SiteContext {
        title: blog.title.clone(),
        description: blog.description.clone(),
        language: blog.language.clone(),
        base_url: settings.url(""),
        home_url: settings.url("/"),
        archive_url: settings.url("/archive"),
        feed_atom_url: settings.url("/feed.atom"),
        feed_rss_url: settings.url("/feed.rss"),
        author_name: blog.author_name.clone(),
        author_handle: format!("@{}@{}", blog.author_handle, settings.domain),
    }
}
