//! Images from other servers (commenters' avatars, pictures attached to
//! comments), cached on our disk so that readers' browsers never load
//! images from other servers (which would tell those servers who reads
//! what). Fetched in the background through the guarded client, up to a
//! size limit, kept only when the bytes are a PNG, JPEG, GIF or WebP image,
//! and served as they came (never transcoded). The file name is a hash of
//! the image's URL: no remote text ever becomes part of a path.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest_middleware::ClientWithMiddleware;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::Settings;
use crate::net;

/// The largest avatar kept.
pub const MAX_AVATAR_BYTES: usize = 1024 * 1024;
/// The largest picture attached to a comment that is kept.
pub const MAX_ATTACHMENT_BYTES: usize = 8 * 1024 * 1024;
/// How long a failed avatar is not tried again.
const RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Images fetched at once (per cache); more wait for a later page view.
const MAX_CONCURRENT_FETCHES: usize = 4;
/// Failures remembered at most (then the oldest are forgotten).
const MAX_REMEMBERED_FAILURES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("not an http(s) URL")]
    NotHttp,
    #[error("request failed: {0}")]
    Request(String),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("larger than {0} bytes")]
    TooLarge(usize),
    #[error("not a PNG, JPEG, GIF or WebP image")]
    NotAnImage,
    #[error("writing the file: {0}")]
    Io(#[from] std::io::Error),
}

pub struct ImageCache {
    dir: PathBuf,
    /// The largest image kept.
    max_bytes: usize,
    client: ClientWithMiddleware,
    /// URLs being fetched now.
    in_flight: Mutex<HashSet<String>>,
    /// URLs that failed, and when.
    failed: Mutex<HashMap<String, Instant>>,
    /// Bounds the fetches running at once.
    fetching: Arc<tokio::sync::Semaphore>,
}

/// The image type of `bytes`, from their first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The cache key of an image URL: hex SHA-256.
pub fn key(url: &str) -> String {
    hex::encode(Sha256::digest(url.as_bytes()))
}

fn is_key(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ImageCache {
    /// Commenters' avatars, under `avatars/` in the data directory.
    pub fn avatars(settings: &Settings) -> Result<Self, reqwest::Error> {
        Self::cache(settings, "avatars", MAX_AVATAR_BYTES)
    }

    /// Pictures attached to comments, under `attachments/`.
    pub fn attachments(settings: &Settings) -> Result<Self, reqwest::Error> {
        Self::cache(settings, "attachments", MAX_ATTACHMENT_BYTES)
    }

    fn cache(settings: &Settings, dir: &str, max_bytes: usize) -> Result<Self, reqwest::Error> {
        Ok(ImageCache {
            dir: settings.data_dir.join(dir),
            max_bytes,
            client: net::client(
                settings.federation.allow_private_addresses,
                settings.federation.request_timeout,
            )?,
            in_flight: Mutex::new(HashSet::new()),
            failed: Mutex::new(HashMap::new()),
            fetching: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_FETCHES)),
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    /// The cache key of `url` when its image is on disk.
    pub fn cached(&self, url: &str) -> Option<String> {
        let key = key(url);
        self.path(&key).is_file().then_some(key)
    }

    /// A cached image and its type, by key.
    pub async fn read(&self, key: &str) -> Option<(Vec<u8>, &'static str)> {
        if !is_key(key) {
            return None;
        }
        let bytes = tokio::fs::read(self.path(key)).await.ok()?;
        let kind = sniff(&bytes)?;
        Some((bytes, kind))
    }

    /// Fetches `url` in the background unless it is cached, being fetched,
    /// or failed within the last hour; or, when [`MAX_CONCURRENT_FETCHES`]
    /// are running, not now (a later view asks again).
    pub fn fetch_in_background(self: &Arc<Self>, url: &str) {
        if self.cached(url).is_some() {
            return;
        }
        let Ok(permit) = Arc::clone(&self.fetching).try_acquire_owned() else {
            return;
        };
        if let Ok(failed) = self.failed.lock()
            && failed.get(url).is_some_and(|at| at.elapsed() < RETRY_AFTER)
        {
            return;
        }
        let started = self
            .in_flight
            .lock()
            .map(|mut busy| busy.insert(url.to_string()))
            .unwrap_or(false);
        if !started {
            return;
        }
        let avatars = Arc::clone(self);
        let url = url.to_string();
        tokio::spawn(async move {
            let _permit = permit;
            let result = avatars.fetch(&url).await;
            if let Err(e) = &result {
                tracing::info!(image = %url, error = %e, "an image could not be cached; it is shown as a link or initials");
                if let Ok(mut failed) = avatars.failed.lock() {
                    if failed.len() >= MAX_REMEMBERED_FAILURES {
                        failed.retain(|_, at| at.elapsed() < RETRY_AFTER);
                    }
                    if failed.len() < MAX_REMEMBERED_FAILURES {
                        failed.insert(url.clone(), Instant::now());
                    }
                }
            }
            if let Ok(mut busy) = avatars.in_flight.lock() {
                busy.remove(&url);
            }
        });
    }

    /// Fetches and stores one avatar.
    pub async fn fetch(&self, url: &str) -> Result<(), ImageError> {
        let parsed = Url::parse(url).map_err(|_| ImageError::NotHttp)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ImageError::NotHttp);
        }
        let mut response = self
            .client
            .get(parsed)
            .header(
                reqwest::header::ACCEPT,
                "image/png, image/jpeg, image/gif, image/webp",
            )
            .send()
            .await
            .map_err(|e| ImageError::Request(e.to_string()))?;
        if !response.status().is_success() {
            return Err(ImageError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(ImageError::TooLarge(self.max_bytes));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ImageError::Request(e.to_string()))?
        {
            if bytes.len() + chunk.len() > self.max_bytes {
                return Err(ImageError::TooLarge(self.max_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        sniff(&bytes).ok_or(ImageError::NotAnImage)?;
        tokio::fs::create_dir_all(&self.dir).await?;
        let key = key(url);
        // Written aside, then renamed: a reader never sees half a file.
        let partial = self.dir.join(format!(".{key}.{}", uuid::Uuid::new_v4()));
        tokio::fs::write(&partial, &bytes).await?;
        tokio::fs::rename(&partial, self.path(&key)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_raster_images_are_recognised() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0...."), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\">"), None);
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn keys_are_hashes_and_nothing_else_is_read() {
        let k = key("https://m.example/avatars/a.png");
        assert!(is_key(&k));
        assert!(!is_key("../../etc/passwd"));
        assert!(!is_key(&k.to_uppercase()));
        assert!(!is_key(&k[..63]));
    }
}
