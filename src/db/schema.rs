//! Diesel's view of the tables created in `migrations/`.

diesel::table! {
    users (id) {
        id -> Integer,
        username -> Text,
        email -> Text,
        password_hash -> Text,
        about_me -> Text,
        last_seen -> Timestamp,
        role -> Text,
        /// Names the current row of `avatars`; `None` shows the identicon.
        avatar_version -> Nullable<Text>,
    }
}

diesel::table! {
    posts (id) {
        id -> Integer,
        body -> Text,
        timestamp -> Timestamp,
        user_id -> Integer,
    }
}

diesel::table! {
    followers (follower_id, followed_id) {
        follower_id -> Integer,
        followed_id -> Integer,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Integer,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    api_sessions (id) {
        id -> Text,
        user_id -> Integer,
        refresh_hash -> Text,
        created_at -> Timestamp,
        refresh_expires_at -> Timestamp,
    }
}

diesel::table! {
    remember_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(posts -> users (user_id));
diesel::joinable!(remember_tokens -> users (user_id));
diesel::joinable!(api_sessions -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    posts,
    followers,
    sessions,
    api_sessions,
    remember_tokens
);

diesel::table! {
    error_groups (id) {
        id -> Text,
        fingerprint -> Text,
        title -> Text,
        status -> Text,
        first_seen -> Timestamp,
        last_seen -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        occurrences -> BigInt,
        users_affected -> BigInt,
        mailed -> BigInt,
        last_mail_at -> Timestamp,
        announce -> Text,
        latest_report -> Text,
        request_ids -> Text,
    }
}

diesel::table! {
    error_occurrences (id) {
        id -> BigInt,
        group_id -> Text,
        seen_at -> Timestamp,
        request_id -> Text,
        report -> Text,
    }
}

diesel::table! {
    error_group_users (group_id, user_id) {
        group_id -> Text,
        user_id -> Integer,
    }
}

diesel::table! {
    error_group_hours (group_id, hour) {
        group_id -> Text,
        hour -> Timestamp,
        occurrences -> BigInt,
    }
}

diesel::joinable!(error_occurrences -> error_groups (group_id));
diesel::joinable!(error_group_users -> error_groups (group_id));
diesel::joinable!(error_group_hours -> error_groups (group_id));
diesel::allow_tables_to_appear_in_same_query!(
    error_groups,
    error_occurrences,
    error_group_users,
    error_group_hours
);

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Text,
        progress -> Integer,
        user_id -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(jobs -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(jobs, users);

diesel::table! {
    avatars (user_id) {
        user_id -> Integer,
        version -> Text,
        image -> Binary,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(avatars -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(avatars, users);
