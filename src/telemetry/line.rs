//! One log line, as text or JSON, from an event's fields and the request it happened in.
//!
//! text: `2026-11-21T09:36:49.123Z  INFO microblog::routes::auth: Logged in user_id=3 request_id=… [in src/routes/auth.rs:93]`
//! json: `{"timestamp":…,"level":"INFO","target":…,"message":…,"file":…,"line":…,"request_id":…,"user_id":…, …fields}`

use std::fmt::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::Level;

/// The request a span belongs to, kept in the root span's extensions.
#[derive(Default, Clone)]
pub(super) struct RequestContext {
    pub(super) request_id: Option<String>,
    pub(super) user_id: Option<String>,
}

/// The fields of an event or span, in order, with their JSON type kept.
#[derive(Default)]
pub(super) struct Fields {
    pub(super) message: String,
    pub(super) values: Vec<(&'static str, Value)>,
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

    pub(super) fn take(&mut self, name: &str) -> Option<String> {
        let index = self.values.iter().position(|(field, _)| *field == name)?;
        Some(match self.values.remove(index).1 {
            Value::String(text) => text,
            other => other.to_string(),
        })
    }
}

pub(super) struct EventLine<'a> {
    pub(super) timestamp: String,
    pub(super) level: Level,
    pub(super) target: &'a str,
    pub(super) file: Option<&'a str>,
    pub(super) line: Option<u32>,
    pub(super) fields: Fields,
    pub(super) request: RequestContext,
}

impl EventLine<'_> {
    pub(super) fn text(&self) -> String {
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

    pub(super) fn json(&self) -> String {
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
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// Never: a second line (or a carriage return) in a log line, whatever a client put in
        /// its message or its values.
        #[test]
        fn a_log_line_never_gains_a_line_break_from_client_input(
            message in any::<String>(),
            value in any::<String>(),
        ) {
            let line = EventLine {
                timestamp: "2026-11-21T00:00:00.000Z".into(),
                level: Level::WARN,
                target: "microblog",
                file: None,
                line: None,
                fields: Fields {
                    message,
                    values: vec![("username", Value::from(value))],
                },
                request: RequestContext::default(),
            };
            for text in [line.text(), line.json()] {
                prop_assert_eq!(text.matches('\n').count(), 1);
                prop_assert!(text.ends_with('\n') && !text.contains('\r'));
            }
        }
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
