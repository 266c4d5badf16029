//! Readers' comments through the form under a post: the form and its CSRF
//! token, the honeypot, the rate limit, validation, threading, and how the
//! comments section shows each kind of comment.

use fedblog::models::comment::{self, Comment, ListFilter};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

use crate::common::{TestApp, attrs, html, texts};

/// A browser: keeps the form cookie the blog sets, like a real one.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
    /// Sent as `X-Forwarded-For`, if set.
    forwarded_for: Option<String>,
}

pub(crate) struct Sent {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookie: None,
            forwarded_for: None,
        }
    }

    fn keep_cookie(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let value = value.to_str().expect("ASCII cookie");
            let pair = value.split(';').next().expect("name=value");
            if pair.starts_with("fedblog_form=") {
                self.cookie = Some(pair.to_string());
            }
        }
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let request = match &self.forwarded_for {
            Some(ip) => request.header("x-forwarded-for", ip),
            None => request,
        };
        match &self.cookie {
            Some(cookie) => request.header(header::COOKIE, cookie),
            None => request,
        }
    }

    async fn open(&mut self, path: &str) -> Sent {
        let response = self
            .with_cookie(self.app.client.get(self.app.url(path)))
            .send()
            .await
            .expect("GET");
        self.finish(response).await
    }

    async fn post(&mut self, slug: &str, fields: &[(&str, &str)]) -> Sent {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.post_raw(slug, body).await
    }

    async fn post_raw(&mut self, slug: &str, body: String) -> Sent {
        let response = self
            .with_cookie(
                self.app
                    .client
                    .post(self.app.url(&format!("/posts/{slug}/comments")))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body),
            )
            .send()
            .await
            .expect("POST");
        self.finish(response).await
    }

    async fn finish(&mut self, response: reqwest::Response) -> Sent {
        let status = response.status();
        let headers = response.headers().clone();
        self.keep_cookie(&headers);
        let body = response.text().await.expect("body");
        Sent {
            status,
            headers,
            body,
        }
    }

    /// Opens the post page (or `?query`) and returns the form's hidden fields.
    async fn form(&mut self, path: &str) -> Vec<(String, String)> {
        let page = self.open(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        hidden_fields(&page.body)
    }

    /// Opens the post's page and sends the form filled with `fields`.
    pub(crate) async fn comment(&mut self, slug: &str, fields: &[(&str, &str)]) -> Sent {
        let hidden = self.form(&format!("/posts/{slug}")).await;
        let mut all: Vec<(&str, &str)> = hidden
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(fields);
        self.post(slug, &all).await
    }
}

