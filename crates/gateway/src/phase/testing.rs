//! What the phases' unit tests share: a state built from a configuration (no I/O), requests
//! built directly, and an identity as a verified token would give it.

use std::sync::{Arc, OnceLock};

use http::Request;

use crate::State;
use crate::config::File;
use crate::identity::Identity;
use crate::metrics::Metrics;

/// The issuer every test configuration trusts.
pub(crate) const ISSUER: &str = "https://id.example";

/// The state of a gateway with one issuer and `routes` (TOML under `[gateway]`).
pub(crate) fn state(routes: &str) -> State {
    let text = format!(
        "[gateway]\nlisten = \"127.0.0.1:0\"\n{}\n[[gateway.issuers]]\nissuer = \"{ISSUER}\"\naudiences = [\"https://api.example\"]\n{}",
        // Keys of `[gateway]` itself come before the first table.
        routes
            .split("[[gateway.routes]]")
            .next()
            .unwrap_or_default(),
        routes
            .find("[[gateway.routes]]")
            .map_or("", |at| &routes[at..]),
    );
    let config = File::from_toml(&text)
        .and_then(|f| f.validate())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let limiter =
        candor_limit::Limiter::local(candor_limit::LocalOptions::default()).expect("limiter");
    State::new(
        &config,
        Arc::new(Metrics::new(1)),
        None,
        &limiter,
        Arc::new(tokio::sync::Semaphore::new(config.max_tunnels)),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A request with an empty body.
pub(crate) fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).expect("request")
}

/// Alice, through the client `app`, with `scopes`.
pub(crate) fn identity(scopes: &[&str]) -> Identity {
    Identity {
        issuer: Arc::from(ISSUER),
        sub: "alice".into(),
        client_id: Some("app".into()),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        jti: Some("jti-1".into()),
        grant_id: None,
        exp: i64::MAX,
        iat: Some(900),
        auth_time: Some(900),
        claims: serde_json::json!({}),
        forwarded: OnceLock::new(),
        principal: OnceLock::new(),
    }
}
