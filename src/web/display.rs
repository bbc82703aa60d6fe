//! How values are shown: "5 minutes ago", ISO timestamps, avatar URLs, and posts as the templates
//! show them. Models hold rows; this is where they become text for a page.

use std::hash::{Hash, Hasher};

use chrono::{Datelike, NaiveDateTime, Timelike, Utc};

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::models::{Paginated, PostWithAuthor};
use crate::tokens::derive_key;

/// A post as the templates show it, with its author's name and avatar: what `_post.html` is
/// given.
#[derive(Debug, PartialEq, Eq)]
pub struct PostView {
    pub body: String,
    pub author: String,
    pub avatar: String,
    /// ISO 8601, for `<time datetime>`.
    pub timestamp: String,
    /// "5 minutes ago".
    pub ago: String,
}

/// A post as a page lists it: the row, and how long ago it was posted. Everything its
/// [`PostView`] is made from, so equal listed posts render the same HTML, which is what lets
/// `post_fragments` keep it; the view's text is written only for a post that is not kept.
#[derive(Debug, PartialEq, Eq)]
pub struct ListedPost {
    pub post: PostWithAuthor,
    pub ago: Ago,
}

/// A page of posts as a page lists them.
pub fn listed_posts(posts: Paginated<PostWithAuthor>) -> Paginated<ListedPost> {
    let now = Utc::now().naive_utc();
    posts.map(|post| ListedPost {
        ago: Ago::between(post.timestamp, now),
        post,
    })
}

/// Hashes the post's id and its "ago" only, then `post_fragments` compares the whole post: the
/// body, the longest part, is not hashed on every page. The id is what keeps keys apart: one
/// author may publish many posts in the same second, and on the author and the second alone
/// they would all share one hash.
impl Hash for ListedPost {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.post.id.hash(state);
        self.ago.hash(state);
    }
}

impl ListedPost {
    /// The values `_post.html` shows. `avatars` is the process's one key, so the same post
    /// always gets the same avatar URL.
    pub fn view(&self, avatars: &AvatarKey) -> PostView {
        let post = &self.post;
        PostView {
            body: post.body.clone(),
            author: post.author.clone(),
            avatar: avatars.of(
                post.user_id,
                &post.author_email,
                post.author_avatar.as_deref(),
                36,
            ),
            timestamp: iso_time(post.timestamp),
            ago: self.ago.to_string(),
        }
    }

    /// The bytes of its text.
    pub fn text_len(&self) -> usize {
        let post = &self.post;
        post.body.len()
            + post.author.len()
            + post.author_email.len()
            + post.author_avatar.as_ref().map_or(0, String::len)
    }
}

/// The key of the avatars' digests, derived from SECRET_KEY. An unkeyed digest of an email (as
/// Gravatar's) lets anyone confirm a guessed address by computing its URL; a keyed one names
/// the same picture for the same address and tells a stranger nothing.
#[derive(Clone)]
pub struct AvatarKey(Hmac<Sha256>);

impl AvatarKey {
    pub fn new(secret: &[u8]) -> Self {
        // Keyed once: each URL then starts from a copy and skips the key's two blocks. HMAC pads
        // a short key with zeros to the block, so this is the same key as the 32 bytes alone.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&derive_key(secret, "avatar")[..32]);
        AvatarKey(<Hmac<Sha256> as KeyInit>::new(&block.into()))
    }

    /// The URL of a user's avatar: the picture they uploaded (`version` names it, so the URL
    /// changes with the picture and can be cached for good), or else their identicon.
    pub fn of(&self, user_id: i32, email: &str, version: Option<&str>, size: u32) -> String {
        match version {
            Some(version) => format!("/avatars/{user_id}/{version}"),
            None => self.url(email, size),
        }
    }

    /// The URL of the identicon for `email`, `size` pixels square, served by `routes::avatar`.
    pub fn url(&self, email: &str, size: u32) -> String {
        let mut mac = self.0.clone();
        mac.update(email.trim().to_lowercase().as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("/avatar/{}?s={size}", hex::encode(&digest[..16]))
    }
}

/// A timestamp (UTC) as ISO 8601.
pub fn iso_time(time: NaiveDateTime) -> String {
    // Written digit by digit: chrono's formatter parses its pattern on every call, and even
    // `format!` with padding cost 4% of the home page's instructions for 20 posts.
    let (date, clock) = (time.date(), time.time());
    let mut text = String::with_capacity(20);
    let mut push = |number: u32, digits: u32, separator: char| {
        for place in (0..digits).rev() {
            let digit = number / 10u32.pow(place) % 10;
            text.push(char::from(b'0' + digit as u8));
        }
        text.push(separator);
    };
    push(date.year().clamp(0, 9999) as u32, 4, '-');
    push(date.month(), 2, '-');
    push(date.day(), 2, 'T');
    push(clock.hour(), 2, ':');
    push(clock.minute(), 2, ':');
    push(clock.second(), 2, 'Z');
    text
}

/// How long ago `then` was, as a person would say it: "just now", "5 minutes ago", "3 days ago".
pub fn time_ago(then: NaiveDateTime, now: NaiveDateTime) -> String {
    Ago::between(then, now).to_string()
}

/// How long ago something was, as a number of a unit, before it is put into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ago {
    JustNow,
    Units { amount: i64, unit: &'static str },
}

impl Ago {
    pub fn between(then: NaiveDateTime, now: NaiveDateTime) -> Ago {
        let seconds = (now - then).num_seconds().max(0);
        let (amount, unit) = match seconds {
            0..=44 => return Ago::JustNow,
            45..=3_599 => ((seconds + 30) / 60, "minute"),
            3_600..=86_399 => ((seconds + 1_800) / 3_600, "hour"),
            86_400..=2_591_999 => ((seconds + 43_200) / 86_400, "day"),
            2_592_000..=31_535_999 => (seconds / 2_592_000, "month"),
            _ => (seconds / 31_536_000, "year"),
        };
        Ago::Units {
            amount: amount.max(1),
            unit,
        }
    }
}

impl std::fmt::Display for Ago {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Ago::JustNow => f.write_str("just now"),
            Ago::Units { amount: 1, unit } => {
                let article = if unit == "hour" { "an" } else { "a" };
                write!(f, "{article} {unit} ago")
            }
            Ago::Units { amount, unit } => write!(f, "{amount} {unit}s ago"),
        }
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
        assert_eq!(ago(2 * 3_600), "2 hours ago");
        assert_eq!(ago(45 * 86_400), "a month ago");
        assert_eq!(ago(4_000 * 86_400), "10 years ago");
    }

    #[test]
    fn the_avatar_key_keyed_once_is_the_32_byte_key() {
        let secret = b"one secret key";
        let key = &derive_key(secret, "avatar")[..32];
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(b"john@example.com");
        let expected = hex::encode(&mac.finalize().into_bytes()[..16]);
        let url = AvatarKey::new(secret).url(" John@Example.com ", 36);
        assert_eq!(url, format!("/avatar/{expected}?s=36"));
    }

    #[test]
    fn iso_time_is_rfc3339_in_utc_to_the_second() {
        let time = NaiveDateTime::parse_from_str("2026-01-02 03:04:05.678", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        let expected = time
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(iso_time(time), expected);
        assert_eq!(iso_time(time), "2026-01-02T03:04:05Z");
    }
}
