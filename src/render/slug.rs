//! URL slugs from titles and tag names in any language: transliterated to
//! ASCII ("är det därför" becomes "ar-det-darfor"), lowercase, hyphenated.

/// Longest slug, in bytes; longer titles are cut at a hyphen.
pub const MAX_SLUG_LEN: usize = 80;

/// A readable, stable slug for `text`; `fallback` when nothing readable is left.
pub fn slugify(text: &str, fallback: &str) -> String {
    let ascii = deunicode::deunicode_with_tofu(text, "-");
    let mut slug = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut slug = slug.trim_end_matches('-').to_string();
    if slug.len() > MAX_SLUG_LEN {
        let cut = &slug[..MAX_SLUG_LEN];
        let end = cut
            .rfind('-')
            .filter(|&i| i > MAX_SLUG_LEN / 2)
            .unwrap_or(MAX_SLUG_LEN);
        slug = cut[..end].trim_end_matches('-').to_string();
    }
    if slug.is_empty() {
        fallback.to_string()
    } else {
        slug
    }
}

/// The `n`th candidate for a slug that is taken: `base`, `base-2`, `base-3`...
pub fn numbered(base: &str, n: u32) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}-{n}")
    }
}

/// Whether `s` could be a slug we made (used to reject junk in URLs early).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SLUG_LEN + 12
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_title_gives_a_readable_slug() {
        assert_eq!(
            slugify(
                "Sociala medier handlar inte om pengar – är det därför företagen inte fattar?",
                "post"
            ),
            "sociala-medier-handlar-inte-om-pengar-ar-det-darfor-foretagen-inte-fattar"
        );
    }

    #[test]
    fn other_scripts_and_symbols() {
        assert_eq!(slugify("Ἀθῆναι und Straße!", "post"), "athenai-und-strasse");
        assert_eq!(slugify("Привет, мир", "post"), "privet-mir");
        assert!(is_slug(&slugify("北京欢迎你", "post")));
        assert_eq!(slugify("C++ & Rust: 2026", "post"), "c-rust-2026");
        assert_eq!(slugify("!!!", "post"), "post");
        assert_eq!(slugify("", "post"), "post");
    }

    #[test]
    fn long_titles_are_cut_at_a_hyphen() {
        let slug = slugify(&"lorem ipsum dolor ".repeat(20), "post");
        assert!(slug.len() <= MAX_SLUG_LEN && !slug.ends_with('-'), "{slug}");
        assert!(
            slug.ends_with("ipsum") || slug.ends_with("dolor") || slug.ends_with("lorem"),
            "{slug}"
        );
    }

    #[test]
    fn numbered_candidates() {
        assert_eq!(numbered("a", 1), "a");
        assert_eq!(numbered("a", 3), "a-3");
    }
}
