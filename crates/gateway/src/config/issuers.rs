//! `[[gateway.issuers]]`: whose tokens the gateway verifies, with what algorithms and token
//! types, and the optional revocation feed and introspection clients.

use std::time::Duration;

use serde::Deserialize;

use super::secret::{SecretSource, secret_source};
use super::{ConfigError, duration, err};

/// Algorithms a gateway may accept: asymmetric only (an HMAC key would be the issuer's
/// secret; `none` is no signature at all).
const ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerFile {
    pub issuer: String,
    /// Without it, discovery (`/.well-known/openid-configuration`) names it.
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
    pub algorithms: Option<Vec<String>>,
    pub token_types: Option<Vec<String>>,
    pub leeway: Option<String>,
    /// The least time between two JWKS fetches for unknown kids (default 30 s; "0s" allows
    /// one per request burst, for tests and issuers that rotate without publishing ahead).
    pub jwks_min_refetch: Option<String>,
    pub revocation_feed: Option<FeedFile>,
    /// RFC 7662 introspection of opaque tokens.
    pub introspection: Option<IntrospectionFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionFile {
    pub client_id: String,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<std::path::PathBuf>,
    /// Without it, discovery's `introspection_endpoint`.
    pub endpoint: Option<String>,
    /// How long an active answer is reused (never past the token's exp); default 30 s.
    pub cache: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedFile {
    pub client_id: String,
    /// The name of the environment variable holding the client secret…
    pub client_secret_env: Option<String>,
    /// …or a file holding it (a mounted secret); exactly one of the two.
    pub client_secret_file: Option<std::path::PathBuf>,
    pub max_feed_lag: Option<String>,
    /// `refuse` (default) or `accept`.
    pub on_stale: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Issuer {
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub audiences: Vec<String>,
    pub algorithms: Vec<String>,
    pub token_types: Vec<String>,
    pub leeway: i64,
    pub jwks_min_refetch: Duration,
    pub feed: Option<Feed>,
    pub introspection: Option<Introspection>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    pub client_id: String,
    pub secret: SecretSource,
    pub endpoint: Option<String>,
    pub cache: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub client_id: String,
    pub secret: SecretSource,
    pub max_lag: Duration,
    pub on_stale: OnStale,
}

/// What to do with a token while the revocation feed is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStale {
    /// 503 `revocation_feed.stale`.
    Refuse,
    /// Let it through, and count it.
    Accept,
    /// Ask the issuer's introspection endpoint (the issuer needs `introspection`).
    Introspect,
}

/// Every `[[gateway.issuers]]`, each named once.
pub(super) fn validate_all(files: &[IssuerFile]) -> Result<Vec<Issuer>, ConfigError> {
    let mut issuers: Vec<Issuer> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let issuer = f.validate(&format!("gateway.issuers[{i}]"))?;
        if issuers.iter().any(|o| o.issuer == issuer.issuer) {
            return Err(err(
                format!("gateway.issuers[{i}].issuer"),
                format!("'{}' is configured twice", issuer.issuer),
            ));
        }
        issuers.push(issuer);
    }
    Ok(issuers)
}

impl IssuerFile {
    /// The issuer at `key` (`gateway.issuers[i]`).
    fn validate(&self, key: &str) -> Result<Issuer, ConfigError> {
        self.check_urls(key)?;
        let algorithms = self.algorithms(key)?;
        let token_types = self
            .token_types
            .clone()
            .unwrap_or_else(|| vec!["at+jwt".into()]);
        if token_types.is_empty() {
            return Err(err(format!("{key}.token_types"), "must name at least one"));
        }
        let leeway = duration(
            self.leeway.as_deref(),
            &format!("{key}.leeway"),
            Duration::from_secs(60),
        )?;
        let feed = self
            .revocation_feed
            .as_ref()
            .map(|f| f.validate(self.introspection.is_some(), key))
            .transpose()?;
        let jwks_min_refetch = self.jwks_min_refetch(key)?;
        let introspection = self
            .introspection
            .as_ref()
            .map(|f| f.validate(&format!("{key}.introspection")))
            .transpose()?;
        Ok(Issuer {
            introspection,
            jwks_min_refetch,
            issuer: self.issuer.clone(),
            jwks_uri: self.jwks_uri.clone(),
            audiences: self.audiences.clone(),
            algorithms,
            token_types,
            leeway: leeway.as_secs() as i64,
            feed,
        })
    }

    /// `issuer` is an http(s) URL; `jwks_uri`, when given, a URL.
    fn check_urls(&self, key: &str) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.issuer).map_err(|e| {
            err(
                format!("{key}.issuer"),
                format!("'{}' is not a URL: {e}", self.issuer),
            )
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(err(
                format!("{key}.issuer"),
                format!("'{}' is not an http(s) URL", self.issuer),
            ));
        }
        if let Some(j) = &self.jwks_uri {
            url::Url::parse(j).map_err(|e| {
                err(
                    format!("{key}.jwks_uri"),
                    format!("'{j}' is not a URL: {e}"),
                )
            })?;
        }
        Ok(())
    }

    /// `algorithms`: some of [`ALGORITHMS`], by default what Candor and most providers sign with.
    fn algorithms(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        let algorithms = self
            .algorithms
            .clone()
            .unwrap_or_else(|| vec!["ES256".into(), "RS256".into(), "EdDSA".into()]);
        if algorithms.is_empty() {
            return Err(err(format!("{key}.algorithms"), "must name at least one"));
        }
        for a in &algorithms {
            if !ALGORITHMS.contains(&a.as_str()) {
                return Err(err(
                    format!("{key}.algorithms"),
                    format!(
                        "'{a}' is not allowed; expected some of {} ('none' and HMAC algorithms never are)",
                        ALGORITHMS.join(", ")
                    ),
                ));
            }
        }
        Ok(algorithms)
    }

    /// `jwks_min_refetch`: unlike other durations it may be zero (see the field).
    fn jwks_min_refetch(&self, key: &str) -> Result<Duration, ConfigError> {
        match &self.jwks_min_refetch {
            None => Ok(Duration::from_secs(30)),
            Some(v) => humantime::parse_duration(v).map_err(|_| {
                err(
                    format!("{key}.jwks_min_refetch"),
                    format!("'{v}' is not a duration (e.g. \"30s\")"),
                )
            }),
        }
    }
}

