//! Flash messages ("Your post is now live!"), kept in the session until a page shows them, as
//! Flask's `flash()` does.
//!
//! Written by hand instead of using actix-web-flash-messages: its cookie store always marks its
//! cookie `Secure` (so on plain HTTP, other than localhost, every message vanishes) and it drops
//! messages on the next response even when that is a redirect that shows nothing.

use actix_session::Session;
use serde::{Deserialize, Serialize};

const SESSION_KEY: &str = "_flashes";
const MAX_QUEUED: usize = 4;
const MAX_CHARS: usize = 160;
/// The most the queued messages may take in the session, encoded: the session lives in a
/// cookie of at most 4 KiB, and a control character takes six bytes in JSON (`\u0001`).
const MAX_ENCODED_BYTES: usize = 1024;

/// How a message is styled.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Success,
    Error,
}

/// One message waiting to be shown.
#[derive(Debug, Serialize, Deserialize)]
pub struct Flash {
    pub level: Level,
    pub text: String,
}

/// Queues `text` for the next page this session sees.
pub fn flash(session: &Session, level: Level, text: impl Into<String>) {
    let mut queued = session
        .get::<Vec<Flash>>(SESSION_KEY)
        .ok()
        .flatten()
        .unwrap_or_default();
    // The session lives in a cookie of at most 4 KiB: keep a few short messages only.
    let text: String = text.into().chars().take(MAX_CHARS).collect();
    if queued.len() >= MAX_QUEUED {
        queued.remove(0);
    }
    queued.push(Flash { level, text });
    while queued.len() > 1 && encoded_size(&queued) > MAX_ENCODED_BYTES {
        queued.remove(0);
    }
    if encoded_size(&queued) > MAX_ENCODED_BYTES {
        tracing::warn!("A flash message was too large to keep");
        return;
    }
    // A message that cannot be stored is not worth failing the request for.
    if let Err(error) = session.insert(SESSION_KEY, queued) {
        tracing::warn!(%error, "A flash message could not be stored");
    }
}

fn encoded_size(queued: &[Flash]) -> usize {
    serde_json::to_string(queued).map_or(usize::MAX, |json| json.len())
}

/// Removes and returns the queued messages, to show them.
pub fn take(session: &Session) -> Vec<Flash> {
    // Removing marks the session changed even when the key is absent, and a changed session is
    // sealed again and sent as a new cookie: every page did that, for nothing.
    if !session.entries().contains_key(SESSION_KEY) {
        return Vec::new();
    }
    session
        .remove_as::<Vec<Flash>>(SESSION_KEY)
        .and_then(Result::ok)
        .unwrap_or_default()
}
