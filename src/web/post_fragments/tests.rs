//! The kept posts, checked against rendering them now.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::models::PostWithAuthor;
use crate::web::display::Ago;

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| Templates::load("templates", false).unwrap())
}

fn avatars() -> AvatarKey {
    AvatarKey::new(b"the kept posts' tests")
}

fn at(seconds: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp(1_796_000_000 + seconds, 0)
        .unwrap()
        .naive_utc()
}

fn post(body: &str, author: &str, ago: Ago) -> ListedPost {
    ListedPost {
        post: PostWithAuthor {
            id: 1,
            user_id: 7,
            body: body.to_string(),
            timestamp: at(0),
            author: author.to_string(),
            author_email: format!("{author}@example.com"),
            author_avatar: None,
        },
        ago,
    }
}

fn minutes(amount: i64) -> Ago {
    Ago::Units {
        amount,
        unit: "minute",
    }
}

fn rendered_now(post: &ListedPost) -> String {
    templates()
        .render_fragment(POST_TEMPLATE, &post_context(&post.view(&avatars())))
        .unwrap()
}

proptest! {
    /// A kept post is never other than the post rendered now, whatever its text.
    #[test]
    fn a_kept_post_is_the_post_rendered_now(
        body in any::<String>(),
        author in "[a-z<>&\"']{1,12}",
        amount in 0..100i64,
        unit in prop::sample::select(vec!["minute", "hour", "day", "month", "year"]),
    ) {
        let fragments = PostFragments::new(avatars());
        let ago = Ago::Units { amount, unit };
        let first = fragments.render(templates(), vec![post(&body, &author, ago)]).unwrap();
        let kept = fragments.render(templates(), vec![post(&body, &author, ago)]).unwrap();
        let now = rendered_now(&post(&body, &author, ago));
        prop_assert_eq!(&first, &now);
        prop_assert_eq!(&kept, &now);
        prop_assert_eq!(fragments.kept.len(), 1);
    }
}

#[test]
fn posts_differing_in_any_value_they_are_shown_from_are_kept_apart() {
    // Arrange: one id, so only the full comparison tells them apart
    let fragments = PostFragments::new(avatars());
    let posts = || {
        let base = || post("Hello", "susan", minutes(5));
        let with = |change: fn(&mut PostWithAuthor)| {
            let mut listed = base();
            change(&mut listed.post);
            listed
        };
        vec![
            base(),
            ListedPost {
                ago: minutes(6),
                ..base()
            },
            with(|post| post.author = "susanna".to_string()),
            with(|post| post.body = "Hello!".to_string()),
            with(|post| post.author_avatar = Some("2".to_string())),
            with(|post| post.author_email = "other@example.com".to_string()),
            with(|post| post.user_id = 8),
            with(|post| post.timestamp = at(1)),
        ]
    };
    let expected: String = posts().iter().map(rendered_now).collect();

    // Act
    let first = fragments.render(templates(), posts()).unwrap();
    let kept = fragments.render(templates(), posts()).unwrap();

    // Assert
    assert_eq!(first, expected);
    assert_eq!(kept, expected);
    assert_eq!(fragments.kept.len(), 8);
}

#[test]
fn the_kept_posts_weigh_their_text_and_never_more_than_their_budget() {
    // Arrange
    let fragments = PostFragments::new(avatars());
    let body = "x".repeat(140);
    let smallest_html = rendered_now(&post(&body, "user0", Ago::JustNow)).len() as u64;

    // Act: many more posts than fit, many of them one author's in one second
    for page in 0..2_000 {
        let posts = (0..25)
            .map(|n| {
                let mut listed = post(&body, &format!("user{}", page % 3), minutes(n.into()));
                listed.post.id = page * 25 + n;
                listed
            })
            .collect();
        fragments.render(templates(), posts).unwrap();
    }

    // Assert
    let weight = fragments.kept.weight();
    assert!(weight <= BUDGET_BYTES);
    assert!(weight >= fragments.kept.len() as u64 * (smallest_html + 140 + 22));
    assert!(fragments.kept.len() > 1_000, "a few thousand posts fit");
}

#[test]
fn the_post_template_shows_nothing_but_the_post() {
    // Arrange: every value a page gives its template, each set to something a fragment
    // kept for one viewer must never show to another
    let post = post("Hello", "susan", Ago::JustNow);
    let mut page = post_context(&post.view(&avatars()));
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
    let fragments = PostFragments::new(avatars());

    let html = fragments
        .render(&reloading, vec![post("Hello", "susan", Ago::JustNow)])
        .unwrap();

    assert_eq!(html, rendered_now(&post("Hello", "susan", Ago::JustNow)));
    assert!(fragments.kept.is_empty());
}
