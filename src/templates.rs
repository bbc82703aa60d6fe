//! Tera templates, compiled once at start (and reloaded before each render when DEBUG=1): the
//! pages, the error pages, the mails and the lab's cards.

use std::sync::RwLock;

use tera::{Context, Tera};

use crate::errors::AppError;

/// The compiled templates of `templates/`.
pub struct Templates {
    tera: RwLock<Tera>,
    reload: bool,
}

impl Templates {
    /// Compiles every template under `dir`. With `reload`, templates are read again from disk
    /// before each render so that edits show without a restart (development only).
    pub fn load(dir: &str, reload: bool) -> Result<Self, tera::Error> {
        // Pages are HTML (escaped); mails are plain text (`.txt`, not escaped).
        let mut tera = Tera::new(&format!("{dir}/**/*.{{html,txt}}"))?;
        tera.autoescape_on(vec![".html"]);
        tera.set_escape_fn(escape_html);
        Ok(Templates {
            tera: RwLock::new(tera),
            reload,
        })
    }

    /// Renders `name` with `context`.
    pub fn render(&self, name: &str, context: &Context) -> Result<String, AppError> {
        text(self.render_page(name, context)?)
    }

    /// Renders `name`, a page, with `context`, as the bytes of a response body: Tera writes only
    /// UTF-8, and checking a page's 12 KB again cost 1% of the home page's instructions.
    pub fn render_page(&self, name: &str, context: &Context) -> Result<Vec<u8>, AppError> {
        // Tera starts from 2 KB and grows by doubling, copying each time; pages are 3-15 KB.
        self.render_sized(name, context, 16 * 1024)
    }

    /// Renders `name`, a part of a page (a post), with `context`, from the templates as they
    /// are: with DEBUG=1 the caller reloads them once for the page (`reload_if_asked`), not once
    /// for each of its posts.
    pub fn render_fragment(&self, name: &str, context: &Context) -> Result<String, AppError> {
        text(self.render_as_loaded(name, context, 1024)?)
    }

    /// Reads the templates again from disk if they are reloaded before each render (DEBUG=1).
    pub fn reload_if_asked(&self) -> Result<(), AppError> {
        if self.reload {
            let mut tera = self.tera.write().map_err(|_| poisoned())?;
            tera.full_reload()
                .map_err(|e| AppError::unexpected(e).context("Failed to reload the templates"))?;
        }
        Ok(())
    }

    /// Whether templates are read again before each render (DEBUG=1).
    pub fn reloads(&self) -> bool {
        self.reload
    }

    fn render_sized(
        &self,
        name: &str,
        context: &Context,
        size: usize,
    ) -> Result<Vec<u8>, AppError> {
        self.reload_if_asked()?;
        self.render_as_loaded(name, context, size)
    }

    fn render_as_loaded(
        &self,
        name: &str,
        context: &Context,
        size: usize,
    ) -> Result<Vec<u8>, AppError> {
        let tera = self.tera.read().map_err(|_| poisoned())?;
        let mut html = Vec::with_capacity(size);
        tera.render_to(name, context, &mut html)
            .map_err(|e| AppError::unexpected(e).context("Failed to render a template"))?;
        Ok(html)
    }
}

fn text(rendered: Vec<u8>) -> Result<String, AppError> {
    String::from_utf8(rendered)
        .map_err(|e| AppError::unexpected(e).context("A template rendered invalid UTF-8"))
}

/// Escapes the five characters that matter in HTML text and quoted attributes. Tera's default
/// also escapes `/`, which is safe but turns every URL in a page into `&#x2F;` soup.
pub fn escape_html(input: &str) -> String {
    let mut output = String::with_capacity(input.len() + 8);
    // Copies the runs between special characters whole: pushing a char at a time was 5% of a
    // page's instructions. The five are ASCII, so a byte index is always a char boundary.
    let mut run_start = 0;
    for (index, byte) in input.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        output.push_str(&input[run_start..index]);
        output.push_str(entity);
        run_start = index + 1;
    }
    output.push_str(&input[run_start..]);
    output
}

fn poisoned() -> AppError {
    AppError::unexpected(anyhow::anyhow!("The template lock was poisoned by a panic"))
}

#[cfg(test)]
mod tests {
    use super::{escape_html, Templates};
    use proptest::prelude::*;
    use serde_json::json;
    use tera::Context;

    #[test]
    fn the_home_page_writes_its_form_and_pager_as_the_macros_would() {
        // Arrange: the macro calls index.html stands in for, beside it
        let templates = Templates::load("templates", false).unwrap();
        let calls = r#"{% import "_macros.html" as m %}{{ m::csrf(token=csrf_token) }}|{{ m::textarea(name="post", label="Say something", value=form.post, errors=errors, placeholder="What's happening?") }}|{{ m::pagination(newer_url=newer_url, older_url=older_url) }}"#;
        (templates.tera.write().unwrap())
            .add_raw_template("macro_calls.html", calls)
            .unwrap();
        let errors = [json!({}), json!({ "post": ["Say something.", "Or less."] })];
        let links = [None, Some("/index?page=1&x=<y>")];

        for errors in &errors {
            for (newer, older) in links.iter().flat_map(|a| links.iter().map(move |b| (a, b))) {
                let mut context = Context::new();
                context.insert(
                    "current_user",
                    &json!({ "username": "susan", "avatar": "/a" }),
                );
                context.insert("csrf_token", "t0k3n");
                context.insert("request_id", "r1");
                context.insert("flashes", &json!([]));
                context.insert("title", "Home");
                context.insert("form", &json!({ "post": "a <draft> & 'quotes'" }));
                context.insert("errors", errors);
                context.insert("posts_html", "");
                context.insert("newer_url", newer);
                context.insert("older_url", older);
                context.insert("lab_enabled", &false);
                context.insert("debug", &false);

                // Act
                let page = templates.render("index.html", &context).unwrap();
                let macros = templates.render("macro_calls.html", &context).unwrap();

                // Assert
                for part in macros.split('|') {
                    assert!(page.contains(part), "index.html lacks {part:?}");
                }
            }
        }
    }

    proptest! {
        /// Never a raw `<`, `>`, `"` or `'` in the output, and unescaping gives the input back.
        #[test]
        fn escaped_text_holds_no_markup_and_loses_nothing(input in any::<String>()) {
            let escaped = escape_html(&input);
            prop_assert!(!escaped.contains(['<', '>', '"', '\'']));
            let unescaped = escaped
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#x27;", "'")
                .replace("&amp;", "&");
            prop_assert_eq!(unescaped, input);
        }
    }
}
