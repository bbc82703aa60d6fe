//! "Export your posts", as the Flask microblog's RQ task does it, but failing visibly: the
//! posts are read in batches (the progress moves), written as `posts.json` and mailed to the
//! user. A failure is retried, and at the end is dead and told to the user and the admins; the
//! progress never reaches 100% unless the mail went out.
//!
//! The one window for a second mail: the mail is sent, then the job is recorded as succeeded.
//! A process that dies between the two (a few milliseconds, one UPDATE) leaves the job running
//! until its lease runs out; it then runs again and mails again. Nothing in between could be
//! made atomic with an SMTP server, so the window is kept to that one write.

use serde::Serialize;

use super::worker::JobContext;
use crate::db::{self, DbPool};
use crate::errors::{AppError, ResultExt};
use crate::mail::Mailer;
use crate::models::{self, User};

/// The kind of the export job.
pub const EXPORT_POSTS: &str = "export-posts";

/// Posts read per batch.
const BATCH: i64 = 200;

#[derive(Serialize)]
struct ExportedPost {
    id: i32,
    body: String,
    /// RFC 3339, UTC.
    timestamp: String,
}

#[derive(Serialize)]
struct Export {
    username: String,
    posts: Vec<ExportedPost>,
}

/// Reads the user's posts, mails them as `posts.json`.
pub async fn export_posts(
    context: &JobContext,
    pool: &DbPool,
    mailer: &Mailer,
) -> Result<(), AppError> {
    let user_id = context
        .job
        .user_id
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("An export job names no user")))?;
    let (user, total) = db::run(pool, move |conn| {
        let user = User::find(conn, user_id)?
            .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("The user {user_id} is gone")))?;
        Ok::<_, AppError>((user, models::post_count(conn, user_id)?))
    })
    .await
    .context("Failed to start the export")?;
    let mut posts = Vec::new();
    let mut after = 0;
    loop {
        let batch = db::run(pool, move |conn| {
            models::posts_after(conn, user_id, after, BATCH)
        })
        .await
        .context("Failed to read the posts to export")?;
        let Some(last) = batch.last() else { break };
        after = last.0;
        posts.extend(batch.into_iter().map(|(id, body, timestamp)| ExportedPost {
            id,
            body,
            timestamp: timestamp.and_utc().to_rfc3339(),
        }));
        let done = (posts.len() as i64 * 90 / total.max(1)) as i32;
        context.progress(done.min(90)).await?;
    }
    let count = posts.len();
    let json = serde_json::to_vec_pretty(&Export {
        username: user.username.clone(),
        posts,
    })
    .map_err(|error| AppError::unexpected(error).context("Failed to write posts.json"))?;
    context.progress(95).await?;
    let body = format!(
        "Dear {},\n\nYour {count} post(s) are in the attached file, posts.json.\n\nSincerely,\n\nThe Microblog Team\n",
        user.username
    );
    mailer
        .send_with_attachment(
            std::slice::from_ref(&user.email),
            "[Microblog] Your blog posts",
            body,
            ("posts.json", "application/json", json),
        )
        .await
        .map_err(|error| AppError::unexpected(error).context("Failed to mail the export"))
}
