//! Password reset mails, sent in the background so the reset form gives every address the same
//! answer, by the same path, in the same time: the request only queues the address. The sender
//! task looks the address up and, when it belongs to a user, mails a signed link.

use std::sync::Arc;

use tera::Context;
use tokio::sync::mpsc;

use super::Mailer;
use crate::db::{self, DbPool};
use crate::errors::panics::catching_async;
use crate::errors::AppError;
use crate::models::User;
use crate::templates::Templates;
use crate::tokens::Signer;

/// How long a reset link works.
const RESET_SECONDS: i64 = 600;
/// Addresses waiting for the sender before new requests are dropped (with a WARN line).
const QUEUE_LENGTH: usize = 64;

/// The signed reset link token for `user`. It carries a fingerprint of the password hash, so
/// it works once: the new password makes it worthless.
pub fn reset_token(signer: &Signer, user: &User) -> String {
    signer.sign(
        &format!("{}-{}", user.id, user.password_fingerprint()),
        RESET_SECONDS,
    )
}

/// The user id and password fingerprint a valid, unexpired reset token carries.
pub fn read_reset_token(signer: &Signer, token: &str) -> Option<(i32, String)> {
    let payload = signer.verify(token)?;
    let (id, fingerprint) = payload.split_once('-')?;
    Some((id.parse().ok()?, fingerprint.to_string()))
}

/// What the sender task needs.
pub struct ResetMailSettings {
    pub pool: DbPool,
    pub mailer: Arc<Mailer>,
    pub templates: Arc<Templates>,
    pub signer: Signer,
    /// The site's address, for the link (never the request's Host header).
    pub server_url: String,
}

/// The queue of reset requests. Cheap to call from a request.
pub struct ResetMails {
    queue: mpsc::Sender<String>,
}

impl ResetMails {
    /// The queue, and its sender task.
    pub fn start(settings: ResetMailSettings) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_LENGTH);
        tokio::spawn(send_reset_mails(settings, receiver));
        ResetMails { queue }
    }

    /// Queues a reset mail for `email`, if it belongs to a user; returns at once.
    pub fn request(&self, email: String) {
        match self.queue.try_send(email) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!("A password reset request was dropped: the reset mail queue is full")
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!(
                    "A password reset request was dropped: the reset mail sender has stopped"
                )
            }
        }
    }
}

async fn send_reset_mails(settings: ResetMailSettings, mut queue: mpsc::Receiver<String>) {
    // One ERROR line per run of failures: a mail server that is down during a flood of reset
    // requests must not fill errors.log with the same line.
    let mut failing = false;
    while let Some(email) = queue.recv().await {
        // A panic in one send is that send's failure, not the end of every later one.
        match catching_async(send_one(&settings, email)).await {
            Ok(()) => failing = false,
            Err(error) if !failing => {
                failing = true;
                tracing::error!(error.chain = ?error, "A password reset mail could not be sent; further failures are not logged until one succeeds");
            }
            Err(_) => {}
        }
    }
}

async fn send_one(settings: &ResetMailSettings, email: String) -> Result<(), AppError> {
    let user = db::run(&settings.pool, move |conn| {
        User::find_by_email(conn, &email)
    })
    .await?;
    let Some(user) = user else {
        return Ok(());
    };
    let link = format!(
        "{}/auth/reset_password/{}",
        settings.server_url,
        reset_token(&settings.signer, &user)
    );
    let mut mail = Context::new();
    mail.insert("username", &user.username);
    mail.insert("link", &link);
    let body = settings
        .templates
        .render("mail/reset_password.txt", &mail)?;
    let sending = settings.mailer.send(
        std::slice::from_ref(&user.email),
        "[Microblog] Reset Your Password",
        body,
    );
    sending
        .await
        .map_err(|error| AppError::unexpected(error).context("Failed to send a reset mail"))?;
    tracing::info!(user_id = user.id, "Sent a password reset mail");
    Ok(())
}
