//! The author's JSON API: every call as a client would make it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TOKEN, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn create_get_update_publish_delete_round_trip() {
    let app = TestApp::spawn().await;

    let created = app
        .create_post(json!({"title": "First draft", "body": "Hello *world*.", "tags": ["Rust", "#fediverse"], "draft": true}))
        .await;
    assert_eq!(created["slug"], "first-draft");
    assert_eq!(created["status"], "draft");
    assert_eq!(created["tags"], json!(["Rust", "fediverse"]));
    assert_eq!(created["body_html"], "<p>Hello <em>world</em>.</p>\n");
    assert_eq!(created["excerpt"], "Hello world.");
    assert!(created["published_at"].is_null());

    let fetched: Value = app.api_get("/posts/first-draft").await;
    assert_eq!(fetched["title"], "First draft");

    let updated: Value = app
        .api(Method::PATCH, "/posts/first-draft")
        .json(&json!({"body": "New body.", "summary": "A summary.", "tags": ["Tools"]}))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(updated["body"], "New body.");
    assert_eq!(updated["summary"], "A summary.");
    assert_eq!(updated["excerpt"], "A summary.");
    assert_eq!(updated["tags"], json!(["Tools"]));
    assert!(
        updated["updated_at"].is_null(),
        "editing a draft is not an update of a published post"
    );

    let response = app
        .api(Method::POST, "/posts/first-draft/publish")
        .send()
        .await
        .expect("publish");
    assert_eq!(response.status(), StatusCode::OK);
    let published: Value = response.json().await.expect("json");
    assert_eq!(published["status"], "published");
    assert!(published["published_at"].is_string());
    assert_eq!(app.page("/posts/first-draft").await.0, StatusCode::OK);

    let cleared: Value = app
        .api(Method::PATCH, "/posts/first-draft")
        .json(&json!({"summary": null}))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert!(cleared["summary"].is_null());
    assert_eq!(
        cleared["excerpt"], "New body.",
        "the excerpt is derived again"
    );
    assert!(
        cleared["updated_at"].is_string(),
        "editing a published post sets `updated`"
    );

    let response = app
        .api(Method::DELETE, "/posts/first-draft")
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.page("/posts/first-draft").await.0, StatusCode::GONE);
    assert_eq!(
        app.api(Method::GET, "/posts/first-draft")
            .send()
            .await
            .expect("get")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.api(Method::DELETE, "/posts/first-draft")
            .send()
            .await
            .expect("delete")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.post_count().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_a_valid_token_are_refused() {
    let app = TestApp::spawn().await;
    let body = json!({"title": "Sneaky", "body": "x"});
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("wrong token", Some("Bearer not-the-token-at-all".into())),
        ("basic scheme", Some(format!("Basic {TOKEN}"))),
        ("token without scheme", Some(TOKEN.into())),
        ("empty bearer", Some("Bearer ".into())),
    ];
    for (what, header) in cases {
        let mut request = app.client.post(app.url("/api/v1/posts")).json(&body);
        if let Some(h) = &header {
            request = request.header("Authorization", h);
        }
        let response = request.send().await.expect("POST");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            response.headers().contains_key("www-authenticate"),
            "{what}"
        );
        let error: Value = response.json().await.expect("JSON error body");
        assert!(error["error"].is_string(), "{what}: {error}");
    }
    for path in ["/posts", "/posts/x"] {
        let response = app
            .client
            .get(app.url(&format!("/api/v1{path}")))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(app.post_count().await, 0, "nothing was stored");
    assert_eq!(app.page("/posts/sneaky").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_is_refused_with_the_field_named_and_nothing_stored() {
    let app = TestApp::spawn().await;
    let long_body = "a".repeat(1024 * 1024 + 1);
    let cases: Vec<(&str, String, StatusCode, Option<&str>)> = vec![
        (
            "empty title",
            json!({"title": "", "body": "x"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            "blank title",
            json!({"title": "   ", "body": "x"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            "title over 300",
            json!({"title": "t".repeat(301), "body": "x"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            "body over 1 MiB",
            json!({"title": "Big", "body": long_body}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("body"),
        ),
        (
            "malformed JSON",
            "{\"title\": \"x\",".to_string(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "not JSON",
            "title=x".to_string(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "unknown field",
            json!({"title": "x", "colour": "red"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("colour"),
        ),
        (
            "missing title",
            json!({"body": "x"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            "wrong type",
            json!({"title": "x", "tags": "rust"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("tags"),
        ),
        (
            "not a language tag",
            json!({"title": "x", "language": "english!"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("language"),
        ),
        (
            "empty tag",
            json!({"title": "x", "tags": [" "]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("tags"),
        ),
        (
            "summary over 1000",
            json!({"title": "x", "summary": "s".repeat(1001)}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("summary"),
        ),
    ];
    for (what, body, status, field) in cases {
        let response = app
            .api(Method::POST, "/posts")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), status, "{what}");
        let error: Value = response.json().await.expect("JSON error body");
        assert!(
            error["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {error}"
        );
        if let Some(field) = field {
            assert_eq!(error["field"], field, "{what}: {error}");
        }
    }
    // A title of exactly 300 characters (not bytes) is fine.
    let ok = app
        .create_post(json!({"title": "ö".repeat(300), "body": "x"}))
        .await;
    assert_eq!(ok["title"].as_str().map(|t| t.chars().count()), Some(300));
    assert_eq!(app.post_count().await, 1, "only the valid post was stored");

    // An invalid edit changes nothing.
    let slug = ok["slug"].as_str().expect("slug");
    let response = app
        .api(Method::PATCH, &format!("/posts/{slug}"))
        .json(&json!({"title": "", "body": "changed"}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let after: Value = app
        .api(Method::GET, &format!("/posts/{slug}"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(after["body"], "x");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_body_beyond_the_limit_gets_413_json() {
    let app = TestApp::spawn().await;
    let huge = json!({"title": "Huge", "body": "\"".repeat(3 * 1024 * 1024)}).to_string();
    let response = app
        .api(Method::POST, "/posts")
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = response.json().await.expect("JSON");
    assert!(error["error"].is_string());
    // The server closed that connection without reading the rest of the
    // upload; ask on a new one.
    let mut app = app;
    app.client = crate::common::client();
    assert_eq!(app.post_count().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn non_ascii_titles_get_readable_slugs_and_collisions_are_numbered() {
    let app = TestApp::spawn().await;
    let title = "Sociala medier handlar inte om pengar – är det därför företagen inte fattar?";
    let first = app.publish_simple(title, &["Sociala medier"]).await;
    let second = app.publish_simple(title, &[]).await;
    let third = app.publish_simple(title, &[]).await;
    let slug = "sociala-medier-handlar-inte-om-pengar-ar-det-darfor-foretagen-inte-fattar";
    assert_eq!(first["slug"], slug);
    assert_eq!(second["slug"], format!("{slug}-2"));
    assert_eq!(third["slug"], format!("{slug}-3"));
    for s in [first["slug"].as_str(), second["slug"].as_str()] {
        let (status, body) = app.page(&format!("/posts/{}", s.expect("slug"))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("företagen inte fattar?"),
            "title shown as written"
        );
    }
    let cjk = app.publish_simple("北京欢迎你", &[]).await;
    let cjk_slug = cjk["slug"].as_str().expect("slug");
    assert!(!cjk_slug.is_empty() && cjk_slug.is_ascii(), "{cjk_slug}");
    assert_eq!(
        app.page(&format!("/posts/{cjk_slug}")).await.0,
        StatusCode::OK
    );
    let emoji_only = app.publish_simple("🎉🎉", &[]).await;
    assert!(emoji_only["slug"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_posts_with_one_title_all_get_distinct_slugs() {
    let app = TestApp::spawn().await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let request = app
            .api(Method::POST, "/posts")
            .json(&json!({"title": "Same title", "body": "x"}));
        tasks.push(tokio::spawn(
            async move { request.send().await.expect("POST") },
        ));
    }
    let mut slugs = Vec::new();
    for task in tasks {
        let response = task.await.expect("task");
        assert_eq!(response.status(), StatusCode::CREATED);
        let post: Value = response.json().await.expect("json");
        slugs.push(post["slug"].as_str().expect("slug").to_string());
    }
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), 6, "{slugs:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_title_moves_the_post_and_the_old_address_redirects() {
    let app = TestApp::spawn().await;
    app.publish_simple("Old name", &[]).await;
    let renamed: Value = app
        .api(Method::PATCH, "/posts/old-name")
        .json(&json!({"title": "Brand new name"}))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(renamed["slug"], "brand-new-name");

    let response = app.get("/posts/old-name").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        response.headers()["location"],
        app.url("/posts/brand-new-name").as_str()
    );
    assert_eq!(app.page("/posts/brand-new-name").await.0, StatusCode::OK);

    // Renamed twice: both old addresses lead to the current one.
    app.api(Method::PATCH, "/posts/brand-new-name")
        .json(&json!({"title": "Third name"}))
        .send()
        .await
        .expect("patch");
    for old in ["/posts/old-name", "/posts/brand-new-name"] {
        let response = app.get(old).await;
        assert_eq!(
            response.headers()["location"],
            app.url("/posts/third-name").as_str(),
            "{old}"
        );
    }
    // The old slug stays reserved: a new post with the old title does not take it.
    let other = app.publish_simple("Old name", &[]).await;
    assert_eq!(other["slug"], "old-name-2");
    // Taking the first name back makes it the post's address again.
    let back: Value = app
        .api(Method::PATCH, "/posts/third-name")
        .json(&json!({"title": "Old name"}))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(back["slug"], "old-name");
    assert_eq!(app.page("/posts/old-name").await.0, StatusCode::OK);
    assert_eq!(
        app.get("/posts/third-name").await.headers()["location"],
        app.url("/posts/old-name").as_str()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_includes_drafts_and_pages() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.create_post(json!({"title": format!("Post {i}"), "draft": i % 2 == 0}))
            .await;
    }
    let list = |query: &'static str| {
        let request = app.api(Method::GET, &format!("/posts{query}"));
        async move {
            request
                .send()
                .await
                .expect("list")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(list("").await["total"], 5);
    assert_eq!(list("?status=draft").await["total"], 3);
    assert_eq!(list("?status=published").await["total"], 2);
    let page = list("?per_page=2&page=3").await;
    assert_eq!(page["posts"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["total"], 5);
    let response = app
        .api(Method::GET, "/posts?status=bogus")
        .send()
        .await
        .expect("list");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app
        .api(Method::GET, "/posts?per_page=0")
        .send()
        .await
        .expect("list");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app
        .api(Method::GET, "/nothing-here")
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.json::<Value>().await.expect("json")["error"].is_string());
}

async fn upload(app: &TestApp, parts: &[crate::admin::Part<'_>]) -> (StatusCode, Value) {
    let (content_type, body) = crate::admin::multipart_body(parts);
    let response = app
        .api(Method::POST, "/media")
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

#[tokio::test(flavor = "multi_thread")]
async fn pictures_are_uploaded_listed_and_deleted_and_posts_unpublished() {
    use crate::admin::Part;
    let app = TestApp::spawn().await;
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::from(image::RgbImage::from_pixel(20, 10, image::Rgb([1, 2, 3])))
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("encodes");
    let png = png.into_inner();

    // Without the token: refused before anything is read.
    let (content_type, body) = crate::admin::multipart_body(&[Part::File("file", "a.png", &png)]);
    let response = app
        .client
        .post(app.url("/api/v1/media"))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (status, error) = upload(
        &app,
        &[Part::File(
            "file",
            "x.png",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        )],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["field"], "file");
    let (status, error) = upload(&app, &[Part::Text("alt", "nothing")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

    let (status, picture) = upload(
        &app,
        &[
            Part::Text("alt", "A dark pixel strip"),
            Part::File("file", "strip.jpg", &png),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{picture}");
    assert_eq!(picture["content_type"], "image/png");
    assert_eq!(
        (picture["width"].as_i64(), picture["height"].as_i64()),
        (Some(20), Some(10))
    );
    let markdown = picture["markdown"].as_str().expect("markdown").to_string();
    assert!(
        markdown.starts_with("![A dark pixel strip](/media/"),
        "{markdown}"
    );
    let listed = app.api_get("/media").await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["media"][0]["hash"], picture["hash"]);

    // A post shows it: not deleted (409, naming the post), until unpublished
    // and deleted.
    app.create_post(json!({"title": "Strip", "body": format!("Look:\n\n{markdown}")}))
        .await;
    let hash = picture["hash"].as_str().expect("hash").to_string();
    let response = app
        .api(Method::DELETE, &format!("/media/{hash}"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let error: Value = response.json().await.expect("JSON");
    assert!(
        error["error"].as_str().expect("message").contains("strip"),
        "{error}"
    );

    let response = app
        .api(Method::POST, "/posts/strip/unpublish")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
    let unpublished: Value = response.json().await.expect("JSON");
    assert_eq!(unpublished["status"], "draft");
    assert_eq!(
        app.get("/posts/strip").await.status(),
        StatusCode::NOT_FOUND
    );
    let response = app
        .api(Method::DELETE, "/posts/strip")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app
        .api(Method::DELETE, &format!("/media/{hash}"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.api_get("/media").await["total"], 0);
    let response = app
        .api(Method::DELETE, &format!("/media/{hash}"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
