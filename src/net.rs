//! The one way out: every outgoing connection (actors, keys, inboxes,
//! WebFinger, media) goes through a client that refuses loopback, private,
//! link-local and other special-use addresses, checked on the address actually
//! connected (a resolver hook), and on IP literals in URLs before sending.
//! `federation.allow_private_addresses` lifts the guard, for tests only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use http::Extensions;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use url::{Host, Url};

/// Whether an address is one the fediverse must never make us connect to.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()        // 0.0.0.0
        || a == 0              // 0.0.0.0/8 "this network"
        || ip.is_loopback()    // 127.0.0.0/8
        || ip.is_private()     // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()  // 169.254/16
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 CGNAT
        || (a == 198 && (b == 18 || b == 19))   // 198.18/15 benchmarking
        || (a == 192 && b == 0 && c == 0)       // 192.0.0/24 protocol assignments
        || (a == 192 && b == 0 && c == 2)       // documentation
        || (a == 198 && b == 51 && c == 100)    // documentation
        || (a == 203 && b == 0 && c == 113)     // documentation
        || (a == 192 && b == 88 && c == 99)     // 6to4 relay anycast
        || ip.is_multicast()   // 224/4
        || a >= 240 // 240/4 reserved, and broadcast
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_forbidden_v4(v4);
    }
    let s = ip.segments();
    ip.is_unspecified()                      // ::
        || ip.is_loopback()                  // ::1
        || ip.is_multicast()                 // ff00::/8
        || (s[0] & 0xfe00) == 0xfc00         // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80         // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0         // fec0::/10 site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0)     // Teredo: tunnels to anywhere
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // 100::/64 discard
        || s[0] == 0 // ::/16 other than mapped forms: reserved
}

/// The IPv4 address inside IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
/// (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(low(s[6], s[7])); // deprecated IPv4-compatible
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(low(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(low(s[1], s[2]));
    }
    None
}

#[derive(Debug, thiserror::Error)]
#[error("refusing to connect to {host}: {reason}")]
pub struct Refused {
    host: String,
    reason: &'static str,
}

/// Checks a URL's host when it is an IP literal (which never reaches the resolver).
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), Refused> {
    if allow_private {
        return Ok(());
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) => return Ok(()),
        None => {
            return Err(Refused {
                host: url.to_string(),
                reason: "the URL has no host",
            });
        }
    };
    if is_forbidden(ip) {
        return Err(Refused {
            host: ip.to_string(),
            reason: "it is a loopback, private or special-use address",
        });
    }
    Ok(())
}

/// Resolves names and drops forbidden addresses, so that what is checked is
/// what is connected to (no second, separate lookup to rebind).
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().trim_end_matches('.').to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| allow_private || !is_forbidden(addr.ip()))
                .collect();
            if allowed.is_empty() {
                let refused = Refused {
                    host,
                    reason: "it resolves only to loopback, private or special-use addresses",
                };
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A server that could not answer a fetch just now (5xx, 408 or 429): worth
/// asking again later, unlike a 4xx or a document that is wrong. Without
/// this, the library would read the error page as a malformed document.
#[derive(Debug, thiserror::Error)]
#[error("{url} answered {status}; it may answer later")]
pub struct Unavailable {
    url: Url,
    status: u16,
}

/// Statuses that say "not now" rather than "no".
pub fn is_temporary(status: reqwest::StatusCode) -> bool {
    status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}

/// Whether a failed request may succeed later: a network failure or a
/// temporary status, not a refusal of ours (forbidden address, a connection
/// held).
pub fn is_transient(error: &reqwest_middleware::Error) -> bool {
    match error {
        reqwest_middleware::Error::Middleware(e) => e.is::<Unavailable>(),
        reqwest_middleware::Error::Reqwest(e) => is_transient_network(e),
    }
}

/// A network failure is transient unless the resolver refused the address.
pub fn is_transient_network(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        if s.is::<Refused>() {
            return false;
        }
        source = s.source();
    }
    true
}

/// Checked around every request, redirects included: before it, the host
/// when it is an IP literal, and that the calling task holds no database
/// connection (the other half of the rule in `db::pool`: a request can take
/// seconds, and a connection held meanwhile is one the rest of the server
/// waits for); after a GET, a temporary status becomes [`Unavailable`].
struct RequestGuard {
    allow_private: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("refusing network I/O while this task holds a database connection: {0}")]
