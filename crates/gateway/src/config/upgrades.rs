//! A route's upgraded connections: `upgrades` (the protocols a caller may switch to) and
//! `tunnel = { … }` (how long such a connection may idle and live).

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, duration, err};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelFile {
    pub idle_timeout: Option<String>,
    pub max_lifetime: Option<String>,
}

/// `upgrades` of the route at `key`, lower case (default `["websocket"]`).
pub(super) fn protocols(value: Option<&[String]>, key: &str) -> Result<Vec<String>, ConfigError> {
    let Some(list) = value else {
        return Ok(vec!["websocket".to_string()]);
    };
    let mut out = Vec::new();
    for p in list {
        let p = p.to_ascii_lowercase();
        if p.starts_with("h2c") {
            return Err(err(
                format!("{key}.upgrades"),
                "'h2c' cannot be allowed: through an h2c tunnel a caller sends requests the route never sees",
            ));
        }
        // It is compared with the Upgrade header's comma-separated tokens.
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(err(
                format!("{key}.upgrades"),
                format!("'{p}' is not a protocol name"),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

/// `tunnel.idle_timeout` and `tunnel.max_lifetime` of the route at `key`.
pub(super) fn tunnel_bounds(
    value: Option<&TunnelFile>,
    key: &str,
) -> Result<(Duration, Duration), ConfigError> {
    let idle = duration(
        value.and_then(|t| t.idle_timeout.as_deref()),
        &format!("{key}.tunnel.idle_timeout"),
        Duration::from_secs(60),
    )?;
    let lifetime = duration(
        value.and_then(|t| t.max_lifetime.as_deref()),
        &format!("{key}.tunnel.max_lifetime"),
        Duration::from_secs(3600),
    )?;
    Ok((idle, lifetime))
}
