//! Tera templates, compiled once at start (and reloaded before each render when DEBUG=1), and
//! the small formatting helpers they rely on.

use std::sync::RwLock;

use chrono::NaiveDateTime;
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
        let mut tera = Tera::new(&format!("{dir}/**/*.html"))?;
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

/// A timestamp (UTC) as ISO 8601.
pub fn iso_time(time: NaiveDateTime) -> String {
    time.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How long ago `then` was, as a person would say it: "just now", "5 minutes ago", "3 days ago".
pub fn time_ago(then: NaiveDateTime, now: NaiveDateTime) -> String {
    let seconds = (now - then).num_seconds().max(0);
    let (amount, unit) = match seconds {
        0..=44 => return "just now".to_string(),
        45..=3_599 => ((seconds + 30) / 60, "minute"),
        3_600..=86_399 => ((seconds + 1_800) / 3_600, "hour"),
        86_400..=2_591_999 => ((seconds + 43_200) / 86_400, "day"),
        2_592_000..=31_535_999 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    let amount = amount.max(1);
    if amount == 1 {
        format!("a{} {unit} ago", if unit == "hour" { "n" } else { "" })
    } else {
        format!("{amount} {unit}s ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn time_ago_reads_like_speech() {
        let now =
            NaiveDateTime::parse_from_str("2026-11-21 12:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let ago = |seconds| time_ago(now - TimeDelta::seconds(seconds), now);
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(60), "a minute ago");
        assert_eq!(ago(600), "10 minutes ago");
        assert_eq!(ago(3_600), "an hour ago");
        assert_eq!(ago(3 * 86_400), "3 days ago");
        assert_eq!(ago(400 * 86_400), "a year ago");
    }
}
