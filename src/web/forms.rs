//! The forms, with the rules a form can check by itself (`#[derive(Validate)]`), and the errors
//! shown next to each field. Rules that need the database (a taken username) are checked by the
//! route after these, and the database's unique indexes guard both.

use actix_web::error::UrlencodedError;
use actix_web::web;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

pub use crate::errors::field_errors::FormErrors;
use crate::errors::AppError;

/// How `web::Form` answers a body it cannot read: 413 past `limit`, otherwise a 400 whose
/// message shows no parser internals.
pub fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default()
        .limit(limit)
        .error_handler(|error, _| {
            let too_large = matches!(
                error,
                UrlencodedError::Overflow { .. }
                    | UrlencodedError::Payload(actix_web::error::PayloadError::Overflow)
            );
            if too_large {
                AppError::PayloadTooLarge.into()
            } else {
                AppError::BadRequest("The form was incomplete or malformed.".to_string()).into()
            }
        })
}

/// Usernames appear in URLs (`/user/<username>`): keep them to characters that need no escaping.
fn username_rules(username: &str) -> Result<(), ValidationError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    // At least one letter or digit: `/user/..` would be read by browsers as a parent folder.
    if username.chars().all(allowed) && username.chars().any(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(ValidationError::new("username_characters")
            .with_message("Use only letters, numbers, dots, dashes and underscores.".into()))
    }
}

// Passwords are `SecretString`s, which `validator` cannot inspect (it would copy the value into
// its error): their rules are checked by hand.
fn check_new_password(password: &SecretString, password2: &SecretString, errors: &mut FormErrors) {
    let length = password.expose_secret().chars().count();
    if !(8..=128).contains(&length) {
        errors.add("password", "Use a password of 8 to 128 characters.");
    }
    if password.expose_secret() != password2.expose_secret() {
        errors.add("password2", "The passwords do not match.");
    }
}

/// `/auth/login`.
#[derive(Deserialize, Validate)]
pub struct LoginForm {
    #[validate(length(min = 1, max = 64, message = "Use 1 to 64 characters."))]
    pub username: String,
    pub password: SecretString,
    pub remember_me: Option<String>,
}

impl LoginForm {
    /// Checks that both fields were filled in. A name that no account can have (usernames are
    /// ASCII) is refused here, before it reaches the database, whose `lower()` would fold some
    /// non-ASCII letters onto a real name.
    pub fn check(&self) -> FormErrors {
        let mut errors = FormErrors::from_validation(self.validate());
        if !self.username.is_ascii() {
            errors.add("form", "Invalid username or password.");
        }
        if self.password.expose_secret().is_empty() {
            errors.add("password", "This field is required.");
        }
        errors
    }
}

/// `/auth/register`.
#[derive(Deserialize, Validate)]
pub struct RegistrationForm {
    #[validate(
        length(min = 1, max = 64, message = "Use 1 to 64 characters."),
        custom(function = "username_rules")
    )]
    pub username: String,
    #[validate(
        email(message = "Please enter a valid email address."),
        length(max = 120, message = "Use at most 120 characters.")
    )]
    pub email: String,
    pub password: SecretString,
    pub password2: SecretString,
}

impl RegistrationForm {
    /// Trims the text fields and checks every rule that needs no database.
    pub fn check(&mut self) -> FormErrors {
        self.username = self.username.trim().to_string();
        self.email = self.email.trim().to_string();
        let mut errors = FormErrors::from_validation(self.validate());
        check_new_password(&self.password, &self.password2, &mut errors);
        errors
    }
}

/// `/edit_profile`.
#[derive(Deserialize, Serialize, Validate)]
pub struct EditProfileForm {
    #[validate(
        length(min = 1, max = 64, message = "Use 1 to 64 characters."),
        custom(function = "username_rules")
    )]
    pub username: String,
    #[serde(default)]
    #[validate(length(max = 140, message = "Use at most 140 characters."))]
    pub about_me: String,
}

impl EditProfileForm {
    /// Trims the text fields and checks every rule that needs no database.
    pub fn check(&mut self) -> FormErrors {
        self.username = self.username.trim().to_string();
        self.about_me = self.about_me.trim().to_string();
        FormErrors::from_validation(self.validate())
    }
}

/// The "Say something" form on the index page.
#[derive(Deserialize, Serialize, Validate)]
pub struct PostForm {
    #[validate(length(min = 1, max = 140, message = "Say something in 1 to 140 characters."))]
    pub post: String,
}

impl PostForm {
    /// Trims the post and checks its length.
    pub fn check(&mut self) -> FormErrors {
        self.post = self.post.trim().to_string();
        FormErrors::from_validation(self.validate())
    }
}

/// `/auth/reset_password_request`.
#[derive(Deserialize, Serialize, Validate)]
pub struct ResetPasswordRequestForm {
    #[validate(email(message = "Please enter a valid email address."))]
    pub email: String,
}

impl ResetPasswordRequestForm {
    /// Trims the address and checks its form.
    pub fn check(&mut self) -> FormErrors {
        self.email = self.email.trim().to_string();
        FormErrors::from_validation(self.validate())
    }
}

/// `/auth/reset_password/<token>`.
#[derive(Deserialize)]
pub struct ResetPasswordForm {
    pub password: SecretString,
    pub password2: SecretString,
}

impl ResetPasswordForm {
    /// Checks the new password and its repetition.
    pub fn check(&self) -> FormErrors {
        let mut errors = FormErrors::default();
        check_new_password(&self.password, &self.password2, &mut errors);
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(username: &str, password: &str, password2: &str) -> RegistrationForm {
        RegistrationForm {
            username: username.into(),
            email: "susan@example.com".into(),
            password: SecretString::from(password),
            password2: SecretString::from(password2),
        }
    }

    #[test]
    fn a_valid_registration_has_no_errors() {
        assert!(registration(" susan ", "long enough", "long enough")
            .check()
            .is_empty());
    }

    #[test]
    fn usernames_with_slashes_or_spaces_are_refused() {
        let errors = registration("su/san", "long enough", "long enough").check();
        assert!(errors.0.contains_key("username"));
        let errors = registration("su san", "long enough", "long enough").check();
        assert!(errors.0.contains_key("username"));
        let errors = registration("..", "long enough", "long enough").check();
        assert!(errors.0.contains_key("username"));
    }

    #[test]
    fn mismatched_passwords_are_reported_on_the_second_field() {
        let errors = registration("susan", "long enough", "different!").check();
        assert_eq!(errors.0["password2"], vec!["The passwords do not match."]);
    }
}
