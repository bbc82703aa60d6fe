use reqwest::StatusCode;

use crate::helpers::{location, spawn_app};

/// The position of `needle` in `haystack`, for checking the order of posts on a page.
fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page"))
}

#[tokio::test]
async fn following_shows_their_posts_on_the_timeline_newest_first_until_unfollowing() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    let john = app.logged_in("john").await;
    john.publish("John's first post").await;
    susan.publish("Susan's own post").await;
    john.publish("John's second post").await;

    // Act: follow
    let followed = susan.post("/follow/john", &[]).await;
    let profile = susan.get_html("/user/john").await;
    let timeline = susan.get_html("/index").await;

    // Assert
    assert_eq!(location(&followed), "/user/john");
    assert!(profile.contains("You are following john!"));
    let newest = position(&timeline, "John&#x27;s second post");
    let middle = position(&timeline, "Susan&#x27;s own post");
    let oldest = position(&timeline, "John&#x27;s first post");
    assert!(newest < middle && middle < oldest, "newest first");

    // Act: unfollow, then log out
    susan.post("/unfollow/john", &[]).await;
    let timeline = susan.get_html("/index").await;
    let logged_out = susan.post("/auth/logout", &[]).await;

    // Assert
    assert!(timeline.contains("Susan&#x27;s own post"));
    assert!(
        !timeline.contains("John&#x27;s"),
        "unfollowed posts leave the timeline"
    );
    assert_eq!(logged_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(susan.get("/index").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_profile_shows_counts_about_me_and_a_follow_button() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    let john = app.logged_in("john").await;
    john.post(
        "/edit_profile",
        &[("username", "john"), ("about_me", "I like trains.")],
    )
    .await;
    susan.post("/follow/john", &[]).await;

    // Act
    let as_susan = susan.get_html("/user/john").await;
    let as_john = john.get_html("/user/john").await;

    // Assert
    assert!(as_susan.contains("I like trains."));
    assert!(as_susan.contains("<strong>1</strong> follower"));
    assert!(as_susan.contains("Unfollow"));
    assert!(as_susan.contains("/avatar/"));
    assert!(as_susan.contains("Last seen"));
    assert!(as_john.contains("Edit your profile"));
}

#[tokio::test]
async fn following_yourself_is_refused_with_a_message() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;

    // Act
    let response = susan.post("/follow/susan", &[]).await;

    // Assert
    assert_eq!(location(&response), "/user/susan");
    assert!(susan
        .get_html("/user/susan")
        .await
        .contains("You cannot follow yourself!"));
}

#[tokio::test]
async fn following_twice_or_unfollowing_twice_is_harmless() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    app.logged_in("john").await;

    // Act
    susan.post("/follow/john", &[]).await;
    susan.post("/follow/john", &[]).await;
    let twice = susan.get_html("/user/john").await;
    susan.post("/unfollow/john", &[]).await;
    let unfollowed = susan.post("/unfollow/john", &[]).await;

    // Assert
    assert!(twice.contains("<strong>1</strong> follower"));
    assert_eq!(unfollowed.status(), StatusCode::SEE_OTHER);
    assert!(susan
        .get_html("/user/john")
        .await
        .contains("<strong>0</strong> followers"));
}

#[tokio::test]
async fn timelines_are_paginated_with_newer_and_older_links() {
    // Arrange: POSTS_PER_PAGE is 5 in tests
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    for n in 1..=7 {
        susan.publish(&format!("post number {n}")).await;
    }

    // Act
    let first = susan.get_html("/index").await;
    let second = susan.get_html("/index?page=2").await;
    let explore = susan.get_html("/explore?page=2").await;

    // Assert
    assert!(first.contains("post number 7") && first.contains("post number 3"));
    assert!(!first.contains("post number 2"));
    assert!(
        first.contains("href=\"/index?page=2\""),
        "an older-posts link"
    );
    assert!(second.contains("post number 2") && second.contains("post number 1"));
    assert!(!second.contains("post number 3"));
    assert!(
        second.contains("href=\"/index?page=1\""),
        "a newer-posts link"
    );
    assert!(explore.contains("post number 1"));
}

