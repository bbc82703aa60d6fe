//! Sentry (or GlitchTip, or any server that speaks its protocol), beside the inbox, when
//! SENTRY_DSN is set. Each event is built from our own [`ErrorReport`], already redacted, with
//! the same request id, fingerprint and user id as the inbox, the log line and the mail; and
//! [`scrub`] redacts again in `before_send`, so no event leaves with a secret in it whoever
//! built it.
//!
//! What leaves for a third party is less than what the inbox keeps: the form's field names
//! without their values, no client addresses, the user's id alone.
//!
//! Never on a page's clock, never a flood: capturing hands the event to the SDK's sending
//! thread through a bounded queue (a full queue drops it), each send is bounded by
//! [`SEND_TIMEOUT`], each group sends at most [`EVENTS_PER_MINUTE`] a minute (its count goes on
//! in the inbox), and shutdown waits for the queue at most the time it is given.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota};
use secrecy::ExposeSecret;
use sentry::protocol::{Event, Exception, Map, Request, User, Value};
use sentry::transports::UreqHttpTransportOptions;
use sentry::{ClientOptions, Transport, TransportFactory, TransportOptions};

use super::fingerprint::group_id;
use crate::config::SentrySettings;
use crate::errors::redact::{self, REDACTED};
use crate::errors::report::ErrorReport;

/// The longest one envelope may take to reach Sentry: ureq has no timeout of its own.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Events waiting for the sending thread; more are dropped (and Sentry is told how many).
const QUEUE_LENGTH: usize = 30;

/// Events per group per minute: a flood of one failure costs a stranger nothing of the
/// project's Sentry quota past these. The groups are the places in the code, so the limiter's
/// keys are bounded.
const EVENTS_PER_MINUTE: u32 = 10;

/// Headers that carry the client's address (personal data): never sent.
const ADDRESS_HEADERS: [&str; 4] = [
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "true-client-ip",
];
/// The Sentry client of this process.
pub struct Sentry {
    /// `None` only while being dropped (see `Drop`).
    client: Option<Arc<sentry::Client>>,
    server_url: String,
    per_group: DefaultKeyedRateLimiter<String>,
}

impl Sentry {
    /// A client for `settings`' DSN; events name `server_url` as the site they came from.
    pub fn start(settings: &SentrySettings, server_url: &str) -> Self {
        let options = ClientOptions::new()
            .environment(settings.environment.clone())
            .maybe_release(sentry::release_name!())
            .before_send(|event| Some(scrub(event)))
            .transport(SendWithTimeout)
            .transport_channel_capacity(QUEUE_LENGTH)
            .send_default_pii(false);
        let client = sentry::Client::from_config((settings.dsn.expose_secret(), options));
        Sentry {
            client: Some(Arc::new(client)),
            server_url: server_url.trim_end_matches('/').to_string(),
            per_group: DefaultKeyedRateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(EVENTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN),
            )),
        }
    }

    /// Sends `report` as an event, unless its group sent its share this minute (then
    /// `false`). Returns at once: the SDK's thread sends it.
    pub fn capture(&self, report: &ErrorReport) -> bool {
        let Some(client) = &self.client else {
            return false;
        };
        if self.per_group.check_key(&group_id(&report.place)).is_err() {
            return false;
        }
        client.capture_event(event(report, &self.server_url), None);
        true
    }

    /// Waits at most `limit` for the queued events to be sent, for a clean shutdown. The SDK's
    /// flush can block for longer on a full queue, so it runs on a thread of its own.
    pub async fn flush(&self, limit: Duration) {
        let Some(client) = self.client.clone() else {
            return;
        };
        let (done, finished) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            client.flush(Some(limit));
            let _ = done.send(());
        });
        let _ = tokio::time::timeout(limit, finished).await;
    }
}

impl Drop for Sentry {
    /// Dropping the SDK's client joins its sending thread, which may be stuck in a send to a
    /// Sentry that does not answer: that wait happens on a thread of its own.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            std::thread::spawn(move || drop(client));
        }
    }
}

/// The SDK's ureq transport with a timeout on every send.
struct SendWithTimeout;

impl TransportFactory for SendWithTimeout {
    fn create_transport_with_options(&self, options: TransportOptions) -> Arc<dyn Transport> {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(SEND_TIMEOUT))
            .build()
            .new_agent();
        Arc::new(
            UreqHttpTransportOptions::from(options)
                .with_agent(agent)
                .build(),
        )
    }
}

