//! Pictures from the admin pages, as a browser sends them: checked by their
//! bytes whatever their names, stripped of their metadata, given a smaller
//! copy when large, served for good, shown by posts, and kept while a post
//! shows them.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use reqwest::StatusCode;

use crate::admin::{Browser, PASSWORD, Part, csrf_of, location, set_password, sql};
use crate::common::TestApp;

fn picture(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let pixels = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 251) as u8, (y % 251) as u8, 90])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::from(pixels)
        .write_to(&mut out, format)
        .expect("encodes");
    out.into_inner()
}

/// A phone photo: a JPEG stored sideways, with EXIF saying "turn it right"
/// and where it was taken, and an XMP block.
fn phone_photo(width: u32, height: u32) -> Vec<u8> {
    let plain = picture(width, height, ImageFormat::Jpeg);
    let segment = |marker: u8, data: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(data.len() + 2).expect("short").to_be_bytes());
        s.extend_from_slice(data);
        s
    };
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    exif.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    exif.extend_from_slice(b"GPSLatitude 59.3293N 18.0686E");
    let mut file = plain[..2].to_vec();
    file.extend(segment(0xE1, &exif));
    file.extend(segment(
        0xE1,
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Home</x:xmpmeta>",
    ));
    file.extend_from_slice(&plain[2..]);
    file
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn signed_in(app: &TestApp) -> Browser<'_> {
    assert_eq!(set_password(app, PASSWORD).0, 0);
    let mut browser = Browser::new(app);
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    browser
}

async fn media_rows(app: &TestApp) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let c: Count = diesel::sql_query("SELECT count(*) AS n FROM media")
        .get_result(&mut conn)
        .await
        .expect("count");
    c.n
}

