//! The server's settings, as the CLI resolved them from the config file, the environment and
//! flags. Plain data with defaults; the CLI owns parsing.

use std::time::Duration;

use candor_proto::jose::SigningAlg;
use ipnet::IpNet;

use crate::throttle::Rate;

/// Settings of the authorization server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer identifier: scheme, host, optional port and path; no trailing slash.
    pub issuer: String,
    pub authorization_code_ttl: Duration,
    pub access_token_ttl: Duration,
    /// Absolute lifetime of a refresh-token family.
    pub refresh_token_ttl: Duration,
    /// A refresh token unused for this long expires (rotation renews it).
    pub refresh_token_idle_ttl: Duration,
    /// A second use of a rotated refresh token within this time is refused but does not
    /// revoke the family: two requests racing from one client are a benign duplicate, not a
    /// theft (the winner's tokens stay valid). Later reuse revokes the family.
    pub refresh_reuse_grace: Duration,
    pub id_token_ttl: Duration,
    /// Lifetime of a browser login session.
    pub session_ttl: Duration,
    /// How long an authorization request waits for the user to log in and consent.
    pub pending_request_ttl: Duration,
    /// Failed logins for one account within `login_failure_window` before it is locked for
    /// the rest of the window.
    pub login_max_failures: u32,
    /// Failed logins after which each further attempt is slowed down.
    pub login_slowdown_after: u32,
    pub login_failure_window: Duration,
    /// Sign-in attempts from one client address (an IPv6 /64).
    pub login_rate_per_address: Rate,
    /// Sign-in attempts through one client application, all addresses together.
    pub login_rate_per_client: Rate,
    /// Reverse proxies whose `X-Forwarded-For` names the client address.
    pub trusted_proxies: Vec<IpNet>,
    /// One log line per request ([`candor_calls::access`]); off by default.
    pub access_log: bool,
    /// The token and authorization endpoints' rate limits, and extra sign-in limits.
    pub rate_limits: crate::throttle::EndpointLimits,
    /// The limiter deciding them, shared through Redis when built so; `None`: one of this
    /// process's own.
    pub limiter: Option<candor_limit::Limiter>,
    /// Algorithm of JWT access tokens (ES256 by default: an RSA signature costs far more CPU).
    pub access_token_alg: SigningAlg,
    /// Allowed clock difference when checking `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Largest request body accepted by back-channel endpoints.
    pub max_body_bytes: usize,
    /// How often keys are re-read from the store, so that a rotation on another node (or by
    /// `candor keys rotate`) is picked up.
    pub key_refresh_interval: Duration,
    /// How long a client's registration is cached in memory; changes reach every node within
    /// this time.
    pub client_cache_ttl: Duration,
    /// The try-it pages of `serve --dev` ([`crate::demo`]) are served under `/demo`.
    pub demo: bool,
    /// The admin API (`/admin/api/v1`, behind the admin credential) is served on the public
    /// listener too, not only on the admin listener (`[admin] on_public_listener`, and
    /// `serve --dev`).
    pub admin_on_public_listener: bool,
}

impl Settings {
    /// Defaults for `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Settings {
            issuer: issuer.into().trim_end_matches('/').to_string(),
            authorization_code_ttl: Duration::from_secs(60),
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_token_idle_ttl: Duration::from_secs(14 * 24 * 3600),
            refresh_reuse_grace: Duration::from_secs(2),
            id_token_ttl: Duration::from_secs(3600),
            session_ttl: Duration::from_secs(12 * 3600),
            pending_request_ttl: Duration::from_secs(600),
            login_max_failures: 10,
            login_slowdown_after: 3,
            login_failure_window: Duration::from_secs(900),
            login_rate_per_address: Rate {
                per_minute: 30,
                burst: 10,
            },
            login_rate_per_client: Rate {
                per_minute: 600,
                burst: 100,
            },
            rate_limits: crate::throttle::EndpointLimits::default(),
            limiter: None,
            trusted_proxies: Vec::new(),
            access_log: false,
            access_token_alg: SigningAlg::Es256,
            leeway: Duration::from_secs(60),
            max_body_bytes: 64 * 1024,
            key_refresh_interval: Duration::from_secs(10),
            client_cache_ttl: Duration::from_secs(5),
            demo: false,
            admin_on_public_listener: false,
        }
    }

    /// The token endpoint URL; client assertions name it (or the issuer) as `aud`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Whether cookies must be `Secure` (an https issuer).
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The path cookies are scoped to: the issuer's path, or `/`.
    pub fn cookie_path(&self) -> String {
        let path = url::Url::parse(&self.issuer)
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        if path.is_empty() {
            "/".to_string()
        } else {
            path
        }
    }

    /// The longest anything issued for one sign-in lives (a refresh family, or a token): how
    /// long a revocation of a user's grants must stay in the feed.
    pub fn longest_grant_ttl(&self) -> Duration {
        self.refresh_token_ttl.max(self.longest_token_ttl()) + self.leeway
    }

    /// The longest any signed token lives: how long a retired key stays in the JWKS.
    pub fn longest_token_ttl(&self) -> Duration {
        self.access_token_ttl.max(self.id_token_ttl) + self.leeway
    }
}

/// Checks an issuer: an absolute `https` URL, or `http` on a loopback host only; no query or
/// fragment (OIDC Discovery §3, RFC 8414 §2).
pub fn validate_issuer(issuer: &str) -> Result<(), String> {
    let url =
        url::Url::parse(issuer).map_err(|e| format!("issuer '{issuer}' is not a URL: {e}"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "issuer '{issuer}' must not have a query or fragment"
        ));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            if candor_proto::loopback::is_loopback_url(&url) {
                Ok(())
            } else {
                Err(format!(
                    "issuer '{issuer}' uses plain http off loopback; use https (set [server] tls_cert and tls_key, or terminate TLS in front)"
                ))
            }
        }
        other => Err(format!(
            "issuer '{issuer}' has scheme '{other}'; expected https"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers() {
        assert!(validate_issuer("https://id.example.com").is_ok());
        assert!(validate_issuer("http://127.0.0.1:8080").is_ok());
        assert!(validate_issuer("http://localhost:8080").is_ok());
        assert!(validate_issuer("http://[::1]:8080").is_ok());
        assert!(validate_issuer("http://id.example.com").is_err());
        assert!(validate_issuer("https://id.example.com?x=1").is_err());
        assert!(validate_issuer("ftp://x").is_err());
        assert!(validate_issuer("not a url").is_err());
    }

    #[test]
    fn trailing_slash_is_dropped() {
        assert_eq!(
            Settings::new("http://127.0.0.1:8080/").issuer,
            "http://127.0.0.1:8080"
        );
    }
}
