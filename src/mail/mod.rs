//! Sending mail with lettre: through MAIL_SERVER when it is set, otherwise as `.eml` files in
//! `LOG_DIR/mail/`, so a newcomer sees every mail with no SMTP server at all.
//!
//! Nothing calls it on a request path: error reports go through the queue in `error_reports.rs`,
//! password reset mails through the one in `reset_mails.rs`.

pub mod error_reports;
pub mod reset_mails;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::MailSettings;

/// Where mails go.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in this folder.
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

/// Sends plain-text mails from MAIL_SENDER.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// The outbox folder (unused with an SMTP server).
    outbox: PathBuf,
    /// For the startup line: where mails go.
    pub description: String,
    /// How long one whole SMTP exchange may take (MAIL_TIMEOUT).
    timeout: Duration,
}

/// Why the mailer could not be set up: the message names the variable to change.
#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("MAIL_SENDER={0:?} is not valid: expected an email address")]
    Sender(String),
    #[error("MAIL_SERVER={0:?} cannot be used: {1}")]
    Server(String, String),
}

/// Why one mail could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("an address is not valid: {0}")]
    Address(String),
    #[error("the mail body could not be encoded")]
    Encoding,
    #[error("the mail could not be built")]
    Build(#[source] lettre::error::Error),
    #[error("the SMTP exchange did not finish within MAIL_TIMEOUT ({0} s)")]
    TimedOut(u64),
    #[error("the SMTP server did not take the mail")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("the mail could not be written to the outbox")]
    Outbox(#[source] lettre::transport::file::Error),
}

impl Mailer {
    /// The mailer for these settings; with no MAIL_SERVER, an outbox at `LOG_DIR/mail/`.
    pub fn new(settings: &MailSettings, log_dir: &Path) -> Result<Self, MailSetupError> {
        let from: Mailbox = settings
            .sender
            .parse()
            .map_err(|_| MailSetupError::Sender(settings.sender.clone()))?;
        let (transport, description) = match &settings.server {
            Some(server) => {
                let builder = if settings.use_tls {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(server)
                        .map_err(|e| MailSetupError::Server(server.clone(), e.to_string()))?
                } else {
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server)
                };
                let mut builder = builder
                    .port(settings.port)
                    .timeout(Some(Duration::from_secs(settings.timeout_seconds)));
                if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
                    builder = builder.credentials(Credentials::new(
                        user.clone(),
                        password.expose_secret().to_string(),
                    ));
                }
                let tls = if settings.use_tls { " (STARTTLS)" } else { "" };
                (
                    Transport::Smtp(builder.build()),
                    format!("smtp://{server}:{}{tls}", settings.port),
                )
            }
            None => {
                let outbox = outbox_dir(log_dir);
                // A missing folder is reported when a mail is written, not at start: logging
                // and mail must never keep the site from starting.
                let _ = std::fs::create_dir_all(&outbox);
                let description = format!("files in {}", outbox.display());
                (
                    Transport::Outbox(AsyncFileTransport::new(outbox)),
                    description,
                )
            }
        };
        Ok(Mailer {
            transport,
            from,
            description,
            timeout: Duration::from_secs(settings.timeout_seconds),
            outbox: outbox_dir(log_dir),
        })
    }

    /// Sends a plain-text mail to `to`.
    pub async fn send(&self, to: &[String], subject: &str, body: String) -> Result<(), MailError> {
        let body = text_body(body)?;
        let message = self
            .builder(to, subject)?
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(MailError::Build)?;
        self.deliver(message).await
    }

    /// Sends a plain-text mail to `to` with one file attached (`name`, of type `mime`).
    pub async fn send_with_attachment(
        &self,
        to: &[String],
        subject: &str,
        body: String,
        (name, mime, content): (&str, &str, Vec<u8>),
    ) -> Result<(), MailError> {
        let mime = ContentType::parse(mime).map_err(|_| MailError::Encoding)?;
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(text_body(body)?);
        let file = Attachment::new(name.to_string()).body(content, mime);
        let message = self
            .builder(to, subject)?
            .multipart(MultiPart::mixed().singlepart(text).singlepart(file))
            .map_err(MailError::Build)?;
        self.deliver(message).await
    }

    fn builder(
        &self,
        to: &[String],
        subject: &str,
    ) -> Result<lettre::message::MessageBuilder, MailError> {
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
        for address in to {
            let mailbox: Mailbox = address
                .parse()
                .map_err(|_| MailError::Address(address.clone()))?;
            builder = builder.to(mailbox);
        }
        Ok(builder)
    }

    async fn deliver(&self, message: Message) -> Result<(), MailError> {
        match &self.transport {
            // lettre's own timeout covers the connection only: a server that accepts and never
            // answers would hold the send forever. This bounds the whole exchange.
            Transport::Smtp(smtp) => tokio::time::timeout(self.timeout, smtp.send(message))
                .await
                .map_err(|_| MailError::TimedOut(self.timeout.as_secs()))?
                .map(|_| ())
                .map_err(MailError::Smtp),
            Transport::Outbox(outbox) => {
                outbox.send(message).await.map_err(MailError::Outbox)?;
                let dir = self.outbox.clone();
                // The outbox lives in LOG_DIR, which must not grow without end either.
                let _ = tokio::task::spawn_blocking(move || prune_outbox(&dir, OUTBOX_KEEP)).await;
                Ok(())
            }
        }
    }
}

/// Quoted-printable keeps long lines (error chains, headers) readable in any mail reader.
fn text_body(body: String) -> Result<Body, MailError> {
    Body::new_with_encoding(body, ContentTransferEncoding::QuotedPrintable)
        .map_err(|_| MailError::Encoding)
}

/// How many mails the outbox keeps; older ones are deleted.
const OUTBOX_KEEP: usize = 200;

/// Deletes the oldest `.eml` files beyond the newest `keep`.
fn prune_outbox(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut mails: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "eml"))
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    if mails.len() <= keep {
        return;
    }
    mails.sort();
    for (_, path) in &mails[..mails.len() - keep] {
        let _ = std::fs::remove_file(path);
    }
}

/// Where mails are written when there is no SMTP server.
pub fn outbox_dir(log_dir: &Path) -> PathBuf {
    log_dir.join("mail")
}
