//! Avatar uploads that fail, each through the same code as Edit Profile: the multipart reader,
//! the decoder and its limits, the one log line, the transaction. Each needs a logged-in user,
//! whose avatar the lab tries to replace (and never does).

use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use diesel::connection::SimpleConnection;

use super::outcome::result_with_status;
use crate::db::{self, Connector, DbConnection};
use crate::errors::{AppError, ResultExt};
use crate::models;
use crate::uploads::{self, samples, FormError, Thumbnail, AVATAR_FIELD};
use crate::web::page::Page;
use crate::web::state::AppState;

/// `POST /lab/upload-too-large`: a form whose avatar is one byte over AVATAR_MAX_BYTES, read by
/// the form reader, which refuses it at the file's first byte (it knows the size from the
/// Content-Length).
pub(super) async fn too_large(page: &Page, state: &AppState) -> Result<HttpResponse, AppError> {
    let user = page.require_user()?;
    let limit = state.settings.avatar_max_bytes;
    let boundary = "lab-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"about_me\"\r\n\r\nKept\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"{AVATAR_FIELD}\"; \
         filename=\"lab-too-large.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.resize(body.len() + limit + 1, b'x');
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("multipart/form-data; boundary=lab-boundary"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let read = uploads::form::read(
        &headers,
        Payload::from(Bytes::from(body)),
        AVATAR_FIELD,
        limit,
    );
    let message = match read.await {
        Err(FormError::FileTooLarge {
            file_name, limit, ..
        }) => uploads::refuse_too_large(state, user.id, &file_name, limit).message,
        Err(other) => format!("Unexpected: the reader answered \u{201c}{other}\u{201d}"),
        Ok(_) => "Unexpected: the reader accepted the file.".to_string(),
    };
    let text = format!("Edit Profile would answer 413 with its form, your text kept, and next to the Avatar field: \u{201c}{message}\u{201d}");
    result_with_status(
        page,
        "upload-too-large",
        &text,
        None,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// `POST /lab/upload-not-an-image`: a PDF named `avatar.png`.
pub(super) async fn not_an_image(page: &Page, state: &AppState) -> Result<HttpResponse, AppError> {
    refused(
        page,
        state,
        "upload-not-an-image",
        "avatar.png",
        samples::renamed_pdf(),
    )
    .await
}

/// `POST /lab/upload-bomb`: a few KB of PNG that claims 50,000 × 50,000 pixels.
pub(super) async fn bomb(page: &Page, state: &AppState) -> Result<HttpResponse, AppError> {
    refused(
        page,
        state,
        "upload-bomb",
        "cute-cat.png",
        samples::decompression_bomb(),
    )
    .await
}

async fn refused(
    page: &Page,
    state: &AppState,
    experiment: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> Result<HttpResponse, AppError> {
    let user = page.require_user()?;
    let size = bytes.len();
    let started = Instant::now();
    let outcome = uploads::accept(state, user.id, file_name, bytes).await?;
    let took = started.elapsed().as_secs_f64() * 1000.0;
    let (status, message) = match outcome {
        Err(refused) => (refused.status, refused.message),
        Ok(_) => (
            StatusCode::OK,
            "Unexpected: the file was accepted.".to_string(),
        ),
    };
    let text = format!(
        "{file_name} ({size} bytes) was refused in {took:.1} ms. Edit Profile would answer \
         {status} with its form, your text kept, and next to the Avatar field: \u{201c}{message}\u{201d}"
    );
    result_with_status(page, experiment, &text, None, status)
}

/// `POST /lab/upload-storage-fails`: a real picture, accepted, then saved in a transaction the
/// database refuses to write, as it refuses every write on a full disk or a read-only volume.
pub(super) async fn storage_fails(page: &Page, state: &AppState) -> Result<HttpResponse, AppError> {
    let user_id = page.require_user()?.id;
    let thumbnail =
        match uploads::accept(state, user_id, "lab-picture.png", samples::picture()).await? {
            Ok(thumbnail) => thumbnail,
            Err(refused) => return Err(refused.into_api_error()),
        };
    // A connection of its own, closed afterwards: SQLite's `query_only` belongs to the
    // connection, and a pooled one left read-only would fail the site's next writes.
    let connector = Connector::new(
        state.settings.database_url.clone(),
        state.settings.request_timeout(),
    );
    let saved = actix_web::web::block(move || {
        let mut conn = connector
            .establish()
            .map_err(|e| AppError::unexpected(e).context("Failed to open the lab's connection"))?;
        db::write_transaction(&mut conn, |conn| save_refused(conn, user_id, &thumbnail))
    })
    .await
    .map_err(|e| AppError::unexpected(e).context("Failed to run the lab's transaction"))?;
    state.metrics.avatar_upload("failed");
    saved.map_err(|error| error.context("Failed to save the avatar \"lab-picture.png\""))?;
    Err(AppError::unexpected(anyhow::anyhow!(
        "the read-only transaction wrote the avatar"
    )))
}

/// Saves the avatar after making the transaction read-only.
fn save_refused(
    conn: &mut DbConnection,
    user_id: i32,
    thumbnail: &Thumbnail,
) -> Result<(), AppError> {
    match conn {
        DbConnection::Postgresql(conn) => conn.batch_execute("SET TRANSACTION READ ONLY"),
        DbConnection::Sqlite(conn) => conn.batch_execute("PRAGMA query_only = ON"),
    }
    .context("Failed to make the lab's transaction read-only")?;
    models::save_avatar(conn, user_id, &thumbnail.version, &thumbnail.png)
}
