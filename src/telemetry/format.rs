//! How events become lines: tracing-subscriber's `fmt` layer calls [`LineFormat`] for each event
//! (the line itself is `line.rs`), and [`RequestFields`] keeps each request's id and user id in
//! its root span, so every line of the request can carry them.

use chrono::{SecondsFormat, Utc};
use serde_json::Value;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::line::{EventLine, Fields, RequestContext};
use crate::config::LogFormat;

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
}
