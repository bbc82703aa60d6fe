//! Random tokens (logins, remember-me cookies) and signed, expiring tokens (password reset
//! links).
//!
//! Keys come from SECRET_KEY through HKDF, one per purpose, and tokens are signed with
//! HMAC-SHA256: the `hkdf`, `hmac` and `sha2` crates are already in the build for actix's signed
//! cookies. A signed `payload.expiry.mac` string is all these two uses need.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use blake2::{Blake2b512, Digest};
use chrono::Utc;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// `bytes` random bytes from the operating system, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// A short, stable hex digest of `input` (not a secret: used for fingerprints and hashed keys).
pub fn digest_hex(input: &str) -> String {
    let digest = Blake2b512::digest(input.as_bytes());
    hex::encode(&digest[..16])
}

/// A 64-byte key for one `purpose`, derived from the application secret with HKDF-SHA256, so
/// that no two uses (session cookies, reset links, API tokens, avatars) ever share a key.
///
/// The salt `b"microblog"` is part of every key: changing it (when renaming a fork, say) is a
/// key rotation that SECRET_KEY_FALLBACKS cannot soften, and ends every session, reset link and
/// API token. Keep it, whatever the app is called.
pub fn derive_key(secret: &[u8], purpose: &str) -> [u8; 64] {
    let mut key = [0u8; 64];
    Hkdf::<Sha256>::new(Some(b"microblog"), secret)
        .expand(purpose.as_bytes(), &mut key)
        .unwrap_or_else(|_| unreachable!("64 bytes is far below HKDF-SHA256's 8160-byte limit"));
    key
}

/// Signs and verifies expiring tokens for one purpose: a token made for one purpose never
/// verifies for another, because each purpose has its own key derived from SECRET_KEY.
#[derive(Clone)]
pub struct Signer {
    key: [u8; 64],
    /// Keys derived from SECRET_KEY_FALLBACKS: still accepted, never used to sign.
    fallbacks: Vec<[u8; 64]>,
}

impl Signer {
    /// A signer for `purpose` (such as `"remember"` or `"reset"`) under the application secret.
    pub fn new(secret: &[u8], purpose: &str) -> Self {
        Self::with_fallbacks(secret, &[], purpose)
    }

    /// A signer that also accepts tokens signed under the older `fallbacks`, while keys rotate.
    pub fn with_fallbacks(secret: &[u8], fallbacks: &[&[u8]], purpose: &str) -> Self {
        Signer {
            key: derive_key(secret, purpose),
            fallbacks: fallbacks
                .iter()
                .map(|old| derive_key(old, purpose))
                .collect(),
        }
    }

    fn mac_with(key: &[u8], message: &str) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(message.as_bytes());
        mac
    }

    fn mac(&self, message: &str) -> HmacSha256 {
        Self::mac_with(&self.key, message)
    }

    /// A token carrying `payload` (which must not contain `.`) valid for `seconds`.
    pub fn sign(&self, payload: &str, seconds: i64) -> String {
        let expires = Utc::now().timestamp() + seconds;
        let message = format!("{payload}.{expires}");
        let tag = self.mac(&message).finalize().into_bytes();
        format!("{message}.{}", hex::encode(tag))
    }

    /// The payload of a token this signer made, if its signature holds and it has not expired.
    pub fn verify(&self, token: &str) -> Option<String> {
        let (message, tag) = token.rsplit_once('.')?;
        let tag = hex::decode(tag).ok()?;
        let signed = std::iter::once(&self.key)
            .chain(&self.fallbacks)
            .any(|key| Self::mac_with(key, message).verify_slice(&tag).is_ok());
        if !signed {
            return None;
        }
        let (payload, expires) = message.rsplit_once('.')?;
        let expires: i64 = expires.parse().ok()?;
        (Utc::now().timestamp() <= expires).then(|| payload.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_token_verifies_and_returns_its_payload() {
        let signer = Signer::new(b"secret", "reset");
        let token = signer.sign("42", 600);
        assert_eq!(signer.verify(&token).as_deref(), Some("42"));
    }

    #[test]
    fn a_token_signed_under_a_fallback_key_still_verifies() {
        let old = Signer::new(b"old secret", "reset").sign("42", 600);
        let rotated = Signer::with_fallbacks(b"new secret", &[b"old secret"], "reset");
        assert_eq!(rotated.verify(&old).as_deref(), Some("42"));
        assert_eq!(Signer::new(b"new secret", "reset").verify(&old), None);
    }

    #[test]
    fn a_tampered_expired_or_foreign_token_does_not_verify() {
        let signer = Signer::new(b"secret", "reset");
        let token = signer.sign("42", 600);
        assert_eq!(signer.verify(&token.replacen("42", "43", 1)), None);
        assert_eq!(signer.verify(&signer.sign("42", -1)), None);
        assert_eq!(Signer::new(b"secret", "remember").verify(&token), None);
        assert_eq!(Signer::new(b"other", "reset").verify(&token), None);
        assert_eq!(signer.verify("garbage"), None);
    }
}