impl FeedFile {
    /// The feed of the issuer at `key`; `can_introspect`: the issuer has an introspection
    /// client, which `on_stale = "introspect"` needs.
    fn validate(&self, can_introspect: bool, key: &str) -> Result<Feed, ConfigError> {
        let on_stale = match self.on_stale.as_deref().unwrap_or("refuse") {
            "refuse" => OnStale::Refuse,
            "accept" => OnStale::Accept,
            "introspect" if can_introspect => OnStale::Introspect,
            "introspect" => {
                return Err(err(
                    format!("{key}.revocation_feed.on_stale"),
                    "'introspect' needs the issuer's introspection = { … } client",
                ));
            }
            other => {
                return Err(err(
                    format!("{key}.revocation_feed.on_stale"),
                    format!("'{other}' is not one of refuse, accept, introspect"),
                ));
            }
        };
        let secret = secret_source(
            &self.client_secret_env,
            &self.client_secret_file,
            &format!("{key}.revocation_feed"),
        )?;
        Ok(Feed {
            client_id: self.client_id.clone(),
            secret,
            max_lag: duration(
                self.max_feed_lag.as_deref(),
                &format!("{key}.revocation_feed.max_feed_lag"),
                Duration::from_secs(5),
            )?,
            on_stale,
        })
    }
}

impl IntrospectionFile {
    /// The introspection client at `key` (`gateway.issuers[i].introspection`).
    fn validate(&self, key: &str) -> Result<Introspection, ConfigError> {
        if let Some(e) = &self.endpoint {
            url::Url::parse(e).map_err(|why| {
                err(
                    format!("{key}.endpoint"),
                    format!("'{e}' is not a URL: {why}"),
                )
            })?;
        }
        Ok(Introspection {
            client_id: self.client_id.clone(),
            secret: secret_source(&self.client_secret_env, &self.client_secret_file, key)?,
            endpoint: self.endpoint.clone(),
            cache: duration(
                self.cache.as_deref(),
                &format!("{key}.cache"),
                crate::introspect::DEFAULT_CACHE,
            )?,
        })
    }
}
