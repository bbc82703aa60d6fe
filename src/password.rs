//! Password hashing with argon2id at the crate's defaults (OWASP's m=19 MiB, t=2, p=1).
//!
//! Both functions are CPU-heavy on purpose: call them through [`crate::db::run`] or
//! `web::block`, never directly on an async worker.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

use crate::errors::AppError;

/// A hash that matches no password, verified when the username is unknown so that unknown
/// users and wrong passwords take the same time and the same path.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$gZiV/M1gPc22ElAH/Jh1Hw$CWOrkoo7oJBQ/iyh7uJ0LO2aLEfrHwTWllSAxT0zRno";

/// Hashes `password` with a fresh random salt, in PHC string format.
pub fn hash_password(password: &SecretString) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| {
            AppError::unexpected(anyhow::anyhow!("{e}")).context("Failed to hash a password")
        })
}

/// [`hash_password`] on the blocking thread pool, in the caller's span.
pub async fn hash_password_off_thread(password: SecretString) -> Result<String, AppError> {
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _entered = span.enter();
        crate::errors::panics::catching(|| hash_password(&password))
    })
    .await
    .map_err(|e| {
        AppError::unexpected(anyhow::Error::new(e)).context("Password hashing was cancelled")
    })?
}

/// Whether `password` matches `stored_hash`; with no stored hash (an unknown user) the dummy hash
/// is checked instead and the answer is always false.
pub fn verify_password(stored_hash: Option<&str>, password: &SecretString) -> bool {
    let hash = stored_hash.unwrap_or(DUMMY_HASH);
    let Ok(parsed) = PasswordHash::new(hash) else {
        tracing::error!("A stored password hash could not be parsed");
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.expose_secret().as_bytes(), &parsed)
        .is_ok();
    matches && stored_hash.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashing_round_trips_and_uses_argon2id() {
        let hash = hash_password(&SecretString::from("cat")).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(Some(&hash), &SecretString::from("cat")));
        assert!(!verify_password(Some(&hash), &SecretString::from("dog")));
    }

    #[test]
    fn an_unknown_user_never_verifies() {
        assert!(!verify_password(None, &SecretString::from("anything")));
    }
}
