//! How failures are grouped: by their fingerprint, the error's kind and the place in our code
//! that failed (`ErrorReport::place`), never by its message.

use crate::tokens::digest_hex;

/// The id of the group of failures with fingerprint `place`: 16 hex digits of its digest. Every
/// instance computes the same id, and a page can link to the group before it is counted.
pub fn group_id(place: &str) -> String {
    let mut id = digest_hex(place);
    id.truncate(16);
    id
}

/// Whether `text` has the shape of a group id (so a path segment can be refused before any
/// query).
pub fn is_group_id(text: &str) -> bool {
    text.len() == 16
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_place_is_one_group_and_two_places_are_two() {
        let here = group_id("error at src/routes/posts.rs:42");
        assert_eq!(here, group_id("error at src/routes/posts.rs:42"));
        assert_ne!(here, group_id("error at src/routes/posts.rs:43"));
        assert!(is_group_id(&here), "{here}");
    }
}
