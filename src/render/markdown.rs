//! Markdown (CommonMark + GFM tables, footnotes, strikethrough, autolinks) to
//! HTML that is safe to put in a page: raw HTML in the source is allowed
//! through an allow-list, so `<script>`, event handlers and `javascript:`
//! links never reach a reader.

use std::collections::HashSet;
use std::sync::LazyLock;

use comrak::nodes::{AstNode, NodeValue};
use comrak::{Arena, Options, parse_document};

use crate::render::tags;

/// The plain-text excerpt length, in characters, before "…".
pub const EXCERPT_CHARS: usize = 280;

fn options() -> Options<'static> {
    let mut options = Options::default();
    options.extension.table = true;
    options.extension.footnotes = true;
    options.extension.strikethrough = true;
    options.extension.autolink = true;
    options.extension.tasklist = true;
    options.extension.header_id_prefix = Some(String::new());
    // Raw HTML is rendered, then the whole output goes through the sanitizer.
    options.render.r#unsafe = true;
    options
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(sanitizer);

/// The allow-list for post bodies.
fn sanitizer() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tags([
            "section",
            "details",
            "summary",
            "input",
            "figure",
            "figcaption",
        ])
        .add_generic_attributes(["id"])
        .add_tag_attributes(
            "a",
            ["data-footnote-ref", "data-footnote-backref", "aria-label"],
        )
        .add_tag_attributes("section", ["data-footnotes"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tag_attributes("th", ["align"])
        .add_tag_attributes("td", ["align"])
        .add_allowed_classes("a", ["footnote-backref", "anchor"])
        .add_allowed_classes("sup", ["footnote-ref"])
        .add_allowed_classes("section", ["footnotes"])
        .add_allowed_classes("code", LANGUAGE_CLASSES.iter().copied())
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer"));
    builder
}

/// `language-xxx` classes comrak puts on fenced code, for themes that highlight.
const LANGUAGE_CLASSES: &[&str] = &[
    "language-bash",
    "language-c",
    "language-cpp",
    "language-css",
    "language-diff",
    "language-go",
    "language-html",
    "language-java",
    "language-javascript",
    "language-js",
    "language-json",
    "language-markdown",
    "language-python",
    "language-ruby",
    "language-rust",
    "language-sh",
    "language-shell",
    "language-sql",
    "language-toml",
    "language-ts",
    "language-typescript",
    "language-xml",
    "language-yaml",
    "language-text",
];

/// Renders Markdown to sanitized HTML.
pub fn to_html(markdown: &str) -> String {
    let html = comrak::markdown_to_html(markdown, &options());
    sanitize(&html)
}

/// Renders a comment (the author's answer or a reader's comment): a small
/// Markdown subset (paragraphs, line breaks, emphasis, links, code, quotes,
/// lists); HTML typed into it is shown as text, and the output goes through
/// the same allow-list as comments from other servers.
pub fn comment_to_html(text: &str) -> String {
    let mut options = Options::default();
    options.extension.strikethrough = true;
    options.extension.autolink = true;
    options.render.hardbreaks = true;
    options.render.escape = true;
    crate::render::sanitize::remote_html(&comrak::markdown_to_html(text, &options))
}

/// Cleans HTML by the allow-list used for post bodies.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// A post body or comment as other servers get it: every link and image
/// absolute, resolved against `page` (the page it is on), since the HTML is
/// shown far from it (`#heading` would point into the reader's timeline).
///
/// Each image becomes a link to it labelled with its alt text, as Mastodon
/// itself shows an inline image (its `IMG_TAG_TRANSFORMER`): GoToSocial and
/// Misskey drop `<img>` and would leave an empty paragraph with no trace of
/// the picture. See docs/federation.md.
pub fn federated(html: &str, page: &url::Url) -> String {
    let mut builder = sanitizer();
    builder.url_relative(ammonia::UrlRelative::RewriteWithBase(page.clone()));
    tags::images_as_links(&builder.clean(html).to_string(), "noopener noreferrer")
}

/// A plain-text excerpt of the body: its prose (headings, paragraphs, lists,
/// quotes), without code blocks, tables, raw HTML or footnotes, cut at a word.
pub fn excerpt(markdown: &str) -> String {
    let arena = Arena::new();
    let root = parse_document(&arena, markdown, &options());
    let mut text = String::new();
    collect_text(root, &mut text);
    truncate_at_word(&collapse_whitespace(&text), EXCERPT_CHARS)
}

fn collect_text<'a>(node: &'a AstNode<'a>, out: &mut String) {
    {
        let data = node.data();
        match &data.value {
            NodeValue::Text(t) => {
                out.push_str(t);
                return;
            }
            NodeValue::Code(code) => {
                out.push_str(&code.literal);
                return;
            }
            NodeValue::SoftBreak | NodeValue::LineBreak => {
                out.push(' ');
                return;
            }
            NodeValue::CodeBlock(_)
            | NodeValue::HtmlBlock(_)
            | NodeValue::HtmlInline(_)
            | NodeValue::FootnoteDefinition(_)
            | NodeValue::FootnoteReference(_)
            | NodeValue::ThematicBreak
            | NodeValue::Table(_)
            | NodeValue::Image(_) => return,
            _ => {}
        }
    }
    for child in node.children() {
        collect_text(child, out);
    }
    if node.data().value.block() {
        out.push(' ');
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts `text` to at most `max` characters at a word boundary, adding "…".
pub fn truncate_at_word(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    let trimmed = at_word.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    format!("{trimmed}…")
}

/// An image of a post, as cards and attachments name it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FirstImage {
    /// Absolute, http(s).
    pub url: String,
    pub alt: String,
}

/// The first image of the (sanitized) body, with its alt text, its address
/// made absolute against `page`: the post's attachment for other servers,
/// and its link card's picture.
pub fn first_image(html: &str, page: &url::Url) -> Option<FirstImage> {
    let (_, tag, _) = tags::next_tag(html, "img")?;
    let src = page.join(&tag.attr("src")?).ok()?;
    if !matches!(src.scheme(), "http" | "https") {
        return None;
    }
    Some(FirstImage {
        url: src.to_string(),
        alt: tag.attr("alt").unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str) -> url::Url {
        url::Url::parse(url).expect("url")
    }

    #[test]
    fn the_first_image_becomes_an_attachment_with_its_alt_text() {
        let html = r#"<p>x</p><p><img src="/static/cover.png?a=1&amp;b=2" alt="A &quot;cover&quot;"></p><img src="https://x.example/2.png" alt="">"#;
        let image = first_image(html, &page("https://blog.example/posts/p")).expect("image");
        assert_eq!(image.url, "https://blog.example/static/cover.png?a=1&b=2");
        assert_eq!(image.alt, "A \"cover\"");
        assert!(first_image("<p>no image</p>", &page("https://blog.example/")).is_none());
        assert!(
            first_image(
                r#"<img src="data:image/png;base64,xx">"#,
                &page("https://blog.example/")
            )
            .is_none()
        );
    }

    #[test]
    fn federated_html_has_absolute_links_and_images_as_labelled_links() {
        let body = to_html(
            "## Part one\n\n[top](#part-one) [rel](/about)\n\n![A <b>cat</b> & \"dog\"](/media/cat.png)\n\n![](https://img.example/a/very/long/path/to/some/picture.png)\n",
        );
        let html = federated(&body, &page("https://blog.example/posts/p"));
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<p></p>"), "{html}");
        assert!(
            html.contains(r#"href="https://blog.example/posts/p#part-one""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="https://blog.example/about""#),
            "{html}"
        );
        assert!(
            html.contains(r#"<p><a href="https://blog.example/media/cat.png" rel="noopener noreferrer">[🖼 A &lt;b&gt;cat&lt;/b&gt; &amp; &quot;dog&quot;]</a></p>"#),
            "{html}"
        );
        assert!(
            html.contains("[🖼 img.example/a/very/long/path/t…]"),
            "{html}"
        );
        // An image in a link: the link keeps its target and gets the label.
        let linked = federated(
            &to_html("[![Build status](/badge.png)](https://ci.example/) after"),
            &page("https://blog.example/posts/p"),
        );
        assert_eq!(
            linked,
            "<p><a href=\"https://ci.example/\" rel=\"noopener noreferrer\">[🖼 Build status]</a> after</p>\n",
        );
        // The page keeps its pictures.
        assert!(body.contains("<img"), "{body}");
    }

    #[test]
    fn comments_take_a_markdown_subset_and_no_html() {
        let html = comment_to_html(
            "Hello *there*\nsecond line <script>alert(1)</script>\n\n> quoted\n\n[x](javascript:alert(2)) https://ok.example/a\n\n# Big",
        );
        assert!(html.contains("<em>there</em>"), "{html}");
        assert!(html.contains("<br>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("<blockquote>"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://ok.example/a\" rel=\"nofollow noopener noreferrer ugc\">"
            ),
            "{html}"
        );
        assert!(!html.contains("<h1"), "{html}");
    }

    #[test]
    fn gfm_extensions_render() {
        let html = to_html(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ https://example.org\n\nNote[^1].\n\n[^1]: The note.\n",
        );
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<del>gone</del>"), "{html}");
        assert!(
            html.contains(r#"<a href="https://example.org" rel="noopener noreferrer">"#),
            "{html}"
        );
        assert!(
            html.contains(r##"href="#fn-1""##) && html.contains(r#"id="fn-1""#),
            "{html}"
        );
        assert!(html.contains(r#"class="footnotes""#), "{html}");
    }

    #[test]
    fn raw_html_cannot_inject_script() {
        let html = to_html(concat!(
            "<script>alert(1)</script>\n\n",
            "<img src=x onerror=\"alert(2)\">\n\n",
            "[click](javascript:alert(3))\n\n",
            "<a href=\"javascript:alert(4)\">x</a> <iframe src=\"https://evil.example\"></iframe>\n\n",
            "<svg><script>alert(5)</script></svg><style>body{display:none}</style>\n\n",
            "<p style=\"position:fixed\" onclick=\"alert(6)\">kept text</p>",
        ));
        for bad in [
            "<script",
            "onerror",
            "javascript:",
            "<iframe",
            "<svg",
            "<style",
            "onclick",
            "style=",
        ] {
            assert!(!html.contains(bad), "{bad} survived in {html}");
        }
        assert!(html.contains("kept text"));
    }

    #[test]
    fn harmless_raw_html_and_code_classes_survive() {
        let html = to_html(
            "<details><summary>More</summary>Hidden</details>\n\n```rust\nfn main() {}\n```\n",
        );
        assert!(
            html.contains("<details>") && html.contains("<summary>More</summary>"),
            "{html}"
        );
        assert!(html.contains(r#"<code class="language-rust">"#), "{html}");
    }

    #[test]
    fn excerpt_is_prose_only_and_cut_at_a_word() {
        let md = "# Title\n\nFirst *para*.\n\n```\ncode();\n```\n\n<div>raw</div>\n\nSecond[^n] `x`.\n\n[^n]: foot\n";
        assert_eq!(excerpt(md), "Title First para. Second x.");
        let long = "word ".repeat(200);
        let e = excerpt(&long);
        assert!(
            e.ends_with('…') && e.chars().count() <= EXCERPT_CHARS + 1,
            "{e}"
        );
        assert!(!e.contains("wor…"), "cut inside a word: {e}");
    }
}
