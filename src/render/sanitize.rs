//! Remote HTML (comments from other servers), cleaned by allow-list at ingest:
//! paragraphs, line breaks, links (http and https only, marked as user
//! content), mentions and hashtags, code, quotes, lists and emphasis. What
//! does not fit is reshaped, as Mastodon's sanitizer does, rather than lost:
//! headings become bold paragraphs, other blocks leave a line break (no
//! words glued together), images and audio or video become links to the
//! original labelled with their alt text (never loaded from here).

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::render::tags;

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
        // Reshaped by `reshape` below.
        .add_tags(HEADINGS)
        .add_tags(BLOCKS)
        .add_tags(["td", "th", "hr", "img", "audio", "video", "source"])
        .add_tag_attributes("img", ["src", "alt"])
        .add_tag_attributes("audio", ["src"])
        .add_tag_attributes("video", ["src"])
        .add_tag_attributes("source", ["src"])
        .add_tag_attributes("a", ["href"])
        .add_allowed_classes("a", ["mention", "hashtag", "u-url"])
        .add_allowed_classes("span", ["h-card", "invisible", "ellipsis"])
        .url_schemes(HashSet::from(["http", "https"]))
        .link_rel(Some("nofollow noopener noreferrer ugc"));
    builder
}

const HEADINGS: [&str; 6] = ["h1", "h2", "h3", "h4", "h5", "h6"];
/// Blocks shown as their content followed by a line break.
const BLOCKS: [&str; 17] = [
    "div",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "main",
    "nav",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tr",
    "dl",
    "dt",
    "dd",
];
const REL: &str = "nofollow noopener noreferrer ugc";

pub fn remote_html(html: &str) -> String {
    reshape(&REMOTE.clean(html).to_string())
}

/// Turns the allowed-for-now tags into what a comment shows. The input is
/// ammonia's output, so these tags carry no attributes but the allowed ones.
fn reshape(html: &str) -> String {
    let mut html = html.to_string();
    for h in HEADINGS {
        html = html
            .replace(&format!("<{h}>"), "<p><strong>")
            .replace(&format!("</{h}>"), "</strong></p>");
    }
    for block in BLOCKS {
        html = html
            .replace(&format!("<{block}>"), "")
            .replace(&format!("</{block}>"), "<br>");
    }
    for cell in ["td", "th"] {
        html = html
            .replace(&format!("<{cell}>"), "")
            .replace(&format!("</{cell}>"), " ");
    }
    html = html.replace("<hr>", "<br>");
    html = tags::images_as_links(&html, REL);
    for (media, label) in [
        ("audio", "🔊 audio"),
        ("video", "🎞 video"),
        ("source", "▶ media"),
    ] {
        html = tags::rewrite(&html, media, |tag, in_link| match tag.attr("src") {
            Some(src) => tags::labelled_link(&src, label, REL, in_link),
            None => String::new(),
        });
        html = html.replace(&format!("</{media}>"), "");
    }
    // Breaks left where nothing follows.
    while html.contains("<br></p>") || html.contains("<br><br>") {
        html = html.replace("<br></p>", "</p>").replace("<br><br>", "<br>");
    }
    html.trim_end_matches("<br>").to_string()
}

/// Text from HTML (a content warning, which ActivityStreams makes HTML):
/// tags dropped, blocks leaving a space, entities decoded.
pub fn plain_text(html: &str) -> String {
    let mut spaced = html.to_string();
    for block in ["<p", "<br", "<div", "<li", "<h", "<blockquote", "</p"] {
        spaced = spaced.replace(block, &format!(" {block}"));
    }
    let text = ammonia::Builder::empty().clean(&spaced).to_string();
    let text = crate::render::tags::unescape_attr(&text);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` on one line (runs of white space as one space), cut to `max`
/// characters with an ellipsis.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!(
            "{}…",
            flat.chars().take(max.saturating_sub(1)).collect::<String>()
        )
    } else {
        flat
    }
}

/// A comment written here as other servers get it: cleaned the same way,
/// with relative links resolved against `page` (where it is shown here).
pub fn comment_for_federation(html: &str, page: &url::Url) -> String {
    let mut builder = remote();
    builder.url_relative(ammonia::UrlRelative::RewriteWithBase(page.clone()));
    reshape(&builder.clean(html).to_string())
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
            "onerror",
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
    fn what_is_not_kept_is_reshaped_not_lost() {
        let html = remote_html(concat!(
            "<h1>h1</h1><h2>h2</h2><div>one</div><div>two</div>",
            "<table><tr><td>a</td><td>b</td></tr></table>",
            "<p>see <img src=\"https://m.example/cat.png\" alt=\"A cat\" class=\"x\"></p>",
            "<p><a href=\"https://m.example/\"><img src=\"https://m.example/i.png\" alt=\"logo\"></a></p>",
            "<audio src=\"https://m.example/a.mp3\"></audio>",
            "<video><source src=\"https://m.example/v.mp4\"></video><hr>end"
        ));
        assert_eq!(
            html,
            concat!(
                "<p><strong>h1</strong></p><p><strong>h2</strong></p>one<br>two<br>",
                "a b <br>",
                "<p>see <a href=\"https://m.example/cat.png\" rel=\"nofollow noopener noreferrer ugc\">[🖼 A cat]</a></p>",
                "<p><a href=\"https://m.example/\" rel=\"nofollow noopener noreferrer ugc\">[🖼 logo]</a></p>",
                "<a href=\"https://m.example/a.mp3\" rel=\"nofollow noopener noreferrer ugc\">[🔊 audio]</a>",
                "<a href=\"https://m.example/v.mp4\" rel=\"nofollow noopener noreferrer ugc\">[▶ media]</a><br>end"
            )
        );
        // Markup inside attribute values stays text: the tag rewriting on
        // the sanitizer's output relies on `<` and `>` being escaped there.
        let html = remote_html(concat!(
            "<p><img src=\"https://m.example/a.png\" alt=\"<img src=x onerror=y()> <a href=z>\"></p>",
            "<p><a href=\"https://m.example/?q=<audio src=x>\">q</a></p>"
        ));
        assert!(
            !html.contains("<img") && !html.contains("<audio") && !html.contains("onerror=y()>"),
            "{html}"
        );
        assert!(
            html.contains("[🖼 &lt;img src=x onerror=y()&gt; &lt;a href=z&gt;]"),
            "{html}"
        );
        // A script in an image's address never becomes a link.
        let html = remote_html("<img src=\"javascript:alert(1)\" alt=\"x\"><img alt=\"no src\">");
        assert!(
            !html.contains("javascript") && !html.contains("href"),
            "{html}"
        );
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
