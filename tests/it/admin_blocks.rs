//! `/admin/blocks`, as the owner uses it: block and unblock by hand, and
//! import Mastodon's blocklist export after seeing what it will do.

use reqwest::StatusCode;

use crate::admin::{Browser, PASSWORD, Part, add_follower, csrf_of, location, set_password};
use crate::common::TestApp;

async fn blocked(app: &TestApp) -> Vec<String> {
    let (_, out, _) = crate::common::run(app.cli().arg("blocks"), None);
    out.lines()
        .filter(|l| !l.ends_with(" blocks"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_string())
        .collect()
}

async fn followers(app: &TestApp) -> String {
    crate::common::run(app.cli().arg("followers"), None).1
}

const EXPORT: &str = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
spam.example,suspend,true,true,\"Spam, all day\",false\n\
loud.example,silence,false,false,,false\n\
fine.example,noop,false,false,,false\n\
already.example,suspend,false,false,,false\n\
not a domain,suspend,,,,\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_blocks_imports_a_mastodon_blocklist_after_a_preview_and_unblocks() {
    let app = TestApp::spawn().await;
    assert_eq!(set_password(&app, PASSWORD).0, 0);
    add_follower(&app, "spam.example", "bot").await;
    add_follower(&app, "friend.example", "ada").await;
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.get("/admin/blocks").await,
        (StatusCode::SEE_OTHER, "/admin/login".to_string())
    );
    assert_eq!(
        browser.sign_in(PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let csrf = browser.form_token("/admin/blocks").await;

    // By hand: a wrong address is said so; a right one is blocked.
    let response = browser
        .post(
            "/admin/blocks",
            &[
                ("csrf", &csrf),
                ("kind", "domain"),
                ("value", "not a server"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("body");
    assert!(
        html.contains("is not a domain such as spam.example"),
        "{html}"
    );
    let response = browser
        .post(
            "/admin/blocks",
            &[
                ("csrf", &csrf),
                ("kind", "domain"),
                ("value", "Already.Example"),
                ("reason", "earlier"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.get(&location(&response).expect("to")).await;
    assert!(html.contains("Blocked already.example."), "{html}");
    assert_eq!(blocked(&app).await, ["already.example"]);

    // The preview says what will happen and changes nothing.
    let response = browser
        .post_multipart(
            "/admin/blocks/import",
            &[
                Part::Text("csrf", &csrf),
                Part::File("file", "domain_blocks.csv", EXPORT.as_bytes()),
                Part::Text("list", ""),
                Part::Text("action", "preview"),
            ],
            "text/html",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("body");
    assert!(
        html.contains("<strong>1</strong> server to block, 1 blocked already, 3 lines left out."),
        "{html}"
    );
    assert!(html.contains("spam.example — Spam, all day"), "{html}");
    assert!(
        html.contains("Line 3: limited (silence) in the list, not blocked"),
        "{html}"
    );
    assert!(html.contains("Line 6: not a domain"), "{html}");
    assert_eq!(blocked(&app).await, ["already.example"]);
    assert!(followers(&app).await.contains("spam.example"));

    // Confirmed: imported as previewed; the blocked server's follower goes.
    let doc = scraper::Html::parse_document(&html);
    let hidden = scraper::Selector::parse(".admin-preview input[name=list]").expect("selector");
    let list = doc
        .select(&hidden)
        .next()
        .and_then(|i| i.value().attr("value"))
        .expect("the list, sent back")
        .to_string();
    assert_eq!(list, EXPORT);
    let response = browser
        .post_multipart(
            "/admin/blocks/import",
            &[
                Part::Text("csrf", &csrf_of(&html)),
                Part::Text("list", &list),
                Part::Text("action", "import"),
            ],
            "text/html",
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/blocks?imported=1")
    );
    let mut now = blocked(&app).await;
    now.sort();
    assert_eq!(now, ["already.example", "spam.example"]);
    let left = followers(&app).await;
    assert!(
        !left.contains("spam.example") && left.contains("friend.example"),
        "{left}"
    );
    let (_, html) = browser.get("/admin/blocks?imported=1").await;
    assert!(html.contains("Imported: 1 server blocked."), "{html}");

    // Nothing to read: said so.
    let response = browser
        .post_multipart(
            "/admin/blocks/import",
            &[
                Part::Text("csrf", &csrf),
                Part::Text("list", "  "),
                Part::Text("action", "preview"),
            ],
            "text/html",
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Choose a file or paste a list.")
    );

    // Unblocked.
    let response = browser
        .post(
            "/admin/blocks/remove",
            &[
                ("csrf", &csrf),
                ("kind", "domain"),
                ("value", "spam.example"),
            ],
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/admin/blocks?removed=spam.example")
    );
    assert_eq!(blocked(&app).await, ["already.example"]);
    // Without the form's token: refused.
    let response = browser
        .post(
            "/admin/blocks/remove",
            &[
                ("csrf", "x"),
                ("kind", "domain"),
                ("value", "already.example"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(blocked(&app).await, ["already.example"]);
}
