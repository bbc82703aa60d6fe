//! API access tokens: short-lived JWTs, HS256 only, signed with a key derived from SECRET_KEY
//! for this purpose alone (and verified under SECRET_KEY_FALLBACKS too while keys rotate).
//! Claims: `sub` (the user id), `role`, `iat`, `exp`, `jti`, and `sid`, the API session the
//! token was issued under, so that revoking the session revokes its access tokens at once.

use chrono::Utc;
use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::errors::{AppError, TokenProblem};
use crate::tokens::{derive_key, random_hex};

/// What an access token says.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sid: String,
}

/// Issues and checks access tokens.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: Vec<DecodingKey>,
    validation: Validation,
    /// ACCESS_TOKEN_SECONDS.
    pub lifetime: i64,
}

impl AccessTokens {
    /// Keys for `secret` (and the older `fallbacks`), tokens valid for `lifetime` seconds.
    pub fn new(secret: &[u8], fallbacks: &[&[u8]], lifetime: i64) -> Self {
        const PURPOSE: &str = "api-access-token";
        // Fails only when a provider is installed already: ours, by an earlier call.
        let _ = HS256_ONLY.install_default();
        let mut validation = Validation::new(Algorithm::HS256);
        // Exactly when the token says: a test (or a client) can rely on `exp`.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        AccessTokens {
            encoding: EncodingKey::from_secret(&derive_key(secret, PURPOSE)),
            decoding: std::iter::once(secret)
                .chain(fallbacks.iter().copied())
                .map(|key| DecodingKey::from_secret(&derive_key(key, PURPOSE)))
                .collect(),
            validation,
            lifetime,
        }
    }

    /// A token for `user_id` with `role`, under API session `sid`.
    pub fn issue(&self, user_id: i32, role: &str, sid: &str) -> Result<String, AppError> {
        self.issue_for(user_id, role, sid, self.lifetime)
    }

    /// A token valid for `seconds` (negative: already expired, as the lab shows).
    pub fn issue_for(
        &self,
        user_id: i32,
        role: &str,
        sid: &str,
        seconds: i64,
    ) -> Result<String, AppError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            role: role.to_string(),
            iat: now,
            exp: now + seconds,
            jti: random_hex(16),
            sid: sid.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::unexpected(e).context("Failed to sign an access token"))
    }

    /// The claims of a valid token: signed by one of our keys with HS256, and unexpired.
    pub fn check(&self, token: &str) -> Result<Claims, TokenProblem> {
        let mut problem = TokenProblem::Invalid;
        for key in &self.decoding {
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
                Ok(data) => return Ok(data.claims),
                Err(error) if *error.kind() == ErrorKind::ExpiredSignature => {
                    problem = TokenProblem::Expired;
                }
                Err(_) => {}
            }
        }
        Err(problem)
    }
}

/// jsonwebtoken's cryptography for HS256 alone, from the `hmac` and `sha2` the app uses anyway.
/// Written by hand because the crate's own `rust_crypto` provider brings RSA, ECDSA and Ed25519
/// (two dozen crates to compile) for algorithms this API never accepts. Any other algorithm is
/// refused here, and by the `Validation` before it.
static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: hs256_signer,
    verifier_factory: hs256_verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

struct Hs256(Hmac<Sha256>);

impl Hs256 {
    fn new(algorithm: &Algorithm, secret: &[u8]) -> jsonwebtoken::errors::Result<Self> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        let mac =
            Hmac::<Sha256>::new_from_slice(secret).map_err(|_| ErrorKind::InvalidKeyFormat)?;
        Ok(Hs256(mac))
    }
}

fn hs256_signer(
    algorithm: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    Ok(Box::new(Hs256::new(algorithm, key.try_get_hmac_secret()?)?))
}

fn hs256_verifier(
    algorithm: &Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    Ok(Box::new(Hs256::new(algorithm, key.try_get_hmac_secret()?)?))
}

impl signature::Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl signature::Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        // In constant time, as `Mac::verify_slice` compares.
        mac.verify_slice(tag).map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_a_foreign_or_tampered_one_is_invalid() {
        let tokens = AccessTokens::new(b"secret", &[], 60);
        let token = tokens.issue(7, "user", "sid").unwrap();
        assert_eq!(tokens.check(&token).unwrap().sub, "7");
        let other = AccessTokens::new(b"other", &[], 60);
        assert_eq!(other.check(&token).unwrap_err(), TokenProblem::Invalid);
        let rotated = AccessTokens::new(b"other", &[b"secret"], 60);
        assert!(
            rotated.check(&token).is_ok(),
            "a fallback key still verifies"
        );
        let tampered = format!("{}x", token);
        assert_eq!(tokens.check(&tampered).unwrap_err(), TokenProblem::Invalid);
    }

    #[test]
    fn alg_none_is_invalid() {
        let tokens = AccessTokens::new(b"secret", &[], 60);
        // {"alg":"none","typ":"JWT"} . {"sub":"1","role":"admin",…} . (no signature)
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIiwiaWF0IjoxLCJleHAiOjk5OTk5OTk5OTksImp0aSI6IngiLCJzaWQiOiJ5In0.";
        assert_eq!(tokens.check(none).unwrap_err(), TokenProblem::Invalid);
    }

    #[test]
    fn an_expired_token_says_so() {
        let tokens = AccessTokens::new(b"secret", &[], -10);
        let token = tokens.issue(7, "user", "sid").unwrap();
        assert_eq!(tokens.check(&token).unwrap_err(), TokenProblem::Expired);
    }
}
