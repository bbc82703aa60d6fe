//! Posts rendered once and kept: a page of posts is pieced together from `_post.html`'s
//! output for each post, the way Rails renders a cached collection. Tera walks a JSON pointer
//! for every `{{ post.x }}`, and the post list was most of a page's rendering; a kept post costs
//! a hash of its text instead.
//!
//! A kept post is keyed by every value `_post.html` is given (the whole `PostView`, compared
//! in full, not a digest of it), so a post shows exactly what rendering it now would show: a
//! new "5 minutes ago", a renamed author or a new avatar is a new key, and the old entry ages
//! out. `_post.html` is rendered with `post` alone, so a fragment can hold nothing of the page
//! it was first shown on (the viewer, a token): a test renders it beside every value a page has
//! and fails if any of them shows.

use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;
use tera::{Context, Map, Value};

use super::display::PostView;
use crate::errors::AppError;
use crate::templates::Templates;

/// The template each post is rendered with.
const POST_TEMPLATE: &str = "_post.html";

/// The most the kept posts may weigh, in bytes of text: a few thousand posts. A stranger paging
/// through every post churns the cache but cannot grow it.
const BUDGET_BYTES: u64 = 4 * 1024 * 1024;

/// What one kept post costs beyond its text: the cache's slot, the key's five strings' headers
/// and the fragment's `Arc`. The allocator's own rounding is not counted: the memory held is
/// about a third more than the budget, and as bounded.
const ENTRY_OVERHEAD_BYTES: u64 = 192;

/// A kept post weighs its text: its displayed values and its HTML.
#[derive(Clone)]
struct TextBytes;

impl Weighter<PostView, Arc<str>> for TextBytes {
    fn weight(&self, post: &PostView, html: &Arc<str>) -> u64 {
        (post.text_len() + html.len()) as u64 + ENTRY_OVERHEAD_BYTES
    }
}

/// The rendered posts, bounded by [`BUDGET_BYTES`].
pub struct PostFragments {
    kept: Cache<PostView, Arc<str>, TextBytes>,
}

impl Default for PostFragments {
    fn default() -> Self {
        let typical_entry = 900;
        PostFragments {
            kept: Cache::with_weighter(
                (BUDGET_BYTES / typical_entry) as usize,
                BUDGET_BYTES,
                TextBytes,
            ),
        }
    }
}

impl PostFragments {
    /// Puts `posts` in `context` as `posts_html`, for a page's `{{ posts_html | safe }}`. Moved
    /// in: `Context::insert` would serialise a copy of the page's largest string.
    pub fn insert_posts(
        &self,
        context: &mut Context,
        templates: &Templates,
        posts: Vec<PostView>,
    ) -> Result<(), AppError> {
        let mut entries = Map::new();
        let html = self.render(templates, posts)?;
        entries.insert("posts_html".to_string(), Value::String(html));
        let posts = Context::from_value(Value::Object(entries)).map_err(AppError::unexpected)?;
        context.extend(posts);
        Ok(())
    }

    /// `posts` rendered by `_post.html`, one after another (each fragment was escaped by Tera
    /// when it was rendered).
    fn render(&self, templates: &Templates, posts: Vec<PostView>) -> Result<String, AppError> {
        // With templates reloaded before each render (DEBUG=1), an edit to `_post.html` must show.
        let keep = !templates.reloads();
        templates.reload_if_asked()?;
        let mut html = String::with_capacity(posts.len() * 640);
        for post in posts {
            if keep {
                if let Some(fragment) = self.kept.get(&post) {
                    html.push_str(&fragment);
                    continue;
                }
            }
            let fragment = templates.render_fragment(POST_TEMPLATE, &post_context(&post))?;
            html.push_str(&fragment);
            if keep {
                self.kept.insert(post, fragment.into());
            }
        }
        Ok(html)
    }

    /// How many posts are kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether no post is kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

/// The context `_post.html` sees: `post`, and nothing else.
fn post_context(post: &PostView) -> Context {
    let mut fields = Map::new();
    fields.insert("body".to_string(), Value::from(post.body.as_str()));
    fields.insert("author".to_string(), Value::from(post.author.as_str()));
    fields.insert("avatar".to_string(), Value::from(post.avatar.as_str()));
    fields.insert(
        "timestamp".to_string(),
        Value::from(post.timestamp.as_str()),
    );
    fields.insert("ago".to_string(), Value::from(post.ago.as_str()));
    let mut context = Context::new();
    context.insert("post", &Value::Object(fields));
    context
}

#[cfg(test)]
mod tests {
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
            prop_assert_eq!(fragments.len(), 1);
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
        assert_eq!(fragments.len(), 6);
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
        assert!(weight >= fragments.len() as u64 * (smallest_html + 140));
        assert!(fragments.len() > 1_000, "a few thousand posts fit");
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
        assert!(fragments.is_empty());
    }
}