/// The event of `report`: its chain as exceptions (innermost first, as Sentry orders them),
/// grouped by the inbox's fingerprint, tagged with the request id.
pub fn event(report: &ErrorReport, server_url: &str) -> Event<'static> {
    let kind = if report.place.starts_with("panic") {
        "panic"
    } else {
        "error"
    };
    let exceptions: Vec<Exception> = report
        .chain
        .iter()
        .rev()
        .map(|line| Exception {
            ty: kind.to_string(),
            value: Some(redact::url_text(line)),
            ..Default::default()
        })
        .collect();
    let mut tags = Map::new();
    if !report.id.is_empty() {
        tags.insert("request_id".to_string(), report.id.clone());
    }
    if !report.task.is_empty() {
        tags.insert("task".to_string(), report.task.clone());
    }
    let mut extra = Map::new();
    extra.insert("place".to_string(), Value::from(report.place.clone()));
    if !report.backtrace.is_empty() {
        extra.insert(
            "backtrace".to_string(),
            Value::from(report.backtrace.clone()),
        );
    }
    let request = (!report.method.is_empty()).then(|| {
        let query = (!report.query.is_empty()).then(|| report.query.clone());
        // The field names say which form it was; the values (posts, emails, profiles) stay in
        // the inbox, in our own database.
        let fields: Vec<(&str, &str)> = report
            .form
            .iter()
            .map(|(name, _)| (name.as_str(), REDACTED))
            .collect();
        let form = (!fields.is_empty())
            .then(|| serde_urlencoded::to_string(&fields).ok())
            .flatten();
        Request {
            url: format!("{server_url}{}", report.path).parse().ok(),
            method: Some(report.method.clone()),
            query_string: query,
            headers: report
                .headers
                .iter()
                .filter(|(name, _)| !ADDRESS_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
                .cloned()
                .collect(),
            data: form,
            ..Default::default()
        }
    });
    Event {
        exception: exceptions.into(),
        fingerprint: vec![group_id(&report.place).into()].into(),
        request,
        user: report.user_id.map(|id| User {
            id: Some(id.to_string()),
            ..Default::default()
        }),
        tags,
        extra,
        ..Default::default()
    }
}

/// `before_send`: whatever an event carries, it leaves with our redaction applied — secret
/// headers, query parameters and form fields replaced, no cookies, and of the user only the id
/// (never the email or the address).
pub fn scrub(mut event: Event<'static>) -> Event<'static> {
    if let Some(request) = &mut event.request {
        request
            .headers
            .retain(|name, _| !ADDRESS_HEADERS.contains(&name.to_ascii_lowercase().as_str()));
        for (name, value) in request.headers.iter_mut() {
            *value = if redact::is_secret_field(name) {
                REDACTED.to_string()
            } else {
                redact::url_text(value)
            };
        }
        request.query_string = request.query_string.as_deref().map(redact::query);
        request.data = request.data.as_deref().map(redact::query);
        request.cookies = None;
        request.env.clear();
        if let Some(url) = &mut request.url {
            let path = redact::url_text(url.path());
            url.set_path(&path);
            let query = url.query().map(redact::query);
            url.set_query(query.as_deref().filter(|q| !q.is_empty()));
        }
    }
    if let Some(user) = &mut event.user {
        *user = User {
            id: user.id.take(),
            ..Default::default()
        };
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever a secret header, parameter or form field is called around its marker and
        /// whatever it holds, the scrubbed event never carries its value.
        #[test]
        fn a_secret_fields_value_never_leaves_in_an_event(
            prefix in "[a-z_-]{0,6}",
            marker in prop::sample::select(&crate::errors::redact::SECRET_NAME_PARTS[..]),
            value in "[A-Za-z0-9]{12,24}",
            email in "[a-z]{3,8}@[a-z]{3,8}\\.org",
        ) {
            let name = format!("{prefix}{}", marker.to_ascii_lowercase());
            let mut headers = Map::new();
            headers.insert(name.clone(), value.clone());
            let pair = serde_urlencoded::to_string([(name.as_str(), value.as_str())]).unwrap_or_default();
            let event = Event {
                request: Some(Request {
                    url: format!("https://example.com/x?{pair}").parse().ok(),
                    query_string: Some(pair.clone()),
                    data: Some(pair),
                    headers,
                    ..Default::default()
                }),
                user: Some(User {
                    id: Some("3".to_string()),
                    email: Some(email.clone()),
                    username: Some(email.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let text = serde_json::to_string(&scrub(event)).unwrap_or_default();
            prop_assert!(!text.contains(&value), "{} in {}", value, text);
            prop_assert!(!text.contains(&email), "{} in {}", email, text);
        }
    }

    #[test]
    fn scrubbing_never_lets_a_secret_or_an_email_through() {
        let mut headers = Map::new();
        headers.insert("Authorization".to_string(), "Bearer abc".to_string());
        headers.insert("Cookie".to_string(), "session=xyz".to_string());
        let event = Event {
            request: Some(Request {
                url: "https://example.com/auth/reset_password/tok123?password=p1&x=1"
                    .parse()
                    .ok(),
                query_string: Some("token=t1&page=2".to_string()),
                data: Some("password=hunter2&post=hi".to_string()),
                cookies: Some("session=xyz".to_string()),
                headers,
                ..Default::default()
            }),
            user: Some(User {
                id: Some("7".to_string()),
                email: Some("susan@example.com".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let text = serde_json::to_string(&scrub(event)).unwrap_or_default();
        for secret in ["abc", "xyz", "tok123", "p1", "t1", "hunter2", "susan@"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("\"id\":\"7\""), "{text}");
        assert!(text.contains("page=2"), "{text}");
    }
}
