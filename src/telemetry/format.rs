//! The format of a log line, text or JSON, carrying the request id and user id of the request
//! the event happened in. tracing-subscriber's `fmt` layer calls [`LineFormat`] for each event;
//! [`RequestFields`] keeps each request's ids in its root span for it.
//!
//! text: `2026-11-21T09:36:49.123Z  INFO microblog::routes::auth: Logged in user_id=3 request_id=… [in src/routes/auth.rs:93]`
//! json: `{"timestamp":…,"level":"INFO","target":…,"message":…,"file":…,"line":…,"request_id":…,"user_id":…, …fields}`

use std::fmt::Write as _;

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::config::LogFormat;

/// The request a span belongs to, kept in the root span's extensions.
#[derive(Default, Clone)]
struct RequestContext {
    request_id: Option<String>,
    user_id: Option<String>,
}

/// A layer that remembers, in each request's root span, its request id and (once known) its
/// user id: tracing keeps span fields only as text, and every line of the request needs them.
pub struct RequestFields;

impl<S> Layer<S> for RequestFields
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(request_id) = fields.take("request_id") {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(RequestContext {
                    request_id: Some(request_id),
                    user_id: fields.take("user_id"),
                });
            }
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(context) = extensions.get_mut::<RequestContext>() {
            let mut fields = Fields::default();
            values.record(&mut fields);
            if let Some(user_id) = fields.take("user_id") {
                context.user_id = Some(user_id);
            }
        }
    }
}

/// Formats one event as one line.
pub struct LineFormat {
    format: LogFormat,
    /// On the console in development: an error's chain follows its line, over several lines,
    /// as Flask prints a traceback in the terminal. Files always keep one line per event.
    readable_errors: bool,
}

impl LineFormat {
    /// For a log file: one line per event, text or JSON.
    pub fn file(format: LogFormat) -> Self {
        LineFormat {
            format,
            readable_errors: false,
        }
    }

    /// For the console: text, with readable error chains when `readable_errors`.
    pub fn console(readable_errors: bool) -> Self {
        LineFormat {
            format: LogFormat::Text,
            readable_errors,
        }
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let request = ctx
            .event_scope()
            .and_then(|scope| {
                scope
                    .from_root()
                    .find_map(|span| span.extensions().get::<RequestContext>().cloned())
            })
            .unwrap_or_default();
        let metadata = event.metadata();
        let line = EventLine {
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            level: shown_level(metadata),
            target: metadata.target(),
            file: metadata.file().map(short_path),
            line: metadata.line(),
            fields,
            request,
        };
        let text = match self.format {
            LogFormat::Text => line.text(),
            LogFormat::Json => line.json(),
        };
        writer.write_str(&capped(text))?;
        if self.readable_errors {
            if let Some((_, Value::String(chain))) = line
                .fields
                .values
                .iter()
                .find(|(name, _)| *name == "error.chain")
            {
                for text in chain.lines() {
                    writeln!(writer, "    {text}")?;
                }
            }
        }
        Ok(())
    }
}

/// The level a line is written at: the HTTP layer's ERRORs about malformed requests (actix's
/// dispatcher) are a stranger's mistakes, not ours, and are written as WARN. (errors.log does not
/// take them at all: see `telemetry::file_layers`.)
fn shown_level(metadata: &tracing::Metadata<'_>) -> Level {
    let level = *metadata.level();
    if level == Level::ERROR && metadata.target().starts_with("actix_http") {
        Level::WARN
    } else {
        level
    }
}

/// A dependency's source path from its crate folder on (`actix-http-3.20.0/src/…`), not from
/// the machine's cargo registry.
fn short_path(file: &str) -> &str {
    match file.find("/registry/src/") {
        Some(start) => {
            let rest = &file[start + "/registry/src/".len()..];
            rest.split_once('/')
                .map_or(rest, |(_, crate_path)| crate_path)
        }
        None => file,
    }
}

/// The longest line written, newline included; a longer one is cut, with a visible marker.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
const CUT_MARKER: &str = " …[line cut at 16 KiB]\n";

/// `line` as it is, or cut at a character boundary before [`MAX_LINE_BYTES`] with a marker.
fn capped(mut line: String) -> String {
    if line.len() <= MAX_LINE_BYTES {
        return line;
    }
    let mut end = MAX_LINE_BYTES - CUT_MARKER.len();
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line.truncate(end);
    line.push_str(CUT_MARKER);
    line
}

/// Span fields are never written as text of their own (the lines carry what they need through
/// [`RequestFields`]), so the `fmt` layer is given nothing to format for them.
pub struct NoSpanFields;

impl<'writer> FormatFields<'writer> for NoSpanFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        _writer: Writer<'writer>,
        _fields: R,
    ) -> std::fmt::Result {
        Ok(())
    }
}

