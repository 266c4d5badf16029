//! From uploaded bytes to the files kept: the type read from the bytes
//! (never the name), the picture decoded in full (so a damaged or
//! disguised file is refused), its metadata removed, phone photos turned
//! upright, and a smaller copy for the page when it is larger than the page
//! shows. CPU-bound: run it off the async threads.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits};

use super::strip;
use crate::models::media::ImageType;

/// The widest picture the page shows (twice the text column, for sharp
/// screens); wider ones get a variant this wide.
pub const DISPLAY_WIDTH: u32 = 1600;
/// The tallest variant.
pub const DISPLAY_HEIGHT: u32 = 3200;
/// The longest side taken.
pub const MAX_SIDE: u32 = 12_000;
/// The most memory decoding may take.
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// JPEG quality of the variants and of photos turned upright.
const JPEG_QUALITY: u8 = 88;

/// Why a file is not taken; each reads after "The file ".
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("is empty")]
    Empty,
    #[error("is larger than {0} MiB, the most this blog takes (storage.max_upload_mb)")]
    TooLarge(usize),
    #[error(
        "is an SVG drawing; SVG files can carry scripts, so only PNG, JPEG, GIF and WebP pictures are taken"
    )]
    Svg,
    #[error("is not a PNG, JPEG, GIF or WebP picture")]
    NotAnImage,
    #[error("looks like a {0} picture but could not be read: it may be damaged or cut short")]
    Damaged(&'static str),
    #[error("is larger than {MAX_SIDE} pixels on a side")]
    TooManyPixels,
}

/// A picture ready to be stored.
#[derive(Debug)]
pub struct Processed {
    pub kind: ImageType,
    /// The original without its metadata (turned upright if needed).
    pub original: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The smaller copy the page shows, when the picture is larger.
    pub variant: Option<Encoded>,
}

#[derive(Debug)]
pub struct Encoded {
    pub kind: ImageType,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The type of picture the bytes are, whatever the file was called.
pub fn sniff(bytes: &[u8]) -> Result<ImageType, Rejected> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(ImageType::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(ImageType::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Ok(ImageType::Gif)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Ok(ImageType::Webp)
    } else if looks_like_svg(bytes) {
        Err(Rejected::Svg)
    } else {
        Err(Rejected::NotAnImage)
    }
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let start = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(start).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with('<') && text.contains("<svg")
}

/// Checks and prepares an upload of at most `max_bytes`.
pub fn process(bytes: &[u8], max_bytes: usize) -> Result<Processed, Rejected> {
    if bytes.is_empty() {
        return Err(Rejected::Empty);
    }
    if bytes.len() > max_bytes {
        return Err(Rejected::TooLarge(max_bytes / (1024 * 1024)));
    }
    let kind = sniff(bytes)?;
    let damaged = || Rejected::Damaged(name(kind));
    let Decoded {
        mut picture,
        orientation,
        icc,
    } = decode(bytes, kind)?;
    let stripped = match kind {
        ImageType::Jpeg => strip::jpeg(bytes),
        ImageType::Png => strip::png(bytes),
        ImageType::Gif => strip::gif(bytes),
        ImageType::Webp => strip::webp(bytes),
    }
    .map_err(|_| damaged())?;
    let original = if orientation == Orientation::NoTransforms || stripped.animated {
        stripped.bytes
    } else {
        // The camera stored it sideways and said so in the EXIF being
        // removed: turn the pixels instead.
        picture.apply_orientation(orientation);
        encode(&picture, kind, icc.as_deref()).map_err(|_| damaged())?
    };
    // What is kept must still be the same picture (a stripper that cut
    // too much, or a container the decoder forgave, is refused here).
    let kept = ImageReader::with_format(Cursor::new(&original), format_of(kind))
        .into_dimensions()
        .map_err(|_| damaged())?;
    if kept != (picture.width(), picture.height()) {
        return Err(damaged());
    }
    let (width, height) = (picture.width(), picture.height());
    let variant = if (width > DISPLAY_WIDTH || height > DISPLAY_HEIGHT) && !stripped.animated {
        let smaller = picture.resize(DISPLAY_WIDTH, DISPLAY_HEIGHT, FilterType::CatmullRom);
        let variant_kind = match kind {
            ImageType::Jpeg => ImageType::Jpeg,
            ImageType::Webp if !picture.color().has_alpha() => ImageType::Jpeg,
            ImageType::Png | ImageType::Gif | ImageType::Webp => ImageType::Png,
        };
        Some(Encoded {
            kind: variant_kind,
            bytes: encode(&smaller, variant_kind, icc.as_deref()).map_err(|_| damaged())?,
            width: smaller.width(),
            height: smaller.height(),
        })
    } else {
        None
    };
    Ok(Processed {
        kind,
        original,
        width,
        height,
        variant,
    })
}

fn format_of(kind: ImageType) -> ImageFormat {
    match kind {
        ImageType::Png => ImageFormat::Png,
        ImageType::Jpeg => ImageFormat::Jpeg,
        ImageType::Gif => ImageFormat::Gif,
        ImageType::Webp => ImageFormat::WebP,
    }
}

fn name(kind: ImageType) -> &'static str {
    match kind {
        ImageType::Png => "PNG",
        ImageType::Jpeg => "JPEG",
        ImageType::Gif => "GIF",
        ImageType::Webp => "WebP",
    }
}

