//! Black-box tests: each starts the real server and talks HTTP to it.

mod auth;
mod helpers;
mod pages;
mod security;
mod startup;
