//! Black-box tests: each starts the real server and talks HTTP to it.

mod architecture;
mod auth;
mod browser;
mod database;
mod errors;
mod hardening;
mod helpers;
mod hostile_traffic;
mod json_api;
mod lab;
mod lab_traces;
mod learners_path;
mod logging;
mod mail;
mod pages;
mod postgres;
mod process;
mod rate_limits;
mod safe_by_default;
mod security;
mod sessions;
mod shutdown;
mod smtp;
mod startup;
mod validation;
