//! `[server]`: where the blog is and what it listens on.

use std::net::SocketAddr;

use serde::{Deserialize, Deserializer};
use url::Url;

use super::ConfigError;
use super::values::parsed;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    domain: String,
    scheme: Scheme,
    #[serde(deserialize_with = "listen")]
    listen: SocketAddr,
    trust_proxy: bool,
}

/// How the blog's addresses start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl<'de> Deserialize<'de> for Scheme {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, |text| {
            match text.trim().to_ascii_lowercase().as_str() {
                "http" => Ok(Scheme::Http),
                "https" => Ok(Scheme::Https),
                _ => Err(format!("must be \"http\" or \"https\", not {text:?}")),
            }
        })
    }
}

fn listen<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    parsed(deserializer, |text| {
        text.trim().parse().map_err(|_| {
            format!(
                "{text:?} is not an address with a port, such as \"127.0.0.1:8080\" or \"[::]:8080\""
            )
        })
    })
}

/// The server settings, checked.
pub struct Server {
    pub base_url: Url,
    pub domain: String,
    pub listen: SocketAddr,
    pub trust_proxy: bool,
}

impl Section {
    pub fn check(self) -> Result<Server, ConfigError> {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let domain = self.domain.trim().to_ascii_lowercase();
        let base_url = parse_domain(scheme, &domain)?;
        Ok(Server {
            base_url,
            domain,
            listen: self.listen,
            trust_proxy: self.trust_proxy,
        })
    }
}

/// The blog's base URL; the domain may have a port but no path or user.
fn parse_domain(scheme: &str, domain: &str) -> Result<Url, ConfigError> {
    let bad = || {
        ConfigError::invalid(
            "server.domain",
            format!(
                "{domain:?} is not a domain name (with an optional port), such as \"blog.example.org\" or \"localhost:8080\""
            ),
        )
    };
    if domain.is_empty() || domain.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    let url = Url::parse(&format!("{scheme}://{domain}/")).map_err(|_| bad())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(url)
}