#[tokio::test]
async fn a_post_is_shown_escaped() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;

    // Act
    susan.publish("<script>alert('x')</script>").await;
    let html = susan.get_html("/explore").await;

    // Assert
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"));
}

#[tokio::test]
async fn an_empty_or_too_long_post_is_a_form_error_and_is_not_saved() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;

    // Act
    let empty = susan.publish("   ").await;
    let long = susan.publish(&"x".repeat(141)).await;

    // Assert
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(long
        .text()
        .await
        .unwrap()
        .contains("Say something in 1 to 140 characters."));
    assert!(susan.get_html("/index").await.contains("No posts yet."));
}

#[tokio::test]
async fn search_finds_posts_by_their_words() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    susan.publish("I love the Rust borrow checker").await;
    susan.publish("Python is fine too").await;
    susan.publish("100% sure").await;

    // Act
    let found = susan.get_html("/search?q=borrow").await;
    let percent = susan.get_html("/search?q=%25").await;
    let nothing = susan.get_html("/search?q=haskell").await;

    // Assert
    assert!(found.contains("I love the Rust borrow checker"));
    assert!(!found.contains("Python is fine too"));
    assert!(
        percent.contains("100% sure") && !percent.contains("Python"),
        "% is literal"
    );
    assert!(nothing.contains("No posts match"));
    assert!(
        found.contains("action=\"/search\""),
        "search is in the navigation"
    );
}

#[tokio::test]
async fn editing_the_profile_saves_it_and_keeping_ones_own_name_is_fine() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;

    // Act
    let response = susan
        .post(
            "/edit_profile",
            &[("username", "Susan"), ("about_me", "Hello!")],
        )
        .await;

    // Assert
    assert_eq!(location(&response), "/edit_profile");
    let form = susan.get_html("/edit_profile").await;
    assert!(form.contains("Your changes have been saved."));
    assert!(form.contains("value=\"Susan\""));
    assert!(form.contains("Hello!"));
}

#[tokio::test]
async fn editing_profile_to_a_taken_username_shows_a_form_error() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("john").await;
    let susan = app.logged_in("susan").await;

    // Act
    let response = susan
        .post(
            "/edit_profile",
            &[("username", "JOHN"), ("about_me", "kept")],
        )
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Please use a different username."));
    assert!(html.contains("value=\"JOHN\""), "the input is kept");
    assert!(html.contains(">kept</textarea>"));
    assert_eq!(
        susan.get("/user/susan").await.status(),
        StatusCode::OK,
        "nothing changed"
    );
}

#[tokio::test]
async fn avatars_are_drawn_locally_as_svg_under_a_keyed_digest() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    let page = susan.get_html("/user/susan").await;
    let start = page.find("/avatar/").unwrap();
    let url = &page[start..page[start..].find('"').unwrap() + start];

    // Act
    let response = susan.get(url).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(response.text().await.unwrap().starts_with("<svg"));
    assert!(!page.contains("gravatar"), "no request leaves the site");
    let unkeyed = microblog::tokens::digest_hex("susan@example.com");
    assert!(
        !url.contains(&unkeyed),
        "a stranger cannot confirm a guessed address"
    );
}

#[tokio::test]
async fn pages_use_only_local_assets() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();

    // Act
    let html = browser.get_html("/explore").await;
    let css = browser.get("/static/style.css").await;

    // Assert
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "{html}"
    );
    assert_eq!(css.status(), StatusCode::OK);
}

#[tokio::test]
async fn liveness_answers_and_readiness_answers_when_the_database_does() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let alive = app.browser().get("/healthz").await;
    let ready = app.browser().get("/readyz").await;

    // Assert
    assert_eq!(alive.status(), StatusCode::OK);
    assert_eq!(alive.text().await.unwrap(), r#"{"status":"alive"}"#);
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), r#"{"status":"ready"}"#);
}

#[tokio::test]
async fn an_unknown_user_page_is_our_404() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.browser().get("/user/nobody").await;

    // Assert
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = response.text().await.unwrap();
    assert!(html.contains("Not Found") && html.contains("action=\"/search\""));
}
