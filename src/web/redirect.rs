//! Redirects: the 303 that follows a POST, and the `next` target a login may go back to, which
//! must never lead to another site.

use actix_web::http::header;
use actix_web::HttpResponse;

/// A 303 redirect: after a POST, the browser follows it with a GET.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `next` if it is a path on this site, else `/index`. Refused: absolute URLs
/// (`https://evil.example`), scheme-relative ones (`//evil.example`), backslashes that browsers
/// read as slashes (`/\evil.example`), and control characters and spaces.
pub fn safe_redirect_target(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && !next.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            next
        }
        _ => "/index",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_redirect_target;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Never: a redirect that a browser follows off the site, whatever `next` holds.
        #[test]
        fn a_safe_redirect_never_leaves_the_site(
            next in prop_oneof![
                any::<String>(),
                "[/\\\\a-z:.@%?#\t\r\n ]{0,24}",
                "(/|//|/\\\\|https?:|\\\\)[a-z.@:/]{0,16}",
            ]
        ) {
            let target = safe_redirect_target(Some(&next));
            let base = url::Url::parse("https://site.example/page").unwrap();
            let followed = base.join(target).unwrap();
            prop_assert_eq!(followed.host_str(), Some("site.example"), "{:?} → {:?}", next, target);
            prop_assert_eq!(followed.scheme(), "https");
        }
    }

    #[test]
    fn only_paths_on_this_site_are_redirect_targets() {
        assert_eq!(
            safe_redirect_target(Some("/user/susan?page=2")),
            "/user/susan?page=2"
        );
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/\tevil",
            "/ok\r\nSet-Cookie: x=1",
            "",
            "evil.example",
        ] {
            assert_eq!(safe_redirect_target(Some(hostile)), "/index", "{hostile:?}");
        }
        assert_eq!(safe_redirect_target(None), "/index");
    }
}
