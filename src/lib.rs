//! microblog: the Flask Mega-Tutorial's microblog on actix-web, diesel and tera, built to show
//! production error handling end to end. `startup.rs` is the place to start reading.
//!
//! Each lesson has a folder of its own: `errors/` (error pages, panics, reports, redaction),
//! `telemetry/` (log lines and files), `mail/` (error mails), `web/` (pages, sessions, CSRF,
//! forms), `models/` (rows and queries) and `routes/` (one file per area, and the route table).

pub mod access_tokens;
pub mod admin;
pub mod config;
pub mod connection;
pub mod db;
pub mod errors;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod models;
pub mod password;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod telemetry;
pub mod templates;
pub mod tokens;
pub mod tracking;
pub mod uploads;
pub mod web;
