//! Pictures the owner uploads for posts (from the editor or the media
//! page). An upload is checked and prepared by [`process`] (type from the
//! bytes, metadata removed, a smaller copy for the page), written under
//! `<data_dir>/media` named by the SHA-256 of its bytes, and then recorded;
//! a second upload of the same picture is the first one. A picture that a
//! post (or a draft) shows cannot be deleted.
//!
//! Files are written before the row, and removed after it: a failure in
//! between leaves at most a file without a row (never served: the route
//! asks the table), never a row without its file.

pub mod process;
pub mod strip;

use std::path::{Path, PathBuf};

use diesel_async::AsyncConnection;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::{Pool, PoolError};
use crate::models::media::{self as rows, ImageType, Media, NewMedia, Variant};
use crate::render::sanitize::one_line;
pub use process::Rejected;

/// Pictures being decoded at once (each may take hundreds of MiB).
static PROCESSING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The longest alt text (Mastodon's limit for media descriptions).
pub const MAX_ALT_CHARS: usize = 1500;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("The file {0}.")]
    Rejected(#[from] Rejected),
    #[error("The description is longer than {MAX_ALT_CHARS} characters.")]
    AltTooLong,
    #[error("No such image.")]
    NotFound,
    #[error(
        "The picture is the blog's avatar or header; choose another on the settings page first."
    )]
    ProfilePicture,
    /// The posts (slug, title) that show it.
    #[error("The image is used by {} post(s); remove it from them first.", .0.len())]
    InUse(Vec<(String, String)>),
    #[error("storing the image: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] PoolError),
}

/// The folder of the uploaded pictures.
pub fn dir(settings: &Settings) -> PathBuf {
    settings.data_dir.join("media")
}

/// Takes an uploaded picture: `name` is the file's name on the owner's
/// computer (kept to recognise it, never used for anything else), `alt`
/// what it shows.
pub async fn upload(
    pool: &Pool,
    settings: &Settings,
    bytes: Vec<u8>,
    name: &str,
    alt: &str,
) -> Result<Media, MediaError> {
    let alt = one_line(alt, usize::MAX);
    if alt.chars().count() > MAX_ALT_CHARS {
        return Err(MediaError::AltTooLong);
    }
    let max = settings.max_upload_bytes;
    // Decoding a large picture takes a lot of memory (its pixels, turned,
    // resized): two at a time at most, the others wait their turn.
    let _turn = PROCESSING
        .acquire()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let processed = tokio::task::spawn_blocking(move || process::process(&bytes, max))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    let dir = dir(settings);
    let hash = write(&dir, &processed.original, processed.kind).await?;
    let variant = match &processed.variant {
        Some(v) => Some(Variant {
            hash: write(&dir, &v.bytes, v.kind).await?,
            content_type: v.kind,
            width: dimension(v.width),
            height: dimension(v.height),
        }),
        None => None,
    };
    let name = one_line(name, 200);
    let row = {
        let mut conn = pool.get().await?;
        rows::insert_or_get(
            &mut conn,
            NewMedia {
                hash: &hash,
                content_type: processed.kind,
                width: dimension(processed.width),
                height: dimension(processed.height),
                bytes: i64::try_from(processed.original.len()).unwrap_or(i64::MAX),
                variant: variant.as_ref(),
                alt: &alt,
                original_name: &name,
            },
        )
        .await?
    };
    // A delete of the same picture may have removed its files between our
    // writing them and its row being made again: write what is missing.
    write(&dir, &processed.original, processed.kind).await?;
    if let Some(v) = &processed.variant {
        write(&dir, &v.bytes, v.kind).await?;
    }
    Ok(row)
}

/// Deletes a picture no post shows.
pub async fn delete(pool: &Pool, settings: &Settings, hash: &str) -> Result<Media, MediaError> {
    let image = {
        let mut conn = pool.get().await?;
        // Checked and deleted in one transaction, the row locked: a post
        // saved meanwhile, or the same picture uploaded again, waits.
        conn.transaction::<_, MediaError, _>(async |conn| {
            let image = rows::lock_by_hash(conn, hash)
                .await?
                .ok_or(MediaError::NotFound)?;
            if is_profile_picture(settings, &image) {
                return Err(MediaError::ProfilePicture);
            }
            let users = rows::posts_using(conn, &image).await?;
            if !users.is_empty() {
                return Err(MediaError::InUse(users));
            }
            rows::delete(conn, image.id).await?;
            Ok(image)
        })
        .await?
    };
    let dir = dir(settings);
    for file in image.file_names() {
        if let Err(e) = tokio::fs::remove_file(dir.join(&file)).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file, error = %e, "could not remove a deleted image's file");
        }
    }
    Ok(image)
}

/// Whether `image` is the blog's avatar or header.
pub fn is_profile_picture(settings: &Settings, image: &Media) -> bool {
    let files = image.file_names();
    [&settings.profile.avatar, &settings.profile.header]
        .into_iter()
        .flatten()
        .any(|p| {
            p.path
                .file_name()
                .is_some_and(|n| files.iter().any(|f| n == f.as_str()))
        })
}

/// The Markdown that shows `image` in a post: `![alt](/media/...)`.
pub fn markdown(image: &Media, alt: &str) -> String {
    let alt: String = one_line(alt, usize::MAX)
        .chars()
        .flat_map(|c| match c {
            '[' | ']' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("![{alt}](/media/{})", image.display_file_name())
}

/// A file under `/media/`: `<64 hex digits>.<ext>`, as this module names
/// them; `None` for any other name.
pub fn parse_file_name(name: &str) -> Option<(&str, ImageType)> {
    let (hash, extension) = name.split_once('.')?;
    let is_hash = hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !is_hash {
        return None;
    }
    Some((hash, ImageType::from_extension(extension)?))
}

/// Reads a stored file, if the name is one of ours.
pub async fn read(settings: &Settings, name: &str) -> std::io::Result<Option<Vec<u8>>> {
    if parse_file_name(name).is_none() {
        return Ok(None);
    }
    match tokio::fs::read(dir(settings).join(name)).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` as `<sha256>.<ext>` (unless there already), through a
/// temporary file renamed into place; returns the hash.
async fn write(dir: &Path, bytes: &[u8], kind: ImageType) -> std::io::Result<String> {
    let hash = hex::encode(Sha256::digest(bytes));
    let path = dir.join(format!("{hash}.{}", kind.extension()));
    if tokio::fs::try_exists(&path).await? {
        return Ok(hash);
    }
    tokio::fs::create_dir_all(dir).await?;
    let temporary = dir.join(format!(".{hash}.{}.part", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&temporary, bytes).await?;
    if let Err(e) = tokio::fs::rename(&temporary, &path).await {
        let _ = tokio::fs::remove_file(&temporary).await;
        return Err(e);
    }
    Ok(hash)
}

fn dimension(pixels: u32) -> i32 {
    i32::try_from(pixels).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_file_names_are_read() {
        let hash = "a".repeat(64);
        assert_eq!(
            parse_file_name(&format!("{hash}.jpg")),
            Some((hash.as_str(), ImageType::Jpeg))
        );
        for bad in [
            format!("{hash}.svg"),
            format!("{}.png", "A".repeat(64)),
            format!("{}.png", "a".repeat(63)),
            format!("../{}.png", "a".repeat(61)),
            "avatar-0123.png".to_string(),
            format!("{hash}.png.exe"),
        ] {
            assert_eq!(parse_file_name(&bad), None, "{bad}");
        }
    }
}