/// The fields of an event or span, in order, with their JSON type kept.
#[derive(Default)]
struct Fields {
    message: String,
    values: Vec<(&'static str, Value)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.record(field, Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record(field, Value::String(format!("{value:?}")));
    }
}

impl Fields {
    fn record(&mut self, field: &Field, value: Value) {
        match (field.name(), value) {
            ("message", Value::String(message)) => self.message = message,
            (name, value) => self.values.push((name, value)),
        }
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let index = self.values.iter().position(|(field, _)| *field == name)?;
        Some(match self.values.remove(index).1 {
            Value::String(text) => text,
            other => other.to_string(),
        })
    }
}

struct EventLine<'a> {
    timestamp: String,
    level: Level,
    target: &'a str,
    file: Option<&'a str>,
    line: Option<u32>,
    fields: Fields,
    request: RequestContext,
}

impl EventLine<'_> {
    fn text(&self) -> String {
        let mut out = String::with_capacity(160);
        let _ = write!(
            out,
            "{} {:>5} {}: {}",
            self.timestamp,
            self.level,
            self.target,
            escape_line_breaks(&self.fields.message)
        );
        for (name, value) in &self.fields.values {
            let value = match value {
                Value::String(text) => quote_if_needed(text),
                other => other.to_string(),
            };
            let _ = write!(out, " {name}={value}");
        }
        if let Some(request_id) = &self.request.request_id {
            let _ = write!(out, " request_id={request_id}");
        }
        if let Some(user_id) = &self.request.user_id {
            let _ = write!(out, " user_id={user_id}");
        }
        if let (Some(file), Some(line)) = (self.file, self.line) {
            let _ = write!(out, " [in {file}:{line}]");
        }
        out.push('\n');
        out
    }

    fn json(&self) -> String {
        let mut object = Map::new();
        object.insert("timestamp".into(), Value::from(self.timestamp.as_str()));
        object.insert("level".into(), Value::from(self.level.as_str()));
        object.insert("target".into(), Value::from(self.target));
        object.insert("message".into(), Value::from(self.fields.message.as_str()));
        object.insert(
            "file".into(),
            self.file.map(Value::from).unwrap_or(Value::Null),
        );
        object.insert(
            "line".into(),
            self.line.map(Value::from).unwrap_or(Value::Null),
        );
        object.insert("request_id".into(), opt(&self.request.request_id));
        object.insert("user_id".into(), opt(&self.request.user_id));
        for (name, value) in &self.fields.values {
            object
                .entry(name.to_string())
                .or_insert_with(|| value.clone());
        }
        let mut line = Value::Object(object).to_string();
        line.push('\n');
        line
    }
}

fn opt(value: &Option<String>) -> Value {
    value.as_deref().map(Value::from).unwrap_or(Value::Null)
}

/// CR and LF written as `\r` and `\n`: user input in a value can never start a forged line.
fn escape_line_breaks(text: &str) -> String {
    if !text.contains(['\r', '\n']) {
        return text.to_string();
    }
    text.replace('\r', "\\r").replace('\n', "\\n")
}

/// A value as it is, or quoted with `{:?}` (which also writes CR and LF as `\r` and `\n`).
fn quote_if_needed(text: &str) -> String {
    if text.is_empty() || text.contains([' ', '"', '=', '\r', '\n', '\\']) {
        format!("{text:?}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_over_16_kib_is_cut_with_a_marker_and_stays_one_line() {
        let line = format!("{}\n", "é".repeat(20_000));
        let cut = capped(line);
        assert!(cut.len() <= MAX_LINE_BYTES, "{}", cut.len());
        assert!(cut.ends_with(" …[line cut at 16 KiB]\n"));
        assert_eq!(cut.matches('\n').count(), 1);
        assert_eq!(capped("short\n".to_string()), "short\n");
    }

    #[test]
    fn line_breaks_in_values_cannot_forge_a_line() {
        let line = EventLine {
            timestamp: "2026-11-21T00:00:00.000Z".into(),
            level: Level::INFO,
            target: "microblog",
            file: Some("src/x.rs"),
            line: Some(7),
            fields: Fields {
                message: "Login refused".into(),
                values: vec![("username", Value::from("eve\n2026-11-21 ERROR forged"))],
            },
            request: RequestContext {
                request_id: Some("abc".into()),
                user_id: None,
            },
        };
        let text = line.text();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(
            text.contains(r#"username="eve\n2026-11-21 ERROR forged""#),
            "{text}"
        );
        assert!(text.ends_with(" request_id=abc [in src/x.rs:7]\n"));
        let json: Value = serde_json::from_str(&line.json()).unwrap();
        assert_eq!(json["request_id"], "abc");
        assert_eq!(json["username"], "eve\n2026-11-21 ERROR forged");
    }
}
