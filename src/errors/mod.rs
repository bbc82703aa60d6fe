//! The error lesson, in one folder: what can fail, and how every failure ends.
//!
//! - [`app_error`]: [`AppError`], the one error type handlers return, and its HTTP status.
//! - [`conversions`]: the one place where library errors (diesel, the pool) get their meaning.
//! - [`middleware`]: the two layers every request passes: panics become errors, and every error
//!   response becomes our page or problem document.
//! - [`pages`]: those pages (HTML, problem+json, the development page), and the log line and
//!   mail of each failure.
//! - [`problem`]: what a client may read, and problem documents for JSON clients.
//! - [`report`]: the error report, plain data for the development page and the error mail.
//! - [`panics`]: the panic hook that keeps a panic's message, location and backtrace.
//! - [`redact`]: what may be shown of a request (secrets removed).
//! - [`background`]: failures of work that runs outside any request.

pub mod app_error;
pub mod background;
pub mod conversions;
pub mod failed_request;
pub mod field_errors;
pub mod middleware;
pub mod pages;
pub mod panics;
pub mod problem;
pub mod redact;
pub mod report;

pub use app_error::{
    error_chain_fmt, AppError, Chain, Challenge, ResultExt, TokenProblem, UniqueField,
};
