//! Picture uploads: the cost of taking a phone photo, as the admin pages do
//! (`fedblog::media::process::process`: type from the bytes, full decode,
//! metadata removed, turned upright, a 1600 px copy for the page).
//!
//! ```text
//! cargo bench --bench media                        # 1, 12 and 24 megapixel JPEGs, 3 runs each
//! FEDBLOG_BENCH_QUICK=1 cargo bench --bench media  # 1 and 12 megapixels, 1 run
//! ```
//!
//! Each picture is a synthetic photo (smooth gradients with noise, so that
//! JPEG compresses it as it does a real one) with an EXIF block saying
//! "turn right" and a GPS position, as a phone writes it: the slow path
//! (re-encoded upright), and a second, upright one: the fast path (the
//! original kept byte for byte). Prints a table: megapixels, bytes in, time
//! per picture (median), bytes of the original kept and of the page's copy,
//! and the process's peak resident memory after that size (VmHWM; the sizes
//! run smallest first, so each row's peak is that size's).

use std::io::Cursor;
use std::time::{Duration, Instant};

use fedblog::media::process::process;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

fn photo(width: u32, height: u32, sideways: bool) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let pixels = RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 24) as u8;
        let r = ((x * 255 / width) as u8).saturating_add(noise);
        let g = ((y * 255 / height) as u8).saturating_add(noise / 2);
        Rgb([r, g, 120u8.saturating_add(noise)])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::from(pixels)
        .write_to(&mut out, ImageFormat::Jpeg)
        .expect("encodes");
    let plain = out.into_inner();
    if !sideways {
        return plain;
    }
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    exif.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    exif.extend_from_slice(b"GPSLatitude 59.3293N 18.0686E");
    let mut file = plain[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE1]);
    file.extend_from_slice(&u16::try_from(exif.len() + 2).expect("short").to_be_bytes());
    file.extend_from_slice(&exif);
    file.extend_from_slice(&plain[2..]);
    file
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let quick = std::env::var_os("FEDBLOG_BENCH_QUICK").is_some();
    let (sizes, runs): (&[(u32, u32)], usize) = if quick {
        (&[(1200, 900), (4000, 3000)], 1)
    } else {
        (&[(1200, 900), (4000, 3000), (6000, 4000)], 3)
    };
    println!(
        "| picture | MP | bytes in | time (median) | original kept | page's copy | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &(width, height) in sizes {
        for sideways in [true, false] {
            let file = photo(width, height, sideways);
            let mut times: Vec<Duration> = Vec::new();
            let mut last = None;
            for _ in 0..runs {
                let start = Instant::now();
                let out = process(&file, 100 * 1024 * 1024).expect("taken");
                times.push(start.elapsed());
                last = Some(out);
            }
            times.sort();
            let out = last.expect("ran");
            assert!(
                !out.original.windows(3).any(|w| w == b"GPS"),
                "the GPS block is gone"
            );
            let variant = out.variant.as_ref().map_or(0, |v| v.bytes.len());
            println!(
                "| {} {}×{} | {:.1} | {} | {:.0} ms | {} | {} | {:.0} MiB |",
                if sideways {
                    "sideways (EXIF 6)"
                } else {
                    "upright"
                },
                width,
                height,
                f64::from(width * height) / 1e6,
                file.len(),
                times[times.len() / 2].as_secs_f64() * 1000.0,
                out.original.len(),
                variant,
                peak_rss_mib(),
            );
        }
    }
}
