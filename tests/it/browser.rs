//! The admin UI in a real browser: Debian's Chromium, driven by
//! playwright-core (tests/browser), with axe-core checking every page in
//! light and dark mode. The scenarios are in tests/browser/*.mjs; this runs
//! them against the real server and judges what they report.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::peer::Peer;
use crate::common::{TestApp, run};

/// Runs `tests/browser/{script}` with `args`; its JSON report.
fn scenario(script: &str, args: &[&str]) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the browser tests are not installed: run `bash .ci/install-deps` (npm ci in tests/browser, and Chromium)"
    );
    let profile = tempfile::tempdir().expect("a browser profile");
    let pictures = pictures();
    let output = Command::new("node")
        .env("FEDBLOG_PICTURES", pictures.path())
        .arg(dir.join(script))
        .args(args)
        .arg(profile.path())
        .current_dir(&dir)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed:\n{stderr}\n{stdout}"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{script} printed {stdout}: {e}"))
}

/// Two small pictures for the scenarios to upload: fern.png, moss.png.
fn pictures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a folder for pictures");
    for (name, colour) in [("fern.png", [40, 140, 60]), ("moss.png", [90, 120, 40])] {
        image::RgbImage::from_fn(120, 80, |x, y| {
            image::Rgb([colour[0], colour[1], (x * 2 + y) as u8])
        })
        .save(dir.path().join(name))
        .expect("a picture");
    }
    dir
}

/// No critical or serious accessibility problem on any page checked.
fn assert_accessible(report: &Value) {
    let pages = report["axe"].as_object().expect("axe results");
    assert!(!pages.is_empty(), "no page was checked");
    let mut bad = Vec::new();
    for (page, violations) in pages {
        for v in violations.as_array().expect("violations") {
            if matches!(v["impact"].as_str(), Some("critical" | "serious")) {
                bad.push(format!(
                    "{page}: {} ({}) at {}",
                    v["id"], v["impact"], v["nodes"]
                ));
            }
        }
    }
    assert!(bad.is_empty(), "axe found:\n{}", bad.join("\n"));
}

/// Runs `script` against a fresh blog whose admin password is set; its
/// report, after checking it is accessible.
async fn in_chromium(script: &'static str) -> Value {
    in_chromium_on(&TestApp::spawn().await, script).await
}

async fn in_chromium_on(app: &TestApp, script: &'static str) -> Value {
    let password = "correct horse battery";
    let (code, _, stderr) = run(
        app.cli().args(["admin", "password"]),
        Some(&format!("{password}\n")),
    );
    assert_eq!(code, 0, "{stderr}");
    let base = app.url("");
    let report = tokio::task::spawn_blocking(move || scenario(script, &[base.as_str(), password]))
        .await
        .expect("the scenario ran");
    assert_accessible(&report);
    report
}

fn steps(report: &Value) -> Vec<&str> {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_signs_in_and_out_in_chromium() {
    let report = in_chromium("admin.mjs").await;
    assert_eq!(
        steps(&report),
        [
            "signed out: /admin leads to the sign-in page",
            "a wrong password: the sign-in page again, with a message",
            "the right password: the dashboard",
            "signed in, a 360 px screen: no sideways scrolling",
            "Sign out, from the keyboard: the sign-in page",
            "signed out again: /admin leads to the sign-in page",
            "a 360 px screen: no sideways scrolling",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_writes_a_post_in_chromium() {
    let report = in_chromium("writing.mjs").await;
    assert_eq!(
        steps(&report),
        [
            "the editor, from the dashboard",
            "the preview follows the typing",
            "a picture added from the file field",
            "a picture dropped on the text",
            "preview: rendered, nothing lost",
            "published, and on the blog with its pictures",
            "the pictures on the media page, with their post",
            "an empty title, saved with Enter: refused, with the message at the field",
            "deleted after confirming: 410 on the blog",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_moderates_in_chromium() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.publish_simple("Open thread", &[]).await;
    {
        let mut conn = app.pool.get().await.expect("conn");
        diesel::sql_query(
            "INSERT INTO comments (ap_id, post_id, in_reply_to, author_ap_id, author_name, \
             content_html, visibility, state, published_at, origin, moderation_note) \
             SELECT 'http://127.0.0.1:9/notes/1', id, ap_id, 'http://127.0.0.1:9/users/alice', \
             'Alice', '<p>Nice post!</p>', 'public', 'pending', now(), 'remote', \
             'first comment from this account' FROM posts WHERE slug = 'open-thread'",
        )
        .execute(&mut conn)
        .await
        .expect("a held comment");
    }
    let report = in_chromium_on(&app, "moderation.mjs").await;
    assert_eq!(
        steps(&report),
        [
            "the held comment, with why",
            "approved: the queue is empty",
            "the approved comment is on the post's page",
            "answered as the blog",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_changes_the_profile_in_chromium_and_the_peer_gets_the_update() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    peer.follow(&app.url("/users/blog")).await;
    crate::peer::wait_for_followers(&app, 1).await;
    assert_eq!(app.deliver().await, 1, "the Accept of the peer's Follow");
    peer.wait_for("Accept").await;

    let report = in_chromium_on(&app, "settings.mjs").await;
    assert_eq!(
        steps(&report),
        [
            "a wrong time zone: refused, with the message at the field",
            "saved: the new profile goes to the followers",
            "the blog shows the new names",
            "signed out",
        ]
    );
    assert_eq!(app.deliver().await, 1, "one Update of the profile");
    let update = peer.wait_for("Update").await;
    let person = &update["object"];
    assert_eq!(person["type"], "Person", "{update}");
    assert_eq!(person["name"], "Ada's notebook", "{update}");
    assert_eq!(person["attachment"]["name"], "Website", "{update}");
    assert!(
        person["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("<em>engines</em>"),
        "{update}"
    );
    assert!(
        person["icon"]["url"]
            .as_str()
            .unwrap_or_default()
            .contains("/media/avatar-"),
        "{update}"
    );
}
