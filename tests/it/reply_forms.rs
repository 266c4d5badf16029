//! Replies in the many legal shapes real servers write them, each sent
//! signed through the inbox: every Public spelling, `inReplyTo` as a list, a
//! Link or several parents, `type` as a list, media types, text only in
//! `contentMap`, HTML in `summary`, `sensitive` alone, a `url` on another
//! host, and HTML that has to be reshaped rather than lost.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::remote::{Remote, Signing, post_inbox};
use crate::common::{TestApp, html};
use fedblog::models::comment::{self, Comment};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Sends a Create of `object` (its id and author filled in) from `remote`;
/// returns the stored comment.
async fn reply(app: &TestApp, remote: &Remote, n: u32, mut object: Value) -> Option<Comment> {
    let id = format!("{}/notes/forms-{n}", remote.actor());
    let fields = object.as_object_mut().expect("object");
    fields.insert("id".into(), json!(id));
    fields.insert("attributedTo".into(), json!(remote.actor()));
    fields.entry("type").or_insert(json!("Note"));
    fields.entry("to").or_insert(json!([PUBLIC]));
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/creates/forms-{n}", remote.actor()),
        "type": "Create",
        "actor": remote.actor(),
        "to": [PUBLIC],
        "object": object,
    });
    let signing = Signing::correct(&remote.key, chrono::Utc::now());
    let (status, body) = post_inbox(app, &remote.actor(), &create, signing).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mut conn = app.pool.get().await.expect("conn");
    comment::find_by_ap_id(&mut conn, &id).await.expect("query")
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_in_every_legal_shape_are_understood() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let post = app.publish_simple("All shapes welcome", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let elsewhere = "http://localhost:1/notes/not-ours";

    // Public, however it is spelled.
    for (n, to) in [
        (1, json!(["Public"])),
        (2, json!("as:Public")),
        (3, json!([PUBLIC])),
    ] {
        let c = reply(
            &app,
            &remote,
            n,
            json!({"inReplyTo": post_url, "to": to, "content": "<p>hi</p>"}),
        )
        .await
        .expect("stored");
        assert_eq!(c.visibility.as_str(), "public", "to: {n}");
    }
    // inReplyTo as a one-element list, a Link, or several parents (ours chosen).
    for (n, in_reply_to) in [
        (4, json!([post_url])),
        (5, json!({"type": "Link", "href": post_url})),
        (6, json!([elsewhere, {"id": post_url, "type": "Article"}])),
    ] {
        let c = reply(
            &app,
            &remote,
            n,
            json!({"inReplyTo": in_reply_to, "content": "<p>x</p>"}),
        )
        .await
        .unwrap_or_else(|| panic!("inReplyTo form {n} was dropped"));
        assert_eq!(c.in_reply_to, post_url, "form {n}");
        assert_eq!(c.parent_id, None);
    }
    // type as a list, and a media object with only a name.
    let c = reply(
        &app,
        &remote,
        7,
        json!({"type": ["Note", "Article"], "inReplyTo": post_url, "content": "<p>both</p>"}),
    )
    .await
    .expect("a typed list");
    assert!(c.content_html.contains("both"));
    let c = reply(
        &app,
        &remote,
        8,
        json!({"type": "Video", "inReplyTo": post_url, "name": "My <b>clip</b>"}),
    )
    .await
    .expect("a Video");
    assert_eq!(c.content_html, "<p>My &lt;b&gt;clip&lt;/b&gt;</p>");
    // The text only in contentMap, with its language.
    let c = reply(
        &app,
        &remote,
        9,
        json!({"inReplyTo": post_url, "contentMap": {"de": "<p>Hallo Welt</p>"}}),
    )
    .await
    .expect("contentMap");
    assert_eq!(c.content_html, "<p>Hallo Welt</p>");
    assert_eq!(c.language.as_deref(), Some("de"));
    let c = reply(&app, &remote, 10, json!({"inReplyTo": post_url, "content": "<p>Hej</p>", "contentMap": {"sv": "<p>Hej</p>", "en": "<p>Hi</p>"}}))
        .await
        .expect("both");
    assert_eq!(
        c.language.as_deref(),
        Some("sv"),
        "the key whose text is the content"
    );
    // summary is HTML; sensitive alone still hides the text.
    let c = reply(&app, &remote, 11, json!({"inReplyTo": post_url, "summary": "<p>Spoilers for <em>Dune</em> &amp; more</p>", "content": "<p>He wins.</p>"}))
        .await
        .expect("summary");
    assert_eq!(c.summary.as_deref(), Some("Spoilers for Dune & more"));
    let c = reply(
        &app,
        &remote,
        12,
        json!({"inReplyTo": post_url, "sensitive": true, "content": "<p>Careful</p>"}),
    )
    .await
    .expect("sensitive");
    assert!(c.sensitive && c.summary.is_none());
    // A url on the object's own server is its permalink; one elsewhere is not.
    let own = format!(
        "{}/@mallory/13",
        remote.actor().trim_end_matches("/users/mallory")
    );
    let c = reply(
        &app,
        &remote,
        13,
        json!({"inReplyTo": post_url, "url": own, "content": "<p>u</p>"}),
    )
    .await
    .expect("url");
    assert_eq!(c.url.as_deref(), Some(own.as_str()));
    let c = reply(
        &app,
        &remote,
        14,
        json!({"inReplyTo": post_url, "url": "http://localhost:1/phish", "content": "<p>u</p>"}),
    )
    .await
    .expect("url");
    assert_eq!(c.url, None);
    // Blocks leave a break, images their alt text.
    let c = reply(&app, &remote, 15, json!({"inReplyTo": post_url, "content": "<h1>h1</h1><h2>h2</h2><p>see <img src=\"https://m.example/c.png\" alt=\"a cat\"></p>"}))
        .await
        .expect("html");
    assert!(
        c.content_html
            .starts_with("<p><strong>h1</strong></p><p><strong>h2</strong></p>"),
        "{}",
        c.content_html
    );
    assert!(
        c.content_html.contains(">[🖼 a cat]</a>"),
        "{}",
        c.content_html
    );

    // Mentions written as plain text and hashtags only in `tag` become links
    // (a hashtag to the tag on the sender's server).
    let tag_url = remote.actor().replace("/users/mallory", "/tags/fedi");
    let c = reply(&app, &remote, 16, json!({
        "inReplyTo": post_url,
        "content": "<p>cc @bob@localhost:1</p>",
        "tag": [
            {"type": "Mention", "href": "http://localhost:1/users/bob", "name": "@bob@localhost:1"},
            {"type": "Hashtag", "href": tag_url, "name": "#fedi"},
        ],
    }))
    .await
    .expect("tags");
    assert!(
        c.content_html.contains("<span class=\"h-card\"><a href=\"http://localhost:1/users/bob\" class=\"u-url mention\""),
        "{}",
        c.content_html
    );
    assert!(
        c.content_html
            .contains(&format!("<a href=\"{tag_url}\" class=\"mention hashtag\"")),
        "{}",
        c.content_html
    );

    // The page shows them so.
    let (_, body) = app
        .page(&format!("/posts/{}", post["slug"].as_str().expect("slug")))
        .await;
    let doc = html(&body);
    let selector = |css: &str| scraper::Selector::parse(css).expect("css");
    let german: Vec<String> = doc
        .select(&selector(".comment-body[lang=\"de\"]"))
        .map(|e| e.text().collect())
        .collect();
    assert_eq!(german, vec!["Hallo Welt".to_string()]);
    let warnings: Vec<String> = doc
        .select(&selector("details.comment-cw > summary"))
        .map(|e| e.text().collect())
        .collect();
    assert!(
        warnings.contains(&"Spoilers for Dune & more".to_string()),
        "{warnings:?}"
    );
    assert!(
        warnings.contains(&"Sensitive content".to_string()),
        "{warnings:?}"
    );
    assert!(!body.contains("&lt;em&gt;"), "no markup shown as text");
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_quoting_ours_are_listed_under_it_in_every_form() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let post = app.publish_simple("Quotable", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let forms = [
        json!({"quote": post_url}),
        json!({"_misskey_quote": post_url, "quoteUrl": post_url}),
        json!({"quoteUri": {"id": post_url, "type": "Article"}}),
        json!({"tag": [{
            "type": "Link",
            "mediaType": "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            "href": post_url,
            "name": format!("RE: {post_url}"),
        }]}),
    ];
    for (n, form) in forms.into_iter().enumerate() {
        let mut object = json!({"content": format!("<p>Look at this ({n})</p>")});
        object
            .as_object_mut()
            .expect("object")
            .extend(form.as_object().expect("form").clone());
        let stored = reply(&app, &remote, 100 + n as u32, object).await;
        assert!(
            stored.is_none(),
            "a quote that answers nothing is no comment"
        );
    }
    // Quoting something that is not ours is none of our business.
    reply(
        &app,
        &remote,
        110,
        json!({"quote": "http://localhost:1/notes/x", "content": "<p>x</p>"}),
    )
    .await;

    let slug = post["slug"].as_str().expect("slug");
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    assert!(body.contains("❝ 4 quotes"), "{body}");
    let doc = html(&body);
    let links: Vec<String> = doc
        .select(&scraper::Selector::parse("li.reaction-quote a").expect("css"))
        .filter_map(|e| e.value().attr("href").map(str::to_string))
        .collect();
    assert_eq!(links.len(), 4, "{links:?}");
    assert!(links.contains(&format!("{}/notes/forms-100", remote.actor())));

    // The quoting post deleted by its author: the quote goes.
    let delete = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/deletes/forms-100", remote.actor()),
        "type": "Delete",
        "actor": remote.actor(),
        "to": [PUBLIC],
        "object": format!("{}/notes/forms-100", remote.actor()),
    });
    let signing = Signing::correct(&remote.key, chrono::Utc::now());
    let (status, _) = post_inbox(&app, &remote.actor(), &delete, signing).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    assert!(body.contains("❝ 3 quotes"), "{body}");

    // A quote of a comment under it is counted on the comment.
    let response = app
        .api(reqwest::Method::POST, &format!("/posts/{slug}/replies"))
        .json(&json!({"text": "Thanks!"}))
        .send()
        .await
        .expect("answer");
    let answer: Value = response.json().await.expect("json");
    let answer_id = answer["ap_id"].as_str().expect("ap_id").to_string();
    reply(
        &app,
        &remote,
        120,
        json!({"quote": answer_id, "content": "<p>this</p>"}),
    )
    .await;
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    let quotes: Vec<String> = doc
        .select(&scraper::Selector::parse(".comment-quotes").expect("css"))
        .map(|e| e.text().collect::<String>())
        .collect();
    assert_eq!(quotes, ["❝ 1 quote"], "{body}");
    assert!(
        body.contains("❝ 3 quotes"),
        "the post's own count is unchanged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn attached_pictures_are_shown_from_here_and_the_rest_as_links() {
    let app = TestApp::spawn().await;
    let remote = Remote::start().await;
    let post = app.publish_simple("Pictures welcome", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let picture = remote.serve_file("cat.png", "image/png", crate::avatars::PNG.to_vec());
    // Says it is a picture; its bytes are a page.
    let fake = remote.serve_file(
        "fake.png",
        "image/png",
        b"<html><script>x()</script>".to_vec(),
    );
    let video = "http://localhost:1/files/clip.mp4";
    let c = reply(&app, &remote, 200, json!({
        "inReplyTo": post_url,
        "content": "<p>Look</p>",
        "attachment": [
            {"type": "Document", "mediaType": "image/png", "url": picture, "name": "A <b>cat</b> on a mat"},
            {"type": "Image", "url": {"type": "Link", "href": fake}, "name": "Not really"},
            {"type": "Document", "mediaType": "video/mp4", "url": video},
            {"type": "Document", "mediaType": "image/png", "url": "javascript:alert(1)"},
        ],
    }))
    .await
    .expect("stored");
    assert_eq!(c.attachment_list().len(), 3, "{:?}", c.attachments);

    // The picture is cached in the background, then shown from here.
    let slug = post["slug"].as_str().expect("slug");
    let mut body = String::new();
    for _ in 0..100 {
        body = app.page(&format!("/posts/{slug}")).await.1;
        if body.contains("/attachments/") && remote.hits("fake.png") > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let doc = html(&body);
    let images: Vec<(String, String)> = doc
        .select(&scraper::Selector::parse(".comment-attachments img").expect("css"))
        .map(|e| {
            let v = e.value();
            (
                v.attr("src").unwrap_or_default().to_string(),
                v.attr("alt").unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(images.len(), 1, "{images:?}");
    assert!(
        images[0].0.starts_with(&app.url("/attachments/")),
        "{images:?}"
    );
    assert_eq!(images[0].1, "A cat on a mat");
    let response = app.client.get(&images[0].0).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(
        response.bytes().await.expect("bytes").as_ref(),
        crate::avatars::PNG
    );
    // Never loaded from the other server; the rest are links.
    assert!(
        !body.contains(&format!("src=\"{picture}\"")) && !body.contains(&format!("src=\"{fake}\""))
    );
    let links: Vec<String> = doc
        .select(&scraper::Selector::parse(".comment-attachments a").expect("css"))
        .map(|e| e.text().collect::<String>())
        .collect();
    assert!(links.contains(&"[🖼 Not really]".to_string()), "{links:?}");
    assert!(links.contains(&"[🎞 video]".to_string()), "{links:?}");
    assert!(!body.contains("javascript:alert"));
}
