//! `/admin/settings`, as the owner uses it: what is saved is in force at
//! once (pages, profile, comment rules), only what differs from the
//! configuration file is kept, a profile change reaches followers as an
//! `Update` of the actor, and a wrong value changes nothing.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use reqwest::StatusCode;

use crate::admin::{
    Browser, PASSWORD, Part, add_follower, csrf_of, location, queued, set_password,
};
use crate::common::TestApp;
use crate::reader_comments::{Browser as Reader, stored};

fn avatar_png() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::from(RgbImage::from_pixel(64, 64, Rgb([200, 40, 40])))
        .write_to(&mut out, ImageFormat::Png)
        .expect("encodes");
    out.into_inner()
}

/// The settings form as the page fills it, with `changes` over it.
fn form_of(html: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(html);
    let mut fields = Vec::new();
    let inputs = scraper::Selector::parse(
        "form[action='/admin/settings'] input, form[action='/admin/settings'] textarea",
    )
    .expect("selector");
    for element in doc.select(&inputs) {
        let e = element.value();
        let Some(name) = e.attr("name") else { continue };
        let value = match (e.name(), e.attr("type")) {
            ("textarea", _) => element.text().collect(),
            (_, Some("file")) => continue,
            (_, Some("radio" | "checkbox")) if e.attr("checked").is_none() => continue,
            _ => e.attr("value").unwrap_or_default().to_string(),
        };
        fields.push((name.to_string(), value));
    }
    for (name, value) in changes {
        fields.retain(|(n, _)| n != name);
        if !value.is_empty() || !name.starts_with("reader_comments") {
            fields.push((name.to_string(), value.to_string()));
        }
    }
    fields
}

async fn save(
    browser: &mut Browser<'_>,
    fields: &[(String, String)],
    files: &[(&str, &str, &[u8])],
) -> reqwest::Response {
    let mut parts: Vec<Part<'_>> = fields
        .iter()
        .map(|(k, v)| Part::Text(k.as_str(), v.as_str()))
        .collect();
    parts.extend(files.iter().map(|(f, n, b)| Part::File(f, n, b)));
    browser
        .post_multipart("/admin/settings", &parts, "text/html")
        .await
}

async fn actor(app: &TestApp) -> serde_json::Value {
    app.fetch_ap("/users/blog").await.2
}

