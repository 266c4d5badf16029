//! Commenters' avatars are cached here and served from here: a reader's
//! browser never loads an image from another server, and only real raster
//! images of at most 1 MiB are kept.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::remote::{Remote, Signing, post_inbox};
use crate::common::{TestApp, attrs, html};

/// A 1×1 PNG.
pub(crate) const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

async fn comment_from(app: &TestApp, remote: &Remote, post_url: &str, n: u32) {
    let me = remote.actor();
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{me}/creates/{n}"),
        "type": "Create",
        "actor": me,
        "object": {
            "id": remote.note_url(&format!("n{n}")),
            "type": "Note",
            "attributedTo": me,
            "inReplyTo": post_url,
            "content": format!("<p>comment {n}</p>"),
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    });
    let good = Signing::correct(&remote.key, chrono::Utc::now());
    let (status, body) = post_inbox(app, &me, &create, good).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

async fn avatar_sources(app: &TestApp, path: &str) -> Vec<String> {
    let (_, body) = app.page(path).await;
    attrs(&html(&body), "img.comment-avatar", "src")
}

#[tokio::test(flavor = "multi_thread")]
async fn avatars_are_cached_here_and_only_small_raster_images() {
    let app = TestApp::spawn().await;
    let post = app.publish_simple("Faces", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let path = "/posts/faces";

    let good = Remote::start().await;
    good.set_avatar("face.png", "image/png", PNG.to_vec());
    let big = Remote::start().await;
    let mut huge = PNG.to_vec();
    huge.resize(1024 * 1024 + 1, 0);
    big.set_avatar("huge.png", "image/png", huge);
    let fake = Remote::start().await;
    fake.set_avatar(
        "fake.png",
        "image/png",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
    );
    comment_from(&app, &good, &post_url, 1).await;
    comment_from(&app, &big, &post_url, 2).await;
    comment_from(&app, &fake, &post_url, 3).await;

    // Fetched in the background after the comment came in.
    let mut sources = Vec::new();
    for _ in 0..100 {
        sources = avatar_sources(&app, path).await;
        if !sources.is_empty() && big.hits("huge.png") > 0 && fake.hits("fake.png") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        big.hits("huge.png") > 0 && fake.hits("fake.png") > 0,
        "all were tried"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sources = if sources.len() == 1 {
        avatar_sources(&app, path).await
    } else {
        sources
    };
    assert_eq!(
        sources.len(),
        1,
        "only the real, small image is shown: {sources:?}"
    );
    assert!(
        sources[0].starts_with(&app.url("/avatars/")),
        "served from here: {}",
        sources[0]
    );
    let (_, body) = app.page(path).await;
    assert!(!body.contains("/files/"), "no image from another server");
    assert_eq!(
        attrs(&html(&body), "span.comment-avatar", "class").len(),
        2,
        "the others show initials"
    );

    let response = app.client.get(&sources[0]).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), PNG);
    assert_eq!(
        good.hits("face.png"),
        1,
        "fetched once, then served from the cache"
    );

    for bad in [
        "/avatars/..%2F..%2Fetc%2Fpasswd",
        "/avatars/0000000000000000000000000000000000000000000000000000000000000000",
        "/avatars/ABC",
    ] {
        assert_eq!(app.get(bad).await.status(), StatusCode::NOT_FOUND, "{bad}");
    }
}
