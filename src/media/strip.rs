//! Removes what a picture carries besides the picture: EXIF (camera, time,
//! the GPS position of phone photos, an un-cropped thumbnail), XMP, IPTC,
//! comments, and data appended after the image (the video of a phone's
//! "motion photo"). The image data itself is copied byte for byte, with the
//! parts that change how it looks (ICC colour profiles, PNG gamma, the
//! Adobe marker of CMYK JPEGs, animation control) kept.
//!
//! Each function walks its format's container (JPEG segments, PNG chunks,
//! RIFF chunks, GIF blocks) and fails on a structure that does not add up.

/// The container does not add up.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the file's structure is damaged")]
pub struct Malformed;

/// What was kept, and whether the picture moves.
#[derive(Debug)]
pub struct Stripped {
    pub bytes: Vec<u8>,
    pub animated: bool,
}

fn slice(bytes: &[u8], from: usize, len: usize) -> Result<&[u8], Malformed> {
    let end = from.checked_add(len).ok_or(Malformed)?;
    bytes.get(from..end).ok_or(Malformed)
}

fn be16(bytes: &[u8], at: usize) -> Result<usize, Malformed> {
    let b = slice(bytes, at, 2)?;
    Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

fn be32(bytes: &[u8], at: usize) -> Result<usize, Malformed> {
    let b = slice(bytes, at, 4)?;
    usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).map_err(|_| Malformed)
}

fn le32(bytes: &[u8], at: usize) -> Result<usize, Malformed> {
    let b = slice(bytes, at, 4)?;
    usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).map_err(|_| Malformed)
}

