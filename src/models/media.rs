//! Images uploaded by the owner: one row per file kept under
//! `<data_dir>/media` (see [`Media::file_name`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{media, posts};
use crate::db::text_enum::text_enum;

text_enum! {
    /// The image types the blog takes (by their bytes, not their names).
    pub enum ImageType {
        Png = "image/png",
        Jpeg = "image/jpeg",
        Gif = "image/gif",
        Webp = "image/webp",
    }
}

impl ImageType {
    /// The extension its files get.
    pub const fn extension(self) -> &'static str {
        match self {
            ImageType::Png => "png",
            ImageType::Jpeg => "jpg",
            ImageType::Gif => "gif",
            ImageType::Webp => "webp",
        }
    }

    pub fn from_extension(extension: &str) -> Option<Self> {
        ImageType::ALL
            .iter()
            .copied()
            .find(|t| t.extension() == extension)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = media)]
pub struct Media {
    pub id: i64,
    /// The SHA-256 of the original's bytes, in hex.
    pub hash: String,
    pub content_type: ImageType,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub variant_hash: Option<String>,
    pub variant_content_type: Option<ImageType>,
    pub variant_width: Option<i32>,
    pub variant_height: Option<i32>,
    pub alt: String,
    pub original_name: String,
    pub created_at: DateTime<Utc>,
}

/// The smaller copy of a picture that the page shows.
#[derive(Debug, Clone)]
pub struct Variant {
    pub hash: String,
    pub content_type: ImageType,
    pub width: i32,
    pub height: i32,
}

impl Media {
    /// `<hash>.<ext>`: the original's file name under `<data_dir>/media`,
    /// and its address under `/media/`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.hash, self.content_type.extension())
    }

    pub fn variant(&self) -> Option<Variant> {
        Some(Variant {
            hash: self.variant_hash.clone()?,
            content_type: self.variant_content_type?,
            width: self.variant_width?,
            height: self.variant_height?,
        })
    }

    /// The file the page shows: the variant when there is one.
    pub fn display_file_name(&self) -> String {
        match self.variant() {
            Some(v) => format!("{}.{}", v.hash, v.content_type.extension()),
            None => self.file_name(),
        }
    }

    /// Every file of this image (the original, and the variant if any).
    pub fn file_names(&self) -> Vec<String> {
        let mut names = vec![self.file_name()];
        if let Some(v) = self.variant() {
            names.push(format!("{}.{}", v.hash, v.content_type.extension()));
        }
        names
    }
}

/// A new image's row.
pub struct NewMedia<'a> {
    pub hash: &'a str,
    pub content_type: ImageType,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub variant: Option<&'a Variant>,
    pub alt: &'a str,
    pub original_name: &'a str,
}

/// Records an image, or returns the one already recorded with the same
/// bytes (the second upload of a picture is the first one).
pub async fn insert_or_get(conn: &mut AsyncPgConnection, new: NewMedia<'_>) -> QueryResult<Media> {
    let inserted = diesel::insert_into(media::table)
        .values((
            media::hash.eq(new.hash),
            media::content_type.eq(new.content_type),
            media::width.eq(new.width),
            media::height.eq(new.height),
            media::bytes.eq(new.bytes),
            media::variant_hash.eq(new.variant.map(|v| v.hash.as_str())),
            media::variant_content_type.eq(new.variant.map(|v| v.content_type)),
            media::variant_width.eq(new.variant.map(|v| v.width)),
            media::variant_height.eq(new.variant.map(|v| v.height)),
            media::alt.eq(new.alt),
            media::original_name.eq(new.original_name),
        ))
        .on_conflict(media::hash)
        .do_nothing()
        .returning(Media::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match inserted {
        Some(row) => Ok(row),
        None => by_hash(conn, new.hash).await?.ok_or(diesel::NotFound),
    }
}

pub async fn by_hash(conn: &mut AsyncPgConnection, hash: &str) -> QueryResult<Option<Media>> {
    media::table
        .filter(media::hash.eq(hash))
        .select(Media::as_select())
        .first(conn)
        .await
        .optional()
}

/// An image by hash, its row locked until the transaction ends.
pub async fn lock_by_hash(conn: &mut AsyncPgConnection, hash: &str) -> QueryResult<Option<Media>> {
    media::table
        .filter(media::hash.eq(hash))
        .for_update()
        .select(Media::as_select())
        .first(conn)
        .await
        .optional()
}

/// The image that a file under `/media/` belongs to (as its original or
/// its variant).
pub async fn by_file_hash(conn: &mut AsyncPgConnection, hash: &str) -> QueryResult<Option<Media>> {
    media::table
        .filter(media::hash.eq(hash).or(media::variant_hash.eq(hash)))
        .select(Media::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    media::table.count().get_result(conn).await
}

/// A page of images, the newest first.
pub async fn newest(
    conn: &mut AsyncPgConnection,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Media>> {
    media::table
        .order((media::created_at.desc(), media::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(Media::as_select())
        .load(conn)
        .await
}

/// The posts (drafts too, not deleted) whose text names the image's
/// files: `(slug, title)`, the newest first.
pub async fn posts_using(
    conn: &mut AsyncPgConnection,
    image: &Media,
) -> QueryResult<Vec<(String, String)>> {
    // A hash is 64 hex digits: nothing in it is special to LIKE.
    let original = format!("%{}%", image.hash);
    let variant = image
        .variant_hash
        .as_ref()
        .map_or_else(|| original.clone(), |h| format!("%{h}%"));
    posts::table
        .filter(posts::deleted_at.is_null())
        .filter(
            posts::body_markdown
                .like(original)
                .or(posts::body_markdown.like(variant)),
        )
        .order(posts::id.desc())
        .select((posts::slug, posts::title))
        .load(conn)
        .await
}

/// Removes an image's row; true if there was one.
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
    diesel::delete(media::table.find(id))
        .execute(conn)
        .await
        .map(|n| n > 0)
}
