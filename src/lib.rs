//! microblog: the Flask Mega-Tutorial's microblog on actix-web, diesel and tera, built to show
//! production error handling end to end. `startup.rs` is the place to start reading.

pub mod background;
pub mod config;
pub mod csrf;
pub mod db;
pub mod error_pages;
pub mod error_report;
pub mod errors;
pub mod flash;
pub mod forms;
pub mod mail;
pub mod models;
pub mod page;
pub mod panics;
pub mod password;
pub mod redact;
pub mod routes;
pub mod seed;
pub mod session;
pub mod startup;
pub mod telemetry;
pub mod templates;
pub mod tokens;
