//! The top-level keys of `[gateway]`: where the gateway listens, TLS, the proxies it trusts,
//! connection and request-body limits, tunnels, threads, and where refusals link. Each step
//! below validates one or two of these keys of [`File`].

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::{ConfigError, File, duration, err};

/// How slowly a caller may send a request body (Apache mod_reqtimeout's model): the gateway
/// waits at most `timeout` for it, plus a second for every `min_rate` bytes received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    pub timeout: Duration,
    pub min_rate: u64,
}

fn address(value: &str, key: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        err(
            key,
            format!("'{value}' is not HOST:PORT (an IP address and a port)"),
        )
    })
}

/// `listen` and `admin_listen`, which must differ.
pub(super) fn addresses(f: &File) -> Result<(SocketAddr, Option<SocketAddr>), ConfigError> {
    let listen = address(
        f.listen.as_deref().unwrap_or("127.0.0.1:8000"),
        "gateway.listen",
    )?;
    let admin_listen = f
        .admin_listen
        .as_deref()
        .map(|a| address(a, "gateway.admin_listen"))
        .transpose()?;
    if admin_listen == Some(listen) {
        return Err(err(
            "gateway.admin_listen",
            "must differ from gateway.listen: /metrics never goes on the public port",
        ));
    }
    Ok((listen, admin_listen))
}

/// `tls_cert` and `tls_key`: both or neither (the files are read when the gateway starts).
pub(super) fn tls_pair(f: &File) -> Result<(), ConfigError> {
    if f.tls_cert.is_some() != f.tls_key.is_some() {
        return Err(err(
            "gateway.tls_cert",
            "tls_cert and tls_key go together: set both, or neither",
        ));
    }
    Ok(())
}

/// `trusted_proxies`: addresses and CIDR ranges whose `X-Forwarded-For` is believed.
pub(super) fn trusted_proxies(value: &[String]) -> Result<Vec<IpNet>, ConfigError> {
    candor_proto::forwarded::parse_trusted(value).map_err(|e| err("gateway.trusted_proxies", e))
}

/// `max_connections`, `max_connections_per_address`, `header_read_timeout`, `idle_timeout`.
pub(super) fn connection_limits(
    f: &File,
    trusted_proxies: &[IpNet],
) -> Result<candor_serve::Limits, ConfigError> {
    let mut limits = candor_serve::Limits::from_config(candor_serve::LimitsConfig {
        max_connections: f.max_connections,
        max_connections_per_address: f.max_connections_per_address,
        header_read_timeout: f.header_read_timeout.as_deref(),
        idle_timeout: f.idle_timeout.as_deref(),
    })
    .map_err(|e| err(format!("gateway.{}", e.key), e.why))?;
    // A proxy in front carries many callers' connections: the per-address cap is not for it.
    limits.per_address_exempt = trusted_proxies.to_vec();
    Ok(limits)
}

/// `body_read_timeout` and `body_min_rate`.
pub(super) fn body_pace(f: &File) -> Result<BodyPace, ConfigError> {
    let timeout = duration(
        f.body_read_timeout.as_deref(),
        "gateway.body_read_timeout",
        Duration::from_secs(20),
    )?;
    let min_rate = match f.body_min_rate {
        None => 500,
        Some(0) => {
            return Err(err(
                "gateway.body_min_rate",
                "must be at least 1 (bytes per second)",
            ));
        }
        Some(n) => n,
    };
    Ok(BodyPace { timeout, min_rate })
}

/// `max_tunnels`: never more than connections, since each tunnel holds one.
pub(super) fn max_tunnels(
    value: Option<usize>,
    limits: &candor_serve::Limits,
) -> Result<usize, ConfigError> {
    match value {
        None => Ok(256.min(limits.max_connections)),
        Some(n) if n <= limits.max_connections => Ok(n),
        Some(n) => Err(err(
            "gateway.max_tunnels",
            format!(
                "{n} is more than max_connections ({}): each tunnel holds a connection",
                limits.max_connections
            ),
        )),
    }
}

/// `threads`: event loops serving requests, one per CPU unless set.
pub(super) fn threads(value: Option<usize>) -> Result<usize, ConfigError> {
    match value {
        None => Ok(candor_serve::default_threads()),
        Some(n @ 1..=256) => Ok(n),
        Some(n) => Err(err(
            "gateway.threads",
            format!("{n} is not between 1 and 256 (one per CPU is the default)"),
        )),
    }
}

/// `docs_url`, without its trailing slash (links append `/<code>`).
pub(super) fn docs_url(value: Option<&str>) -> Result<Option<String>, ConfigError> {
    let Some(u) = value else {
        return Ok(None);
    };
    match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "http" | "https") => {
            Ok(Some(u.trim_end_matches('/').to_string()))
        }
        _ => Err(err(
            "gateway.docs_url",
            format!("'{u}' is not an http(s) URL (e.g. \"https://id.example.com/docs/errors\")"),
        )),
    }
}
