//! The kept posts, checked against rendering them now.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| Templates::load("templates", false).unwrap())
}

fn post(body: &str, author: &str, ago: &str) -> PostView {
    PostView {
        id: 1,
        body: body.to_string(),
        author: author.to_string(),
        avatar: "/avatar/00ff?s=36".to_string(),
        timestamp: "2026-12-06T10:00:00Z".to_string(),
        ago: ago.to_string(),
    }
}

fn rendered_now(post: &PostView) -> String {
    templates()
        .render_fragment(POST_TEMPLATE, &post_context(post))
        .unwrap()
}

proptest! {
    /// A kept post is never other than the post rendered now, whatever its text.
    #[test]
    fn a_kept_post_is_the_post_rendered_now(
        body in any::<String>(),
        author in "[a-z<>&\"']{1,12}",
        ago in "[0-9a-z ]{1,16}",
    ) {
        let fragments = PostFragments::default();
        let first = fragments.render(templates(), vec![post(&body, &author, &ago)]).unwrap();
        let kept = fragments.render(templates(), vec![post(&body, &author, &ago)]).unwrap();
        let now = rendered_now(&post(&body, &author, &ago));
        prop_assert_eq!(&first, &now);
        prop_assert_eq!(&kept, &now);
        prop_assert_eq!(fragments.kept.len(), 1);
    }
}

#[test]
fn posts_differing_in_any_shown_value_are_kept_apart() {
    // Arrange: one id, so only the full comparison tells them apart
    let fragments = PostFragments::default();
    let posts = || {
        let base = || post("Hello", "susan", "5 minutes ago");
        vec![
            base(),
            PostView {
                ago: "6 minutes ago".to_string(),
                ..base()
            },
            PostView {
                author: "susanna".to_string(),
                ..base()
            },
            PostView {
                body: "Hello!".to_string(),
                ..base()
            },
            PostView {
                avatar: "/avatars/1/2".to_string(),
                ..base()
            },
            PostView {
                timestamp: "2026-12-06T10:00:01Z".to_string(),
                ..base()
            },
        ]
    };
    let expected: String = posts().iter().map(rendered_now).collect();

    // Act
    let first = fragments.render(templates(), posts()).unwrap();
    let kept = fragments.render(templates(), posts()).unwrap();

    // Assert
    assert_eq!(first, expected);
    assert_eq!(kept, expected);
    assert_eq!(fragments.kept.len(), 6);
}

#[test]
fn the_kept_posts_weigh_their_text_and_never_more_than_their_budget() {
    // Arrange
    let fragments = PostFragments::default();
    let body = "x".repeat(140);
    let smallest_html = rendered_now(&post(&body, "user0", "0 days ago")).len() as u64;

    // Act: many more posts than fit, many of them one author's in one second
    for page in 0..2_000 {
        let posts = (0..25)
            .map(|n| PostView {
                id: page * 25 + n,
                ..post(
                    &body,
                    &format!("user{}", page % 3),
                    &format!("{n} days ago"),
                )
            })
            .collect();
        fragments.render(templates(), posts).unwrap();
    }

    // Assert
    let weight = fragments.kept.weight();
    assert!(weight <= BUDGET_BYTES);
    assert!(weight >= fragments.kept.len() as u64 * (smallest_html + 140));
    assert!(fragments.kept.len() > 1_000, "a few thousand posts fit");
}

#[test]
fn the_post_template_shows_nothing_but_the_post() {
    // Arrange: every value a page gives its template, each set to something a fragment
    // kept for one viewer must never show to another
    let post = post("Hello", "susan", "just now");
    let mut page = post_context(&post);
    for key in [
        "current_user",
        "user",
        "form",
        "errors",
        "flashes",
        "title",
        "q",
    ] {
        page.insert(
            key,
            &serde_json::json!({ "username": "SENTINEL", "text": "SENTINEL" }),
        );
    }
    for key in [
        "csrf_token",
        "request_id",
        "newer_url",
        "older_url",
        "posts_html",
    ] {
        page.insert(key, "SENTINEL");
    }
    for key in [
        "is_self",
        "is_following",
        "lab_enabled",
        "debug",
        "unresolved_errors",
    ] {
        page.insert(key, &true);
    }

    // Act
    let with_page = templates().render_fragment(POST_TEMPLATE, &page).unwrap();

    // Assert
    assert_eq!(with_page, rendered_now(&post));
    assert!(!with_page.contains("SENTINEL"));
}

#[test]
fn with_templates_reloaded_before_each_render_nothing_is_kept() {
    let reloading = Templates::load("templates", true).unwrap();
    let fragments = PostFragments::default();

    let html = fragments
        .render(&reloading, vec![post("Hello", "susan", "just now")])
        .unwrap();

    assert_eq!(html, rendered_now(&post("Hello", "susan", "just now")));
    assert!(fragments.kept.is_empty());
}
