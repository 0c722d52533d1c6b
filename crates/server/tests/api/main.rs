//! Black-box tests of the authorization server over real HTTP, each run on SQLite and on
//! PostgreSQL (`CANDOR_TEST_POSTGRES_URL`; skipped loudly when unset).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

mod admin_api;
mod admin_lifecycle;
mod bad_input;
mod browser;
mod calls;
mod client_auth;
mod console;
mod discovery;
mod events;
mod feed;
mod flow;
mod introspection;
mod nodes;
mod pages;
mod security;
mod token;
