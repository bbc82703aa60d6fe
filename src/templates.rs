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
        if self.reload {
            let mut tera = self.tera.write().map_err(|_| poisoned())?;
            tera.full_reload()
                .map_err(|e| AppError::unexpected(e).context("Failed to reload the templates"))?;
        }
        let tera = self.tera.read().map_err(|_| poisoned())?;
        tera.render(name, context)
            .map_err(|e| AppError::unexpected(e).context("Failed to render a template"))
    }
}

/// Escapes the five characters that matter in HTML text and quoted attributes. Tera's default
/// also escapes `/`, which is safe but turns every URL in a page into `&#x2F;` soup.
pub fn escape_html(input: &str) -> String {
    let mut output = String::with_capacity(input.len() + 8);
    for c in input.chars() {
        match c {
            '&' => output.push_str("&amp;"),
            '<' => output.push_str("&lt;"),
            '>' => output.push_str("&gt;"),
            '"' => output.push_str("&quot;"),
            '\'' => output.push_str("&#x27;"),
            _ => output.push(c),
        }
    }
    output
}

fn poisoned() -> AppError {
    AppError::unexpected(anyhow::anyhow!("The template lock was poisoned by a panic"))
}
