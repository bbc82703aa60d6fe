//! Uploads that fail well: the avatar. A file is read only up to its limit (`form.rs`), decoded
//! only under limits and re-encoded by us (`images.rs`), and stored in one transaction
//! (`models::avatar`). Every refusal ends on the form with a message next to the field and one
//! log line naming the user and the file (`avatars.rs`).

pub mod avatars;
pub mod form;
pub mod images;
pub mod samples;
pub mod turns;

pub use avatars::{accept, log_refusal, refuse_too_large, Refused, AVATAR_FIELD};
pub use form::{FormError, UploadForm, UploadedFile};
pub use images::{ImageRefusal, Thumbnail};
pub use turns::{thumbnail_of, UploadTurns};
