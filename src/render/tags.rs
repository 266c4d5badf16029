//! Rewriting tags in HTML that html5ever serialized (ammonia's output):
//! attributes double-quoted, with `"`, `&`, `<` and `>` escaped in values,
//! so a tag is never found inside an attribute value.

use crate::render::escape::xml_escape;

/// One start tag, `<name …>`.
pub struct Tag<'a>(&'a str);

impl Tag<'_> {
    /// The unescaped value of an attribute.
    pub fn attr(&self, name: &str) -> Option<String> {
        let key = format!(" {name}=\"");
        let from = self.0.find(&key)? + key.len();
        let len = self.0[from..].find('"')?;
        Some(unescape_attr(&self.0[from..from + len]))
    }
}

/// The text before the first `<name …>` or `<name>` start tag of `html`,
/// the tag, and the text after it.
pub fn next_tag<'a>(html: &'a str, name: &str) -> Option<(&'a str, Tag<'a>, &'a str)> {
    let open = format!("<{name}");
    let mut from = 0;
    let start = loop {
        let at = from + html[from..].find(&open)?;
        match html[at + open.len()..].chars().next() {
            Some(' ' | '>' | '/') => break at,
            _ => from = at + open.len(),
        }
    };
    // The tag ends at the first `>` outside a quoted attribute value.
    let mut quoted = false;
    let len = html[start..].char_indices().find_map(|(i, c)| match c {
        '"' => {
            quoted = !quoted;
            None
        }
        '>' if !quoted => Some(i + 1),
        _ => None,
    })?;
    let end = start + len;
    Some((&html[..start], Tag(&html[start..end]), &html[end..]))
}

/// Replaces each `<name …>` start tag by what `replace` makes of it, told
/// whether the tag sits inside a link.
pub fn rewrite(
    html: &str,
    name: &str,
    mut replace: impl FnMut(&Tag<'_>, bool) -> String,
) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut open_links = 0usize;
    while let Some((before, tag, after)) = next_tag(rest, name) {
        out.push_str(before);
        open_links = (open_links + before.matches("<a ").count() + before.matches("<a>").count())
            .saturating_sub(before.matches("</a>").count());
        out.push_str(&replace(&tag, open_links > 0));
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Each `<img>` becomes `<a href="src">[🖼 alt]</a>` (the address shortened
/// when there is no alt text), or its label alone inside a link (links do
/// not nest): what Mastodon shows for an inline image, never loading it.
/// An image without an address is dropped.
pub fn images_as_links(html: &str, rel: &str) -> String {
    rewrite(html, "img", |tag, in_link| {
        let Some(src) = tag.attr("src") else {
            return String::new();
        };
        let label = match tag.attr("alt").filter(|alt| !alt.trim().is_empty()) {
            Some(alt) => alt,
            None => {
                let bare = src
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_start_matches("www.");
                shortened(bare, 30)
            }
        };
        labelled_link(&src, &format!("🖼 {label}"), rel, in_link)
    })
}

/// The first `max` characters of `s`, with "…" when it was longer.
fn shortened(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// `<a href="url" rel="rel">[label]</a>`, or `[label]` inside a link.
pub fn labelled_link(url: &str, label: &str, rel: &str, in_link: bool) -> String {
    if in_link {
        format!("[{}]", xml_escape(label))
    } else {
        format!(
            "<a href=\"{}\" rel=\"{rel}\">[{}]</a>",
            xml_escape(url),
            xml_escape(label)
        )
    }
}

pub fn unescape_attr(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_found_by_their_whole_name() {
        let html = r#"<p>x<imgx a="1"><img src="/a.png" alt="A &quot;b&quot; &lt;c&gt;">y</p>"#;
        let (before, tag, after) = next_tag(html, "img").expect("img");
        assert_eq!(before, r#"<p>x<imgx a="1">"#);
        assert_eq!(tag.attr("alt").as_deref(), Some("A \"b\" <c>"));
        assert_eq!(after, "y</p>");
        assert!(next_tag("<p>none</p>", "img").is_none());
        let rewritten = rewrite(
            "<a href=\"x\"><img src=\"i\"></a><img src=\"j\">",
            "img",
            |t, in_link| format!("{}:{in_link}", t.attr("src").unwrap_or_default()),
        );
        assert_eq!(rewritten, "<a href=\"x\">i:true</a>j:false");
    }
}
