//! The avatar pipeline shared by the profile form, the API and the lab: decode one image at a
//! time off the async threads, and write one line for each refusal.

use std::time::Duration;

use tokio::sync::Semaphore;

use super::images::{self, ImageRefusal, Thumbnail};
use crate::errors::AppError;
use crate::web::state::AppState;

/// One decode at a time per process: a decode may take up to 80 MiB (`images.rs`), and two
/// cores have nothing better to give it. Others wait their turn, for a while.
static DECODING: Semaphore = Semaphore::const_new(1);
/// How long an upload waits for its turn before it is answered 503.
const TURN_WAIT: Duration = Duration::from_secs(10);

/// The thumbnail of `bytes`, or why the image is refused. The outer error is ours (busy, or a
/// decoder that panicked), never the file's.
pub async fn thumbnail_of(bytes: Vec<u8>) -> Result<Result<Thumbnail, ImageRefusal>, AppError> {
    let _turn = tokio::time::timeout(TURN_WAIT, DECODING.acquire())
        .await
        .map_err(|_| AppError::Overloaded("avatar decoding"))?
        .map_err(|e| AppError::unexpected(e).context("Failed to wait for the avatar decoder"))?;
    actix_web::web::block(move || images::thumbnail(&bytes))
        .await
        .map_err(|e| AppError::unexpected(e).context("Failed to decode an avatar"))
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