/// JPEG: keeps the segments that decoding needs (tables, frame, scans), the
/// JFIF header, ICC profiles and Adobe's colour marker; drops APP1 (EXIF,
/// XMP), the other APPn (IPTC, maker notes, MPF thumbnails) and comments,
/// and everything after the end-of-image marker.
pub fn jpeg(bytes: &[u8]) -> Result<Stripped, Malformed> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(Malformed);
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    loop {
        if *bytes.get(i).ok_or(Malformed)? != 0xFF {
            return Err(Malformed);
        }
        // Any number of 0xFF may pad before a marker.
        let mut m = i + 1;
        while bytes.get(m) == Some(&0xFF) {
            m += 1;
        }
        let marker = *bytes.get(m).ok_or(Malformed)?;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, marker]);
                i = m + 1;
            }
            0xD8 | 0xD9 | 0x00 => return Err(Malformed),
            _ => {
                let len = be16(bytes, m + 1)?;
                if len < 2 {
                    return Err(Malformed);
                }
                let data = slice(bytes, m + 3, len - 2)?;
                let end = m + 1 + len;
                if marker == 0xDA {
                    // Start of scan: the compressed data follows, then (in
                    // progressive files) more tables and scans. 0xFF D9 can
                    // only be the end of the image there, since 0xFF in the
                    // data is followed by 0x00 or a restart marker.
                    let rest = &bytes[i..];
                    let eoi = rest
                        .windows(2)
                        .position(|w| w == [0xFF, 0xD9])
                        .ok_or(Malformed)?;
                    out.extend_from_slice(&rest[..eoi + 2]);
                    return Ok(Stripped {
                        bytes: out,
                        animated: false,
                    });
                }
                let keep = match marker {
                    0xE0 => data.starts_with(b"JFIF\0"),
                    0xE2 => data.starts_with(b"ICC_PROFILE\0"),
                    0xEE => data.starts_with(b"Adobe"),
                    0xE1..=0xEF | 0xFE => false,
                    _ => true,
                };
                if keep {
                    out.extend_from_slice(&[0xFF, marker]);
                    out.extend_from_slice(&bytes[m + 1..end]);
                }
                i = end;
            }
        }
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// PNG: drops the text chunks (`tEXt`, `zTXt`, `iTXt`: XMP and the rest),
/// `eXIf` and `tIME`, and anything after `IEND`.
pub fn png(bytes: &[u8]) -> Result<Stripped, Malformed> {
    if !bytes.starts_with(PNG_SIGNATURE) {
        return Err(Malformed);
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut animated = false;
    let mut i = PNG_SIGNATURE.len();
    loop {
        let len = be32(bytes, i)?;
        let kind = slice(bytes, i + 4, 4)?;
        let total = len.checked_add(12).ok_or(Malformed)?;
        let chunk = slice(bytes, i, total)?;
        animated |= kind == b"acTL";
        if !matches!(kind, b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME") {
            out.extend_from_slice(chunk);
        }
        i += total;
        if kind == b"IEND" {
            return Ok(Stripped {
                bytes: out,
                animated,
            });
        }
    }
}

/// WebP: drops the `EXIF` and `XMP ` chunks (and clears their flags in
/// `VP8X`) and anything after the RIFF container.
pub fn webp(bytes: &[u8]) -> Result<Stripped, Malformed> {
    if slice(bytes, 0, 4)? != b"RIFF" || slice(bytes, 8, 4)? != b"WEBP" {
        return Err(Malformed);
    }
    let end = le32(bytes, 4)?.checked_add(8).ok_or(Malformed)?;
    if end > bytes.len() {
        return Err(Malformed);
    }
    let mut chunks = Vec::with_capacity(end);
    let mut animated = false;
    let mut i = 12;
    while i < end {
        let kind = slice(bytes, i, 4)?;
        let len = le32(bytes, i + 4)?;
        let padded = len.checked_add(len & 1).ok_or(Malformed)?;
        let chunk = slice(bytes, i, padded.checked_add(8).ok_or(Malformed)?)?;
        match kind {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut vp8x = chunk.to_vec();
                // The flags: bit 3 EXIF, bit 2 XMP.
                *vp8x.get_mut(8).ok_or(Malformed)? &= !(0x08 | 0x04);
                animated = vp8x[8] & 0x02 != 0;
                chunks.extend_from_slice(&vp8x);
            }
            _ => {
                animated |= kind == b"ANIM";
                chunks.extend_from_slice(chunk);
            }
        }
        i += chunk.len();
    }
    let size = u32::try_from(chunks.len() + 4).map_err(|_| Malformed)?;
    let mut out = Vec::with_capacity(chunks.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    Ok(Stripped {
        bytes: out,
        animated,
    })
}

/// GIF: drops comment extensions and application extensions other than
/// the looping ones (XMP lives in one), and anything after the trailer.
pub fn gif(bytes: &[u8]) -> Result<Stripped, Malformed> {
    let header = slice(bytes, 0, 13)?;
    if !(header.starts_with(b"GIF87a") || header.starts_with(b"GIF89a")) {
        return Err(Malformed);
    }
    let table = |packed: u8| {
        if packed & 0x80 != 0 {
            3 << ((packed & 0x07) + 1)
        } else {
            0
        }
    };
    let mut i = 13 + table(header[10]);
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(slice(bytes, 0, i)?);
    let mut frames = 0;
    loop {
        let start = i;
        match *bytes.get(i).ok_or(Malformed)? {
            0x3B => {
                out.push(0x3B);
                return Ok(Stripped {
                    bytes: out,
                    animated: frames > 1,
                });
            }
            0x2C => {
                let packed = *slice(bytes, i, 10)?.last().ok_or(Malformed)?;
                // Descriptor, local colour table, LZW code size, data.
                i = sub_blocks(bytes, i + 10 + table(packed) + 1)?;
                out.extend_from_slice(&bytes[start..i]);
                frames += 1;
            }
            0x21 => {
                let label = *bytes.get(i + 1).ok_or(Malformed)?;
                let first = bytes.get(i + 2).map_or(0, |&n| usize::from(n));
                let keep = match label {
                    0xF9 | 0x01 => true,
                    0xFF => matches!(
                        slice(bytes, i + 3, first.min(11))?,
                        b"NETSCAPE2.0" | b"ANIMEXTS1.0"
                    ),
                    _ => false,
                };
                i = sub_blocks(bytes, i + 2)?;
                if keep {
                    out.extend_from_slice(&bytes[start..i]);
                }
            }
            _ => return Err(Malformed),
        }
    }
}

/// Skips a chain of data sub-blocks starting at `i`; returns what follows.
fn sub_blocks(bytes: &[u8], mut i: usize) -> Result<usize, Malformed> {
    loop {
        let size = usize::from(*bytes.get(i).ok_or(Malformed)?);
        i += 1 + size;
        if size == 0 {
            return Ok(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// A JPEG segment: marker and data with its length.
    fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(data.len() + 2).expect("short").to_be_bytes());
        s.extend_from_slice(data);
        s
    }

    #[test]
    fn jpeg_loses_exif_xmp_iptc_comments_and_what_follows_the_image() {
        let mut file = vec![0xFF, 0xD8];
        file.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        file.extend(segment(0xE1, b"Exif\0\0MM\0*GPS-59.33N"));
        file.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>"));
        file.extend(segment(0xE2, b"ICC_PROFILE\0\x01\x01profile"));
        file.extend(segment(0xED, b"Photoshop 3.0\0IPTC-city"));
        file.extend(segment(0xFE, b"a comment"));
        file.extend(segment(0xDB, b"\0table"));
        file.extend(segment(0xDA, b"\x01\x01\x00\x00\x3F\x00"));
        file.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9]);
        file.extend_from_slice(b"ftypmp42 motion photo video");
        let out = jpeg(&file).expect("strips").bytes;
        for gone in [&b"GPS"[..], b"xmpmeta", b"IPTC", b"a comment", b"motion"] {
            assert!(!contains(&out, gone), "{}", String::from_utf8_lossy(gone));
        }
        for kept in [
            &b"JFIF"[..],
            b"ICC_PROFILE",
            b"\0table",
            b"\x12\xFF\x00\x34\xFF\xD0\x56",
        ] {
            assert!(contains(&out, kept), "{}", String::from_utf8_lossy(kept));
        }
        assert!(out.ends_with(&[0xFF, 0xD9]));
        assert_eq!(jpeg(&file[..30]).err(), Some(Malformed));
        assert_eq!(jpeg(b"not a jpeg").err(), Some(Malformed));
    }

    fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len())
            .expect("short")
            .to_be_bytes()
            .to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0, 0, 0, 0]);
        c
    }

    #[test]
    fn png_loses_text_exif_and_time_chunks() {
        let mut file = PNG_SIGNATURE.to_vec();
        file.extend(png_chunk(b"IHDR", &[0; 13]));
        file.extend(png_chunk(b"tEXt", b"Author\0Someone"));
        file.extend(png_chunk(
            b"iTXt",
            b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>",
        ));
        file.extend(png_chunk(b"eXIf", b"MM\0*GPS"));
        file.extend(png_chunk(b"tIME", &[7, 234, 12, 7, 0, 0, 0]));
        file.extend(png_chunk(b"gAMA", &[0, 0, 177, 143]));
        file.extend(png_chunk(b"IDAT", b"pixels"));
        file.extend(png_chunk(b"IEND", b""));
        file.extend_from_slice(b"trailing");
        let out = png(&file).expect("strips");
        assert!(!out.animated);
        let out = out.bytes;
        for gone in [&b"Someone"[..], b"xmpmeta", b"GPS", b"tIME", b"trailing"] {
            assert!(!contains(&out, gone), "{}", String::from_utf8_lossy(gone));
        }
        for kept in [&b"IHDR"[..], b"gAMA", b"pixels", b"IEND"] {
            assert!(contains(&out, kept));
        }
        assert_eq!(png(&file[..40]).err(), Some(Malformed));
    }

    #[test]
    fn webp_loses_exif_and_xmp_and_their_flags() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = kind.to_vec();
            c.extend_from_slice(&u32::try_from(data.len()).expect("short").to_le_bytes());
            c.extend_from_slice(data);
            if data.len() % 2 == 1 {
                c.push(0);
            }
            c
        };
        let mut body = b"WEBP".to_vec();
        body.extend(chunk(b"VP8X", &[0x0C | 0x10, 0, 0, 0, 9, 0, 0, 9, 0, 0]));
        body.extend(chunk(b"VP8L", b"pixels!"));
        body.extend(chunk(b"EXIF", b"MM\0*GPS"));
        body.extend(chunk(b"XMP ", b"<x:xmpmeta>"));
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&u32::try_from(body.len()).expect("short").to_le_bytes());
        file.extend(body);
        let out = webp(&file).expect("strips").bytes;
        assert!(!contains(&out, b"GPS") && !contains(&out, b"xmpmeta"));
        assert!(contains(&out, b"pixels!"));
        assert_eq!(
            out[20], 0x10,
            "the EXIF and XMP flags are cleared, alpha kept"
        );
        assert_eq!(le32(&out, 4), Ok(out.len() - 8));
    }

    #[test]
    fn gif_loses_comments_and_xmp_but_keeps_looping() {
        let mut file = b"GIF89a\x01\0\x01\0\x80\0\0".to_vec();
        file.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        file.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\0\0\0");
        file.extend_from_slice(b"\x21\xFE\x09a comment\0");
        file.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP\x0A<x:xmpmeta\0");
        for _ in 0..2 {
            file.extend_from_slice(b"\x21\xF9\x04\0\x0A\0\0\0");
            file.extend_from_slice(b"\x2C\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
        }
        file.extend_from_slice(b"\x3Btrailing");
        let out = gif(&file).expect("strips");
        assert!(out.animated);
        let out = out.bytes;
        assert!(
            !contains(&out, b"comment") && !contains(&out, b"XMP") && !contains(&out, b"trailing")
        );
        assert!(contains(&out, b"NETSCAPE2.0"));
        assert_eq!(out.len(), file.len() - 13 - 26 - 8);
        assert_eq!(gif(&file[..30]).err(), Some(Malformed));
    }
}
