//! The cheap half of checking a draft-cavage HTTP signature, as Mastodon
//! checks it, done before anything is fetched or stored: the header parses,
//! the algorithm is one we verify, the signature covers `(request-target)`,
//! `host`, `date` and (on POST) `digest`, the Host is ours, the Date is
//! recent, and the Digest is the body's. The RSA verification itself, with
//! the actor's key, is the federation library's (see `super::verify`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};
use url::Url;

/// How old a request's Date may be (Mastodon: about an hour, plus skew).
pub const MAX_AGE: chrono::Duration = chrono::Duration::minutes(65);
/// How far ahead of our clock a Date may be.
pub const MAX_AHEAD: chrono::Duration = chrono::Duration::hours(1);

/// Why a request is refused before its key is even looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The Signature header is there but cannot be read (400).
    #[error("{0}")]
    Malformed(String),
    /// Not signed, or signed in a way we do not accept (401).
    #[error("{0}")]
    Unauthorized(String),
}

/// The parts of a `Signature` header we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub key_id: Url,
    pub algorithm: Option<String>,
    /// The signed headers, lowercased, in order.
    pub headers: Vec<String>,
}

/// Parses `keyId="...",algorithm="...",headers="...",signature="..."`.
pub fn parse(header: &str) -> Result<SignatureHeader, Refusal> {
    let malformed = |why: &str| Refusal::Malformed(format!("malformed Signature header: {why}"));
    let mut key_id = None;
    let mut algorithm = None;
    let mut headers = None;
    let mut signature = None;
    let mut rest = header.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| malformed("expected name=\"value\""))?;
        let after = after
            .strip_prefix('"')
            .ok_or_else(|| malformed("values must be quoted"))?;
        let (value, after) = after
            .split_once('"')
            .ok_or_else(|| malformed("an unterminated value"))?;
        match name.trim().to_ascii_lowercase().as_str() {
            "keyid" => key_id = Some(value.to_string()),
            "algorithm" => algorithm = Some(value.to_ascii_lowercase()),
            "headers" => headers = Some(value.to_ascii_lowercase()),
            "signature" => signature = Some(value.to_string()),
            _ => {}
        }
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    let key_id = key_id.ok_or_else(|| malformed("no keyId"))?;
    let key_id = Url::parse(&key_id).map_err(|_| malformed("the keyId is not a URL"))?;
    if signature.is_none_or(|s| s.is_empty()) {
        return Err(malformed("no signature"));
    }
    // Without `headers`, the draft says only `date` is signed.
    let headers = headers
        .unwrap_or_else(|| "date".into())
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Ok(SignatureHeader {
        key_id,
        algorithm,
        headers,
    })
}

/// Everything about a signed request that can be checked without its key.
/// `our_host` is the server's domain as senders name it (`host[:port]`).
pub fn check(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    our_host: &str,
    now: DateTime<Utc>,
) -> Result<SignatureHeader, Refusal> {
    let unauthorized = |why: &str| Refusal::Unauthorized(why.to_string());
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = parse(
        header("signature")
            .ok_or_else(|| unauthorized("the request is not signed (no Signature header)"))?,
    )?;
    if let Some(algorithm) = &signature.algorithm
        && !matches!(algorithm.as_str(), "rsa-sha256" | "hs2019")
    {
        return Err(Refusal::Unauthorized(format!(
            "unsupported signature algorithm {algorithm:?} (rsa-sha256 or hs2019)"
        )));
    }
    let mut required = vec!["(request-target)", "host", "date"];
    if method == Method::POST {
        required.push("digest");
    }
    for name in required {
        if !signature.headers.iter().any(|h| h == name) {
            return Err(Refusal::Unauthorized(format!(
                "the signature must cover {name}"
            )));
        }
    }
    let host = header("host").ok_or_else(|| unauthorized("no Host header"))?;
    if !host.eq_ignore_ascii_case(our_host) {
        return Err(unauthorized("the signed Host is not this server"));
    }
    let date = header("date").ok_or_else(|| unauthorized("no Date header"))?;
    let sent: DateTime<Utc> = httpdate::parse_http_date(date)
        .map_err(|_| unauthorized("the Date header cannot be read"))?
        .into();
    if sent < now - MAX_AGE {
        return Err(unauthorized(
            "the Date is too old (replayed or a slow clock)",
        ));
    }
    if sent > now + MAX_AHEAD {
        return Err(unauthorized("the Date is in the future"));
    }
    if method == Method::POST && !digest_matches(header("digest"), body) {
        return Err(unauthorized("the Digest is not the body's SHA-256"));
    }
    Ok(signature)
}

