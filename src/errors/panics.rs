//! Panics as errors. actix drops the connection when a handler panics; `middleware.rs` catches
//! the unwind instead and turns it into our 500 page, and the hook installed here keeps the
//! panic's message, location and backtrace so the log line and the mail can show where it
//! happened. [`catching`] and [`catching_async`] do the same for blocking work and background
//! tasks.

use std::any::Any;
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

use futures_util::FutureExt;

use super::AppError;

thread_local! {
    /// True while this thread is polling a request's handler.
    static IN_REQUEST: Cell<bool> = const { Cell::new(false) };
    /// What the hook saw of the last panic in a request on this thread.
    static LAST_PANIC: RefCell<Option<PanicReport>> = const { RefCell::new(None) };
}

/// Where and why a handler panicked.
#[derive(Debug, thiserror::Error)]
#[error("A handler panicked at {location}: {message}")]
pub struct PanicReport {
    pub message: String,
    pub location: String,
    pub backtrace: String,
}

/// Installs the panic hook once per process. Panics outside requests are logged at ERROR and
/// then handed to the previous hook; panics inside requests are reported by `pages.rs`, so that
/// each is logged exactly once.
pub fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let report = PanicReport {
                message: payload_message(info.payload()),
                location: info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_else(|| "an unknown location".to_string()),
                backtrace: match Backtrace::capture() {
                    bt if bt.status() == std::backtrace::BacktraceStatus::Captured => {
                        bt.to_string()
                    }
                    _ => String::new(),
                },
            };
            if IN_REQUEST.get() {
                LAST_PANIC.with_borrow_mut(|last| *last = Some(report));
            } else {
                tracing::error!(
                    panic.message = %report.message,
                    panic.location = %report.location,
                    "A panic outside any request"
                );
                previous(info);
            }
        }));
    });
}

/// Runs blocking work (on the blocking thread pool) so that a panic in it becomes a 500 carrying
/// the panic's message and location, reported once by `pages.rs` like any other.
pub fn catching<T>(work: impl FnOnce() -> Result<T, AppError>) -> Result<T, AppError> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| while_handling_request(work))) {
        Ok(result) => result,
        Err(panic) => Err(into_app_error(panic)),
    }
}

/// Runs `work` (an async task outside any request) so that a panic in it becomes an error
/// carrying the panic's message and location, for its caller to report.
pub async fn catching_async<T>(
    work: impl Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let mut running = std::pin::pin!(AssertUnwindSafe(work).catch_unwind());
    let outcome =
        std::future::poll_fn(|cx| while_handling_request(|| running.as_mut().poll(cx))).await;
    outcome.unwrap_or_else(|panic| Err(into_app_error(panic)))
}

/// Runs `poll` (one poll of a request's future) with the in-request flag set.
pub fn while_handling_request<T>(poll: impl FnOnce() -> T) -> T {
    let outer = IN_REQUEST.replace(true);
    let result = poll();
    IN_REQUEST.set(outer);
    result
}

/// The 500 error for a caught panic, with the report the hook kept (when it ran on this thread).
pub fn into_app_error(payload: Box<dyn Any + Send>) -> AppError {
    let report = LAST_PANIC
        .with_borrow_mut(Option::take)
        .unwrap_or_else(|| PanicReport {
            message: payload_message(payload.as_ref()),
            location: "an unknown location".to_string(),
            backtrace: String::new(),
        });
    AppError::unexpected(report)
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message.to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_blocking_work_becomes_a_500_with_its_message_and_location() {
        install_hook();
        let outcome: Result<(), AppError> = catching(|| panic!("disk full of cats"));
        let error = outcome.unwrap_err();
        let debug = format!("{error:?}");
        assert!(error.is_server_error());
        assert!(debug.contains("disk full of cats"), "{debug}");
        assert!(
            debug.contains("src/errors/panics.rs"),
            "the location: {debug}"
        );
    }
}

#[cfg(test)]
mod async_tests {
    use super::*;

    #[test]
    fn a_panicking_task_becomes_an_error_with_its_location() {
        install_hook();
        let outcome = actix_web::rt::System::new().block_on(catching_async(async {
            if true {
                panic!("the task fell over");
            }
            Ok::<(), AppError>(())
        }));
        let debug = format!("{:?}", outcome.unwrap_err());
        assert!(
            debug.contains("the task fell over") && debug.contains("src/errors/panics.rs"),
            "{debug}"
        );
    }
}
