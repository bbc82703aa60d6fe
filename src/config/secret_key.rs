//! SECRET_KEY: the one secret everything signed is derived from, in a type that will not print.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::env::{ConfigError, Env};
use super::Settings;

/// Where a debug build keeps its key when SECRET_KEY is unset (git-ignored).
pub const DEVELOPMENT_KEY_FILE: &str = ".dev-secret-key";

/// The key that seals session cookies and signs reset links and API tokens.
#[derive(Debug, Clone)]
pub struct SecretKey {
    value: SecretString,
    /// True when no SECRET_KEY was set and a random one was made at start.
    pub generated: bool,
}

impl SecretKey {
    /// The key's bytes, to derive signing keys from. Never log them.
    pub fn expose(&self) -> &[u8] {
        self.value.expose_secret().as_bytes()
    }

    /// Development only (`main.rs` calls it in debug builds when SECRET_KEY is unset): the key
    /// kept in `path`, made on first use, so a restart does not log the learner out.
    pub fn kept_in(path: &Path) -> std::io::Result<SecretKey> {
        if let Ok(key) = std::fs::read_to_string(path) {
            let key = key.trim().to_string();
            if key.len() >= 32 {
                return Ok(SecretKey {
                    value: SecretString::from(key),
                    generated: false,
                });
            }
        }
        let key = crate::tokens::random_hex(32);
        std::fs::write(path, format!("{key}\n"))?;
        Ok(SecretKey {
            value: SecretString::from(key),
            generated: false,
        })
    }
}

impl Env<'_> {
    pub fn secret_key(&self) -> Result<SecretKey, ConfigError> {
        match self.optional("SECRET_KEY") {
            Some(key) if key.len() >= 32 => Ok(SecretKey {
                value: SecretString::from(key),
                generated: false,
            }),
            Some(_) => Err(ConfigError {
                variable: "SECRET_KEY",
                // The value itself is a secret: never echo it.
                value: "(hidden)".to_string(),
                expected:
                    "at least 32 characters, for example the output of `openssl rand -hex 32`"
                        .to_string(),
            }),
            None => Ok(SecretKey {
                value: SecretString::from(crate::tokens::random_hex(32)),
                generated: true,
            }),
        }
    }
}

impl Env<'_> {
    /// SECRET_KEY_FALLBACKS: comma-separated older keys, each of at least 32 characters.
    pub fn secret_key_fallbacks(&self) -> Result<Vec<SecretKey>, ConfigError> {
        self.string("SECRET_KEY_FALLBACKS", "")
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(|key| {
                if key.len() < 32 {
                    return Err(ConfigError {
                        variable: "SECRET_KEY_FALLBACKS",
                        value: "(hidden)".to_string(),
                        expected: "comma-separated keys of at least 32 characters each".to_string(),
                    });
                }
                Ok(SecretKey {
                    value: SecretString::from(key.to_string()),
                    generated: false,
                })
            })
            .collect()
    }
}

impl Settings {
    /// Without SECRET_KEY, a debug build (`cargo run`) keeps its key in a git-ignored file, so a
    /// restart does not log the learner out; a release build uses a random key (and production
    /// refuses to start without one). Returns the warning to log, if any.
    pub fn keep_development_key(&mut self) -> Option<String> {
        if !self.secret_key.generated {
            return None;
        }
        if cfg!(debug_assertions) {
            match SecretKey::kept_in(Path::new(DEVELOPMENT_KEY_FILE)) {
                Ok(key) => {
                    self.secret_key = key;
                    return Some(format!("SECRET_KEY is not set: using the development key kept in {DEVELOPMENT_KEY_FILE} (debug builds only; production needs SECRET_KEY)"));
                }
                Err(error) => {
                    return Some(format!("SECRET_KEY is not set and {DEVELOPMENT_KEY_FILE} could not be written ({error}): using a random key, so sessions will not survive a restart"));
                }
            }
        }
        Some(
            "SECRET_KEY is not set: using a random key, so sessions will not survive a restart"
                .to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_development_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".dev-secret-key");
        let first = SecretKey::kept_in(&path).unwrap();
        let second = SecretKey::kept_in(&path).unwrap();
        assert_eq!(first.expose(), second.expose());
        assert_eq!(first.expose().len(), 64);
        assert!(!first.generated);
    }
}
