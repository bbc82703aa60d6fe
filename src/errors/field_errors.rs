//! [`FormErrors`]: messages for a user, next to each field they are about. The HTML forms show
//! them beside the inputs; the API answers them as the `errors` member of a 422 problem document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use validator::ValidationErrors;

/// Messages shown next to each field, by field name. A field is here only with at least one
/// message: the form macros ask `name in errors`.
#[derive(Debug, Default, Serialize)]
pub struct FormErrors(pub BTreeMap<String, Vec<String>>);

impl FormErrors {
    /// Adds `message` next to `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The result of `validator`'s checks, as messages.
    pub fn from_validation(result: Result<(), ValidationErrors>) -> Self {
        let mut errors = FormErrors::default();
        if let Err(validation) = result {
            for (field, field_errors) in validation.field_errors() {
                for error in field_errors {
                    let message = match &error.message {
                        Some(message) => message.to_string(),
                        None => {
                            let mut fallback = String::new();
                            let _ = write!(fallback, "This value is not valid ({}).", error.code);
                            fallback
                        }
                    };
                    errors.add(&field, message);
                }
            }
        }
        errors
    }
}