fn hidden_fields(body: &str) -> Vec<(String, String)> {
    let doc = html(body);
    let selector = scraper::Selector::parse("#comment-form input[type=hidden]").expect("selector");
    doc.select(&selector)
        .map(|e| {
            (
                e.value().attr("name").expect("name").to_string(),
                e.value().attr("value").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn location(sent: &Sent) -> String {
    sent.headers
        .get(header::LOCATION)
        .expect("Location")
        .to_str()
        .expect("ASCII")
        .to_string()
}

pub(crate) async fn stored(app: &TestApp) -> Vec<Comment> {
    let mut conn = app.pool.get().await.expect("conn");
    comment::list(&mut conn, &ListFilter::default(), 100, 0)
        .await
        .expect("comments")
}

async fn publish(app: &TestApp, title: &str) -> String {
    let post = app.publish_simple(title, &[]).await;
    post["slug"].as_str().expect("slug").to_string()
}

const APPROVE_ALL: &str = "[comments]\nreader_policy = \"approve_all\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_form_is_under_the_post_with_a_token_and_a_cookie() {
    let app = TestApp::spawn().await;
    let slug = publish(&app, "Say something").await;
    let mut browser = Browser::new(&app);

    let page = browser.open(&format!("/posts/{slug}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let set_cookie = page
        .headers
        .get(header::SET_COOKIE)
        .expect("a form cookie")
        .to_str()
        .expect("ASCII");
    assert!(set_cookie.starts_with("fedblog_form="), "{set_cookie}");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(part), "{part} in {set_cookie}");
    }
    assert_eq!(
        page.headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"private, no-cache"[..]),
        "a page with a browser's token is not for shared caches"
    );
    let doc = html(&page.body);
    assert_eq!(
        attrs(&doc, "form#comment-form", "action"),
        [app.url(&format!("/posts/{slug}/comments"))]
    );
    assert_eq!(
        attrs(&doc, "form#comment-form", "method"),
        ["post"],
        "a plain HTML form"
    );
    let token = field(&hidden_fields(&page.body), "token")
        .expect("token")
        .to_string();
    assert!(token.len() > 60, "{token}");
    for name in ["name", "website", "comment", "subject"] {
        assert_eq!(
            attrs(&doc, &format!("#comment-form [name={name}]"), "name").len(),
            1,
            "{name}"
        );
    }
    assert_eq!(
        attrs(&doc, "#comment-form [name=subject]", "tabindex"),
        ["-1"]
    );
    assert_eq!(
        attrs(&doc, "#comment-form [name=subject]", "autocomplete"),
        ["off"]
    );
    assert_eq!(
        texts(&doc, "label[for=comment-subject]"),
        ["Leave this empty"]
    );
    assert!(
        texts(&doc, "#comment-body-help")[0].contains("Markdown"),
        "the field says what it takes"
    );
    assert!(texts(&doc, ".comments-empty")[0].contains("form"));

    // The browser keeps its cookie: the next page sets none.
    let again = browser.open(&format!("/posts/{slug}")).await;
    assert!(again.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_comment_is_held_by_default_and_not_shown() {
    let app = TestApp::spawn().await;
    let slug = publish(&app, "Held").await;
    let mut browser = Browser::new(&app);

    let sent = browser
        .comment(
            &slug,
            &[
                ("name", "Ada"),
                ("website", ""),
                ("comment", "First *thought*."),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&sent),
        app.url(&format!("/posts/{slug}?comment=held#comment-form"))
    );
    let rows = stored(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state.as_str(), "pending");
    assert_eq!(rows[0].origin.as_str(), "reader");
    assert_eq!(rows[0].author_name.as_deref(), Some("Ada"));
    assert_eq!(rows[0].source.as_deref(), Some("First *thought*."));

    let page = browser.open(&format!("/posts/{slug}?comment=held")).await;
    let doc = html(&page.body);
    assert_eq!(
        texts(&doc, ".form-notice"),
        [
            "Thanks — your comment is waiting for approval. It appears here once the author has approved it."
        ]
    );
    assert!(texts(&doc, ".comment").is_empty(), "held: not shown");
    assert!(!page.body.contains("First"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_comment_shows_under_the_readers_name_and_website() {
    let app = TestApp::spawn_with(APPROVE_ALL).await;
    let slug = publish(&app, "Open").await;
    let mut browser = Browser::new(&app);

    let sent = browser
        .comment(
            &slug,
            &[
                ("name", "Åsa Läsare"),
                ("website", "http://www.tjäna.se"),
                ("comment", "Hej!"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let rows = stored(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state.as_str(), "approved");
    assert_eq!(
        location(&sent),
        app.url(&format!("/posts/{slug}#comment-{}", rows[0].id))
    );

    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    let id = rows[0].id;
    let card = format!("#comment-{id}");
    assert_eq!(
        texts(&doc, &format!("{card} .comment-author")),
        ["Åsa Läsare"]
    );
    assert_eq!(texts(&doc, &format!("{card} .comment-avatar")), ["ÅL"]);
    assert_eq!(
        texts(&doc, &format!("{card} .comment-website")),
        ["www.tjäna.se"]
    );
    assert_eq!(
        attrs(&doc, &format!("{card} a.comment-author"), "href"),
        ["http://www.xn--tjna-moa.se/"]
    );
    assert_eq!(
        attrs(&doc, &format!("{card} a.comment-author"), "rel"),
        ["nofollow noopener noreferrer ugc"]
    );
    assert_eq!(
        attrs(&doc, &format!("{card} a.comment-time"), "href"),
        [format!("#comment-{id}")]
    );
    assert!(texts(&doc, &format!("{card} .comment-badge")).is_empty());
    assert!(texts(&doc, &format!("{card} .comment-handle")).is_empty());
    assert_eq!(texts(&doc, &format!("{card} .comment-body")), ["Hej!"]);

    // Without a website, the name is not a link.
    browser
        .comment(&slug, &[("name", "Bo"), ("comment", "Tack.")])
        .await;
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    assert_eq!(texts(&doc, "span.comment-author"), ["Bo"]);
    assert_eq!(texts(&doc, "a.comment-author"), ["Åsa Läsare"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_comes_back_with_the_error_and_nothing_is_stored() {
    let app = TestApp::spawn_with(APPROVE_ALL).await;
    let slug = publish(&app, "Careful").await;
    let mut browser = Browser::new(&app);
    let long = "x".repeat(5001);
    let cases: [(&str, &str, &str, &str); 4] = [
        ("Eve", "javascript:alert(1)", "Hi", "http:// or https://"),
        ("Eve", "data:text/html,x", "Hi", "http:// or https://"),
        ("  ", "", "Hi", "Your name is required"),
        ("Eve", "", &long, "at most 5000 characters"),
    ];
    for (name, website, text, expected) in cases {
        let sent = browser
            .comment(
                &slug,
                &[("name", name), ("website", website), ("comment", text)],
            )
            .await;
        assert_eq!(sent.status, StatusCode::UNPROCESSABLE_ENTITY, "{website}");
        let doc = html(&sent.body);
        let error = texts(&doc, "#comment-form .form-error");
        assert_eq!(error.len(), 1, "{website}");
        assert!(error[0].contains(expected), "{error:?}");
        assert_eq!(attrs(&doc, "#comment-name", "value"), [name]);
        assert_eq!(attrs(&doc, "#comment-website", "value"), [website]);
        assert_eq!(texts(&doc, "#comment-body"), [text]);
        assert_eq!(texts(&doc, "h1.post-title"), ["Careful"], "the post page");
        assert!(
            field(&hidden_fields(&sent.body), "token").is_some(),
            "a fresh token to send again"
        );
    }
    let sent = browser
        .comment(
            &slug,
            &[("name", "Eve"), ("website", "javascript:alert(1)")],
        )
        .await;
    assert_eq!(
        attrs(&html(&sent.body), "#comment-website", "aria-invalid"),
        ["true"],
        "the field at fault is marked"
    );
    assert!(attrs(&html(&sent.body), "#comment-name", "aria-invalid").is_empty());
    assert!(stored(&app).await.is_empty());
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    assert!(!page.contains("javascript:alert"));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_valid_token_the_form_is_refused() {
    let app = TestApp::spawn_with(APPROVE_ALL).await;
    let slug = publish(&app, "Guarded").await;
    let fields = [("name", "Mallory"), ("comment", "Forged")];

    // No token at all.
    let mut browser = Browser::new(&app);
    let hidden = browser.form(&format!("/posts/{slug}")).await;
    assert!(field(&hidden, "token").is_some());
    let sent = browser.post(&slug, &fields).await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);
    let doc = html(&sent.body);
    assert!(texts(&doc, ".error-message")[0].contains("reload the post's page"));

    // A made-up token.
    let now = chrono::Utc::now().timestamp();
    let forged = format!("{now}-{}", "ab".repeat(32));
    let sent = browser
        .post(&slug, &[("token", &forged), fields[0], fields[1]])
        .await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);

    // A real token, but sent without the cookie it was made for.
    let token = field(&hidden, "token").expect("token").to_string();
    let mut cookieless = Browser::new(&app);
    let sent = cookieless
        .post(&slug, &[("token", &token), fields[0], fields[1]])
        .await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);

    // A real token from another browser, sent with this browser's cookie.
    let mut other = Browser::new(&app);
    let other_token = field(&other.form(&format!("/posts/{slug}")).await, "token")
        .expect("token")
        .to_string();
    assert_ne!(other.cookie, browser.cookie);
    let sent = browser
        .post(&slug, &[("token", &other_token), fields[0], fields[1]])
        .await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);

    // A token for another post.
    let elsewhere = publish(&app, "Elsewhere").await;
    let sent = browser
        .post(&elsewhere, &[("token", &token), fields[0], fields[1]])
        .await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);

    assert!(stored(&app).await.is_empty());

    // The browser's own token works.
    let sent = browser
        .post(&slug, &[("token", &token), fields[0], fields[1]])
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(stored(&app).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filled_honeypot_looks_accepted_but_stores_nothing() {
    let app = TestApp::spawn_with(APPROVE_ALL).await;
    let slug = publish(&app, "Sweet").await;
    let mut browser = Browser::new(&app);
    let sent = browser
        .comment(
            &slug,
            &[
                ("name", "Bot"),
                ("comment", "Buy now"),
                ("subject", "cheap pills"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&sent),
        app.url(&format!("/posts/{slug}?comment=held#comment-form"))
    );
    assert!(stored(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_comments_from_one_address_get_429_with_retry_after() {
    let app =
        TestApp::spawn_with("[comments]\nreader_rate_limit = 2\nreader_rate_window_minutes = 10\n")
            .await;
    let slug = publish(&app, "Busy").await;
    let mut browser = Browser::new(&app);
    let fields = [("name", "Chatty"), ("comment", "Again")];
    for _ in 0..2 {
        let sent = browser.comment(&slug, &fields).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER);
    }
    let sent = browser.comment(&slug, &fields).await;
    assert_eq!(sent.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = sent
        .headers
        .get(header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("seconds");
    assert!((540..=600).contains(&retry), "{retry}");
    assert!(texts(&html(&sent.body), ".error-title")[0].contains("Too many"));
    assert_eq!(stored(&app).await.len(), 2);

    // Another browser from the same address is the same client; a forged
    // X-Forwarded-For does not help when the proxy is not trusted.
    let mut other = Browser::new(&app);
    other.forwarded_for = Some("203.0.113.50".into());
    let sent = other.comment(&slug, &fields).await;
    assert_eq!(sent.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(stored(&app).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let app =
        TestApp::spawn_with("[server]\ntrust_proxy = true\n[comments]\nreader_rate_limit = 1\n")
            .await;
    let slug = publish(&app, "Proxied").await;
    let fields = [("name", "Behind"), ("comment", "Proxy")];
    let mut first = Browser::new(&app);
    first.forwarded_for = Some("203.0.113.1".into());
    assert_eq!(
        first.comment(&slug, &fields).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        first.comment(&slug, &fields).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let mut second = Browser::new(&app);
    second.forwarded_for = Some("203.0.113.2".into());
    assert_eq!(
        second.comment(&slug, &fields).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_to_a_comment_threads_under_it() {
    let app = TestApp::spawn_with(APPROVE_ALL).await;
    let slug = publish(&app, "Threads").await;
    let mut browser = Browser::new(&app);
    browser
        .comment(&slug, &[("name", "Ada"), ("comment", "Top level")])
        .await;
    let parent = stored(&app).await[0].id;

    let page = browser.open(&format!("/posts/{slug}")).await;
    let reply_link = attrs(
        &html(&page.body),
        &format!("#comment-{parent} a.comment-reply-link"),
        "href",
    );
    assert_eq!(
        reply_link,
        [app.url(&format!("/posts/{slug}?reply_to={parent}#comment-form"))]
    );

    let page = browser
        .open(&format!("/posts/{slug}?reply_to={parent}"))
        .await;
    let doc = html(&page.body);
    assert!(texts(&doc, ".comment-form-replying")[0].starts_with("Replying to Ada"));
    let hidden = hidden_fields(&page.body);
    assert_eq!(field(&hidden, "parent"), Some(parent.to_string().as_str()));
    let mut all: Vec<(&str, &str)> = hidden
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend([("name", "Bo"), ("comment", "An answer")]);
    let sent = browser.post(&slug, &all).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);

    let rows = stored(&app).await;
    let answer = rows.iter().find(|c| c.id != parent).expect("the answer");
    assert_eq!(answer.parent_id, Some(parent));
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    assert_eq!(
        attrs(&doc, "li.comment", "id"),
        [
            format!("comment-{parent}"),
            format!("comment-{}", answer.id)
        ]
    );
    assert_eq!(
        attrs(&doc, "li.comment", "class"),
        ["comment depth-0", "comment depth-1"]
    );

    // An unknown reply_to is ignored: a plain form for the post.
    let page = browser
        .open(&format!("/posts/{slug}?reply_to=999999"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(field(&hidden_fields(&page.body), "parent").is_none());
    assert!(texts(&html(&page.body), ".comment-form-replying").is_empty());

    // A parent that is not under this post is refused, nothing stored.
    let token = field(&hidden_fields(&page.body), "token")
        .expect("token")
        .to_string();
    let sent = browser
        .post(
            &slug,
            &[
                ("token", &token),
                ("parent", "999999"),
                ("name", "Cy"),
                ("comment", "Lost"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html(&sent.body), ".form-error")[0].contains("no longer shown"));
    assert_eq!(stored(&app).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_text_is_escaped_on_the_page() {
    let app = TestApp::spawn_with(APPROVE_ALL).await;
    let slug = publish(&app, "Escapes").await;
    let mut browser = Browser::new(&app);
    let sent = browser
        .comment(
            &slug,
            &[
                ("name", "<script>alert(1)</script>"),
                ("website", "https://example.org/\"><script>x</script>"),
                (
                    "comment",
                    "<script>alert(2)</script> <img src=x onerror=alert(3)>",
                ),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    let list: String = {
        let selector = scraper::Selector::parse(".comment-list").expect("css");
        doc.select(&selector).map(|e| e.html()).collect()
    };
    assert!(!list.is_empty());
    for bad in ["<script", "<img", "onerror=\""] {
        assert!(!list.contains(bad), "{bad} in {list}");
    }
    assert_eq!(
        texts(&doc, ".comment-author"),
        ["<script>alert(1)</script>"]
    );
    assert!(texts(&doc, ".comment-body")[0].contains("<img src=x onerror=alert(3)>"));

    // ...and in the form when it comes back with an error.
    let sent = browser
        .comment(
            &slug,
            &[
                ("name", "\"><script>alert(4)</script>"),
                ("website", "javascript:alert(5)"),
                ("comment", "</textarea><script>alert(6)</script>"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!sent.body.contains("<script>alert("), "escaped");
    let doc = html(&sent.body);
    assert_eq!(
        texts(&doc, "#comment-body"),
        ["</textarea><script>alert(6)</script>"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_form_gets_413() {
    let app = TestApp::spawn().await;
    let slug = publish(&app, "Big").await;
    let mut browser = Browser::new(&app);
    let hidden = browser.form(&format!("/posts/{slug}")).await;
    let token = field(&hidden, "token").expect("token");
    let body = format!("token={token}&name=Big&comment={}", "a".repeat(70 * 1024));
    let sent = browser.post_raw(&slug, body).await;
    assert_eq!(sent.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(texts(&html(&sent.body), ".error-title")[0].contains("Too long"));
    assert!(stored(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_reader_comments_off_there_is_no_form() {
    let app = TestApp::spawn_with("[comments]\nreader_comments = false\n").await;
    let slug = publish(&app, "Closed").await;
    let mut browser = Browser::new(&app);
    let page = browser.open(&format!("/posts/{slug}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers.get(header::SET_COOKIE).is_none());
    let doc = html(&page.body);
    assert!(attrs(&doc, "#comment-form", "id").is_empty());
    assert!(!texts(&doc, ".comments-empty")[0].contains("form"));
    let sent = browser
        .post(&slug, &[("name", "Ada"), ("comment", "Hello?")])
        .await;
    assert_eq!(sent.status, StatusCode::NOT_FOUND);
    assert!(stored(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_authors_answers_carry_a_badge_and_local_comments_their_likes() {
    let app = TestApp::spawn_with(APPROVE_ALL).await;
    let slug = publish(&app, "Badge").await;
    let mut browser = Browser::new(&app);
    browser
        .comment(&slug, &[("name", "Ada"), ("comment", "Question?")])
        .await;
    let question = stored(&app).await[0].clone();
    let answer = {
        let mut conn = app.pool.get().await.expect("conn");
        fedblog::comments::reply_as_author(
            &mut conn,
            &app.settings,
            fedblog::comments::Target::Comment(question.id),
            "Answer.",
        )
        .await
        .expect("answer")
    };
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.pool.get().await.expect("conn");
        diesel::sql_query(
            "INSERT INTO reactions (activity_ap_id, actor_ap_id, kind, post_id, comment_id) \
             VALUES ('https://remote.example/likes/1', 'https://remote.example/users/z', 'like', $1, $2)",
        )
        .bind::<diesel::sql_types::BigInt, _>(question.post_id)
        .bind::<diesel::sql_types::BigInt, _>(question.id)
        .execute(&mut conn)
        .await
        .expect("a like");
    }
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    let answer_card = format!("#comment-{} article", answer.id);
    assert_eq!(
        attrs(&doc, &answer_card, "class"),
        ["comment-card comment-by-author"]
    );
    assert_eq!(
        texts(&doc, &format!("{answer_card} .comment-badge")),
        ["Author"]
    );
    assert_eq!(
        texts(&doc, &format!("#comment-{} .comment-likes", question.id)),
        ["♥ 1 like"]
    );
    assert!(texts(&doc, &format!("#comment-{} .comment-likes", answer.id)).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_form_secret_is_made_once_and_outlives_a_restart() {
    use diesel_async::RunQueryDsl;
    use fedblog::state::form_secret::FormSecret;
    use fedblog::web::csrf::BrowserId;
    let app = TestApp::spawn().await;
    let browser = BrowserId::generate();
    let browser = browser.as_str();
    let now = chrono::Utc::now();
    let restarted = fedblog::state::AppState::load(app.settings.clone(), app.pool.clone())
        .await
        .expect("state");
    let before = FormSecret::load_or_create(&mut app.pool.get().await.expect("conn"))
        .await
        .expect("secret");
    let token = before.issue(browser, 1, now);
    assert!(restarted.form_secret.verify(&token, browser, 1, now));

    // Two processes starting at once on an empty table agree on one secret.
    diesel::sql_query("DELETE FROM instance_settings WHERE key = 'comment_form_secret'")
        .execute(&mut app.pool.get().await.expect("conn"))
        .await
        .expect("delete");
    // (Each its own task: one task never holds two connections.)
    let start = || {
        let pool = app.pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.get().await.expect("conn");
            FormSecret::load_or_create(&mut conn).await.expect("secret")
        })
    };
    let (one, two) = tokio::join!(start(), start());
    let (one, two) = (one.expect("one"), two.expect("two"));
    let token = one.issue(browser, 1, now);
    assert!(two.verify(&token, browser, 1, now));
    assert!(!before.verify(&token, browser, 1, now), "a new secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_comment_approved_with_the_cli_is_shown_and_served_as_a_note() {
    let app = TestApp::spawn().await;
    let slug = publish(&app, "Moderated by hand").await;
    let mut browser = Browser::new(&app);
    let sent = browser
        .comment(
            &slug,
            &[
                ("name", "Åsa"),
                ("website", "tjäna.se"),
                ("comment", "Held until *approved*."),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert!(
        location(&sent).contains("comment=held"),
        "{}",
        location(&sent)
    );
    let id = stored(&app).await[0].id;

    let (code, out, err) = crate::common::run(app.cli().args(["comment", "list"]), None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Åsa <tjäna.se> (reader)"), "{out}");
    let (code, out, err) = crate::common::run(
        app.cli().args(["comment", "approve", &id.to_string()]),
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("approved: comment"), "{out}");

    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    assert_eq!(
        texts(&doc, &format!("#comment-{id} .comment-author")),
        ["Åsa"]
    );
    assert!(body.contains("Held until <em>approved</em>."));
    let (status, _, note) = app.fetch_ap(&format!("/comments/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], app.url(&format!("/comments/{id}")));
    assert_eq!(note["inReplyTo"], app.url(&format!("/posts/{slug}")));
    assert!(
        note["content"].as_str().is_some_and(
            |c| c.starts_with("<p><strong>Åsa</strong> (<a href=\"https://xn--tjna-moa.se/\"")
        ),
        "{note}"
    );

    // The author answers the reader from the CLI: shown under it, marked.
    let (code, _, err) = crate::common::run(
        app.cli().args([
            "comment",
            "reply",
            &id.to_string(),
            "--text",
            "Approved, thanks!",
        ]),
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (_, body) = app.page(&format!("/posts/{slug}")).await;
    let doc = html(&body);
    assert_eq!(texts(&doc, "li.comment.depth-1 .comment-badge"), ["Author"]);
    assert_eq!(
        texts(&doc, "li.comment.depth-1 .comment-body"),
        ["Approved, thanks!"]
    );
}
