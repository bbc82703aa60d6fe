//! Identicons: every avatar is drawn by the app from a hash of the user's email, so the site
//! renders completely without internet access (the Flask app uses Gravatar).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::errors::AppError;

#[derive(Deserialize)]
pub struct AvatarQuery {
    s: Option<u32>,
}

/// `GET /avatar/<digest>?s=<size>`: a 5×5 mirrored identicon as SVG.
pub async fn avatar(
    digest: web::Path<String>,
    query: web::Query<AvatarQuery>,
) -> Result<HttpResponse, AppError> {
    let bytes = hex::decode(digest.as_str()).map_err(|_| AppError::NotFound)?;
    if bytes.len() != 16 {
        return Err(AppError::NotFound);
    }
    let size = query.s.unwrap_or(80).clamp(16, 512);
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(identicon_svg(&bytes, size)))
}

/// The SVG for `bytes`: the first bytes pick a hue, each bit of the rest fills one cell of the
/// left half, which is mirrored. Only numbers are written into it, never user text.
pub fn identicon_svg(bytes: &[u8], size: u32) -> String {
    let hue = u16::from_be_bytes([bytes[0], bytes[1]]) % 360;
    let mut cells = String::new();
    for row in 0..5u32 {
        for column in 0..3u32 {
            let bit = row * 3 + column;
            let on = bytes[2 + (bit / 8) as usize] >> (bit % 8) & 1 == 1;
            if on {
                for x in [column, 4 - column] {
                    cells.push_str(&format!(
                        "<rect x=\"{}\" y=\"{}\" width=\"1\" height=\"1\"/>",
                        x + 1,
                        row + 1
                    ));
                }
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 7 7\" shape-rendering=\"crispEdges\">\
         <rect width=\"7\" height=\"7\" fill=\"hsl({hue},45%,94%)\"/><g fill=\"hsl({hue},55%,45%)\">{cells}</g></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_avatar_depends_on_the_lowercased_email_and_the_secret_key() {
        let key = crate::web::display::AvatarKey::new(b"one secret key");
        let url = |email: &str| key.url(email, 128);
        assert_eq!(url("john@example.com"), url("John@Example.com"));
        assert_ne!(url("john@example.com"), url("susan@example.com"));
        assert!(url("john@example.com").ends_with("?s=128"));
        let other = crate::web::display::AvatarKey::new(b"another secret key");
        assert_ne!(url("john@example.com"), other.url("john@example.com", 128));
    }

    #[test]
    fn an_identicon_is_a_symmetric_svg() {
        let svg = identicon_svg(&[7; 16], 64);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("width=\"64\""));
    }
}
