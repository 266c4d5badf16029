//! The public pages, as a browser (or a link-preview fetcher) sees them.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{TestApp, attrs, html, meta, texts};

#[tokio::test(flavor = "multi_thread")]
async fn home_lists_published_posts_newest_first() {
    let app = TestApp::spawn().await;
    let (status, body) = app.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Nothing has been published here yet."),
        "empty state"
    );

    app.publish_simple("Older", &[]).await;
    app.publish_simple("Newer", &[]).await;
    app.create_post(json!({"title": "Secret draft", "body": "x", "draft": true}))
        .await;
    let (status, body) = app.page("/").await;
    assert_eq!(status, StatusCode::OK);
    let doc = html(&body);
    let titles = texts(&doc, "article h2");
    assert_eq!(titles, ["Newer", "Older"]);
    assert!(!body.contains("Secret draft"));
    assert_eq!(attrs(&doc, "html", "lang"), ["en"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pagination_boundaries() {
    let app = TestApp::spawn_with("[blog]\nposts_per_page = 2").await;
    for i in 1..=5 {
        app.publish_simple(&format!("Post {i}"), &["paged"]).await;
    }
    let app = &app;
    let page_titles = |path: &'static str| async move {
        let (status, body) = app.page(path).await;
        (status, texts(&html(&body), "article h2"), body)
    };
    let (status, titles, body) = page_titles("/").await;
    assert_eq!(
        (status, titles),
        (
            StatusCode::OK,
            vec!["Post 5".to_string(), "Post 4".to_string()]
        )
    );
    let doc = html(&body);
    let links = attrs(&doc, "nav a", "href");
    assert!(
        links.iter().any(|l| l.ends_with("/?page=2")),
        "next link on page 1: {links:?}"
    );
    assert!(!links.iter().any(|l| l.contains("page=0")), "{links:?}");

    let (_, titles, body) = page_titles("/?page=2").await;
    assert_eq!(titles, ["Post 3", "Post 2"]);
    let links = attrs(&html(&body), "nav a", "href");
    assert!(links.iter().any(|l| l.ends_with("/?page=3")), "{links:?}");
    assert!(
        links
            .iter()
            .any(|l| l.ends_with('/') && !l.contains("page")),
        "previous = home: {links:?}"
    );

    let (status, titles, body) = page_titles("/?page=3").await;
    assert_eq!(
        (status, titles),
        (StatusCode::OK, vec!["Post 1".to_string()])
    );
    assert!(
        !attrs(&html(&body), "nav a", "href")
            .iter()
            .any(|l| l.ends_with("page=4"))
    );

    assert_eq!(app.page("/?page=4").await.0, StatusCode::NOT_FOUND);
    for bad in ["/?page=0", "/?page=-1", "/?page=two"] {
        let (status, body) = app.page(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body.contains("<html"), "themed error page for {bad}");
    }
    assert_eq!(page_titles("/tags/paged?page=3").await.1, ["Post 1"]);
    assert_eq!(
        app.page("/tags/paged?page=4").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_page_has_its_content_and_complete_opengraph_tags() {
    let app = TestApp::spawn_with(
        "[blog]\ntitle = \"Tech & Thoughts\"\nlanguage = \"sv\"\ntime_zone = \"Europe/Stockholm\"",
    )
    .await;
    let post = app
        .create_post(json!({
            "title": "Rust <3 \"quotes\"",
            "body": "An **intro** paragraph.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nFootnote[^1].\n\n[^1]: Here.\n",
            "tags": ["Rust", "Fediverse"],
        }))
        .await;
    let slug = post["slug"].as_str().expect("slug");
    let (status, body) = app.page(&format!("/posts/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    let doc = html(&body);
    let url = app.url(&format!("/posts/{slug}"));
    assert_eq!(texts(&doc, "h1"), ["Rust <3 \"quotes\""]);
    assert_eq!(attrs(&doc, "html", "lang"), ["sv"]);
    assert_eq!(
        attrs(&doc, r#"link[rel="canonical"]"#, "href"),
        std::slice::from_ref(&url)
    );
    assert_eq!(meta(&doc, "og:title"), ["Rust <3 \"quotes\""]);
    assert_eq!(
        meta(&doc, "og:description"),
        ["An intro paragraph. Footnote."]
    );
    assert_eq!(meta(&doc, "og:url"), [url]);
    assert_eq!(meta(&doc, "og:type"), ["article"]);
    assert_eq!(meta(&doc, "og:site_name"), ["Tech & Thoughts"]);
    assert_eq!(meta(&doc, "article:tag"), ["Rust", "Fediverse"]);
    let published = meta(&doc, "article:published_time");
    let published =
        chrono::DateTime::parse_from_rfc3339(&published[0]).expect("RFC 3339 published_time");
    let in_stockholm = published.with_timezone(&chrono_tz::Europe::Stockholm);
    assert_eq!(
        published.offset().local_minus_utc(),
        chrono::Offset::fix(in_stockholm.offset()).local_minus_utc(),
        "shown in the blog's time zone"
    );
    assert_eq!(
        meta(&doc, "fediverse:creator"),
        [format!("@blog@localhost:{}", app.addr.port())]
    );
    assert!(meta(&doc, "og:image").is_empty(), "no picture in the post");
    assert_eq!(meta(&doc, "twitter:card"), ["summary"]);
    assert!(
        doc.select(&scraper::Selector::parse(".post-body table").expect("css"))
            .next()
            .is_some()
    );
    assert!(
        doc.select(&scraper::Selector::parse("section.footnotes").expect("css"))
            .next()
            .is_some()
    );
    assert!(
        doc.select(&scraper::Selector::parse("#comments").expect("css"))
            .next()
            .is_some()
    );
    let tag_links = attrs(&doc, r#"a[rel="tag"]"#, "href");
    assert_eq!(
        tag_links,
        [app.url("/tags/rust"), app.url("/tags/fediverse")]
    );
    assert!(!body.contains("Updated"), "not edited yet");

    app.api(Method::PATCH, &format!("/posts/{slug}"))
        .json(&json!({"body": "Edited."}))
        .send()
        .await
        .expect("edit");
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    assert_eq!(meta(&doc, "article:modified_time").len(), 1);
    assert!(body.contains("Updated"));
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_html_in_markdown_cannot_run_script() {
    let app = TestApp::spawn().await;
    let post = app
        .create_post(json!({
            "title": "Hostile",
            "body": "Hi <script>alert(1)</script><img src=x onerror=alert(2)>\n\n[x](javascript:alert(3))\n\n<iframe src=\"https://example.invalid\"></iframe><a href=\"javascript:alert(4)\" onclick=\"alert(5)\">y</a>\n",
        }))
        .await;
    let (_, body) = app
        .page(&format!("/posts/{}", post["slug"].as_str().expect("slug")))
        .await;
    let doc = html(&body);
    assert!(texts(&doc, "script").is_empty(), "no script element");
    let post_body = scraper::Selector::parse(".post-body").expect("css");
    let rendered = doc.select(&post_body).next().expect("post body").html();
    for bad in ["onerror", "javascript:", "<iframe", "onclick"] {
        assert!(!rendered.contains(bad), "{bad} in {rendered}");
    }
    let response = app
        .get(&format!("/posts/{}", post["slug"].as_str().expect("slug")))
        .await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(csp.contains("script-src 'none'"), "{csp}");
}

#[tokio::test(flavor = "multi_thread")]
async fn drafts_are_invisible_to_the_public() {
    let app = TestApp::spawn().await;
    app.create_post(json!({"title": "Unfinished", "body": "Secret words.", "tags": ["draftonly"], "draft": true}))
        .await;
    assert_eq!(app.page("/posts/unfinished").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.page("/tags/draftonly").await.0, StatusCode::NOT_FOUND);
    for path in ["/", "/feed.atom", "/feed.rss", "/archive"] {
        let (status, body) = app.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            !body.contains("Unfinished") && !body.contains("Secret words"),
            "{path} leaks the draft"
        );
    }
    app.api(Method::POST, "/posts/unfinished/publish")
        .send()
        .await
        .expect("publish");
    assert_eq!(app.page("/posts/unfinished").await.0, StatusCode::OK);
    assert_eq!(app.page("/tags/draftonly").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_pages_and_the_archive() {
    let app = TestApp::spawn().await;
    app.publish_simple("On Rust", &["Rust"]).await;
    app.publish_simple("On Both", &["rust", "Åland"]).await;
    app.publish_simple("Untagged", &[]).await;

    let (status, body) = app.page("/tags/rust").await;
    assert_eq!(status, StatusCode::OK);
    let doc = html(&body);
    assert_eq!(texts(&doc, "article h2"), ["On Both", "On Rust"]);
    assert!(texts(&doc, "h1").iter().any(|h| h.contains("Rust")));
    let (status, body) = app.page("/tags/aland").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Åland"));
    assert_eq!(app.page("/tags/nonexistent").await.0, StatusCode::NOT_FOUND);

    let (status, body) = app.page("/archive").await;
    assert_eq!(status, StatusCode::OK);
    let now = chrono::Utc::now();
    let month_path = format!("/archive/{}", now.format("%Y/%m"));
    let links = attrs(&html(&body), "a", "href");
    assert!(links.iter().any(|l| l.ends_with(&month_path)), "{links:?}");
    assert!(body.contains(&now.format("%B").to_string()));
    let (status, body) = app.page(&month_path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html(&body), "article h2").len(), 3);
    assert_eq!(app.page("/archive/1999/01").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.page("/archive/2026/13").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.page("/archive/abc/01").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_themed_pages_and_operations_endpoints_answer() {
    let app = TestApp::spawn().await;
    let (status, body) = app.page("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let doc = html(&body);
    assert!(
        texts(&doc, "h1").iter().any(|t| t.contains("not found")),
        "{body}"
    );
    assert_eq!(
        attrs(&doc, r#"link[rel="stylesheet"]"#, "href"),
        ["/static/style.css"]
    );
    // A comment id that names nothing is the same themed page for a reader.
    let (status, body) = app.page("/comments/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        texts(&html(&body), "h1")
            .iter()
            .any(|t| t.contains("not found")),
        "{body}"
    );

    let response = app.get("/static/style.css").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/css")
    );
    assert!(
        response
            .text()
            .await
            .expect("css")
            .contains("prefers-color-scheme")
    );
    assert_eq!(
        app.page("/static/..%2Fsrc%2Fmain.rs").await.0,
        StatusCode::NOT_FOUND
    );

    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let request_id = response.headers().get("x-request-id").cloned();
    assert!(
        request_id.is_some_and(|id| !id.is_empty()),
        "every response carries a request id"
    );
    let health: serde_json::Value = response.json().await.expect("json");
    assert_eq!(health["database"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_reports_a_missing_database() {
    let app = TestApp::spawn().await;
    app.pool.close();
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health: serde_json::Value = response.json().await.expect("json");
    assert_eq!(health["status"], "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_theme_directory_overrides_the_built_in_theme() {
    let theme = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        theme.path().join("list.html"),
        "{% extends \"base.html\" %}{% block content %}<p id=custom>{{ posts|length }} posts</p>{% endblock %}",
    )
    .expect("write");
    let app = TestApp::spawn_with(&format!("[theme]\ndir = \"{}\"", theme.path().display())).await;
    app.publish_simple("One", &[]).await;
    let (_, body) = app.page("/").await;
    assert_eq!(texts(&html(&body), "#custom"), ["1 posts"]);
    assert!(
        body.contains("/static/style.css"),
        "base.html still comes from the built-in theme"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_with_a_picture_gives_its_link_card_that_picture_and_its_alt_text() {
    let app = TestApp::spawn().await;
    let post = app
        .create_post(json!({
            "title": "Pictured",
            "body": "Words first.\n\n![A heron, standing in \"reeds\"](/static/heron.jpg)\n\n![Second](https://img.example/2.png)\n",
        }))
        .await;
    let slug = post["slug"].as_str().expect("slug");
    let (status, body) = app.page(&format!("/posts/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    let doc = html(&body);
    assert_eq!(
        meta(&doc, "og:image"),
        [app.url("/static/heron.jpg")],
        "the first image, absolute"
    );
    assert_eq!(
        meta(&doc, "og:image:alt"),
        ["A heron, standing in \"reeds\""]
    );
    assert_eq!(meta(&doc, "twitter:card"), ["summary_large_image"]);
    // A listing shows no bodies, and so no cards.
    let (_, home) = app.page("/").await;
    assert!(meta(&html(&home), "og:image").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thread_is_nested_in_the_markup_and_deep_answers_say_whom_they_answer() {
    let app = TestApp::spawn().await;
    let post = app.publish_simple("Deep talk", &[]).await;
    let slug = post["slug"].as_str().expect("slug").to_string();
    let mut path = format!("/posts/{slug}/replies");
    let mut ids = Vec::new();
    for level in 0..6 {
        let response = app
            .api(reqwest::Method::POST, &path)
            .json(&serde_json::json!({"text": format!("Level {level}")}))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::CREATED);
        let answer: serde_json::Value = response.json().await.expect("json");
        let id = answer["id"].as_i64().expect("id");
        ids.push(id);
        path = format!("/comments/{id}/replies");
    }
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    let select = |css: &str| -> Vec<String> {
        doc.select(&scraper::Selector::parse(css).expect("css"))
            .filter_map(|e| e.value().attr("id").map(str::to_string))
            .collect()
    };
    let anchor = |i: usize| format!("comment-{}", ids[i]);
    // Each answer sits inside its parent's item, three levels down; deeper
    // ones follow the third level's item, beside it.
    assert_eq!(select(".comment-list > li.comment"), [anchor(0)]);
    for level in 0..3 {
        let expected = match level {
            2 => vec![anchor(3), anchor(4), anchor(5)],
            _ => vec![anchor(level + 1)],
        };
        assert_eq!(
            select(&format!("li#{} > ol.children > li.comment", anchor(level))),
            expected,
            "level {level}"
        );
    }
    // Where the nesting stops, the answer says whom it answers, linked.
    let reply_to: Vec<(String, String)> = doc
        .select(&scraper::Selector::parse(".comment-reply-to a").expect("css"))
        .map(|e| {
            (
                e.text().collect(),
                e.value().attr("href").unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(reply_to.len(), 2, "{reply_to:?}");
    assert_eq!(reply_to[0].1, format!("#{}", anchor(3)));
    assert_eq!(reply_to[1].1, format!("#{}", anchor(4)));
    assert!(
        body.contains("<span class=\"comment-count\">(6)</span>"),
        "counted"
    );
}
