//! Turns: how many uploads are received, and how many images decoded, at once. Memory stays
//! bounded however many clients send at once, and one account cannot take every turn.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::images::{self, ImageRefusal, Thumbnail};
use crate::errors::AppError;

/// One decode at a time per process: a decode may take up to 80 MiB (`images.rs`), and two
/// cores have nothing better to give it. Others wait their turn, for a while. (A process-wide
/// static: however many applications a process runs, as the tests do, it has two cores.)
static DECODING: Semaphore = Semaphore::const_new(1);
/// Uploads being received at once, each holding up to AVATAR_MAX_BYTES: 8 × 2 MiB by default.
/// Two hundred logged-in clients sending 2 MiB each would otherwise hold 400 MB.
const RECEIVING_AT_ONCE: usize = 8;
/// How long an upload waits for a turn before it is answered 503. Shorter than
/// REQUEST_TIMEOUT, whose deadline for the body has already started.
const TURN_WAIT: Duration = Duration::from_secs(5);

/// The application's turns to receive uploads (in `AppState`).
pub struct UploadTurns {
    receiving: Arc<Semaphore>,
    /// The users with an upload being received: one at a time each, so that one account
    /// cannot take every turn.
    uploading: Arc<Mutex<Vec<i32>>>,
}

impl Default for UploadTurns {
    fn default() -> Self {
        UploadTurns {
            receiving: Arc::new(Semaphore::new(RECEIVING_AT_ONCE)),
            uploading: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

/// A turn to receive one upload's body, held until the upload is answered.
pub struct UploadTurn {
    _place: Uploading,
    _permit: OwnedSemaphorePermit,
}

/// A user's place in the list of those uploading, given up when dropped: also when the request
/// is dropped while it waits for a turn (its client gone).
struct Uploading {
    user_id: i32,
    uploading: Arc<Mutex<Vec<i32>>>,
}

impl Drop for Uploading {
    fn drop(&mut self) {
        let mut uploading = self.uploading.lock().unwrap_or_else(|p| p.into_inner());
        uploading.retain(|id| *id != self.user_id);
    }
}

impl UploadTurns {
    /// A turn for `user_id` to send an upload: 429 while another of theirs is being received,
    /// 503 after `TURN_WAIT` without a turn.
    pub async fn take(&self, user_id: i32) -> Result<UploadTurn, AppError> {
        let place = {
            let mut uploading = self.uploading.lock().unwrap_or_else(|p| p.into_inner());
            if uploading.contains(&user_id) {
                return Err(AppError::TooManyRequests { retry_after: 1 });
            }
            uploading.push(user_id);
            Uploading {
                user_id,
                uploading: self.uploading.clone(),
            }
        };
        let permit = tokio::time::timeout(TURN_WAIT, self.receiving.clone().acquire_owned())
            .await
            .map_err(|_| AppError::Overloaded("avatar uploads"))?
            .map_err(|e| AppError::unexpected(e).context("Failed to wait for a turn to upload"))?;
        Ok(UploadTurn {
            _place: place,
            _permit: permit,
        })
    }
}

/// The thumbnail of `bytes`, or why the image is refused. The outer error is ours (busy),
/// never the file's.
pub async fn thumbnail_of(bytes: Vec<u8>) -> Result<Result<Thumbnail, ImageRefusal>, AppError> {
    let turn = tokio::time::timeout(TURN_WAIT, DECODING.acquire())
        .await
        .map_err(|_| AppError::Overloaded("avatar decoding"))?
        .map_err(|e| AppError::unexpected(e).context("Failed to wait for the avatar decoder"))?;
    // The turn goes with the decode: a request dropped by its client does not let a second
    // decode start beside one still running.
    let decoded = actix_web::web::block(move || {
        let _turn = turn;
        images::thumbnail(&bytes)
    })
    .await;
    // A decoder that panicked (the panic is logged and reported) met a file it cannot read.
    Ok(decoded.unwrap_or(Err(ImageRefusal::Damaged)))
}