/// `Digest: SHA-256=BASE64` (possibly among others) over exactly `body`.
fn digest_matches(header: Option<&str>, body: &[u8]) -> bool {
    let Some(header) = header else {
        return false;
    };
    let ours = BASE64.encode(Sha256::digest(body));
    header.split(',').any(|part| {
        part.trim()
            .split_once('=')
            .is_some_and(|(alg, value)| alg.eq_ignore_ascii_case("sha-256") && value == ours)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const HOST: &str = "blog.example";

    fn request(signed: &str, date: DateTime<Utc>, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static(HOST));
        let date = httpdate::fmt_http_date(date.into());
        headers.insert("date", HeaderValue::from_str(&date).expect("date"));
        let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(body)));
        headers.insert("digest", HeaderValue::from_str(&digest).expect("digest"));
        let signature = format!(
            "keyId=\"https://m.example/users/a#main-key\",algorithm=\"rsa-sha256\",headers=\"{signed}\",signature=\"c2ln\""
        );
        headers.insert(
            "signature",
            HeaderValue::from_str(&signature).expect("signature"),
        );
        headers
    }

    fn refusal(headers: &HeaderMap, body: &[u8]) -> Option<Refusal> {
        check(&Method::POST, headers, body, HOST, Utc::now()).err()
    }

    const ALL: &str = "(request-target) host date digest";

    #[test]
    fn a_request_signed_as_mastodon_signs_passes() {
        let body = br#"{"type":"Follow"}"#;
        let signature = check(
            &Method::POST,
            &request(ALL, Utc::now(), body),
            body,
            HOST,
            Utc::now(),
        )
        .expect("passes");
        assert_eq!(
            signature.key_id.as_str(),
            "https://m.example/users/a#main-key"
        );
        assert_eq!(signature.headers, ALL.split(' ').collect::<Vec<_>>());
    }

    #[test]
    fn each_header_must_be_covered() {
        let body = b"{}";
        for missing in ["(request-target)", "host", "date", "digest"] {
            let signed: Vec<&str> = ALL.split(' ').filter(|h| *h != missing).collect();
            let headers = request(&signed.join(" "), Utc::now(), body);
            assert_eq!(
                refusal(&headers, body),
                Some(Refusal::Unauthorized(format!(
                    "the signature must cover {missing}"
                ))),
                "{missing}"
            );
        }
        // A GET needs no digest.
        let signed = "(request-target) host date";
        let headers = request(signed, Utc::now(), b"");
        assert!(check(&Method::GET, &headers, b"", HOST, Utc::now()).is_ok());
    }

    #[test]
    fn the_host_must_be_ours_and_the_date_recent() {
        let body = b"{}";
        let mut headers = request(ALL, Utc::now(), body);
        headers.insert("host", HeaderValue::from_static("other.example"));
        assert!(
            matches!(refusal(&headers, body), Some(Refusal::Unauthorized(m)) if m.contains("Host"))
        );
        let now = Utc::now();
        for (date, ok) in [
            (now - chrono::Duration::minutes(64), true),
            (now - chrono::Duration::minutes(66), false),
            (now + chrono::Duration::minutes(59), true),
            (now + chrono::Duration::minutes(61), false),
        ] {
            let headers = request(ALL, date, body);
            assert_eq!(refusal(&headers, body).is_none(), ok, "{date}");
        }
        let mut headers = request(ALL, now, body);
        headers.insert("date", HeaderValue::from_static("yesterday at noon"));
        assert!(
            matches!(refusal(&headers, body), Some(Refusal::Unauthorized(m)) if m.contains("cannot be read"))
        );
    }

    #[test]
    fn the_digest_must_be_the_bodys() {
        let headers = request(ALL, Utc::now(), b"{\"a\":1}");
        assert!(refusal(&headers, b"{\"a\":1}").is_none());
        assert!(
            matches!(refusal(&headers, b"{\"a\":2}"), Some(Refusal::Unauthorized(m)) if m.contains("Digest"))
        );
    }

    #[test]
    fn signature_headers_are_parsed_strictly() {
        assert!(matches!(
            parse("keyId=https://x,signature=\"a\""),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            parse("keyId=\"not a url\",signature=\"a\""),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            parse("keyId=\"https://m.example/k\""),
            Err(Refusal::Malformed(_))
        ));
        let parsed = parse("keyId=\"https://m.example/k\", signature=\"YQ==\"").expect("parses");
        assert_eq!(parsed.headers, vec!["date"], "the draft's default");
        let body = b"{}";
        let mut headers = request(ALL, Utc::now(), body);
        headers.insert(
            "signature",
            HeaderValue::from_static(
                "keyId=\"https://m.example/k\",algorithm=\"rsa-sha1\",headers=\"(request-target) host date digest\",signature=\"YQ==\"",
            ),
        );
        assert!(
            matches!(refusal(&headers, body), Some(Refusal::Unauthorized(m)) if m.contains("algorithm"))
        );
        headers.remove("signature");
        assert!(
            matches!(refusal(&headers, body), Some(Refusal::Unauthorized(m)) if m.contains("not signed"))
        );
    }
}
