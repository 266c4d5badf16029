//! The admin UI's sign-in, as a browser meets it: the password set with the
//! CLI, sessions in cookies, forms with tokens, limits on attempts.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::common::{TestApp, run};

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A browser: keeps the cookies it is given and sends them back.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    cookies: BTreeMap<String, String>,
    /// The `Set-Cookie` headers of the last answer.
    set_cookies: Vec<String>,
    /// Sent as `X-Forwarded-For` (the app trusts it when `trust_proxy` is on).
    address: Option<String>,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
            address: None,
        }
    }

    fn from(app: &'a TestApp, address: &str) -> Self {
        Browser {
            address: Some(address.to_string()),
            ..Browser::new(app)
        }
    }

    pub(crate) fn take_cookies(&mut self, response: &reqwest::Response) {
        self.set_cookies = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect();
        for line in &self.set_cookies {
            let Some((name, rest)) = line.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or_default();
            if value.is_empty() || line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub(crate) fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let cookies: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let mut builder = builder.header(COOKIE, cookies.join("; "));
        if let Some(address) = &self.address {
            builder = builder.header("X-Forwarded-For", address);
        }
        builder
    }

    pub(crate) async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let response = self
            .request(self.app.client.get(self.app.url(path)))
            .send()
            .await
            .expect("GET");
        self.take_cookies(&response);
        let status = response.status();
        let location = location(&response);
        let body = response.text().await.expect("body");
        (status, location.unwrap_or(body))
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .request(
                self.app
                    .client
                    .post(self.app.url(path))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body),
            )
            .send()
            .await
            .expect("POST");
        self.take_cookies(&response);
        response
    }

    /// `post` with owned values (forms built per test step).
    pub(crate) async fn post_owned(
        &mut self,
        path: &str,
        form: Vec<(&str, String)>,
    ) -> reqwest::Response {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(path, &pairs).await
    }

    /// A `multipart/form-data` POST, as a form with a file input sends it,
    /// its parts in order.
    pub(crate) async fn post_multipart(
        &mut self,
        path: &str,
        parts: &[Part<'_>],
        accept: &str,
    ) -> reqwest::Response {
        let (content_type, body) = multipart_body(parts);
        let response = self
            .request(
                self.app
                    .client
                    .post(self.app.url(path))
                    .header("Content-Type", content_type)
                    .header("Accept", accept)
                    .body(body),
            )
            .send()
            .await
            .expect("POST");
        self.take_cookies(&response);
        response
    }

    /// The token of the page's form.
    pub(crate) async fn form_token(&mut self, path: &str) -> String {
        let (status, html) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        csrf_of(&html)
    }

    pub(crate) async fn sign_in(&mut self, password: &str) -> reqwest::Response {
        let csrf = self.form_token("/admin/login").await;
        self.post(
            "/admin/login",
            &[("password", password), ("csrf", csrf.as_str())],
        )
        .await
    }
}

/// A `multipart/form-data` body of `parts`, in order, and its content type.
pub(crate) fn multipart_body(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "----fedblog-test-7d1f0c2a";
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                body.extend_from_slice(value.as_bytes());
            }
            Part::File(name, file_name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// A part of a multipart form: a text field, or a file (field, file
/// name, bytes).
pub(crate) enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

pub(crate) fn csrf_of(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let input = scraper::Selector::parse("input[name=csrf]").expect("selector");
    doc.select(&input)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("a form token")
        .to_string()
}

pub(crate) fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub(crate) fn set_password(app: &TestApp, password: &str) -> (i32, String, String) {
    run(
        app.cli().args(["admin", "password"]),
        Some(&format!("{password}\n")),
    )
}

async fn sessions(app: &TestApp) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let c: Count = diesel::sql_query("SELECT count(*) AS n FROM admin_sessions")
        .get_result(&mut conn)
        .await
        .expect("count");
    c.n
}

