//! What other fediverse servers see: discovery, the blog actor, posts as
//! Articles, collections — fetched the way Mastodon fetches them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, attrs, html, meta};

fn content_type(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn webfinger_finds_the_blog_by_handle_and_by_actor_url() {
    let app = TestApp::spawn().await;
    let host = format!("localhost:{}", app.addr.port());
    let actor = app.url("/users/blog");
    for resource in [
        format!("acct:blog@{host}"),
        format!("acct:BLOG@{host}"),
        actor.clone(),
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(resource.as_bytes()).collect();
        let response = app
            .client
            .get(app.url(&format!("/.well-known/webfinger?resource={encoded}")))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::OK, "{resource}");
        assert!(content_type(response.headers()).starts_with("application/jrd+json"));
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let jrd: Value = response.json().await.expect("json");
        assert_eq!(jrd["subject"], format!("acct:blog@{host}"));
        assert!(
            jrd["aliases"]
                .as_array()
                .expect("aliases")
                .contains(&json!(actor))
        );
        let links = jrd["links"].as_array().expect("links");
        assert!(
            links.iter().any(|l| l["rel"] == "self"
                && l["type"] == "application/activity+json"
                && l["href"] == actor),
            "{jrd}"
        );
        assert!(links.iter().any(
            |l| l["rel"] == "http://webfinger.net/rel/profile-page" && l["type"] == "text/html"
        ));
    }
    let status = |query: &'static str| {
        let request = app
            .client
            .get(format!("{}{query}", app.url("/.well-known/webfinger")));
        async move { request.send().await.expect("GET").status() }
    };
    assert_eq!(
        status("?resource=acct:someone@elsewhere.example").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status("?resource=acct:other@127.0.0.1").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(status("").await, StatusCode::BAD_REQUEST);
    assert_eq!(status("?resource=").await, StatusCode::BAD_REQUEST);
    assert_eq!(status("?resource=garbage").await, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn host_meta_and_nodeinfo() {
    let app = TestApp::spawn().await;
    let response = app.get("/.well-known/host-meta").await;
    assert!(content_type(response.headers()).starts_with("application/xrd+xml"));
    let xml = response.text().await.expect("xml");
    let template = app.url("/.well-known/webfinger?resource={uri}");
    assert!(xml.contains(&format!("template=\"{template}\"")), "{xml}");
    let json: Value = app
        .get("/.well-known/host-meta.json")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(json["links"][0]["template"], template);

    app.publish_simple("Counted", &[]).await;
    app.create_post(json!({"title": "Not counted", "draft": true}))
        .await;
    let links: Value = app
        .get("/.well-known/nodeinfo")
        .await
        .json()
        .await
        .expect("json");
    let href = links["links"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|l| l["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1")
        })
        .and_then(|l| l["href"].as_str())
        .expect("2.1 link")
        .to_string();
    let response = app.client.get(&href).send().await.expect("GET");
    assert!(content_type(response.headers()).contains("schema/2.1"));
    let info: Value = response.json().await.expect("json");
    assert_eq!(info["version"], "2.1");
    assert_eq!(info["software"]["name"], "fedblog");
    assert!(
        info["software"].get("repository").is_none(),
        "no made-up repository address: {info}"
    );
    assert_eq!(info["protocols"], json!(["activitypub"]));
    assert_eq!(info["openRegistrations"], false);
    assert_eq!(info["usage"]["localPosts"], 1);
    assert_eq!(info["usage"]["users"]["total"], 1);
    let old: Value = app.get("/nodeinfo/2.0").await.json().await.expect("json");
    assert_eq!(old["version"], "2.0");
    assert_eq!(
        app.get("/nodeinfo/9.9").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_actor_document_has_what_mastodon_reads() {
    let app =
        TestApp::spawn_with("[blog]\ntitle = \"Sam's notes\"\ndescription = \"Notes on *Rust*.\"")
            .await;
    let actor_url = app.url("/users/blog");
    let (status, headers, actor) = app.fetch_ap("/users/blog").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/activity+json");
    assert!(
        headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("Accept")))
    );
    assert_eq!(
        actor["id"], actor_url,
        "the id is the URL it was fetched from"
    );
    assert_eq!(
        actor["@context"][0],
        "https://www.w3.org/ns/activitystreams"
    );
    assert_eq!(actor["@context"][1], "https://w3id.org/security/v1");
    for term in [
        "manuallyApprovesFollowers",
        "discoverable",
        "indexable",
        "attributionDomains",
        "Hashtag",
        "PropertyValue",
    ] {
        assert!(
            actor["@context"][2].get(term).is_some(),
            "context defines {term}"
        );
    }
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["preferredUsername"], "blog");
    assert_eq!(actor["name"], "Sam's notes");
    assert_eq!(actor["summary"], "<p>Notes on <em>Rust</em>.</p>\n");
    assert_eq!(actor["inbox"], format!("{actor_url}/inbox"));
    assert_eq!(actor["outbox"], format!("{actor_url}/outbox"));
    assert_eq!(actor["followers"], format!("{actor_url}/followers"));
    assert_eq!(actor["endpoints"]["sharedInbox"], app.url("/inbox"));
    assert_eq!(actor["manuallyApprovesFollowers"], false);
    assert_eq!(actor["discoverable"], true);
    assert_eq!(
        actor["attributionDomains"],
        json!(["localhost"]),
        "the blog's pages may credit it (fediverse:creator)"
    );
    assert!(
        chrono::DateTime::parse_from_rfc3339(actor["published"].as_str().expect("published"))
            .is_ok()
    );
    assert_eq!(actor["publicKey"]["id"], format!("{actor_url}#main-key"));
    assert_eq!(actor["publicKey"]["owner"], actor_url);
    let pem = actor["publicKey"]["publicKeyPem"].as_str().expect("pem");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let body = actor.to_string();
    assert!(!body.contains("PRIVATE"), "the private key is never served");

    // The same key on every fetch, and for every process on this database.
    let (_, _, again) = app.fetch_ap("/users/blog").await;
    assert_eq!(again["publicKey"], actor["publicKey"]);
    let mut conn = app.pool.get().await.expect("conn");
    let stored = fedblog::state::keys::load_or_create(&mut conn)
        .await
        .expect("keys");
    assert_eq!(stored.public_pem, pem);

    // People get the blog's home page.
    let response = app.get("/users/blog").await;
    assert!(response.status().is_redirection());
    assert_eq!(response.headers()["location"], app.url("/").as_str());
    let (status, _, _) = app.fetch_ap("/users/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_in_its_own_language_says_so_to_servers_pages_and_feeds() {
    let app = TestApp::spawn().await;
    let blog_language = app.settings.blog.language.clone();
    assert_ne!(
        blog_language, "sv",
        "the test needs a post in another language"
    );
    let post = app
        .create_post(json!({"title": "Hej", "body": "Hej *världen*.", "language": "sv"}))
        .await;
    assert_eq!(post["language"], "sv");
    let slug = post["slug"].as_str().expect("slug").to_string();
    let url = app.url(&format!("/posts/{slug}"));
    let (_, _, article) = app.fetch_ap(&url).await;
    assert_eq!(article["contentMap"], json!({"sv": article["content"]}));

    let (status, page) = app.page(&format!("/posts/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("<html lang=\"{blog_language}\">")),
        "{page}"
    );
    assert!(
        page.contains("<article class=\"post\" lang=\"sv\">"),
        "{page}"
    );
    let (_, feed) = app.page("/feed.atom").await;
    assert!(feed.contains("<entry xml:lang=\"sv\">"), "{feed}");
    // The author answers under it in its language too.
    let response = app
        .api(reqwest::Method::POST, &format!("/posts/{slug}/replies"))
        .json(&json!({"text": "Tack!"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::CREATED);
    let answer: Value = response.json().await.expect("json");
    let (_, _, note) = app.fetch_ap(answer["ap_id"].as_str().expect("ap_id")).await;
    assert_eq!(note["contentMap"], json!({"sv": note["content"]}));

    // A bad tag is refused and changes nothing; null means the blog's again.
    let response = app
        .api(reqwest::Method::PATCH, &format!("/posts/{slug}"))
        .json(&json!({"language": "sv_SE!"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.api_get(&format!("/posts/{slug}")).await["language"],
        "sv"
    );
    let response = app
        .api(reqwest::Method::PATCH, &format!("/posts/{slug}"))
        .json(&json!({"language": null}))
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status(), StatusCode::OK);
    let (_, _, article) = app.fetch_ap(&url).await;
    assert_eq!(
        article["contentMap"],
        json!({blog_language.as_str(): article["content"]})
    );
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    assert!(page.contains("<article class=\"post\">"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_is_an_article_at_its_own_address() {
    let app = TestApp::spawn().await;
    let post = app
        .create_post(json!({
            "title": "Federated <post>",
            "body": "Intro **text**.\n\n![A cat on a mat](/static/cat.png)\n\n## Details\n\nSee [the archive](/archive) and [above](#details).\n",
            "tags": ["Rust", "Fediverse Tools"],
        }))
        .await;
    let slug = post["slug"].as_str().expect("slug");
    let url = app.url(&format!("/posts/{slug}"));
    let (status, headers, article) = app.fetch_ap(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/activity+json");
    assert!(
        headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("Accept")))
    );
    assert_eq!(article["id"], url);
    assert_eq!(article["type"], "Article");
    assert_eq!(article["url"], url);
    assert_eq!(article["attributedTo"], app.url("/users/blog"));
    assert_eq!(article["name"], "Federated <post>");
    // No summary and no attachment (docs/federation.md): the excerpt and the
    // picture reach Mastodon through the link card, and other servers would
    // make a summary a content warning.
    assert!(article.get("summary").is_none(), "{article}");
    assert!(article.get("attachment").is_none(), "{article}");
    assert_eq!(article["preview"]["type"], "Note");
    let preview = article["preview"]["content"].as_str().expect("preview");
    assert!(
        preview.starts_with("<p><strong>Federated &lt;post&gt;</strong></p>")
            && preview.contains("<p>Intro text. Details See the archive and above.</p>")
            && preview.contains(&format!("<a href=\"{url}\">")),
        "{preview}"
    );
    assert!(
        article["content"]
            .as_str()
            .expect("content")
            .contains("<strong>text</strong>")
    );
    assert_eq!(article["mediaType"], "text/html");
    let content = article["content"].as_str().expect("content");
    for relative in ["href=\"#", "href=\"/", "src=\"/"] {
        assert!(!content.contains(relative), "{relative} in {content}");
    }
    // The picture goes out as Mastodon shows one, a link labelled with its
    // alt text: GoToSocial and Misskey would drop an <img> and leave <p></p>.
    assert!(
        !content.contains("<img") && !content.contains("<p></p>"),
        "{content}"
    );
    for absolute in [
        format!("href=\"{url}#details\""),
        format!("href=\"{}\"", app.url("/archive")),
        format!(
            "<p><a href=\"{}\" rel=\"noopener noreferrer\">[🖼 A cat on a mat]</a></p>",
            app.url("/static/cat.png")
        ),
    ] {
        assert!(content.contains(&absolute), "{absolute} not in {content}");
    }
    assert_eq!(
        article["contentMap"],
        json!({app.settings.blog.language.as_str(): article["content"]}),
        "the language, as GoToSocial and Mastodon read it"
    );
    assert!(article["published"].is_string());
    assert!(
        article.get("updated").is_none(),
        "no `updated` before an edit"
    );
    assert_eq!(
        article["to"],
        json!(["https://www.w3.org/ns/activitystreams#Public"])
    );
    assert_eq!(article["cc"], json!([app.url("/users/blog/followers")]));
    assert_eq!(
        article["tag"][0],
        json!({"type": "Hashtag", "name": "#Rust", "href": app.url("/tags/rust")})
    );
    assert_eq!(article["tag"][1]["name"], "#FediverseTools");
    // The replies collection, its first page embedded (as GoToSocial needs).
    let replies = article["replies"]["id"]
        .as_str()
        .expect("replies")
        .to_string();
    assert_eq!(article["replies"]["type"], "OrderedCollection");
    assert_eq!(article["replies"]["first"]["type"], "OrderedCollectionPage");
    assert_eq!(article["replies"]["first"]["partOf"], replies);
    assert_eq!(article["replies"]["first"]["orderedItems"], json!([]));
    let (status, _, collection) = app.fetch_ap(&replies).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (collection["id"].as_str(), collection["totalItems"].as_i64()),
        (Some(replies.as_str()), Some(0))
    );

    // The HTML page links its JSON and names its creator.
    let response = app.get(&format!("/posts/{slug}")).await;
    assert!(content_type(response.headers()).starts_with("text/html"));
    assert!(
        response
            .headers()
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("Accept")))
    );
    let doc = html(&response.text().await.expect("html"));
    assert_eq!(
        attrs(
            &doc,
            r#"link[rel="alternate"][type="application/activity+json"]"#,
            "href"
        ),
        std::slice::from_ref(&url)
    );
    assert_eq!(meta(&doc, "fediverse:creator").len(), 1);

    // An edit shows as `updated`.
    app.api(Method::PATCH, &format!("/posts/{slug}"))
        .json(&json!({"body": "Edited."}))
        .send()
        .await
        .expect("edit");
    let (_, _, edited) = app.fetch_ap(&url).await;
    assert!(edited["updated"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_post_keeps_its_activitypub_id() {
    let app = TestApp::spawn().await;
    app.publish_simple("First title", &[]).await;
    let first_url = app.url("/posts/first-title");
    app.api(Method::PATCH, "/posts/first-title")
        .json(&json!({"title": "Second title"}))
        .send()
        .await
        .expect("rename");

    let (status, _, article) = app.fetch_ap(&first_url).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "servers keep fetching the original id"
    );
    assert_eq!(article["id"], first_url);
    assert_eq!(
        article["url"],
        app.url("/posts/second-title"),
        "the page moved"
    );
    assert_eq!(article["name"], "Second title");

    let response = app
        .client
        .get(app.url("/posts/second-title"))
        .header("Accept", crate::common::AP_ACCEPT)
        .send()
        .await
        .expect("GET");
    assert_eq!(
        response.status(),
        StatusCode::PERMANENT_REDIRECT,
        "JSON at the new address points to the id"
    );
    assert_eq!(response.headers()["location"], first_url);
    let response = app.get("/posts/first-title").await;
    assert_eq!(
        response.headers()["location"],
        app.url("/posts/second-title").as_str(),
        "people are sent to the new page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drafts_are_not_found_and_deleted_posts_are_tombstones() {
    let app = TestApp::spawn().await;
    app.create_post(json!({"title": "Draft", "draft": true}))
        .await;
    let (status, headers, _) = app.fetch_ap("/posts/draft").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        content_type(&headers).starts_with("application/json"),
        "a JSON error, not the HTML page"
    );
    assert_eq!(
        app.fetch_ap("/posts/never-existed").await.0,
        StatusCode::NOT_FOUND
    );

    app.publish_simple("Doomed", &[]).await;
    app.api(Method::DELETE, "/posts/doomed")
        .send()
        .await
        .expect("delete");
    let (status, headers, tombstone) = app.fetch_ap("/posts/doomed").await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(content_type(&headers), "application/activity+json");
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["id"], app.url("/posts/doomed"));
    assert_eq!(tombstone["formerType"], "Article");
    assert!(tombstone["deleted"].is_string());
    assert_eq!(
        app.page("/posts/doomed").await.0,
        StatusCode::GONE,
        "people get the 410 page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_outbox_pages_create_activities_newest_first() {
    let app = TestApp::spawn().await;
    for i in 1..=25 {
        app.publish_simple(&format!("Post {i}"), &[]).await;
    }
    app.create_post(json!({"title": "Hidden", "draft": true}))
        .await;
    let outbox_url = app.url("/users/blog/outbox");
    let (status, _, outbox) = app.fetch_ap(&outbox_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 25);
    let first = outbox["first"].as_str().expect("first").to_string();
    let (_, _, page) = app.fetch_ap(&first).await;
    assert_eq!(page["type"], "OrderedCollectionPage");
    assert_eq!(page["partOf"], outbox_url);
    let items = page["orderedItems"].as_array().expect("items");
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["type"], "Create");
    assert_eq!(items[0]["actor"], app.url("/users/blog"));
    assert_eq!(items[0]["object"]["type"], "Article");
    assert_eq!(items[0]["object"]["name"], "Post 25");
    assert!(
        items[0]["id"]
            .as_str()
            .expect("id")
            .starts_with(&app.url("/posts/post-25"))
    );
    let next = page["next"].as_str().expect("next").to_string();
    let (_, _, last) = app.fetch_ap(&next).await;
    assert_eq!(last["orderedItems"].as_array().map(Vec::len), Some(5));
    assert!(last.get("next").is_none());
    assert_eq!(last["prev"], first);
}

#[tokio::test(flavor = "multi_thread")]
async fn followers_following_and_featured_collections() {
    let app = TestApp::spawn().await;
    let (status, _, followers) = app.fetch_ap("/users/blog/followers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(followers["type"], "OrderedCollection");
    assert_eq!(followers["totalItems"], 0);
    for which in ["following", "featured"] {
        let (status, _, c) = app.fetch_ap(&format!("/users/blog/{which}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(c["totalItems"], 0);
        assert_eq!(c["orderedItems"], json!([]));
    }
    assert_eq!(
        app.fetch_ap("/users/blog/bogus").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.fetch_ap("/users/other/followers").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_profile_has_a_bio_images_and_fields() {
    let media = tempfile::tempdir().expect("tempdir");
    let png = b"\x89PNG\r\n\x1a\nnot really, but served as is";
    std::fs::write(media.path().join("me.png"), png).expect("write");
    std::fs::write(media.path().join("banner.jpg"), b"jpeg bytes").expect("write");
    let app = TestApp::spawn_with(&format!(
        "[profile]\nbio = \"I write about **Rust**.\"\navatar = \"{}\"\nheader = \"{}\"\n\
         fields = [{{ name = \"Website\", value = \"https://example.org/me\" }}, {{ name = \"Pronouns\", value = \"they/them <3\" }}]",
        media.path().join("me.png").display(),
        media.path().join("banner.jpg").display(),
    ))
    .await;
    let (_, _, actor) = app.fetch_ap("/users/blog").await;
    assert_eq!(
        actor["summary"],
        "<p>I write about <strong>Rust</strong>.</p>\n"
    );
    assert_eq!(actor["icon"]["type"], "Image");
    assert_eq!(actor["icon"]["mediaType"], "image/png");
    assert_eq!(actor["image"]["mediaType"], "image/jpeg");
    assert_eq!(actor["attachment"][0]["type"], "PropertyValue");
    assert_eq!(actor["attachment"][0]["name"], "Website");
    assert!(
        actor["attachment"][0]["value"]
            .as_str()
            .expect("value")
            .contains("rel=\"me")
    );
    assert_eq!(actor["attachment"][1]["value"], "they/them &lt;3");

    let icon = actor["icon"]["url"].as_str().expect("icon url");
    let response = app.client.get(icon).send().await.expect("GET icon");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(&response.bytes().await.expect("bytes")[..], &png[..]);
    assert_eq!(
        app.get("/media/other.png").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/media/avatar.jpg").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/media/avatar.png").await.status(),
        StatusCode::OK,
        "the address from before content addressing still answers"
    );

    // The author's answers under a post wear the profile picture.
    app.publish_simple("With a face", &[]).await;
    let response = app
        .api(reqwest::Method::POST, "/posts/with-a-face/replies")
        .json(&serde_json::json!({"text": "Hello from me"}))
        .send()
        .await
        .expect("reply");
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, body) = app.page("/posts/with-a-face").await;
    assert_eq!(
        crate::common::attrs(
            &crate::common::html(&body),
            ".comment-by-author img.comment-avatar",
            "src"
        ),
        [icon]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_followers_list_and_the_actor_type_are_configurable() {
    let app = TestApp::spawn_with(
        "[federation]\nshow_followers = true\n[profile]\nactor_type = \"Service\"",
    )
    .await;
    {
        let mut conn = app.pool.get().await.expect("conn");
        for name in ["a", "b"] {
            let actor = format!("http://localhost:1/users/{name}");
            fedblog::models::follower::upsert(
                &mut conn,
                &actor,
                &format!("{actor}/inbox"),
                None,
                "f",
            )
            .await
            .expect("follower");
        }
    }
    let (_, _, actor) = app.fetch_ap("/users/blog").await;
    assert_eq!(actor["type"], "Service");
    let (_, _, followers) = app.fetch_ap("/users/blog/followers").await;
    assert_eq!(followers["totalItems"], 2);
    let first = followers["first"].as_str().expect("first page").to_string();
    let (_, _, page) = app.fetch_ap(&first).await;
    assert_eq!(
        page["orderedItems"],
        json!(["http://localhost:1/users/a", "http://localhost:1/users/b"])
    );

    // Hidden by default: counted, not listed.
    let hidden = TestApp::spawn().await;
    let (_, _, followers) = hidden.fetch_ap("/users/blog/followers").await;
    assert!(followers.get("first").is_none() && followers.get("orderedItems").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_changed_between_two_starts_reaches_followers_as_an_update() {
    let media = tempfile::tempdir().expect("tempdir");
    let avatar = media.path().join("me.png");
    std::fs::write(&avatar, b"\x89PNG first picture").expect("write");
    let app = TestApp::spawn_with(&format!(
        "[profile]\nbio = \"First bio.\"\navatar = \"{}\"\n",
        avatar.display()
    ))
    .await;
    let peer = crate::common::peer::Peer::start();
    peer.follow(&app.url("/users/blog")).await;
    app.deliver().await;
    let keys = {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::state::keys::load_or_create(&mut conn)
            .await
            .expect("keys")
    };
    let publish = async |settings: &fedblog::config::Settings| {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::profile::publish_if_changed(&mut conn, settings, &keys)
            .await
            .expect("publish")
    };
    let (_, _, before) = app.fetch_ap("/users/blog").await;
    let old_icon = before["icon"]["url"].as_str().expect("icon").to_string();
    let response = app.client.get(&old_icon).send().await.expect("GET icon");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .is_ok_and(|v| v.contains("immutable")),
        "a content-addressed picture is cached for good"
    );

    // The first start records the profile; a start without changes sends nothing.
    assert!(!publish(&app.settings).await);
    assert!(!publish(&app.settings).await);

    // Then a new bio and a new picture in the same file, and a restart.
    std::fs::write(&avatar, b"\x89PNG second picture").expect("write");
    let reread = fedblog::config::Settings::from_toml_layers(&[&format!(
        "[profile]\navatar = \"{}\"\n",
        avatar.display()
    )])
    .expect("settings");
    let mut changed = app.settings.clone();
    changed.profile.bio = "Second bio.".into();
    changed.profile.avatar = reread.profile.avatar;
    assert!(publish(&changed).await, "the change is published");
    assert!(!publish(&changed).await, "once");
    app.deliver().await;

    let update = peer.wait_for("Update").await;
    assert_eq!(update["actor"], app.url("/users/blog"));
    assert_eq!(update["object"]["type"], "Person");
    assert_eq!(update["object"]["id"], app.url("/users/blog"));
    assert_eq!(update["object"]["summary"], "<p>Second bio.</p>\n");
    let new_icon = update["object"]["icon"]["url"].as_str().expect("icon");
    assert_ne!(new_icon, old_icon, "a new picture has a new address");
    assert!(
        new_icon.starts_with(&app.url("/media/avatar-")),
        "{new_icon}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_too_long_for_other_servers_goes_out_in_its_short_form() {
    let app = TestApp::spawn().await;
    let body = "A long paragraph of words. ".repeat(4_000);
    let post = app
        .create_post(json!({"title": "Very long", "body": body}))
        .await;
    let url = post["url"].as_str().expect("url").to_string();
    let (status, _, article) = app.fetch_ap(&url).await;
    assert_eq!(status, StatusCode::OK);
    let content = article["content"].as_str().expect("content");
    assert!(
        content.chars().count() < 2_000,
        "Pleroma and Akkoma refuse objects over 100,000 characters"
    );
    assert_eq!(article["content"], article["preview"]["content"]);
    assert!(
        content.contains(&format!("<a href=\"{url}\">")),
        "{content}"
    );
    // The page itself has it all.
    let (_, page) = app.page("/posts/very-long").await;
    assert!(page.len() > 100_000);
}
