//! Candor's doctor: names what is wrong with an OAuth / OpenID Connect exchange, with any
//! provider, using the diagnosis catalogue's codes.
//!
//! - [`har`]: a browser capture (HAR 1.2): flows found, correlated and checked.
//! - [`response`]: one raw token-endpoint response.
//! - [`jwt`]: one JWT, decoded, explained and checked.
//! - [`probe`]: a live provider, step by step (DNS, TCP, TLS, discovery, JWKS, token
//!   endpoint, clock, client credentials, authorization endpoint).
//! - [`refusal`]: what a refusal that is not an RFC 6749 error object still tells (status,
//!   headers, the product that answered, the provider's words in text).
//! - [`phrases`]: what each big provider says when it refuses, mapped to catalogue codes.
//! - [`render`]: text and JSON output.
//!
//! Everything but the probe is a pure function of its input. Unusable input is an
//! [`InputError`] (exit status 2); a [`Report`] with problems exits 1, without 0.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod explain;
pub mod finding;
pub mod har;
pub mod id_token;
pub mod input;
pub mod jwt;
pub mod phrases;
pub mod pkce;
pub mod probe;
pub mod prose;
pub mod redirect_uri;
pub mod refusal;
pub mod render;
pub mod response;

pub use candor_client::redact;
pub use finding::{Finding, Group, Report, Severity, Source};
pub use input::InputError;
pub use render::Format;
