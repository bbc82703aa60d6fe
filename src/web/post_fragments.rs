//! Posts rendered once and kept: a page of posts is pieced together from `_post.html`'s
//! output for each post, the way Rails renders a cached collection. Tera walks a JSON pointer
//! for every `{{ post.x }}`, and the post list was most of a page's rendering; a kept post costs
//! a hash of its text instead.
//!
//! A kept post is keyed by every value its display is made from (the whole `ListedPost`: the
//! row with its author, and how long ago it was posted, compared in full, not a digest of it),
//! so a post shows exactly what rendering it now would show: a new "5 minutes ago", a renamed
//! author or a new avatar is a new key, and the old entry ages out. Its display text (avatar
//! URL, ISO time, "ago" in words) is written only when it is not kept. `_post.html` is rendered
//! with `post` alone, so a fragment can hold nothing of the page it was first shown on (the
//! viewer, a token): a test renders it beside every value a page has and fails if any of them
//! shows.

use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;
use tera::{Context, Map, Value};

use super::display::{AvatarKey, ListedPost, PostView};
use crate::errors::AppError;
use crate::templates::Templates;

/// The template each post is rendered with.
const POST_TEMPLATE: &str = "_post.html";

/// The most the kept posts may weigh, in bytes of text: a few thousand posts. A stranger paging
/// through every post churns the cache but cannot grow it.
const BUDGET_BYTES: u64 = 4 * 1024 * 1024;

/// What one kept post costs beyond its text: the cache's slot, the key's four strings' headers
/// and its other fields, and the fragment's `Arc`. The allocator's own rounding is not counted: the memory held is
/// about a third more than the budget, and as bounded.
const ENTRY_OVERHEAD_BYTES: u64 = 192;

/// A kept post weighs its text: the values it is shown from and its HTML.
#[derive(Clone)]
struct TextBytes;

impl Weighter<ListedPost, Arc<str>> for TextBytes {
    fn weight(&self, post: &ListedPost, html: &Arc<str>) -> u64 {
        (post.text_len() + html.len()) as u64 + ENTRY_OVERHEAD_BYTES
    }
}

/// The rendered posts, bounded by [`BUDGET_BYTES`].
pub struct PostFragments {
    kept: Cache<ListedPost, Arc<str>, TextBytes>,
    /// The key of the avatar URLs in the kept HTML: a kept post is only right for this key.
    avatars: AvatarKey,
}

impl PostFragments {
    pub fn new(avatars: AvatarKey) -> Self {
        let typical_entry = 900;
        PostFragments {
            kept: Cache::with_weighter(
                (BUDGET_BYTES / typical_entry) as usize,
                BUDGET_BYTES,
                TextBytes,
            ),
            avatars,
        }
    }

    /// Puts `posts` in `context` as `posts_html`, for a page's `{{ posts_html | safe }}`. Moved
    /// in: `Context::insert` would serialise a copy of the page's largest string.
    pub fn insert_posts(
        &self,
        context: &mut Context,
        templates: &Templates,
        posts: Vec<ListedPost>,
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
    fn render(&self, templates: &Templates, posts: Vec<ListedPost>) -> Result<String, AppError> {
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
            let fragment = templates
                .render_fragment(POST_TEMPLATE, &post_context(&post.view(&self.avatars)))?;
            html.push_str(&fragment);
            if keep {
                self.kept.insert(post, fragment.into());
            }
        }
        Ok(html)
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
mod tests;
