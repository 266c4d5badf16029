//! CSRF protection for the comment form, without sessions: a random cookie
//! per browser, and a form token bound to it by the blog's
//! [`FormSecret`](crate::state::form_secret::FormSecret).

use axum::http::{HeaderMap, HeaderValue, header};

/// The cookie that ties a form token to one browser.
pub const COOKIE: &str = "fedblog_form";

/// The value of the cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
}

/// The random value of a browser's [`COOKIE`]: 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserId(String);

impl BrowserId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn generate() -> Self {
        BrowserId(hex::encode(rand::random::<[u8; 16]>()))
    }

    /// The browser's id from its `Cookie` headers, if it has a well-formed one.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        cookie(headers, COOKIE)
            .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|v| BrowserId(v.to_ascii_lowercase()))
    }

    /// The `Set-Cookie` value that gives the browser this id (for a year;
    /// `Secure` when the blog is served over https).
    pub fn set_cookie(&self, secure: bool) -> HeaderValue {
        let secure = if secure { "; Secure" } else { "" };
        let value = format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}",
            self.0
        );
        HeaderValue::from_str(&value).expect("hex digits and ASCII make a valid header value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_read_among_others_and_checked() {
        let id = BrowserId::generate();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {COOKIE}={}; c=d", id.0)).expect("value"),
        );
        assert_eq!(BrowserId::from_headers(&headers), Some(id));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("fedblog_form=<script>"),
        );
        assert_eq!(BrowserId::from_headers(&headers), None);
    }
}
