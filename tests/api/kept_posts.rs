//! Posts are rendered once and kept (`src/web/post_fragments.rs`): a page seen before must
//! still show what is true now.

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_renamed_author_shows_under_the_new_name_on_a_page_seen_before() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    let john = app.logged_in("john").await;
    susan.publish("Renames are rare, but they happen.").await;
    let before = john.get_html("/explore").await;

    // Act
    susan
        .post(
            "/edit_profile",
            &[("username", "susanna"), ("about_me", "")],
        )
        .await;
    let after = john.get_html("/explore").await;

    // Assert
    assert!(before.contains("href=\"/user/susan\""));
    assert!(after.contains("Renames are rare, but they happen."));
    assert!(after.contains("href=\"/user/susanna\""));
    assert!(
        !after.contains("href=\"/user/susan\""),
        "never the old name"
    );
}

#[tokio::test]
async fn a_post_is_escaped_on_every_page_that_shows_it_and_every_time() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    susan.publish("<script>alert('kept')</script> & more").await;
    let escaped = "&lt;script&gt;alert(&#x27;kept&#x27;)&lt;/script&gt; &amp; more";

    for path in ["/index", "/explore", "/user/susan", "/search?q=more"] {
        // Act: the first view renders the post, the second shows it as kept
        let first = susan.get_html(path).await;
        let second = susan.get_html(path).await;

        // Assert
        for page in [&first, &second] {
            assert!(page.contains(escaped), "{path} shows the post escaped");
            assert!(!page.contains("<script>alert"), "{path} never runs it");
        }
    }
}

#[tokio::test]
async fn pages_without_posts_say_so() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;

    // Act
    let home = susan.get_html("/index").await;
    let profile = susan.get_html("/user/susan").await;
    let search = susan.get_html("/search?q=nothing").await;

    // Assert
    assert!(home.contains("No posts yet. Say something"));
    assert!(profile.contains("susan has not posted yet."));
    assert!(search.contains("No posts match “nothing”."));
}