pub(crate) async fn sql(app: &TestApp, statement: &str) {
    use diesel_async::RunQueryDsl;
    let mut conn = app.pool.get().await.expect("conn");
    diesel::sql_query(statement)
        .execute(&mut conn)
        .await
        .expect(statement);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_signs_in_with_the_password_set_by_the_cli_and_signs_out() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);

    // Signed out, every admin page sends to the sign-in page.
    assert_eq!(
        browser.get("/admin").await,
        (StatusCode::SEE_OTHER, "/admin/login".to_string())
    );
    let (status, html) = browser.get("/admin/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("fedblog admin password"), "{html}");

    // Too short: refused, nothing stored.
    let (code, _, stderr) = set_password(&app, "short");
    assert_ne!(code, 0);
    assert!(stderr.contains("10 characters"), "{stderr}");
    let (_, html) = browser.get("/admin/login").await;
    assert!(html.contains("No admin password is set yet"), "{html}");

    // From a file, then from standard input (the last one counts).
    let file = app.data_dir.path().join("password.txt");
    std::fs::write(&file, "an older password\n").expect("write");
    let (code, stdout, stderr) = run(
        app.cli()
            .args(["admin", "password", "--password-file"])
            .arg(&file),
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("/admin"), "{stdout}");
    let (code, _, stderr) = set_password(&app, PASSWORD);
    assert_eq!(code, 0, "{stderr}");
    let stored = {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::access::password_hash(&mut conn)
            .await
            .expect("read")
            .expect("a hash")
    };
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(PASSWORD));

    // A wrong password stays on the page, with a message, and no session.
    let response = browser.sign_in("an older password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.expect("body");
    assert!(html.contains("That password is not right."), "{html}");
    assert!(!browser.cookies.contains_key("fedblog_session"));
    assert_eq!(sessions(&app).await, 0);

    // The right one: to the dashboard, with a session cookie.
    let response = browser.sign_in(PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).as_deref(), Some("/admin"));
    let session = browser
        .set_cookies
        .iter()
        .find(|c| c.starts_with("fedblog_session="))
        .expect("a session cookie")
        .clone();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/admin"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "http: {session}");
    let (status, html) = browser.get("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Dashboard"), "{html}");
    assert!(html.contains("waiting for approval"), "{html}");
    // Signed in, the sign-in page sends to the dashboard.
    assert_eq!(
        browser.get("/admin/login").await,
        (StatusCode::SEE_OTHER, "/admin".to_string())
    );

    // Signing out needs the page's token, and ends the session for good.
    let old_session = browser.cookies["fedblog_session"].clone();
    let response = browser.post("/admin/logout", &[("csrf", "forged")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let csrf = csrf_of(&html);
    let response = browser.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).as_deref(), Some("/admin/login"));
    assert!(!browser.cookies.contains_key("fedblog_session"));
    browser
        .cookies
        .insert("fedblog_session".into(), old_session);
    assert_eq!(browser.get("/admin").await.0, StatusCode::SEE_OTHER);
    assert_eq!(sessions(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_form_must_come_from_the_same_browser() {
    let app = TestApp::spawn().await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    let mut owner = Browser::new(&app);
    let token = owner.form_token("/admin/login").await;
    // No token, or another browser's token: refused before the password is looked at.
    let mut other = Browser::new(&app);
    other.get("/admin/login").await;
    for form in [
        vec![("password", PASSWORD)],
        vec![("password", PASSWORD), ("csrf", token.as_str())],
    ] {
        let response = other.post("/admin/login", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(sessions(&app).await, 0);
    let response = owner
        .post("/admin/login", &[("password", PASSWORD), ("csrf", &token)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_password_signs_everyone_out_and_sessions_expire() {
    let app = TestApp::spawn().await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    let (mut laptop, mut phone) = (Browser::new(&app), Browser::new(&app));
    for browser in [&mut laptop, &mut phone] {
        assert_eq!(
            browser.sign_in(PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(browser.get("/admin").await.0, StatusCode::OK);
    }
    assert_eq!(set_password(&app, "a brand new password").0, 0);
    for browser in [&mut laptop, &mut phone] {
        assert_eq!(browser.get("/admin").await.0, StatusCode::SEE_OTHER);
        assert_eq!(
            browser.sign_in(PASSWORD).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }

    // Idle for longer than `session_idle_minutes` (480 by default): over.
    assert_eq!(
        laptop.sign_in("a brand new password").await.status(),
        StatusCode::SEE_OTHER
    );
    sql(
        &app,
        "UPDATE admin_sessions SET last_seen_at = now() - interval '481 minutes'",
    )
    .await;
    assert_eq!(laptop.get("/admin").await.0, StatusCode::SEE_OTHER);
    // In use, but signed in more than `session_max_days` (7) ago: over too.
    assert_eq!(
        laptop.sign_in("a brand new password").await.status(),
        StatusCode::SEE_OTHER
    );
    sql(
        &app,
        "UPDATE admin_sessions SET created_at = now() - interval '7 days 1 minute'",
    )
    .await;
    assert_eq!(laptop.get("/admin").await.0, StatusCode::SEE_OTHER);
    // Expired sessions are forgotten at the next sign-in.
    assert_eq!(
        laptop.sign_in("a brand new password").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(sessions(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn attempts_are_limited_and_an_attacker_cannot_lock_the_owner_out() {
    let app = TestApp::spawn_with("[server]\ntrust_proxy = true\n").await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    // The owner signed in once on this laptop, which keeps a device cookie.
    let mut laptop = Browser::from(&app, "127.0.0.1");
    assert_eq!(
        laptop.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(laptop.cookies.contains_key("fedblog_device"));
    let csrf = csrf_of(&laptop.get("/admin").await.1);
    laptop.post("/admin/logout", &[("csrf", &csrf)]).await;

    // One address: 10 attempts per 15 minutes; then 429, even with the
    // right password, with a message and Retry-After.
    let mut guesser = Browser::from(&app, "127.0.0.2");
    for n in 0..10 {
        let status = guesser.sign_in(&format!("guess {n}")).await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let response = guesser.sign_in(PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    let html = response.text().await.expect("body");
    assert!(html.contains("Too many sign-in attempts"), "{html}");

    // Many addresses: 30 attempts in all from browsers that never signed
    // in, then every new browser is held back for the window...
    for n in 3..22 {
        let mut attacker = Browser::from(&app, &format!("127.0.0.{n}"));
        let status = attacker.sign_in("guess").await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "address {n}");
    }
    let mut new_browser = Browser::from(&app, "127.0.0.99");
    assert_eq!(
        new_browser.sign_in(PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // ... but not the owner's laptop, which signed in here before.
    assert_eq!(
        laptop.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(laptop.get("/admin").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn over_https_the_cookies_are_secure() {
    let app = TestApp::spawn_with("[server]\nscheme = \"https\"\n").await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    for name in ["fedblog_session=", "fedblog_device="] {
        let cookie = browser
            .set_cookies
            .iter()
            .find(|c| c.starts_with(name))
            .expect(name);
        assert!(cookie.contains("; Secure"), "{cookie}");
    }
}

/// `http://HOST/users/NAME` follows the blog (its server is a loopback
/// address nothing listens on).
pub(crate) async fn add_follower(app: &TestApp, host: &str, name: &str) {
    sql(
        app,
        &format!(
            "INSERT INTO followers (actor_id, inbox_url, follow_activity_id) VALUES \
             ('http://{host}/users/{name}', 'http://{host}/users/{name}/inbox', \
              'http://{host}/follows/{name}')"
        ),
    )
    .await;
}

/// Activities queued for followers, by type, in order.
pub(crate) async fn queued(app: &TestApp) -> Vec<String> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT a.kind FROM deliveries d JOIN activities a ON a.id = d.activity_id ORDER BY d.id",
    )
    .load(&mut conn)
    .await
    .expect("deliveries");
    rows.into_iter().map(|r| r.kind).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_writes_previews_publishes_edits_and_deletes_a_post() {
    let app = TestApp::spawn().await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    add_follower(&app, "127.0.0.1:9", "reader").await;
    let mut browser = Browser::new(&app);
    // Signed out, the writing pages send to the sign-in page too.
    for path in ["/admin/posts", "/admin/posts/new"] {
        assert_eq!(
            browser.get(path).await,
            (StatusCode::SEE_OTHER, "/admin/login".to_string()),
            "{path}"
        );
    }
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, html) = browser.get("/admin/posts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No posts yet"), "{html}");

    // Preview: rendered as the page renders it, nothing saved.
    let csrf = browser.form_token("/admin/posts/new").await;
    let fields = |action: &'static str, title: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("title", title.to_string()),
            (
                "body",
                "Some **bold** words.\n\n<script>alert(1)</script>".into(),
            ),
            ("summary", String::new()),
            ("tags", "Rust, Meta".into()),
            ("language", String::new()),
            ("action", action.into()),
        ]
    };
    let response = browser
        .post_owned("/admin/posts/new", fields("preview", "Field notes"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("body");
    assert!(html.contains("<strong>bold</strong>"), "{html}");
    assert!(!html.contains("<script>alert"), "the preview is sanitized");
    assert!(
        html.contains("/posts/field-notes"),
        "the address it will get"
    );
    assert_eq!(app.post_count().await, 0);

    // A title left empty: the editor again, with the message at the field.
    let response = browser
        .post_owned("/admin/posts/new", fields("draft", " "))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("body");
    assert!(html.contains("The title must not be empty"), "{html}");
    assert!(
        html.contains("Some **bold** words."),
        "what was typed stays"
    );
    assert_eq!(app.post_count().await, 0);

    // Without the page's token: 403, nothing saved.
    let mut forged = fields("draft", "Field notes");
    forged[0].1 = "forged".into();
    let response = browser.post_owned("/admin/posts/new", forged).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.post_count().await, 0);

    // A draft: saved, not public, not federated.
    let response = browser
        .post_owned("/admin/posts/new", fields("draft", "Field notes"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/posts/field-notes/edit?saved=draft")
    );
    let (_, html) = browser
        .get("/admin/posts/field-notes/edit?saved=draft")
        .await;
    assert!(html.contains("Saved as a draft"), "{html}");
    assert!(html.contains("Rust, Meta"), "{html}");
    assert_eq!(
        app.get("/posts/field-notes").await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(queued(&app).await.is_empty());

    // Publish from the editor: public, and a Create goes to the follower.
    let csrf = csrf_of(&html);
    let mut publish = fields("publish", "Field notes");
    publish[0].1 = csrf.clone();
    let response = browser
        .post_owned("/admin/posts/field-notes/edit", publish)
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/posts/field-notes/edit?saved=published")
    );
    assert_eq!(app.get("/posts/field-notes").await.status(), StatusCode::OK);
    assert_eq!(queued(&app).await, ["Create"]);

    // An edit of a published post (a new title): saved, the old address
    // redirects, and an Update goes out.
    let mut retitle = fields("save", "Field notes, revised");
    retitle[0].1 = csrf.clone();
    let response = browser
        .post_owned("/admin/posts/field-notes/edit", retitle)
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/posts/field-notes-revised/edit?saved=updated")
    );
    assert_eq!(queued(&app).await, ["Create", "Update"]);
    let page = app
        .get("/posts/field-notes-revised")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Field notes, revised"), "{page}");

    // The list: searched by title, filtered by status.
    let (_, html) = browser.get("/admin/posts?q=REVISED").await;
    assert!(html.contains("Field notes, revised"), "{html}");
    let (_, html) = browser.get("/admin/posts?q=nothing+like+it").await;
    assert!(html.contains("No post matches"), "{html}");
    let (_, html) = browser.get("/admin/posts?status=draft").await;
    assert!(html.contains("No post matches"), "{html}");
    assert_eq!(
        browser.get("/admin/posts?status=bogus").await.0,
        StatusCode::BAD_REQUEST
    );

    // Delete: asked first; then 410, and a Delete goes out.
    let (status, html) = browser.get("/admin/posts/field-notes-revised/delete").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("This cannot be undone"), "{html}");
    let csrf = csrf_of(&html);
    let response = browser
        .post(
            "/admin/posts/field-notes-revised/delete",
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/posts/field-notes-revised").await.status(),
        StatusCode::OK
    );
    let response = browser
        .post(
            "/admin/posts/field-notes-revised/delete",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser
        .get(&location(&response).expect("to the list"))
        .await;
    assert!(html.contains("Deleted “Field notes, revised”"), "{html}");
    assert_eq!(
        app.get("/posts/field-notes-revised").await.status(),
        StatusCode::GONE
    );
    assert_eq!(queued(&app).await, ["Create", "Update", "Delete"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_is_scheduled_and_published_when_its_time_comes() {
    let app = TestApp::spawn().await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    add_follower(&app, "127.0.0.1:9", "reader").await;
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let csrf = browser.form_token("/admin/posts/new").await;
    let when = |hours: i64| {
        (chrono::Utc::now() + chrono::Duration::hours(hours))
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let form = |title: &str, publish_at: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("title", title.to_string()),
            ("body", "Later.".to_string()),
            ("publish_at", publish_at.to_string()),
            ("action", "schedule".to_string()),
        ]
    };

    // In the past, or not a time: refused at the field, nothing created.
    for bad in [when(-1), "tomorrow".to_string()] {
        let response = browser
            .post_owned("/admin/posts/new", form("Too late", &bad))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let html = response.text().await.expect("body");
        assert!(html.contains("publish_at-error"), "{html}");
    }
    assert_eq!(app.post_count().await, 0);

    // Tomorrow: a draft, scheduled, nothing public or federated yet.
    let response = browser
        .post_owned("/admin/posts/new", form("Next week", &when(24)))
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/posts/next-week/edit?saved=scheduled")
    );
    let (_, html) = browser
        .get("/admin/posts/next-week/edit?saved=scheduled")
        .await;
    assert!(html.contains("Scheduled for"), "{html}");
    let (_, html) = browser.get("/admin/posts").await;
    assert!(html.contains("scheduled for"), "{html}");
    assert_eq!(
        app.get("/posts/next-week").await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(queued(&app).await.is_empty());

    // Not yet due: the job publishes nothing.
    let publish_due = async || {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::posts::publish_due(&mut conn, &app.settings)
            .await
            .expect("the publishing job")
    };
    assert_eq!(publish_due().await, 0);
    // Its time comes: published, its Create goes out, once.
    sql(
        &app,
        "UPDATE posts SET publish_at = now() - interval '1 second'",
    )
    .await;
    assert_eq!(publish_due().await, 1);
    assert_eq!(publish_due().await, 0);
    assert_eq!(app.get("/posts/next-week").await.status(), StatusCode::OK);
    assert_eq!(queued(&app).await, ["Create"]);

    // Another draft scheduled, then taken off the schedule: it stays a draft.
    let response = browser
        .post_owned("/admin/posts/new", form("Maybe later", &when(48)))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let csrf = browser.form_token("/admin/posts/maybe-later/edit").await;
    let response = browser
        .post(
            "/admin/posts/maybe-later/edit",
            &[
                ("csrf", csrf.as_str()),
                ("title", "Maybe later"),
                ("body", "Later."),
                ("action", "unschedule"),
            ],
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/posts/maybe-later/edit?saved=unscheduled")
    );
    sql(
        &app,
        "UPDATE posts SET publish_at = now() - interval '1 second' WHERE publish_at IS NOT NULL",
    )
    .await;
    assert_eq!(publish_due().await, 0);
    assert_eq!(
        app.get("/posts/maybe-later").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_moderates_answers_and_blocks_from_the_comments_page() {
    let app = TestApp::spawn().await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    app.publish_simple("Open thread", &[]).await;
    let insert = |id: i64, author: &str, state: &str, text: &str| {
        format!(
            "INSERT INTO comments (ap_id, post_id, in_reply_to, author_ap_id, author_name, \
             content_html, visibility, state, published_at, origin, moderation_note) \
             SELECT 'http://127.0.0.1:9/notes/{id}', id, ap_id, '{author}', 'Someone {id}', \
             '<p>{text}</p>', 'public', '{state}', now() - interval '{id} minutes', 'remote', \
             CASE WHEN '{state}' = 'pending' THEN 'first comment from this account' END \
             FROM posts WHERE slug = 'open-thread'"
        )
    };
    sql(
        &app,
        &insert(1, "http://127.0.0.1:9/users/alice", "pending", "Nice post!"),
    )
    .await;
    sql(
        &app,
        &insert(
            2,
            "http://127.0.0.1:9/users/bob",
            "pending",
            "Buy cheap pills",
        ),
    )
    .await;
    sql(
        &app,
        &insert(3, "http://127.0.0.2:9/users/carol", "approved", "Thanks"),
    )
    .await;
    let id_of = async |n: i64| -> i64 {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        let mut conn = app.pool.get().await.expect("conn");
        diesel::sql_query(format!(
            "SELECT id FROM comments WHERE ap_id = 'http://127.0.0.1:9/notes/{n}'"
        ))
        .get_result::<Id>(&mut conn)
        .await
        .expect("comment")
        .id
    };
    let (alice, bob, carol) = (id_of(1).await, id_of(2).await, id_of(3).await);

    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.get("/admin/comments").await,
        (StatusCode::SEE_OTHER, "/admin/login".to_string())
    );
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    // Held ones first: who, from which server, under which post, and why.
    let (status, html) = browser.get("/admin/comments").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "Someone 1",
        "Someone 2",
        "127.0.0.1:9",
        "Open thread",
        "Held because: first comment from this account",
        "Nice post!",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(
        !html.contains("Someone 3"),
        "approved ones are not in the queue"
    );
    let csrf = csrf_of(&html);

    // Approve Alice's; reject Bob's as spam; a forged form does nothing.
    let response = browser
        .post(
            &format!("/admin/comments/{alice}/approve"),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let back = "/admin/comments?state=pending&post=&page=1";
    let response = browser
        .post(
            &format!("/admin/comments/{alice}/approve"),
            &[("csrf", &csrf), ("back", back)],
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/comments?state=pending&post=&page=1&done=approve")
    );
    browser
        .post(&format!("/admin/comments/{bob}/reject"), &[("csrf", &csrf)])
        .await;
    let page = app
        .get("/posts/open-thread")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Nice post!"), "approved: shown");
    assert!(!page.contains("Buy cheap pills"), "rejected: hidden");
    let (_, html) = browser.get("/admin/comments").await;
    assert!(html.contains("Nothing waits for you."), "{html}");

    // Answer Carol as the blog: the answer is under her comment on the page.
    let response = browser
        .post(
            &format!("/admin/comments/{carol}/reply"),
            &[("csrf", &csrf), ("text", "You are *welcome*.")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app
        .get("/posts/open-thread")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("<em>welcome</em>"), "{page}");
    // An empty answer is refused, and nothing is stored.
    let response = browser
        .post(
            &format!("/admin/comments/{carol}/reply"),
            &[("csrf", &csrf), ("text", "   ")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Block Carol's server from her comment: her comment is hidden.
    let response = browser
        .post(
            &format!("/admin/comments/{carol}/block-server"),
            &[("csrf", &csrf), ("back", "https://elsewhere.example/")],
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/comments?done=block-server"),
        "only a listing of this page is a place to come back to"
    );
    let (_, html) = browser.get("/admin/comments?done=block-server").await;
    assert!(html.contains("The server is blocked"), "{html}");
    let page = app
        .get("/posts/open-thread")
        .await
        .text()
        .await
        .expect("page");
    assert!(
        !page.contains("Thanks"),
        "a blocked server's comment is hidden"
    );
    let blocks = app.api_get("/blocks").await;
    assert_eq!(blocks["blocks"][0]["value"], "127.0.0.2");
    assert_eq!(blocks["blocks"][0]["kind"], "domain");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_sees_and_removes_followers() {
    let app = TestApp::spawn().await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    add_follower(&app, "127.0.0.1:9", "f1").await;
    add_follower(&app, "127.0.0.2:9", "f2").await;
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.get("/admin/followers").await,
        (StatusCode::SEE_OTHER, "/admin/login".to_string())
    );
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, html) = browser.get("/admin/followers").await;
    assert_eq!(status, StatusCode::OK);
    for expected in ["http://127.0.0.1:9/users/f1", "127.0.0.2:9", "2 followers"] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    let csrf = csrf_of(&html);
    let actor = "http://127.0.0.2:9/users/f2";
    let response = browser
        .post(
            "/admin/followers/remove",
            &[("csrf", "forged"), ("actor", actor)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = browser
        .post(
            "/admin/followers/remove",
            &[("csrf", &csrf), ("actor", actor)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.get(&location(&response).expect("back")).await;
    assert!(
        html.contains("Removed http://127.0.0.2:9/users/f2"),
        "{html}"
    );
    assert!(html.contains("1 follower"), "{html}");
    // Their server is told, with a Reject of their Follow.
    assert_eq!(queued(&app).await, ["Reject"]);
    // Removing someone who does not follow: 404.
    let response = browser
        .post(
            "/admin/followers/remove",
            &[("csrf", &csrf), ("actor", actor)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_sees_what_did_not_arrive_and_retries_it() {
    let app = TestApp::spawn().await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    {
        let mut conn = app.pool.get().await.expect("conn");
        let activity = serde_json::json!({"id": app.url("/activities/1"), "type": "Create"});
        fedblog::delivery::enqueue(
            &mut conn,
            &activity,
            &[
                "http://127.0.0.1:9/inbox".to_string(),
                "http://127.0.0.2:9/inbox".to_string(),
            ],
        )
        .await
        .expect("queued");
    }
    sql(
        &app,
        "UPDATE deliveries SET attempts = 3, last_error = 'connection refused', \
         next_attempt_at = now() + interval '1 hour' WHERE instance = '127.0.0.1:9'",
    )
    .await;
    sql(
        &app,
        "UPDATE deliveries SET gave_up_at = now(), last_error = 'HTTP 410' WHERE instance = '127.0.0.2:9'",
    )
    .await;
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.get("/admin/deliveries").await,
        (StatusCode::SEE_OTHER, "/admin/login".to_string())
    );
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, html) = browser.get("/admin/deliveries").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "127.0.0.1:9",
        "127.0.0.2:9",
        "connection refused",
        "HTTP 410",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    let csrf = csrf_of(&html);
    let response = browser
        .post(
            "/admin/deliveries/retry",
            &[("csrf", "forged"), ("instance", "127.0.0.2:9")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // One server: its given-up delivery is due again, the other is untouched.
    let response = browser
        .post(
            "/admin/deliveries/retry",
            &[("csrf", &csrf), ("instance", "127.0.0.2:9")],
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/deliveries?retried=1")
    );
    let given_up = app.api_get("/deliveries?state=given-up").await;
    assert_eq!(given_up["total"], 0, "the given-up delivery is due again");
    let unfinished = app.api_get("/deliveries?state=unfinished").await;
    assert_eq!(unfinished["total"], 2, "{unfinished}");
    let (_, html) = browser.get("/admin/deliveries?retried=1").await;
    assert!(
        html.contains("1 delivery will be tried again now."),
        "{html}"
    );
    // Every server.
    let response = browser
        .post("/admin/deliveries/retry", &[("csrf", &csrf)])
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/deliveries?retried=2")
    );
}
