// @generated automatically by Diesel CLI.

diesel::table! {
    followers (id) {
        id -> Int8,
        actor_id -> Text,
        inbox_url -> Text,
        shared_inbox_url -> Nullable<Text>,
        follow_activity_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    instance_settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    post_slug_redirects (slug) {
        slug -> Text,
        post_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    post_tags (post_id, tag_id) {
        post_id -> Int8,
        tag_id -> Int8,
        position -> Int4,
    }
}

diesel::table! {
    posts (id) {
        id -> Int8,
        slug -> Text,
        title -> Text,
        body_markdown -> Text,
        body_html -> Text,
        summary -> Nullable<Text>,
        excerpt -> Text,
        status -> Text,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        ap_id -> Nullable<Text>,
    }
}

diesel::table! {
    tags (id) {
        id -> Int8,
        name -> Text,
        slug -> Text,
    }
}

diesel::joinable!(post_slug_redirects -> posts (post_id));
diesel::joinable!(post_tags -> posts (post_id));
diesel::joinable!(post_tags -> tags (tag_id));

diesel::allow_tables_to_appear_in_same_query!(
    followers,
    instance_settings,
    post_slug_redirects,
    post_tags,
    posts,
    tags,
);
