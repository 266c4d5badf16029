//! A reader's website as people read it.

/// A stored website as people read it: the host in Unicode, no scheme, no
/// trailing slash (`https://www.xn--tjna-moa.se/` → `www.tjäna.se`).
pub fn display_website(stored: &str) -> String {
    let Ok(url) = url::Url::parse(stored) else {
        return stored.to_string();
    };
    let host = url.host_str().unwrap_or_default();
    let (unicode, _) = idna::domain_to_unicode(host);
    let mut shown = unicode;
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    let path = url.path();
    if path != "/" {
        shown.push_str(path);
    }
    shown
}
