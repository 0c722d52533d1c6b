//! A route's `match = { … }`: which requests it takes — host, path prefix, methods, and the
//! path forms it lets through.

use http::Method;
use serde::Deserialize;

use super::{ConfigError, err};

/// The methods a route may name, in `match.methods` and as `scopes` keys.
pub(super) const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchFile {
    pub host: Option<String>,
    pub path_prefix: Option<String>,
    pub methods: Option<Vec<String>>,
    /// Match the prefix without regard to ASCII case, for upstreams that fold case.
    #[serde(default)]
    pub case_insensitive: bool,
    /// Let paths with matrix parameters (`;`, `%3B`) through to this route.
    #[serde(default)]
    pub allow_matrix_params: bool,
    /// Let paths with an encoded slash (`%2F`) through to this route.
    #[serde(default)]
    pub allow_encoded_slash: bool,
}

impl MatchFile {
    /// `match.path_prefix` (default `/`), in the normal form requests are matched in.
    pub(super) fn path_prefix(&self, key: &str) -> Result<String, ConfigError> {
        let key = format!("{key}.match.path_prefix");
        let written = self.path_prefix.as_deref().unwrap_or("/");
        if !written.starts_with('/') {
            return Err(err(key, format!("'{written}' must start with '/'")));
        }
        // Requests are matched in normal form: so is the prefix.
        match crate::path::normalize(written) {
            Ok(n) if !n.readings_differ() => Ok(n.forward.into_owned()),
            Ok(_) => Err(err(
                key,
                format!("'{written}' holds a ';' or an encoded '/'"),
            )),
            Err(why) => Err(err(key, format!("'{written}' holds {}", why.describe()))),
        }
    }

    /// `match.host`, as requests' hosts are compared ([`crate::route::host_name`]).
    pub(super) fn host(&self) -> Option<String> {
        self.host.as_ref().map(|h| crate::route::host_name(h))
    }

    /// `match.methods`, upper case; empty: every method.
    pub(super) fn methods(&self, key: &str) -> Result<Vec<Method>, ConfigError> {
        let not_a_method = |m: &str| {
            err(
                format!("{key}.match.methods"),
                format!("'{m}' is not an HTTP method"),
            )
        };
        let mut methods = Vec::new();
        for m in self.methods.iter().flatten() {
            let upper = m.to_ascii_uppercase();
            if !METHODS.contains(&upper.as_str()) {
                return Err(not_a_method(m));
            }
            methods.push(Method::from_bytes(upper.as_bytes()).map_err(|_| not_a_method(m))?);
        }
        Ok(methods)
    }
}