struct ConnectionHeld(Url);

#[async_trait::async_trait]
impl Middleware for RequestGuard {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        if crate::db::held_by_this_task() {
            let refused = ConnectionHeld(req.url().clone());
            crate::db::violation(&refused);
            return Err(reqwest_middleware::Error::Middleware(refused.into()));
        }
        check_literal(req.url(), self.allow_private)
            .map_err(|e| reqwest_middleware::Error::Middleware(e.into()))?;
        let fetch = req.method() == reqwest::Method::GET;
        let response = next.run(req, extensions).await?;
        if fetch && is_temporary(response.status()) {
            let unavailable = Unavailable {
                url: response.url().clone(),
                status: response.status().as_u16(),
            };
            return Err(reqwest_middleware::Error::Middleware(unavailable.into()));
        }
        Ok(response)
    }
}

/// The client for all federation traffic; `timeout` bounds each request as a
/// whole (not per read).
pub fn client(
    allow_private: bool,
    timeout: Duration,
) -> Result<ClientWithMiddleware, reqwest::Error> {
    install_crypto_provider();
    if allow_private {
        tracing::warn!(
            "federation.allow_private_addresses is ON: fedblog will connect to loopback and private \
             addresses. This is for tests only; never enable it on a server on the internet"
        );
    }
    let inner = reqwest::Client::builder()
        .user_agent(concat!("fedblog/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        // A fan-out touches many servers once: keep few idle connections, briefly.
        .pool_idle_timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(4)
        .no_proxy()
        .dns_resolver(GuardedResolver { allow_private })
        .build()?;
    Ok(ClientBuilder::new(inner)
        .with(RequestGuard { allow_private })
        .build())
}

/// Installs the TLS crypto provider once per process (ring: no cmake needed).
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_timeouts_and_rate_limits_are_temporary_other_statuses_are_not() {
        use reqwest::StatusCode;
        for status in [500, 502, 503, 504, 408, 429] {
            assert!(
                is_temporary(StatusCode::from_u16(status).expect("status")),
                "{status}"
            );
        }
        for status in [200, 301, 400, 401, 403, 404, 410, 422] {
            assert!(
                !is_temporary(StatusCode::from_u16(status).expect("status")),
                "{status}"
            );
        }
    }

    fn forbidden(s: &str) -> bool {
        is_forbidden(s.parse().expect("address"))
    }

    // Classifying only: nothing here connects anywhere.
    #[test]
    fn special_use_addresses_are_forbidden() {
        for a in [
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2002:c0a8:101::",
            "100::1",
        ] {
            assert!(forbidden(a), "{a} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "192.0.1.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:1.1.1.1",
            "64:ff9b::101:101",
            "2002:101:101::",
        ] {
            assert!(!forbidden(a), "{a} must be allowed");
        }
    }

    #[test]
    fn ip_literals_in_urls_are_checked_in_every_spelling() {
        for u in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::1]:8080/",
            "http://0.0.0.0/",
            "http://017700000001/",
        ] {
            let url = Url::parse(u).expect("url");
            assert!(check_literal(&url, false).is_err(), "{u} must be refused");
            assert!(
                check_literal(&url, true).is_ok(),
                "{u} is allowed in test mode"
            );
        }
        assert!(check_literal(&Url::parse("https://example.org/").expect("url"), false).is_ok());
    }

    /// A loopback server that answers every request 204 and counts them.
    async fn counting_server() -> (Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url =
            Url::parse(&format!("http://{}/", listener.local_addr().expect("addr"))).expect("url");
        let hits = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    .await;
            }
        });
        (url, hits)
    }

    #[tokio::test]
    async fn nothing_is_sent_while_the_task_holds_a_database_connection() {
        use std::sync::atomic::Ordering;
        let (url, hits) = counting_server().await;
        let client = client(true, Duration::from_secs(5)).expect("client");

        let slot = crate::db::pool::hold_slot_for_test();
        let refused = client.get(url.clone()).send().await;
        match refused {
            Err(reqwest_middleware::Error::Middleware(e)) => {
                assert!(e.to_string().contains("holds a database connection"), "{e}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0, "no connection was made");

        drop(slot);
        let sent = client.get(url).send().await.expect("sent once released");
        assert_eq!(sent.status(), reqwest::StatusCode::NO_CONTENT);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
