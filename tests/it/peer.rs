//! Federation with software that is not ours: a Fedify server looks the blog
//! up, follows it, gets its Accept, and receives every post, edit and
//! deletion, checking our HTTP signatures and our JSON with its own code.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::common::peer::Peer;

async fn follower_count(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().await.expect("conn");
    fedblog::models::follower::count(&mut conn)
        .await
        .expect("count")
}

pub(crate) async fn wait_for_followers(app: &TestApp, n: i64) {
    for _ in 0..100 {
        if follower_count(app).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {n} followers, have {}", follower_count(app).await);
}

fn verified(activity: &Value) -> bool {
    activity["signed"] == true && activity["httpSignature"]["verified"] == true
}

#[tokio::test(flavor = "multi_thread")]
async fn fedify_finds_the_blog_and_reads_its_actor() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let handle = format!("blog@localhost:{}", app.addr.port());
    let found = peer.post("lookup", json!({"handle": handle})).await;
    assert_eq!(found["webfinger"]["subject"], format!("acct:{handle}"));
    let parsed = &found["parsed"];
    assert_eq!(parsed["id"], app.url("/users/blog"));
    assert_eq!(parsed["type"], "Person");
    assert_eq!(parsed["preferredUsername"], "blog");
    assert_eq!(parsed["inbox"], app.url("/users/blog/inbox"));
    assert_eq!(parsed["sharedInbox"], app.url("/inbox"));
    assert_eq!(parsed["publicKeyId"], app.url("/users/blog#main-key"));
    assert_eq!(parsed["publicKey"]["modulusLength"], 2048);
    assert_eq!(found["http"]["idMatchesUrl"], true);
    assert!(
        found["roundTrip"] == true || found["roundTrip"]["ok"] == true,
        "Mastodon's WebFinger round trip: {}",
        found["roundTrip"]
    );

    let post = app
        .create_post(
            json!({"title": "Read by Fedify", "body": "Hello, *fediverse*.", "tags": ["Rust"]}),
        )
        .await;
    let fetched = peer.post("fetch", json!({"url": post["url"]})).await;
    assert_eq!(fetched["type"], "Article");
    assert_eq!(fetched["id"], post["url"]);
    assert_eq!(fetched["http"]["contentType"], "application/activity+json");
    assert!(
        fetched["parseError"].is_null(),
        "Fedify parses our Article: {}",
        fetched["parseError"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fedify_follower_is_accepted_and_receives_posts_edits_and_deletions() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let actor = app.url("/users/blog");

    peer.follow(&actor).await;
    wait_for_followers(&app, 1).await;
    assert_eq!(app.deliver().await, 1, "one Accept queued");
    let accept = peer.wait_for("Accept").await;
    assert!(verified(&accept), "Fedify verified our signature: {accept}");
    assert_eq!(accept["actor"], actor);
    let state = peer.state().await;
    assert_eq!(state["following"][0]["state"], "accepted", "{state}");

    let (_, followers) = {
        let response = app
            .client
            .get(app.url("/users/blog/followers"))
            .header("Accept", "application/activity+json")
            .send()
            .await
            .expect("GET");
        (
            response.status(),
            response.json::<Value>().await.expect("json"),
        )
    };
    assert_eq!(followers["totalItems"], 1);

    let post = app
        .create_post(
            json!({"title": "Hello followers", "body": "First *post*.", "tags": ["Intro"]}),
        )
        .await;
    let slug = post["slug"].as_str().expect("slug").to_string();
    assert_eq!(app.deliver().await, 1);
    let create = peer.wait_for("Create").await;
    assert!(verified(&create));
    let article = &create["raw"]["object"];
    assert_eq!(article["type"], "Article");
    assert_eq!(article["id"], post["url"]);
    assert_eq!(article["name"], "Hello followers");
    assert!(
        article.get("summary").is_none(),
        "no summary, which servers other than Mastodon show as a content warning"
    );
    assert!(
        article["content"]
            .as_str()
            .is_some_and(|c| c.contains("First <em>post</em>.")),
        "{article}"
    );
    assert_eq!(
        create["raw"]["to"],
        json!(["https://www.w3.org/ns/activitystreams#Public"])
    );

    app.api(Method::PATCH, &format!("/posts/{slug}"))
        .json(&json!({"body": "Edited *post*."}))
        .send()
        .await
        .expect("edit");
    assert_eq!(app.deliver().await, 1);
    let update = peer.wait_for("Update").await;
    assert!(verified(&update));
    assert_eq!(update["raw"]["object"]["id"], post["url"]);
    assert!(
        update["raw"]["object"]["updated"].is_string(),
        "Mastodon applies an edit only with `updated`"
    );

    app.api(Method::DELETE, &format!("/posts/{slug}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(app.deliver().await, 1);
    let delete = peer.wait_for("Delete").await;
    assert!(verified(&delete));
    assert_eq!(delete["raw"]["object"]["id"], post["url"]);
    assert_eq!(delete["raw"]["object"]["type"], "Tombstone");

    // Drafts are not delivered; unfollowing stops deliveries.
    app.create_post(json!({"title": "Draft", "draft": true}))
        .await;
    assert_eq!(app.deliver().await, 0);
    peer.post("unfollow", json!({"actor": actor})).await;
    wait_for_followers(&app, 0).await;
    app.publish_simple("After unfollow", &[]).await;
    assert_eq!(app.deliver().await, 0, "no followers, no deliveries");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_follow_makes_one_follower_and_one_accept() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let actor = app.url("/users/blog");
    let follow = peer.follow(&actor).await;
    wait_for_followers(&app, 1).await;
    // The same Follow again (same id), signed by the peer.
    let again = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": follow["followId"],
        "type": "Follow",
        "actor": peer.actor(),
        "object": actor,
    });
    let sent = peer
        .post(
            "send",
            json!({"inbox": app.url("/users/blog/inbox"), "activity": again}),
        )
        .await;
    assert_eq!(sent["status"], 202, "{sent}");
    assert_eq!(follower_count(&app).await, 1);
    assert_eq!(app.deliver().await, 1, "one Accept for one Follow");
}

/// The server's remembered signature preference (`instances.rfc9421_until`
/// still ahead).
async fn wants_rfc9421(app: &TestApp, peer: &Peer) -> bool {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use fedblog::db::schema::instances;
    let domain = peer.base.trim_start_matches("http://").to_string();
    let mut conn = app.pool.get().await.expect("conn");
    let until: Option<Option<chrono::DateTime<chrono::Utc>>> = instances::table
        .find(domain)
        .select(instances::rfc9421_until)
        .first(&mut conn)
        .await
        .optional()
        .expect("instance");
    until.flatten().is_some_and(|t| t > chrono::Utc::now())
}

async fn peer_inbox(peer: &Peer) -> Value {
    peer.control(reqwest::Method::GET, "inbox", None).await.1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_takes_only_rfc_9421_gets_it_after_one_refusal_and_is_remembered() {
    let app = TestApp::spawn().await;
    // Refuses draft-cavage with 401; verifies RFC 9421 with Fedify 1.10.
    let peer = Peer::start_with(&["--rfc9421-only"]);
    let actor = app.url("/users/blog");

    peer.follow(&actor).await;
    wait_for_followers(&app, 1).await;
    assert_eq!(app.deliver().await, 1, "one attempt, two knocks");
    let accept = peer.wait_for("Accept").await;
    assert_eq!(accept["actor"], actor);
    assert_eq!(accept["httpSignature"]["spec"], "rfc9421");
    assert_eq!(accept["httpSignature"]["verified"], true);
    let inbox = peer_inbox(&peer).await;
    assert_eq!(inbox["rejected"], 1, "the draft-cavage knock: {inbox}");
    assert!(wants_rfc9421(&app, &peer).await, "remembered");

    // The next activity goes out signed with RFC 9421 at the first knock.
    app.publish_simple("Signed anew", &[]).await;
    app.deliver().await;
    let create = peer.wait_for("Create").await;
    assert_eq!(create["httpSignature"]["spec"], "rfc9421");
    assert_eq!(create["raw"]["object"]["name"], "Signed anew");
    let inbox = peer_inbox(&peer).await;
    assert_eq!(inbox["rejected"], 1, "no second refusal: {inbox}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_refuses_rfc_9421_gets_draft_cavage_again_and_is_forgotten() {
    let app = TestApp::spawn().await;
    // Fedify 1.5.9 speaks draft-cavage only.
    let peer = Peer::start();
    let actor = app.url("/users/blog");
    peer.follow(&actor).await;
    wait_for_followers(&app, 1).await;
    app.deliver().await;
    peer.wait_for("Accept").await;
    assert!(!wants_rfc9421(&app, &peer).await);

    // Pretend it once took RFC 9421 (a server downgraded, or a wrong guess).
    {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use fedblog::db::schema::instances;
        let domain = peer.base.trim_start_matches("http://").to_string();
        let mut conn = app.pool.get().await.expect("conn");
        diesel::insert_into(instances::table)
            .values((
                instances::domain.eq(&domain),
                instances::rfc9421_until.eq(chrono::Utc::now() + chrono::Duration::days(1)),
            ))
            .on_conflict(instances::domain)
            .do_update()
            .set(instances::rfc9421_until.eq(chrono::Utc::now() + chrono::Duration::days(1)))
            .execute(&mut conn)
            .await
            .expect("remember");
    }
    assert!(wants_rfc9421(&app, &peer).await);
    let before = peer_inbox(&peer).await["rejected"]
        .as_u64()
        .expect("rejected");

    app.publish_simple("Back to cavage", &[]).await;
    assert_eq!(app.deliver().await, 1);
    let create = peer.wait_for("Create").await;
    assert!(verified(&create), "{create}");
    let after = peer_inbox(&peer).await["rejected"]
        .as_u64()
        .expect("rejected");
    assert_eq!(after, before + 1, "the RFC 9421 knock was refused");
    assert!(!wants_rfc9421(&app, &peer).await, "forgotten");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_signed_with_rfc_9421_by_fedify_is_taken_and_a_tampered_one_is_not() {
    let app = TestApp::spawn().await;
    let peer = Peer::start();
    let post = app.publish_simple("Signed both ways", &[]).await;
    let post_url = post["url"].as_str().expect("url").to_string();
    let create = |n: u32, content: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/creates/rfc9421-{n}", peer.actor()),
            "type": "Create",
            "actor": peer.actor(),
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{}/notes/rfc9421-{n}", peer.actor()),
                "type": "Note",
                "attributedTo": peer.actor(),
                "inReplyTo": post_url,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "content": content,
            },
        })
    };
    let sent = peer
        .post(
            "send",
            json!({"inbox": app.url("/inbox"), "activity": create(1, "<p>Signed anew</p>"), "spec": "rfc9421"}),
        )
        .await;
    assert_eq!(sent["status"], 202, "{sent}");
    app.inbox_idle().await;
    let (_, page) = app
        .page(&format!("/posts/{}", post["slug"].as_str().expect("slug")))
        .await;
    assert!(page.contains("Signed anew"), "the reply is shown");

    // Claiming to be another actor than the key's: refused.
    let mut forged = create(2, "<p>Not mine</p>");
    forged["actor"] = json!(format!("{}/users/bob", peer.base));
    let sent = peer
        .post(
            "send",
            json!({"inbox": app.url("/inbox"), "activity": forged, "spec": "rfc9421"}),
        )
        .await;
    assert_eq!(sent["status"], 401, "{sent}");
}