/// A decoded picture, how to turn it upright, and its colour profile.
struct Decoded {
    picture: DynamicImage,
    orientation: Orientation,
    icc: Option<Vec<u8>>,
}

fn decode(bytes: &[u8], kind: ImageType) -> Result<Decoded, Rejected> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format_of(kind));
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let rejected = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => Rejected::TooManyPixels,
        _ => Rejected::Damaged(name(kind)),
    };
    let mut decoder = reader.into_decoder().map_err(rejected)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let picture = DynamicImage::from_decoder(decoder).map_err(rejected)?;
    Ok(Decoded {
        picture,
        orientation,
        icc,
    })
}

/// Encodes `picture` as `kind`, with its colour profile (a phone's
/// Display P3 photo would look washed out without it).
fn encode(
    picture: &DynamicImage,
    kind: ImageType,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Cursor::new(Vec::new());
    let profile = icc.map(<[u8]>::to_vec).unwrap_or_default();
    match kind {
        ImageType::Jpeg => {
            let mut encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            // Unsupported profiles are left out, not an error.
            let _ = encoder.set_icc_profile(profile);
            encoder.encode_image(&picture.to_rgb8())?
        }
        ImageType::Webp => {
            let mut encoder = WebPEncoder::new_lossless(&mut out);
            let _ = encoder.set_icc_profile(profile);
            DynamicImage::from(picture.to_rgba8()).write_with_encoder(encoder)?
        }
        // A GIF is never turned (it has no EXIF) nor given a GIF variant.
        ImageType::Png | ImageType::Gif => {
            let mut encoder = PngEncoder::new(&mut out);
            let _ = encoder.set_icc_profile(profile);
            picture.write_with_encoder(encoder)?
        }
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn jpeg_of(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbImage::from_fn(width, height, |x, _| Rgb([(x % 256) as u8, 100, 50]));
        encode(&DynamicImage::from(picture), ImageType::Jpeg, None).expect("encodes")
    }

    /// A JPEG with an EXIF block saying "turn right" (orientation 6) and a
    /// GPS-looking string.
    fn sideways_jpeg(width: u32, height: u32) -> Vec<u8> {
        let plain = jpeg_of(width, height);
        let mut tiff = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        tiff.extend_from_slice(b"GPSLatitude 59.3293N");
        let mut file = plain[..2].to_vec();
        file.extend_from_slice(&[0xFF, 0xE1]);
        file.extend_from_slice(&u16::try_from(tiff.len() + 2).expect("short").to_be_bytes());
        file.extend_from_slice(&tiff);
        file.extend_from_slice(&plain[2..]);
        file
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = u32::MAX;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn the_type_comes_from_the_bytes() {
        assert_eq!(sniff(&jpeg_of(2, 2)), Ok(ImageType::Jpeg));
        assert_eq!(sniff(b"GIF89a...."), Ok(ImageType::Gif));
        assert_eq!(
            sniff(b"\xEF\xBB\xBF <?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"),
            Err(Rejected::Svg)
        );
        assert_eq!(sniff(b"<!DOCTYPE html><p>hi"), Err(Rejected::NotAnImage));
        assert_eq!(sniff(b"%PDF-1.7"), Err(Rejected::NotAnImage));
    }

    #[test]
    fn a_sideways_phone_photo_is_turned_upright_and_loses_its_exif() {
        let file = sideways_jpeg(40, 20);
        let out = process(&file, 1024 * 1024).expect("taken");
        assert_eq!((out.width, out.height), (20, 40));
        assert!(!out.original.windows(3).any(|w| w == b"GPS"));
        assert!(!out.original.windows(4).any(|w| w == b"Exif"));
        let again = decode(&out.original, ImageType::Jpeg).expect("decodes");
        assert_eq!((again.picture.width(), again.picture.height()), (20, 40));
        assert_eq!(again.orientation, Orientation::NoTransforms);
        assert!(out.variant.is_none());
    }

    #[test]
    fn the_colour_profile_survives_turning_and_resizing() {
        let with_profile = |plain: Vec<u8>| {
            let profile = b"ICC_PROFILE\0\x01\x01a display-p3 profile";
            let mut file = plain[..2].to_vec();
            file.extend_from_slice(&[0xFF, 0xE2]);
            file.extend_from_slice(
                &u16::try_from(profile.len() + 2)
                    .expect("short")
                    .to_be_bytes(),
            );
            file.extend_from_slice(profile);
            file.extend_from_slice(&plain[2..]);
            file
        };
        let profile_of = |bytes: &[u8]| decode(bytes, ImageType::Jpeg).expect("decodes").icc;
        let expected = Some(b"a display-p3 profile".to_vec());
        // Turned upright: re-encoded, with the profile.
        let turned = process(&with_profile(sideways_jpeg(40, 20)), 1 << 20).expect("taken");
        assert_eq!((turned.width, turned.height), (20, 40));
        assert_eq!(profile_of(&turned.original), expected);
        // Resized: the page's copy has it too.
        let large = process(&with_profile(jpeg_of(2000, 1000)), 10 << 20).expect("taken");
        assert_eq!(profile_of(&large.original), expected);
        assert_eq!(
            profile_of(&large.variant.expect("a variant").bytes),
            expected
        );
    }

    #[test]
    fn a_large_picture_gets_a_variant_and_keeps_its_original() {
        let file = jpeg_of(2000, 1000);
        let out = process(&file, 10 * 1024 * 1024).expect("taken");
        assert_eq!((out.width, out.height), (2000, 1000));
        assert_eq!(out.original, strip::jpeg(&file).expect("strips").bytes);
        let variant = out.variant.expect("a variant");
        assert_eq!((variant.width, variant.height), (1600, 800));
        assert_eq!(variant.kind, ImageType::Jpeg);
        assert_eq!(sniff(&variant.bytes), Ok(ImageType::Jpeg));
    }

    #[test]
    fn damaged_oversized_and_empty_files_are_refused() {
        let file = jpeg_of(64, 64);
        assert_eq!(
            process(&file[..file.len() / 2], 1 << 20).err(),
            Some(Rejected::Damaged("JPEG"))
        );
        assert_eq!(process(&file, 100).err(), Some(Rejected::TooLarge(0)));
        assert_eq!(process(b"", 100).err(), Some(Rejected::Empty));
        // A PNG header that claims 100 000 pixels a side.
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\x0d".to_vec();
        huge.extend_from_slice(&ihdr);
        huge.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        assert_eq!(process(&huge, 1 << 20).err(), Some(Rejected::TooManyPixels));
    }
}
