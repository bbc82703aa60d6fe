//! How values are shown: "5 minutes ago", ISO timestamps, avatar URLs, and posts as the templates
//! show them. Models hold rows; this is where they become text for a page.

use std::hash::{Hash, Hasher};

use chrono::{Datelike, NaiveDateTime, Timelike, Utc};

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::models::{Paginated, PostWithAuthor};
use crate::tokens::derive_key;

/// A post as the templates show it, with its author's name and avatar. Equal views render the
/// same HTML, which is what lets `post_fragments` keep it.
#[derive(Debug, PartialEq, Eq)]
pub struct PostView {
    /// Not shown: it makes each post's key its own (see the `Hash` below).
    pub id: i32,
    pub body: String,
    pub author: String,
    pub avatar: String,
    /// ISO 8601, for `<time datetime>`.
    pub timestamp: String,
    /// "5 minutes ago".
    pub ago: String,
}

/// A page of posts as the templates show them.
pub fn post_views(avatars: &AvatarKey, posts: Paginated<PostWithAuthor>) -> Paginated<PostView> {
    let now = Utc::now().naive_utc();
    // A page shows a few authors many times: each avatar URL is made once per page.
    let mut known: Vec<(i32, String)> = Vec::new();
    posts.map(|post| {
        let avatar = match known.iter().find(|(author, _)| *author == post.user_id) {
            Some((_, url)) => url.clone(),
            None => {
                let url = avatars.of(
                    post.user_id,
                    &post.author_email,
                    post.author_avatar.as_deref(),
                    36,
                );
                known.push((post.user_id, url.clone()));
                url
            }
        };
        PostView {
            id: post.id,
            avatar,
            timestamp: iso_time(post.timestamp),
            ago: time_ago(post.timestamp, now),
            body: post.body,
            author: post.author,
        }
    })
}

/// Hashes the post's id and its "ago" only, then `post_fragments` compares the whole view: the
/// body, the longest part, is not hashed on every page. The id is what keeps keys apart: one
/// author may publish many posts in the same second, and on the author and the second alone
/// they would all share one hash.
impl Hash for PostView {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.ago.hash(state);
    }
}

impl PostView {
    /// The bytes of its text.
    pub fn text_len(&self) -> usize {
        self.body.len()
            + self.author.len()
            + self.avatar.len()
            + self.timestamp.len()
            + self.ago.len()
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
        let article = if unit == "hour" { "an" } else { "a" };
        return [article, " ", unit, " ago"].concat();
    }
    // Put together by hand: `format!` was 3% of the home page's instructions, for 25 posts.
    let mut text = String::with_capacity(20);
    text.push_str(decimal_digits(amount as u64).as_str());
    for part in [" ", unit, "s ago"] {
        text.push_str(part);
    }
    text
}

/// `number` in decimal digits.
fn decimal_digits(number: u64) -> DecimalDigits {
    let mut digits = DecimalDigits {
        bytes: [0; 20],
        start: 20,
    };
    let mut rest = number;
    loop {
        digits.start -= 1;
        digits.bytes[digits.start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            return digits;
        }
    }
}

/// A number's decimal digits, on the stack.
struct DecimalDigits {
    bytes: [u8; 20],
    start: usize,
}

impl DecimalDigits {
    fn as_str(&self) -> &str {
        // Only ASCII digits were written from `start` on.
        std::str::from_utf8(&self.bytes[self.start..]).unwrap_or_default()
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

    proptest::proptest! {
        /// Never other digits than `to_string` writes.
        #[test]
        fn numbers_are_written_as_to_string_writes_them(number in proptest::prelude::any::<u64>()) {
            let digits = decimal_digits(number);
            proptest::prop_assert_eq!(digits.as_str(), number.to_string());
        }
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
