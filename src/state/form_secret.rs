//! The key of the comment form's CSRF tokens, kept in the database so that
//! every process of one blog (and a restart) accepts the tokens of the
//! others: a token is an HMAC of the browser's id, the post and the time the
//! form was served ([`crate::web::csrf`] gives browsers their id).

use std::fmt;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use sha2::{Digest, Sha256};

use crate::models::instance_setting;

const SECRET_KEY: &str = "comment_form_secret";

/// How long a served form can be sent.
pub const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// Tolerated clock difference between the servers of one blog.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// The key of the form tokens: 32 random bytes, generated on first start.
#[derive(Clone)]
pub struct FormSecret([u8; 32]);

/// Keeps the secret out of logs and debug output.
impl fmt::Debug for FormSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FormSecret(<redacted>)")
    }
}

impl FormSecret {
    /// Loads the secret, generating it on first use. Two processes starting
    /// at once agree on one: only the first insert wins, both read it back.
    pub async fn load_or_create(
        conn: &mut AsyncPgConnection,
    ) -> Result<Self, diesel::result::Error> {
        if let Some(secret) = Self::load(conn).await? {
            return Ok(secret);
        }
        let fresh: [u8; 32] = rand::random();
        if instance_setting::insert_new(conn, SECRET_KEY, &hex::encode(fresh)).await? {
            tracing::info!("generated the comment form secret");
        }
        Self::load(conn)
            .await?
            .ok_or(diesel::result::Error::NotFound)
    }

    async fn load(conn: &mut AsyncPgConnection) -> Result<Option<Self>, diesel::result::Error> {
        let stored = instance_setting::get(conn, SECRET_KEY).await?;
        Ok(stored
            .and_then(|hex| hex::decode(hex.trim()).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(FormSecret))
    }

    /// A token for the form of post `post_id`, served now to the browser
    /// with the id `browser` (its cookie): `ISSUED-HMAC` (unix seconds, hex).
    pub fn issue(&self, browser: &str, post_id: i64, now: DateTime<Utc>) -> String {
        self.issue_for(&comment_scope(browser, post_id), now)
    }

    /// Whether `token` was issued by [`Self::issue`] for this browser and
    /// post, less than [`TOKEN_LIFETIME`] ago.
    pub fn verify(&self, token: &str, browser: &str, post_id: i64, now: DateTime<Utc>) -> bool {
        self.verify_for(token, &comment_scope(browser, post_id), now, TOKEN_LIFETIME)
    }

    /// A token bound to `scope` (what it is for and whom, lines of text that
    /// start with a name of their own, e.g. `admin-login` and the browser),
    /// issued now: `ISSUED-HMAC`.
    pub fn issue_for(&self, scope: &str, now: DateTime<Utc>) -> String {
        let issued = now.timestamp();
        format!("{issued}-{}", hex::encode(self.mac(scope, issued)))
    }

    /// Whether `token` was issued by [`Self::issue_for`] for `scope`, less
    /// than `lifetime` ago.
    pub fn verify_for(
        &self,
        token: &str,
        scope: &str,
        now: DateTime<Utc>,
        lifetime: chrono::Duration,
    ) -> bool {
        let Some((issued, mac)) = token.trim().split_once('-') else {
            return false;
        };
        let (Ok(issued), Ok(mac)) = (issued.parse::<i64>(), hex::decode(mac)) else {
            return false;
        };
        let Some(issued_at) = DateTime::from_timestamp(issued, 0) else {
            return false;
        };
        let age = now - issued_at;
        if age > lifetime || age < -CLOCK_SKEW {
            return false;
        }
        constant_time_eq(&self.mac(scope, issued), &mac)
    }

    fn mac(&self, scope: &str, issued: i64) -> [u8; 32] {
        // The fields are separated so that no two inputs run together.
        let message = format!("{scope}\n{issued}");
        hmac_sha256(&self.0, message.as_bytes())
    }
}

/// The comment form's scope (the message its tokens have always signed).
fn comment_scope(browser: &str, post_id: i64) -> String {
    format!("comment-form\n{browser}\n{post_id}")
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Compares without stopping at the first difference, so that the time
/// taken does not tell how much of a forged MAC is right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tokens_are_bound_to_browser_post_and_time() {
        let secret = FormSecret([7; 32]);
        let browser = hex::encode(rand::random::<[u8; 16]>());
        let now = Utc::now();
        let token = secret.issue(&browser, 42, now);
        assert!(secret.verify(&token, &browser, 42, now));
        assert!(secret.verify(&token, &browser, 42, now + chrono::Duration::hours(23)));
        assert!(!secret.verify(&token, &browser, 42, now + chrono::Duration::hours(25)));
        assert!(!secret.verify(&token, &browser, 43, now));
        assert!(!secret.verify(&token, "another browser", 42, now));
        assert!(!FormSecret([8; 32]).verify(&token, &browser, 42, now));
        let (issued, mac) = token.split_once('-').expect("two parts");
        let later = format!("{}-{mac}", issued.parse::<i64>().expect("number") + 3600);
        assert!(!secret.verify(&later, &browser, 42, now + chrono::Duration::hours(2)));
        for bad in ["", "-", "abc", "1-zz", &format!("{issued}-")] {
            assert!(!secret.verify(bad, &browser, 42, now), "{bad:?}");
        }
    }
}
