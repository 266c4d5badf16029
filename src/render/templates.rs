//! The page templates and static files of the theme: the built-in default
//! theme is compiled in; a configured theme directory overrides it file by file.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

/// The templates every theme provides (a theme may override any subset).
pub const TEMPLATE_NAMES: &[&str] = &[
    "base.html",
    "list.html",
    "post.html",
    "archive.html",
    "error.html",
    "admin_base.html",
    "admin_login.html",
    "admin_dashboard.html",
    "admin_posts.html",
    "admin_editor.html",
    "admin_delete.html",
    "admin_comments.html",
    "admin_followers.html",
    "admin_media.html",
    "admin_settings.html",
    "admin_blocks.html",
    "admin_deliveries.html",
    "admin_pages.html",
];

const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("list.html", include_str!("../../templates/list.html")),
    ("post.html", include_str!("../../templates/post.html")),
    ("archive.html", include_str!("../../templates/archive.html")),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "admin_base.html",
        include_str!("../../templates/admin_base.html"),
    ),
    (
        "admin_login.html",
        include_str!("../../templates/admin_login.html"),
    ),
    (
        "admin_dashboard.html",
        include_str!("../../templates/admin_dashboard.html"),
    ),
    (
        "admin_posts.html",
        include_str!("../../templates/admin_posts.html"),
    ),
    (
        "admin_editor.html",
        include_str!("../../templates/admin_editor.html"),
    ),
    (
        "admin_delete.html",
        include_str!("../../templates/admin_delete.html"),
    ),
    (
        "admin_comments.html",
        include_str!("../../templates/admin_comments.html"),
    ),
    (
        "admin_followers.html",
        include_str!("../../templates/admin_followers.html"),
    ),
    (
        "admin_media.html",
        include_str!("../../templates/admin_media.html"),
    ),
    (
        "admin_settings.html",
        include_str!("../../templates/admin_settings.html"),
    ),
    (
        "admin_blocks.html",
        include_str!("../../templates/admin_blocks.html"),
    ),
    (
        "admin_deliveries.html",
        include_str!("../../templates/admin_deliveries.html"),
    ),
    (
        "admin_pages.html",
        include_str!("../../templates/admin_pages.html"),
    ),
];

const BUILTIN_STATIC: &[(&str, &[u8], &str)] = &[
    (
        "style.css",
        include_bytes!("../../static/style.css"),
        "text/css; charset=utf-8",
    ),
    (
        "favicon.svg",
        include_bytes!("../../static/favicon.svg"),
        "image/svg+xml",
    ),
    (
        "admin.js",
        include_bytes!("../../static/admin.js"),
        "text/javascript; charset=utf-8",
    ),
];

#[derive(Debug, thiserror::Error)]
#[error("theme template {name}: {message}")]
pub struct ThemeError {
    name: String,
    message: String,
}

/// The loaded theme.
pub struct Templates {
    env: Environment<'static>,
    theme_dir: Option<PathBuf>,
}

/// minijinja's escaping, except that `/` stays as it is: links read
/// `https://example.org/` in the page source, not `https:&#x2f;&#x2f;...`.
/// `& < > " '` are escaped, which is all HTML text and quoted attributes need.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if *state.auto_escape() != AutoEscape::Html || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    out.write_str(&escaped)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

impl Templates {
    /// Loads and checks every template, so a broken theme stops start-up
    /// instead of failing on a reader's request.
    pub fn new(theme_dir: Option<PathBuf>) -> Result<Self, ThemeError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_formatter(html_formatter);
        let dir = theme_dir.clone();
        env.set_loader(move |name| {
            if !is_plain_name(name) {
                return Ok(None);
            }
            if let Some(dir) = &dir {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            "cannot read template",
                        )
                        .with_source(e)
                    });
                }
            }
            Ok(BUILTIN_TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, src)| (*src).to_string()))
        });
        for name in TEMPLATE_NAMES {
            env.get_template(name).map_err(|e| ThemeError {
                name: (*name).to_string(),
                message: format!("{e:#}"),
            })?;
        }
        Ok(Templates { env, theme_dir })
    }

    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
        self.env
            .get_template(name)?
            .render(minijinja::value::Serde(context))
    }

    /// A static file of the theme and its content type.
    pub fn static_file(&self, name: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
        if !is_plain_name(name) {
            return None;
        }
        if let Some(dir) = &self.theme_dir {
            let path = dir.join("static").join(name);
            if let Ok(bytes) = std::fs::read(&path) {
                return Some((Cow::Owned(bytes), content_type_for(&path)));
            }
        }
        BUILTIN_STATIC
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, bytes, ty)| (Cow::Borrowed(*bytes), *ty))
    }
}

/// One path segment of ordinary characters: never `..`, never a directory.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn content_type_for(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_but_slashes_stay() {
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        env.add_template(
            "t.html",
            r#"<a href="{{ u }}" title='{{ t }}'>{{ t }}</a>{{ s|safe }}{{ n }}"#,
        )
        .expect("template");
        let html = env
            .get_template("t.html")
            .expect("template")
            .render(minijinja::context! {
                u => "https://x.example/a?b=1&c=2",
                t => "<script>'\"",
                s => "<em>ok</em>",
                n => 3,
            })
            .expect("render");
        assert_eq!(
            html,
            r#"<a href="https://x.example/a?b=1&amp;c=2" title='&lt;script&gt;&#39;&quot;'>&lt;script&gt;&#39;&quot;</a><em>ok</em>3"#
        );
    }

    #[test]
    fn names_cannot_leave_the_theme_dir() {
        assert!(is_plain_name("style.css"));
        for bad in ["../etc/passwd", "a/b", ".hidden", "", "a\\b"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_theme_dir_overrides_one_file_and_keeps_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("error.html"), "custom {{ status }}").expect("write");
        std::fs::create_dir(dir.path().join("static")).expect("mkdir");
        std::fs::write(dir.path().join("static/style.css"), "body{}").expect("write");
        let t = Templates::new(Some(dir.path().to_path_buf())).expect("loads");
        assert_eq!(
            t.render("error.html", serde_json::json!({"status": 404}))
                .expect("renders"),
            "custom 404"
        );
        assert_eq!(&*t.static_file("style.css").expect("css").0, b"body{}");
        assert!(
            t.static_file("favicon.svg").is_some(),
            "built-in file still served"
        );
    }

    #[test]
    fn a_broken_theme_template_stops_loading() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("post.html"), "{% if %}").expect("write");
        let err = Templates::new(Some(dir.path().to_path_buf()))
            .err()
            .expect("broken theme refused");
        assert!(err.to_string().contains("post.html"), "{err}");
    }
}
