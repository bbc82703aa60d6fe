//! Black-box tests: each starts the real server and talks HTTP to it.

mod auth;
mod errors;
mod helpers;
mod lab;
mod pages;
mod security;
mod startup;
mod validation;
