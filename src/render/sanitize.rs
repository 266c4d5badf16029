//! Remote HTML (comments from other servers), cleaned by allow-list at ingest:
//! paragraphs, line breaks, links (http and https only, marked as user
//! content), mentions and hashtags, code, quotes, lists and emphasis.

use std::collections::HashSet;
use std::sync::LazyLock;

static REMOTE: LazyLock<ammonia::Builder<'static>> = LazyLock::new(remote);

fn remote() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::empty();
    builder
        .add_tags([
            "p",
            "br",
            "a",
            "span",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "em",
            "strong",
            "b",
            "i",
            "u",
            "del",
            "s",
        ])
        .add_tag_attributes("a", ["href"])
        .add_allowed_classes("a", ["mention", "hashtag", "u-url"])
        .add_allowed_classes("span", ["h-card", "invisible", "ellipsis"])
        .url_schemes(HashSet::from(["http", "https"]))
        .link_rel(Some("nofollow noopener noreferrer ugc"));
    builder
}

pub fn remote_html(html: &str) -> String {
    REMOTE.clean(html).to_string()
}

/// A comment written here as other servers get it: cleaned the same way,
/// with relative links resolved against `page` (where it is shown here).
pub fn comment_for_federation(html: &str, page: &url::Url) -> String {
    let mut builder = remote();
    builder.url_relative(ammonia::UrlRelative::RewriteWithBase(page.clone()));
    builder.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_is_neutralised() {
        let html = remote_html(concat!(
            "<p onclick=\"x()\">Hi <script>alert(1)</script><a href=\"javascript:alert(2)\">j</a>",
            "<a href=\"https://ok.example/\" class=\"mention evil\">@ok</a>",
            "<img src=x onerror=alert(3)><iframe src=\"https://e.example\"></iframe>",
            "<svg><script>alert(4)</script></svg><style>p{}</style></p>"
        ));
        for bad in [
            "onclick",
            "<script",
            "javascript:",
            "<img",
            "<iframe",
            "<svg",
            "<style",
            "evil",
        ] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        assert!(html.contains(r#"<a href="https://ok.example/" class="mention" rel="nofollow noopener noreferrer ugc">@ok</a>"#), "{html}");
    }

    #[test]
    fn a_comment_for_other_servers_has_absolute_links() {
        let page = url::Url::parse("https://blog.example/posts/a").expect("url");
        let html = comment_for_federation(
            concat!(
                "<p>See <a href=\"/archive\">the archive</a>, <a href=\"#c-2\">this</a> ",
                "and <a href=\"https://else.example/x\" class=\"mention\">@x</a></p>"
            ),
            &page,
        );
        assert!(
            html.contains(r#"href="https://blog.example/archive""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="https://blog.example/posts/a#c-2""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="https://else.example/x" class="mention""#),
            "{html}"
        );
    }
}
