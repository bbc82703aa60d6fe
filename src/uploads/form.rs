//! A multipart form read field by field as it arrives, with its file held in memory only up to
//! the limit. The file's size is known as soon as its part begins (from the request's
//! Content-Length, less what came before it): a file that cannot fit is refused there, and the
//! rest of the body is never read. The text fields that came before it are kept, so the page
//! can show them again.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use actix_multipart::{Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::http::header::{HeaderMap, CONTENT_LENGTH};
use futures_util::{StreamExt, TryStreamExt};

/// All the text fields of one form, together.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
const MAX_FIELDS: usize = 32;
/// File names are kept for the log line only, and only this long.
const MAX_FILE_NAME: usize = 100;

/// The file of a form.
#[derive(Debug)]
pub struct UploadedFile {
    /// As the client named it (cut short, control characters replaced): for the log only.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A form's text fields and its one file, if one was chosen.
#[derive(Debug, Default)]
pub struct UploadForm {
    pub fields: HashMap<String, String>,
    pub file: Option<UploadedFile>,
}

/// Why a form could not be read. `Display` is what the user reads.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// The file is over the limit. The fields before it are kept for the page.
    #[error("The file is larger than {}.", human_size(*limit))]
    FileTooLarge {
        fields: HashMap<String, String>,
        file_name: String,
        limit: usize,
    },
    #[error("The form's text is too large.")]
    FieldsTooLarge,
    #[error("The form was incomplete or malformed.")]
    Malformed,
    #[error("The request took too long to arrive.")]
    TimedOut,
}

/// "2 MiB", "512 KiB" or "900 bytes".
pub fn human_size(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= 1024 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

/// Reads the multipart form in `payload`: text fields, and the file in `file_field` of at most
/// `max_file` bytes. A second file, or a file in any other field, makes the form malformed.
pub async fn read(
    headers: &HeaderMap,
    payload: actix_web::dev::Payload,
    file_field: &str,
    max_file: usize,
) -> Result<UploadForm, FormError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let pulled = Rc::new(Cell::new(0u64));
    let counter = pulled.clone();
    let counted = payload.inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            counter.set(counter.get() + bytes.len() as u64);
        }
    });
    let mut multipart = Multipart::new(headers, counted);
    let mut form = UploadForm::default();
    let mut text_bytes = 0;
    let mut parts = 0;
    while let Some(mut field) = multipart.try_next().await.map_err(form_error)? {
        parts += 1;
        if parts > MAX_FIELDS {
            return Err(FormError::FieldsTooLarge);
        }
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field
            .content_disposition()
            .and_then(|disposition| disposition.get_filename())
            .map(clean_file_name);
        if let Some(file_name) = file_name {
            if name != file_field || form.file.is_some() {
                return Err(FormError::Malformed);
            }
            let mut too_large = || FormError::FileTooLarge {
                fields: std::mem::take(&mut form.fields),
                file_name: file_name.clone(),
                limit: max_file,
            };
            // What is left of the body, less the fields that may follow, is all file.
            let left = declared.map_or(0, |declared| declared.saturating_sub(pulled.get()));
            if left > (max_file + MAX_TEXT_BYTES + 4096) as u64 {
                return Err(too_large());
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = field.try_next().await.map_err(form_error)? {
                if bytes.len() + chunk.len() > max_file {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            // A form sent with no file chosen has an empty, nameless part.
            if !(bytes.is_empty() && file_name.is_empty()) {
                form.file = Some(UploadedFile { file_name, bytes });
            }
            continue;
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.try_next().await.map_err(form_error)? {
            text_bytes += chunk.len();
            if text_bytes > MAX_TEXT_BYTES {
                return Err(FormError::FieldsTooLarge);
            }
            value.extend_from_slice(&chunk);
        }
        let value = String::from_utf8(value).map_err(|_| FormError::Malformed)?;
        form.fields.insert(name, value);
    }
    Ok(form)
}

fn form_error(error: MultipartError) -> FormError {
    match error {
        MultipartError::Payload(PayloadError::Overflow) => FormError::FieldsTooLarge,
        MultipartError::Payload(PayloadError::Io(io))
            if io.kind() == std::io::ErrorKind::TimedOut =>
        {
            FormError::TimedOut
        }
        _ => FormError::Malformed,
    }
}

/// A file name fit for a log line: at most `MAX_FILE_NAME` characters; control characters,
/// line and paragraph separators and the marks that reorder text replaced.
pub fn clean_file_name(name: &str) -> String {
    let unfit = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
            )
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    name.chars()
        .take(MAX_FILE_NAME)
        .map(|c| if unfit(c) { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(2 * 1024 * 1024), "2 MiB");
        assert_eq!(human_size(1536 * 1024), "1.5 MiB");
        assert_eq!(human_size(4096), "4 KiB");
        assert_eq!(human_size(900), "900 bytes");
    }

    #[test]
    fn a_file_name_never_brings_a_line_break_into_the_log() {
        let name = clean_file_name("evil\nname.png\r\u{2028}\u{202e}gnp.exe");
        assert!(!name.contains(['\n', '\r', '\u{2028}', '\u{202e}']));
        assert_eq!(
            clean_file_name(&"a".repeat(500)).chars().count(),
            MAX_FILE_NAME
        );
    }
}
