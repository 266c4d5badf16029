//! How many comments one client may send through the form: a count per
//! address in memory, over a window that starts with the client's first
//! comment. Memory is bounded: at most [`MAX_CLIENTS`] addresses are tracked.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Addresses tracked at once. When that many are within their window, new
/// addresses are refused until windows end: under a flood from that many
/// addresses the form closes for a while rather than the memory growing.
pub const MAX_CLIENTS: usize = 10_000;

/// The client, as far as a limit can tell: an IPv4 address, or an IPv6 /64
/// (one household or server usually has a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ClientKey(IpAddr);

impl ClientKey {
    fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                ClientKey(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
            v4 => ClientKey(v4),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    clients: Mutex<HashMap<ClientKey, Window>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        RateLimiter {
            limit,
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one comment from `ip`; `Err(wait)` when it is over the limit
    /// (and then it is not counted).
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = ClientKey::of(ip);
        // A panic elsewhere while holding the lock leaves counts that are still usable.
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if !clients.contains_key(&key) && clients.len() >= MAX_CLIENTS {
            clients.retain(|_, w| now.saturating_duration_since(w.start) < self.window);
            if clients.len() >= MAX_CLIENTS {
                tracing::warn!(
                    tracked = clients.len(),
                    "comment rate limiter full; refusing new addresses"
                );
                return Err(self.window);
            }
        }
        let entry = clients.entry(key).or_insert(Window {
            start: now,
            count: 0,
        });
        let elapsed = now.saturating_duration_since(entry.start);
        if elapsed >= self.window {
            *entry = Window {
                start: now,
                count: 0,
            };
        }
        if entry.count >= self.limit {
            return Err(self.window.saturating_sub(elapsed));
        }
        entry.count += 1;
        Ok(())
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn allows_the_limit_per_window_then_says_how_long_to_wait() {
        let limiter = RateLimiter::new(2, Duration::from_secs(600));
        let t0 = Instant::now();
        assert!(limiter.check(ip("192.0.2.1"), t0).is_ok());
        assert!(limiter.check(ip("192.0.2.1"), t0).is_ok());
        let wait = limiter
            .check(ip("192.0.2.1"), t0 + Duration::from_secs(60))
            .expect_err("over the limit");
        assert_eq!(wait, Duration::from_secs(540));
        assert!(limiter.check(ip("192.0.2.2"), t0).is_ok(), "per address");
        assert!(
            limiter
                .check(ip("192.0.2.1"), t0 + Duration::from_secs(600))
                .is_ok(),
            "a new window"
        );
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let limiter = RateLimiter::new(1, Duration::from_secs(600));
        let t0 = Instant::now();
        assert!(limiter.check(ip("2001:db8:1:2::1"), t0).is_ok());
        assert!(limiter.check(ip("2001:db8:1:2::ffff"), t0).is_err());
        assert!(limiter.check(ip("2001:db8:1:3::1"), t0).is_ok());
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        for n in 0..MAX_CLIENTS as u32 {
            assert!(limiter.check(IpAddr::from(n.to_be_bytes()), t0).is_ok());
        }
        let extra = ip("198.51.100.7");
        assert!(limiter.check(extra, t0).is_err(), "full: refused");
        assert_eq!(limiter.tracked(), MAX_CLIENTS);
        let later = t0 + Duration::from_secs(61);
        assert!(limiter.check(extra, later).is_ok(), "old windows pruned");
        assert_eq!(limiter.tracked(), 1);
    }
}
