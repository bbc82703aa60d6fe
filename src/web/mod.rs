//! What every page of the site shares: the app state, what one request knows about itself, the
//! `Page` extractor, login and sessions, CSRF protection, flash messages, forms, pagination and
//! the way values are shown.

pub mod body;
pub mod client;
pub mod control_characters;
pub mod csrf;
pub mod display;
pub mod draining;
pub mod flash;
pub mod forms;
pub mod head;
pub mod hosts;
pub mod login;
pub mod page;
pub mod pagination;
pub mod post_fragments;
pub mod rate_limits;
pub mod redirect;
pub mod request;
pub mod security_headers;
pub mod session_keys;
pub mod state;
pub mod streamed_body;
