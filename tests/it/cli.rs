//! The `fedblog` command line, run as a process against the test database.

use reqwest::StatusCode;

use crate::common::{TOKEN, TestApp, html, run, texts};

#[tokio::test(flavor = "multi_thread")]
async fn write_publish_edit_and_delete_from_the_command_line() {
    let app = TestApp::spawn().await;

    // A draft from standard input.
    let (code, out, err) = run(
        app.cli().args([
            "post",
            "new",
            "--title",
            "Från terminalen",
            "--tag",
            "CLI",
            "--tag",
            "Svenska",
            "--draft",
        ]),
        Some("Skrivet i **terminalen**.\n"),
    );
    assert_eq!(code, 0, "stderr: {err}");
    assert!(out.contains("slug: fran-terminalen"), "{out}");
    assert_eq!(
        app.page("/posts/fran-terminalen").await.0,
        StatusCode::NOT_FOUND,
        "a draft is not public"
    );

    let (code, out, _) = run(app.cli().args(["post", "list"]), None);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("draft") && l.contains("fran-terminalen")),
        "{out}"
    );

    let (code, out, err) = run(app.cli().args(["post", "publish", "fran-terminalen"]), None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&app.url("/posts/fran-terminalen")),
        "prints the public address: {out}"
    );
    let (status, body) = app.page("/posts/fran-terminalen").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<strong>terminalen</strong>"));

    // A published post from a file.
    let file = app.data_dir.path().join("post.md");
    std::fs::write(&file, "# Heading\n\nFrom a file.\n").expect("write");
    let (code, _, err) = run(
        app.cli()
            .args(["post", "new", "--title", "From a file", "--file"])
            .arg(&file),
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (_, home) = app.page("/").await;
    assert_eq!(
        texts(&html(&home), "article h2"),
        ["From a file", "Från terminalen"]
    );

    // Rename: the old address redirects.
    let (code, out, err) = run(
        app.cli().args([
            "post",
            "edit",
            "from-a-file",
            "--title",
            "Renamed post",
            "--tag",
            "files",
        ]),
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("renamed-post"), "{out}");
    let response = app.get("/posts/from-a-file").await;
    assert_eq!(
        response.headers()["location"],
        app.url("/posts/renamed-post").as_str()
    );
    assert_eq!(app.page("/tags/files").await.0, StatusCode::OK);

    let (code, out, _) = run(app.cli().args(["post", "show", "renamed-post"]), None);
    assert_eq!(code, 0);
    assert!(
        out.contains("From a file.") && out.contains("files"),
        "{out}"
    );

    let (code, _, err) = run(app.cli().args(["post", "delete", "renamed-post"]), None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(app.page("/posts/renamed-post").await.0, StatusCode::GONE);
    assert_eq!(app.post_count().await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_can_set_and_clear_its_own_language() {
    let app = TestApp::spawn().await;
    let (code, out, err) = run(
        app.cli()
            .args(["post", "new", "--title", "Hej", "--language", "sv"]),
        Some("Hej världen."),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("hej"), "{out}");
    let (_, out, _) = run(app.cli().args(["post", "show", "hej"]), None);
    assert!(out.contains("language:  sv\n"), "{out}");
    let (code, _, err) = run(
        app.cli().args(["post", "edit", "hej", "--clear-language"]),
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(app.cli().args(["post", "show", "hej"]), None);
    let blog = &app.settings.blog.language;
    assert!(
        out.contains(&format!("language:  {blog} (the blog's)")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn command_line_errors_are_clear_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (code, _, err) = run(
        app.cli().args(["post", "new", "--title", "   "]),
        Some("body"),
    );
    assert_eq!(code, 1);
    assert!(err.contains("title") && err.contains("empty"), "{err}");

    let too_long = "x".repeat(301);
    let (code, _, err) = run(
        app.cli().args(["post", "new", "--title", &too_long]),
        Some("body"),
    );
    assert_eq!(code, 1);
    assert!(err.contains("title") && err.contains("300"), "{err}");

    let (code, _, err) = run(
        app.cli().args([
            "post",
            "new",
            "--title",
            "x",
            "--file",
            "/nonexistent/file.md",
        ]),
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/file.md"), "{err}");

    let (code, _, err) = run(app.cli().args(["post", "publish", "no-such-post"]), None);
    assert_eq!(code, 1);
    assert!(err.contains("no-such-post"), "{err}");

    let (code, _, err) = run(app.cli().args(["post", "edit", "no-such-post"]), None);
    assert_eq!(code, 1);
    assert!(err.contains("nothing to change"), "{err}");

    let (code, _, err) = run(
        app.cli()
            .args(["post", "new", "--title", "x", "--language", "Swedish"]),
        Some("body"),
    );
    assert_eq!(code, 1);
    assert!(err.contains("language") && err.contains("Swedish"), "{err}");

    let (code, _, err) = run(app.cli().args(["post", "frobnicate"]), None);
    assert_eq!(code, 2, "usage errors exit 2: {err}");

    assert_eq!(app.post_count().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_configuration_names_the_key_and_exits_2() {
    let app = TestApp::spawn().await;
    let (code, _, err) = run(
        app.cli()
            .env("FEDBLOG__BLOG__TIME_ZONE", "Mars/Olympus")
            .args(["post", "list"]),
        None,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("blog.time_zone") && err.contains("Mars/Olympus"),
        "{err}"
    );

    let config = app.data_dir.path().join("bad.toml");
    std::fs::write(&config, "[server]\ndomian = \"typo.example\"\n").expect("write");
    let (code, _, err) = run(
        app.cli()
            .arg("--config")
            .arg(&config)
            .args(["post", "list"]),
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("domian"), "{err}");

    let (code, _, err) = run(
        app.cli()
            .args(["--config", "/nonexistent.toml", "post", "list"]),
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent.toml"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_admin_token_opens_the_api() {
    let app = TestApp::spawn().await;
    // This app has a configured token: resetting is refused with a reason.
    let (code, _, err) = run(
        app.cli()
            .env("FEDBLOG__ADMIN__TOKEN", TOKEN)
            .args(["admin", "token", "--reset"]),
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("admin.token"), "{err}");

    // Without a configured token, the generated one is stored as a hash.
    let (code, out, err) = run(
        app.cli()
            .env("FEDBLOG__ADMIN__TOKEN", "")
            .args(["admin", "token", "--reset"]),
        None,
    );
    assert_eq!(code, 0, "{err}");
    let token = out.trim().to_string();
    assert!(token.len() >= 40, "{token}");
    let settings = fedblog::config::Settings::from_toml_layers(&[&format!(
        "[database]\nurl = \"{}\"\n[server]\ndomain = \"localhost:{}\"",
        app.db_url,
        app.addr.port()
    )])
    .expect("settings");
    assert!(settings.admin_token.is_none());
    let unconfigured = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = fedblog::state::AppState::load(settings, app.pool.clone())
            .await
            .expect("state");
        let federation = fedblog::federation::config(state.clone())
            .await
            .expect("federation");
        tokio::spawn(async move {
            let app = fedblog::web::router(state, federation)
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await
        });
        addr
    };
    let list = |token: String| {
        let client = app.client.clone();
        async move {
            client
                .get(format!("http://{unconfigured}/api/v1/posts"))
                .bearer_auth(token)
                .send()
                .await
                .expect("GET")
                .status()
        }
    };
    assert_eq!(list(token.clone()).await, StatusCode::OK);
    assert_eq!(list(format!("{token}x")).await, StatusCode::UNAUTHORIZED);
    let (_, second, _) = run(
        app.cli()
            .env("FEDBLOG__ADMIN__TOKEN", "")
            .args(["admin", "token", "--reset"]),
        None,
    );
    assert_eq!(
        list(token).await,
        StatusCode::UNAUTHORIZED,
        "the old token stops working"
    );
    assert_eq!(list(second.trim().to_string()).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_whose_reader_goes_away_ends_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let app = TestApp::spawn().await;
    for n in 0..3 {
        app.publish_simple(&format!("Listed {n}"), &[]).await;
    }
    // As `fedblog post list | head -0`: the reader closes before the first line.
    for args in [["post", "list"], ["comment", "list"]] {
        let mut child = app
            .cli()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fedblog");
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("read stderr");
        let status = child.wait().expect("wait");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
    }
}