async fn stored_overrides(app: &TestApp) -> serde_json::Value {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let rows: Vec<Row> =
        diesel::sql_query("SELECT value FROM instance_settings WHERE key = 'site_overrides'")
            .load(&mut conn)
            .await
            .expect("query");
    rows.into_iter()
        .next()
        .map(|r| serde_json::from_str(&r.value).expect("JSON"))
        .unwrap_or(serde_json::Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_owner_saves_is_in_force_at_once_and_the_profile_reaches_followers() {
    let app = TestApp::spawn_with(
        "[blog]\ntitle = \"File Title\"\n[comments]\nreader_policy = \"approve_all\"\n",
    )
    .await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    add_follower(&app, "127.0.0.1:9", "reader").await;
    let slug = app.publish_simple("Hello", &[]).await["slug"]
        .as_str()
        .expect("slug")
        .to_string();
    let mut anonymous = Browser::new(&app);
    assert_eq!(
        anonymous.get("/admin/settings").await,
        (StatusCode::SEE_OTHER, "/admin/login".to_string())
    );
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, html) = browser.get("/admin/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("value=\"File Title\""), "{html}");
    let before = queued(&app).await;

    // A wrong value: said so, nothing saved, nothing sent.
    let fields = form_of(
        &html,
        &[("title", "New Title"), ("time_zone", "Mars/Olympus")],
    );
    let response = save(&mut browser, &fields, &[]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(
        page.contains("The time zone: unknown time zone &quot;Mars/Olympus&quot;"),
        "{page}"
    );
    assert!(
        page.contains("value=\"New Title\""),
        "what was typed stays: {page}"
    );
    assert_eq!(stored_overrides(&app).await, serde_json::Value::Null);
    assert_eq!(queued(&app).await, before);

    // Saved: title, time zone, name, bio, a field, an avatar, a held word.
    let fields = form_of(
        &html,
        &[
            ("title", "New Title"),
            ("time_zone", "Europe/Stockholm"),
            ("author_name", "Ada Lovelace"),
            ("bio", "I write about *engines*."),
            ("field_name_0", "Website"),
            ("field_value_0", "https://ada.example"),
            ("hold_keywords", "Casino\nfree money\ncasino\n"),
        ],
    );
    let avatar = avatar_png();
    let response = save(&mut browser, &fields, &[("avatar", "me.png", &avatar)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/settings?saved=profile")
    );

    // Only what differs from the file is kept.
    let kept = stored_overrides(&app).await;
    assert_eq!(kept["title"], "New Title");
    assert_eq!(kept["time_zone"], "Europe/Stockholm");
    assert_eq!(
        kept["hold_keywords"],
        serde_json::json!(["casino", "free money"])
    );
    assert!(
        kept["language"].is_null() && kept["description"].is_null(),
        "{kept}"
    );
    assert!(kept["reader_policy"].is_null(), "{kept}");

    // The pages, the profile and the comment rules use it now.
    let home = app.page("/").await.1;
    assert!(home.contains("New Title"), "{home}");
    let person = actor(&app).await;
    assert_eq!(person["name"], "New Title");
    assert!(
        person["summary"]
            .as_str()
            .expect("summary")
            .contains("<em>engines</em>"),
        "{person}"
    );
    assert_eq!(person["attachment"][0]["name"], "Website");
    let icon = person["icon"]["url"]
        .as_str()
        .expect("an avatar")
        .to_string();
    let served = app.client.get(&icon).send().await.expect("GET");
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    let after = queued(&app).await;
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert_eq!(after.last().map(String::as_str), Some("Update"));

    let mut reader = Reader::new(&app);
    for text in ["Nice post.", "Win at the CASINO tonight"] {
        let sent = reader
            .comment(&slug, &[("name", "Bo"), ("website", ""), ("comment", text)])
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER);
    }
    let states: Vec<(String, String)> = stored(&app)
        .await
        .into_iter()
        .map(|c| (c.source.unwrap_or_default(), c.state.as_str().to_string()))
        .collect();
    assert!(
        states.contains(&("Nice post.".into(), "approved".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&("Win at the CASINO tonight".into(), "pending".into())),
        "{states:?}"
    );

    // The picture in use as the avatar is marked so, and cannot be deleted.
    let (_, media) = browser.get("/admin/media").await;
    assert!(media.contains("The blog's avatar or header"), "{media}");
    assert!(!media.contains("/delete\""), "no delete button: {media}");
    let file = icon.rsplit('/').next().expect("a file name");
    let hash = file.split(['-', '.']).nth(1).expect("a digest");
    let (_, listed) = browser.get("/admin/media").await;
    let doc = scraper::Html::parse_document(&listed);
    let markdown = scraper::Selector::parse(".admin-media-item input[readonly]").expect("selector");
    let full = doc
        .select(&markdown)
        .filter_map(|i| i.value().attr("value"))
        .find_map(|v| {
            v.split("/media/")
                .nth(1)
                .map(|f| f.trim_end_matches(')').to_string())
        })
        .expect("the avatar's file");
    assert!(full.starts_with(hash), "{full} / {hash}");
    let full_hash = full.split('.').next().expect("hash");
    let response = browser
        .post(
            &format!("/admin/media/{full_hash}/delete"),
            &[("csrf", csrf_of(&media).as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.expect("body");
    assert!(page.contains("avatar or header; choose another"), "{page}");

    // Saving the same again sends nothing; reader comments off takes the
    // form off the page.
    let (_, html) = browser.get("/admin/settings").await;
    let response = save(&mut browser, &form_of(&html, &[]), &[]).await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/settings?saved=saved")
    );
    assert_eq!(queued(&app).await.len(), before.len() + 1);
    let response = save(
        &mut browser,
        &form_of(&html, &[("reader_comments", "")]),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let post = app.page(&format!("/posts/{slug}")).await.1;
    assert!(!post.contains("id=\"comment-form\""), "{post}");

    // Restored without the pictures: another process (or a restart) keeps
    // the owner's other settings and leaves out the missing avatar.
    for file in std::fs::read_dir(app.data_dir.path().join("media")).expect("media") {
        std::fs::remove_file(file.expect("entry").path()).expect("removed");
    }
    let other = fedblog::state::live::LiveSettings::new(app.settings.clone());
    {
        let mut conn = app.pool.get().await.expect("conn");
        assert!(other.reload(&mut conn).await.expect("reloads"));
        assert!(!other.reload(&mut conn).await.expect("reloads"), "once");
    }
    assert_eq!(other.get().blog.title, "New Title");
    assert_eq!(other.get().comments.hold_keywords, ["casino", "free money"]);
    assert!(other.get().profile.avatar.is_none());

    // "No avatar": gone from the profile, and the followers told.
    let (_, html) = browser.get("/admin/settings").await;
    assert!(html.contains("id=\"avatar_remove\""), "{html}");
    let response = save(
        &mut browser,
        &form_of(&html, &[("avatar_remove", "1")]),
        &[],
    )
    .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/settings?saved=profile")
    );
    assert!(actor(&app).await["icon"].is_null());
    assert_eq!(queued(&app).await.len(), before.len() + 2);

    // Back to the file's values: its title again, and the profile sent.
    let (_, html) = browser.get("/admin/settings").await;
    let response = save(&mut browser, &form_of(&html, &[("action", "reset")]), &[]).await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/settings?saved=reset")
    );
    let kept = stored_overrides(&app).await;
    assert!(
        kept.as_object()
            .expect("an object")
            .values()
            .all(serde_json::Value::is_null),
        "{kept}"
    );
    assert_eq!(actor(&app).await["name"], "File Title");
    assert_eq!(
        queued(&app).await.last().map(String::as_str),
        Some("Update")
    );
    assert_eq!(queued(&app).await.len(), before.len() + 3);
}