fn files(app: &TestApp) -> Vec<String> {
    let dir = app.data_dir.path().join("media");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The `value` of the readonly Markdown field on the media page.
fn markdown_of(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let input = scraper::Selector::parse("#uploaded-markdown").expect("selector");
    doc.select(&input)
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap_or_else(|| panic!("the uploaded picture's Markdown: {html}"))
        .to_string()
}

/// `/media/<file>` in a Markdown image.
fn address_in(markdown: &str) -> String {
    let start = markdown.find("](").expect("a Markdown image") + 2;
    markdown[start..markdown.len() - 1].to_string()
}

async fn upload(
    browser: &mut Browser<'_>,
    csrf: &str,
    alt: &str,
    name: &str,
    bytes: &[u8],
) -> reqwest::Response {
    browser
        .post_multipart(
            "/admin/media",
            &[
                Part::Text("csrf", csrf),
                Part::Text("alt", alt),
                Part::File("file", name, bytes),
            ],
            "text/html",
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_judged_by_their_bytes_and_lose_their_metadata() {
    let app = TestApp::spawn_with("[storage]\nmax_upload_mb = 1\n").await;
    let mut anonymous = Browser::new(&app);
    assert_eq!(
        anonymous.get("/admin/media").await,
        (StatusCode::SEE_OTHER, "/admin/login".to_string())
    );
    let mut browser = signed_in(&app).await;
    let csrf = browser.form_token("/admin/media").await;

    // A PNG named .jpg is a PNG.
    let png = picture(30, 20, ImageFormat::Png);
    let response = upload(&mut browser, &csrf, "A small [test] card", "card.jpg", &png).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response).expect("a redirect");
    let (status, html) = browser.get(&to).await;
    assert_eq!(status, StatusCode::OK);
    let markdown = markdown_of(&html);
    assert!(
        markdown.starts_with("![A small \\[test\\] card](/media/"),
        "{markdown}"
    );
    assert!(markdown.ends_with(".png)"), "{markdown}");
    let address = address_in(&markdown);
    let served = app.get(&address).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let bytes = served.bytes().await.expect("bytes");
    let decoded = image::load_from_memory(&bytes).expect("a picture");
    assert_eq!((decoded.width(), decoded.height()), (30, 20));
    assert_eq!(media_rows(&app).await, 1);
    // The same picture again is the same picture.
    let response = upload(&mut browser, &csrf, "again", "copy.png", &png).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(media_rows(&app).await, 1);

    // Refused, each with its reason, and nothing kept: an SVG named .png,
    // a text file, a damaged JPEG, a file over the limit.
    let before = files(&app);
    let svg = b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    let jpeg = picture(64, 64, ImageFormat::Jpeg);
    let mut big = picture(8, 8, ImageFormat::Png);
    big.resize(1024 * 1024 + 1, 0);
    let cases: [(&str, &[u8], &str); 4] = [
        ("logo.png", svg, "SVG files can carry scripts"),
        (
            "notes.png",
            b"just some text, not a picture",
            "is not a PNG, JPEG, GIF or WebP picture",
        ),
        ("cut.jpg", &jpeg[..jpeg.len() / 2], "could not be read"),
        ("huge.png", &big, "larger than 1 MiB"),
    ];
    for (name, bytes, reason) in cases {
        let response = upload(&mut browser, &csrf, "kept", name, bytes).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        let html = response.text().await.expect("body");
        assert!(html.contains(reason), "{name}: {html}");
        assert!(
            html.contains("value=\"kept\""),
            "the description stays: {html}"
        );
    }
    assert_eq!(media_rows(&app).await, 1);
    assert_eq!(files(&app), before);

    // Without the form's token: refused.
    let response = upload(&mut browser, "forged", "x", "a.png", &png).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A phone photo loses its EXIF (GPS) and XMP, and is turned upright.
    let photo = phone_photo(48, 32);
    assert!(contains(&photo, b"GPSLatitude"));
    let response = upload(&mut browser, &csrf, "A street", "IMG_2041.JPG", &photo).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.get(&location(&response).expect("to")).await;
    let address = address_in(&markdown_of(&html));
    assert!(address.ends_with(".jpg"), "{address}");
    let bytes = app.get(&address).await.bytes().await.expect("bytes");
    for secret in [&b"GPS"[..], b"Exif", b"xmpmeta", b"Home"] {
        assert!(
            !contains(&bytes, secret),
            "{}",
            String::from_utf8_lossy(secret)
        );
    }
    let upright = image::load_from_memory(&bytes).expect("a picture");
    assert_eq!((upright.width(), upright.height()), (32, 48));
    assert!(html.contains("32×48"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_picture_gets_a_copy_for_the_page_and_keeps_its_original() {
    let app = TestApp::spawn().await;
    let mut browser = signed_in(&app).await;
    let csrf = browser.form_token("/admin/media").await;
    let photo = picture(2400, 1200, ImageFormat::Jpeg);
    let response = browser
        .post_multipart(
            "/admin/media",
            &[
                Part::Text("csrf", &csrf),
                Part::Text("alt", "A wide view"),
                Part::File("file", "wide.jpg", &photo),
            ],
            "application/json",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: serde_json::Value = response.json().await.expect("JSON");
    let shown = answer["url"].as_str().expect("url").to_string();
    assert_eq!(answer["markdown"], format!("![A wide view]({shown})"));
    let page_copy = image::load_from_memory(&app.get(&shown).await.bytes().await.expect("bytes"))
        .expect("a picture");
    assert_eq!((page_copy.width(), page_copy.height()), (1600, 800));
    let (_, html) = browser.get("/admin/media").await;
    let doc = scraper::Html::parse_document(&html);
    let link = scraper::Selector::parse(".admin-media-item a").expect("selector");
    let original = doc
        .select(&link)
        .next()
        .and_then(|a| a.value().attr("href"))
        .expect("a link to the original")
        .to_string();
    assert_ne!(original, shown);
    let original = image::load_from_memory(&app.get(&original).await.bytes().await.expect("bytes"))
        .expect("a picture");
    assert_eq!((original.width(), original.height()), (2400, 1200));

    // The script's errors are JSON too.
    let response = browser
        .post_multipart(
            "/admin/media",
            &[
                Part::Text("csrf", &csrf),
                Part::File(
                    "file",
                    "x.png",
                    b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
                ),
            ],
            "application/json",
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(error["field"], "file");
    assert!(
        error["error"].as_str().expect("message").contains("SVG"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_editor_adds_a_picture_that_the_post_and_its_article_show() {
    let app = TestApp::spawn().await;
    let mut browser = signed_in(&app).await;
    let csrf = browser.form_token("/admin/posts/new").await;
    let png = picture(40, 30, ImageFormat::Png);

    // "Add to the text": stored, put at the end of the text, nothing saved.
    let response = browser
        .post_multipart(
            "/admin/posts/new",
            &[
                Part::Text("csrf", &csrf),
                Part::Text("title", "Autumn"),
                Part::Text("body", "The leaves turned."),
                Part::Text("image_alt", "Red maple leaves"),
                Part::File("image", "leaves.png", &png),
                Part::Text("summary", ""),
                Part::Text("tags", "autumn"),
                Part::Text("action", "upload"),
            ],
            "text/html",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("body");
    let doc = scraper::Html::parse_document(&html);
    let body = scraper::Selector::parse("textarea#body").expect("selector");
    let text: String = doc.select(&body).next().expect("the text").text().collect();
    assert!(
        text.starts_with("The leaves turned.\n\n![Red maple leaves](/media/"),
        "{text}"
    );
    assert!(
        html.contains("The picture is at the end of the text"),
        "{html}"
    );
    let address = address_in(text.trim_end());
    // The preview shows it too.
    assert!(html.contains(&format!("<img src=\"{address}\"")), "{html}");

    // "Add to the text" without a picture: said so.
    let response = browser
        .post_multipart(
            "/admin/posts/new",
            &[
                Part::Text("csrf", &csrf),
                Part::Text("title", ""),
                Part::Text("body", "Draft words."),
                Part::Text("action", "upload"),
            ],
            "text/html",
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("body");
    assert!(
        html.contains("The picture was not chosen: choose one first"),
        "{html}"
    );
    assert!(html.contains("Draft words."), "{html}");

    // A refused picture: the editor says why and keeps what was typed.
    let response = browser
        .post_multipart(
            "/admin/posts/new",
            &[
                Part::Text("csrf", &csrf),
                Part::Text("title", "Autumn"),
                Part::Text("body", &text),
                Part::File(
                    "image",
                    "drawing.png",
                    b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
                ),
                Part::Text("action", "publish"),
            ],
            "text/html",
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("body");
    assert!(html.contains("The picture is an SVG drawing"), "{html}");
    assert!(html.contains("The leaves turned."), "{html}");

    // Published: the page shows it, and names it as its picture for link
    // cards; the Article carries it as its image.
    let response = browser
        .post_owned(
            "/admin/posts/new",
            vec![
                ("csrf", csrf.clone()),
                ("title", "Autumn".into()),
                ("body", text.clone()),
                ("action", "publish".into()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.page("/posts/autumn").await.1;
    assert!(
        page.contains(&format!("<img src=\"{address}\" alt=\"Red maple leaves\"")),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "<meta property=\"og:image\" content=\"{}\"",
            app.settings.url(&address)
        )),
        "{page}"
    );
    let article: serde_json::Value = app.fetch_ap("/posts/autumn").await.2;
    assert_eq!(article["image"]["type"], "Image");
    assert_eq!(article["image"]["url"], app.settings.url(&address));
    assert_eq!(article["image"]["name"], "Red maple leaves");
    assert_eq!(article["image"]["mediaType"], "image/png");

    // Not deleted while the post shows it; deleted once the post is gone.
    let (_, html) = browser.get("/admin/media").await;
    assert!(
        html.contains("In: <a href=\"/admin/posts/autumn/edit\">Autumn</a>"),
        "{html}"
    );
    let hash = address
        .trim_start_matches("/media/")
        .trim_end_matches(".png")
        .to_string();
    let csrf = csrf_of(&html);
    let response = browser
        .post(
            &format!("/admin/media/{hash}/delete"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.expect("body");
    assert!(
        html.contains("This picture was not deleted: a post shows it"),
        "{html}"
    );
    assert!(html.contains("Autumn"), "{html}");
    assert_eq!(media_rows(&app).await, 1);

    sql(&app, "UPDATE posts SET deleted_at = now()").await;
    let response = browser
        .post(
            &format!("/admin/media/{hash}/delete"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(media_rows(&app).await, 0);
    assert!(files(&app).is_empty(), "{:?}", files(&app));
    let gone = app.get(&address).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}
