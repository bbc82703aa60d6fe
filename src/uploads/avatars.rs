//! The avatar pipeline shared by the profile form, the API and the lab: the rate limit, the
//! decode (`turns.rs`), and one log line for each refusal.

use actix_web::http::StatusCode;

use super::form::human_size;
use super::images::Thumbnail;
use super::turns::thumbnail_of;
use crate::errors::AppError;
use crate::web::forms::FormErrors;
use crate::web::state::AppState;

/// The form field, and the API's error member, of the avatar.
pub const AVATAR_FIELD: &str = "avatar";

/// An upload refused, already logged and counted: what the user reads next to the field.
#[derive(Debug)]
pub struct Refused {
    pub message: String,
    pub status: StatusCode,
    /// For a rate limit: in how many seconds to try again.
    pub retry_after: Option<u64>,
}

impl Refused {
    /// The API's answer: a problem document with the message under `errors.avatar`.
    pub fn into_api_error(self) -> AppError {
        match (self.status, self.retry_after) {
            (_, Some(retry_after)) => AppError::TooManyRequests { retry_after },
            (StatusCode::PAYLOAD_TOO_LARGE, _) => AppError::PayloadTooLarge,
            _ => {
                let mut errors = FormErrors::default();
                errors.add(AVATAR_FIELD, &self.message);
                AppError::Invalid(errors)
            }
        }
    }
}

/// Refuses a file over `limit` bytes (before it is read).
pub fn refuse_too_large(state: &AppState, user_id: i32, file_name: &str, limit: usize) -> Refused {
    let message = format!("The file is larger than {}.", human_size(limit));
    log_refusal(state, user_id, file_name, &message, "too_large");
    Refused {
        message,
        status: StatusCode::PAYLOAD_TOO_LARGE,
        retry_after: None,
    }
}

/// The thumbnail of an uploaded file, or its refusal. Counts against the user's upload limit
/// first, so a refused file counts too.
pub async fn accept(
    state: &AppState,
    user_id: i32,
    file_name: &str,
    bytes: Vec<u8>,
) -> Result<Result<Thumbnail, Refused>, AppError> {
    if let Err(AppError::TooManyRequests { retry_after }) = state.rate_limits.avatar(user_id) {
        let message = match retry_after.div_ceil(60) {
            1 => "You have changed your avatar often. Try again in a minute.".to_string(),
            minutes => {
                format!("You have changed your avatar often. Try again in {minutes} minutes.")
            }
        };
        log_refusal(state, user_id, file_name, &message, "rate_limited");
        return Ok(Err(Refused {
            message,
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(retry_after),
        }));
    }
    match thumbnail_of(bytes).await? {
        Ok(thumbnail) => Ok(Ok(thumbnail)),
        Err(refusal) => {
            let message = refusal.to_string();
            log_refusal(state, user_id, file_name, &message, refusal.outcome());
            Ok(Err(Refused {
                message,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                retry_after: None,
            }))
        }
    }
}

/// The one log line of a refused upload, naming the user and the file, and its count.
pub fn log_refusal(
    state: &AppState,
    user_id: i32,
    file_name: &str,
    reason: &str,
    outcome: &'static str,
) {
    tracing::info!(user_id, file = file_name, reason, "Avatar upload refused");
    state.metrics.avatar_upload(outcome);
}
