//! Who is asking: the client's address, as the rate limits count it.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The client's address: the TCP peer, or with `trust_proxy` the last
/// address in `X-Forwarded-For` (the one the proxy in front of us added;
/// earlier ones come from the client and prove nothing).
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trust_proxy: bool) -> IpAddr {
    if !trust_proxy {
        return peer.ip();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|last| {
            let last = last.trim();
            last.parse::<IpAddr>()
                .ok()
                .or_else(|| last.parse::<SocketAddr>().ok().map(|s| s.ip()))
        })
        .unwrap_or_else(|| peer.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn forwarded_addresses_only_from_a_trusted_proxy() {
        let peer: SocketAddr = "127.0.0.1:4000".parse().expect("peer");
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.4"),
        );
        assert_eq!(client_ip(peer, &headers, false), ip("127.0.0.1"));
        assert_eq!(client_ip(peer, &headers, true), ip("198.51.100.4"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(peer, &headers, true), ip("127.0.0.1"));
    }
}
