// @generated automatically by Diesel CLI.

diesel::table! {
    admin_sessions (token_sha256) {
        token_sha256 -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
    }
}

diesel::table! {
    activities (id) {
        id -> Int8,
        ap_id -> Text,
        kind -> Text,
        json -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    blocks (id) {
        id -> Int8,
        kind -> Text,
        value -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    comments (id) {
        id -> Int8,
        ap_id -> Text,
        post_id -> Int8,
        parent_id -> Nullable<Int8>,
        in_reply_to -> Text,
        url -> Nullable<Text>,
        author_ap_id -> Text,
        author_name -> Nullable<Text>,
        author_handle -> Nullable<Text>,
        content_html -> Text,
        summary -> Nullable<Text>,
        sensitive -> Bool,
        visibility -> Text,
        state -> Text,
        published_at -> Timestamptz,
        updated_at -> Nullable<Timestamptz>,
        origin -> Text,
        source -> Nullable<Text>,
        reader_website -> Nullable<Text>,
        moderation_note -> Nullable<Text>,
        language -> Nullable<Text>,
        attachments -> Jsonb,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Int8,
        activity_id -> Int8,
        inbox_url -> Text,
        instance -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        gave_up_at -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

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
    inbox_queue (id) {
        id -> Int8,
        ap_id -> Text,
        actor_ap_id -> Text,
        kind -> Text,
        json -> Jsonb,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        gave_up_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        received_at -> Timestamptz,
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
    instances (domain) {
        domain -> Text,
        failing_since -> Nullable<Timestamptz>,
        last_success_at -> Nullable<Timestamptz>,
        last_contact_at -> Nullable<Timestamptz>,
        rfc9421_until -> Nullable<Timestamptz>,
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
        language -> Nullable<Text>,
        publish_at -> Nullable<Timestamptz>,
        times_unpublished -> Int4,
    }
}

diesel::table! {
    reactions (id) {
        id -> Int8,
        kind -> Text,
        post_id -> Int8,
        actor_ap_id -> Text,
        activity_ap_id -> Text,
        created_at -> Timestamptz,
        comment_id -> Nullable<Int8>,
    }
}

diesel::table! {
    received_activities (ap_id) {
        ap_id -> Text,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    media (id) {
        id -> Int8,
        hash -> Text,
        content_type -> Text,
        width -> Int4,
        height -> Int4,
        bytes -> Int8,
        variant_hash -> Nullable<Text>,
        variant_content_type -> Nullable<Text>,
        variant_width -> Nullable<Int4>,
        variant_height -> Nullable<Int4>,
        alt -> Text,
        original_name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    remote_actors (id) {
        id -> Int8,
        ap_id -> Text,
        inbox_url -> Text,
        shared_inbox_url -> Nullable<Text>,
        public_key_pem -> Text,
        preferred_username -> Nullable<Text>,
        name -> Nullable<Text>,
        url -> Nullable<Text>,
        icon_url -> Nullable<Text>,
        fetched_at -> Timestamptz,
    }
}

diesel::table! {
    tags (id) {
        id -> Int8,
        name -> Text,
        slug -> Text,
    }
}

diesel::table! {
    quote_authorizations (id) {
        id -> Int8,
        post_id -> Int8,
        quoting_object -> Text,
        quoter -> Text,
        request_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tombstones (ap_id) {
        ap_id -> Text,
        actor_ap_id -> Text,
        deleted_at -> Timestamptz,
    }
}

diesel::joinable!(comments -> posts (post_id));
diesel::joinable!(deliveries -> activities (activity_id));
diesel::joinable!(post_slug_redirects -> posts (post_id));
diesel::joinable!(post_tags -> posts (post_id));
diesel::joinable!(post_tags -> tags (tag_id));
diesel::joinable!(quote_authorizations -> posts (post_id));
diesel::joinable!(reactions -> comments (comment_id));
diesel::joinable!(reactions -> posts (post_id));

diesel::allow_tables_to_appear_in_same_query!(
    activities,
    admin_sessions,
    blocks,
    comments,
    deliveries,
    followers,
    inbox_queue,
    instance_settings,
    instances,
    media,
    post_slug_redirects,
    post_tags,
    posts,
    quote_authorizations,
    reactions,
    received_activities,
    remote_actors,
    tags,
    tombstones,
);
