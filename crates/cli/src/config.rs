//! Configuration: the TOML file, environment overrides, flags, in that order of precedence
//! (flags win). Unknown keys in the file are errors, so that a typo is not silently ignored.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use candor_proto::jose::SigningAlg;
use candor_server::Settings;
use serde::Deserialize;

use crate::args::Global;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub storage: StorageSection,
    #[serde(default)]
    pub tokens: TokensSection,
    #[serde(default)]
    pub login: LoginSection,
    /// The call log (docs/calls.md).
    #[serde(default)]
    pub calls: CallsSection,
    /// The admin credential of the admin listeners' API.
    #[serde(default)]
    pub admin: AdminSection,
    /// Rate limits: Redis to share them, and the server endpoints' limits
    /// (docs/rate-limits.md).
    #[serde(default)]
    pub rate_limits: RateLimitsSection,
    /// The gateway's section, read and checked by `candor_gateway::config` (docs/gateway.md).
    pub gateway: Option<toml::Table>,
    /// `[[webhooks]]`: where identity events are POSTed, signed (docs/configuration.md).
    #[serde(default)]
    pub webhooks: Vec<WebhookSection>,
}

/// One `[[webhooks]]` entry.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookSection {
    /// Its name in metrics and logs (default: the URL's host).
    pub name: Option<String>,
    /// Where events are POSTed: https, or http to this machine.
    pub url: String,
    /// The Standard Webhooks secret, `whsec_` and base64; "env:NAME" reads it from the
    /// environment. Or `secret_file`.
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    /// The event kinds it receives (`signin.failed`, `token.reuse_detected`, …; "*": all).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Per attempt (default "10s").
    pub timeout: Option<String>,
    /// Attempts per event, the first included (default 8).
    pub attempts: Option<u32>,
    /// The wait before the first retry, doubling at each (default "1s").
    pub backoff: Option<String>,
    /// Events waiting for delivery at most (default 1000).
    pub queue: Option<usize>,
}

/// Never prints the secret.
impl std::fmt::Debug for WebhookSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSection")
            .field("name", &self.name)
            .field("url", &candor_proto::secret::redact_url(&self.url))
            .field("secret", &self.secret.as_ref().map(|_| "<secret>"))
            .field("secret_file", &self.secret_file)
            .field("kinds", &self.kinds)
            .finish()
    }
}

/// Sign-in defences: the per-account lock and the per-address and per-application rates.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginSection {
    /// Failed sign-ins of one account within `failure_window` before it is locked.
    pub max_failures: Option<u32>,
    /// The window failures are counted in, and the lock's length (e.g. "15m").
    pub failure_window: Option<String>,
    /// Sign-in attempts per minute from one client address (IPv6: one /64).
    pub address_per_minute: Option<u32>,
    pub address_burst: Option<u32>,
    /// Sign-in attempts per minute through one application, all addresses together.
    pub client_per_minute: Option<u32>,
    pub client_burst: Option<u32>,
}

/// `[calls]`: where calls are written and for how long they are kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallsSection {
    /// Record calls (default true).
    pub enabled: Option<bool>,
    /// sqlite://PATH or postgres://…; default: the [storage] database when it is PostgreSQL,
    /// else sqlite://DATA/calls.db.
    pub database: Option<String>,
    /// How long calls are kept (default "14d").
    pub retention: Option<String>,
    /// Calls waiting to be written at most; past it, calls are dropped and counted.
    pub queue: Option<usize>,
    /// Calls per write.
    pub batch: Option<usize>,
    /// This node's name in the log (default: the host name).
    pub node: Option<String>,
    /// `[calls.otlp]`: export calls to an OpenTelemetry collector too.
    pub otlp: Option<OtlpSection>,
}

/// `[calls.otlp]`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct OtlpSection {
    /// The collector's OTLP/HTTP base URL, e.g. http://127.0.0.1:4318.
    pub endpoint: String,
    /// Headers sent with every export (values may name an environment variable: "env:NAME").
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Export log records (default true).
    pub logs: Option<bool>,
    /// Export spans (default true).
    pub traces: Option<bool>,
    /// Per request (default "10s").
    pub timeout: Option<String>,
}

/// `[rate_limits]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimitsSection {
    /// redis://HOST:PORT: every node shares its limits there. Without it each node limits
    /// on its own.
    pub redis_url: Option<String>,
    pub key_prefix: Option<String>,
    /// The longest a decision waits for Redis (default "50ms").
    pub redis_timeout: Option<String>,
    /// How often to try Redis again while it does not answer (default "1s").
    pub redis_retry: Option<String>,
    /// Callers remembered per limit in this node's memory (default 100000).
    pub max_keys: Option<usize>,
    /// How often callers whose burst is full again are forgotten (default "10s").
    pub forget_every: Option<String>,
    pub token: Option<candor_gateway::config::RateLimitsFile>,
    pub authorize: Option<candor_gateway::config::RateLimitsFile>,
    pub login: Option<candor_gateway::config::RateLimitsFile>,
}

/// `[admin]`: the token the admin API asks for (one of the two).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminSection {
    /// The name of an environment variable holding the admin token.
    pub token_env: Option<String>,
    /// A file holding it (a mounted secret).
    pub token_file: Option<PathBuf>,
    /// Serve the admin API (`/admin/api/v1`) on the public listener too (default: only on
    /// `[server] admin_listen`).
    pub on_public_listener: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSection {
    pub issuer: Option<String>,
    pub listen: Option<String>,
    /// The admin listener: /metrics, /healthz, /readyz and the call log's API. Off without it.
    pub admin_listen: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// File holding the master key that seals private keys at rest. Default: DATA/master.key.
    pub master_key_file: Option<PathBuf>,
    /// Connections open at once (default 4096, lowered to fit the open-file limit).
    pub max_connections: Option<usize>,
    /// Connections open at once from one address (default 256; 0: no cap).
    pub max_connections_per_address: Option<usize>,
    /// Time for a TLS handshake and a request head (default "10s").
    pub header_read_timeout: Option<String>,
    /// A connection with nothing in flight for this long is closed (default "60s").
    pub idle_timeout: Option<String>,
    /// Peers whose X-Forwarded-For is believed: addresses or CIDR ranges of reverse proxies.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// One log line per request (method, path without query, status, time, verified client,
    /// diagnosis, request id); off by default.
    #[serde(default)]
    pub access_log: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StorageSection {
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokensSection {
    pub authorization_code_ttl: Option<String>,
    pub access_token_ttl: Option<String>,
    pub refresh_token_ttl: Option<String>,
    /// A refresh token unused this long expires.
    pub refresh_token_idle_ttl: Option<String>,
    pub id_token_ttl: Option<String>,
    /// Lifetime of a browser login session.
    pub session_ttl: Option<String>,
    /// RS256, ES256 or EdDSA.
    pub access_token_alg: Option<String>,
    /// Allowed clock difference, e.g. "60s".
    pub leeway: Option<String>,
}

/// Everything a command needs to know, resolved.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub file: FileConfig,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub master_key_file: PathBuf,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Where a configuration is read from when neither `--config` nor `CANDOR_CONFIG` names one:
/// `./candor.toml`, else `/etc/candor/candor.toml` (where a package installs it).
pub(crate) const DEFAULT_LOCATIONS: [&str; 2] = ["candor.toml", "/etc/candor/candor.toml"];

/// The first of [`DEFAULT_LOCATIONS`] that is a file.
pub(crate) fn default_location() -> Option<PathBuf> {
    DEFAULT_LOCATIONS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Reads the config file (if any) and applies `CANDOR_*` environment overrides.
pub(crate) fn load(global: &Global) -> Result<Resolved> {
    let mut file = match &global.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str::<FileConfig>(&text)
                .with_context(|| format!("config file {} is not valid", path.display()))?
        }
        None => FileConfig::default(),
    };
    let overrides: [(&str, &mut Option<String>); 10] = [
        ("CANDOR_SERVER_ISSUER", &mut file.server.issuer),
        ("CANDOR_SERVER_LISTEN", &mut file.server.listen),
        (
            "CANDOR_TOKENS_AUTHORIZATION_CODE_TTL",
            &mut file.tokens.authorization_code_ttl,
        ),
        (
            "CANDOR_TOKENS_ACCESS_TOKEN_TTL",
            &mut file.tokens.access_token_ttl,
        ),
        (
            "CANDOR_TOKENS_REFRESH_TOKEN_TTL",
            &mut file.tokens.refresh_token_ttl,
        ),
        ("CANDOR_TOKENS_ID_TOKEN_TTL", &mut file.tokens.id_token_ttl),
        (
            "CANDOR_TOKENS_REFRESH_TOKEN_IDLE_TTL",
            &mut file.tokens.refresh_token_idle_ttl,
        ),
        ("CANDOR_TOKENS_SESSION_TTL", &mut file.tokens.session_ttl),
        (
            "CANDOR_TOKENS_ACCESS_TOKEN_ALG",
            &mut file.tokens.access_token_alg,
        ),
        ("CANDOR_TOKENS_LEEWAY", &mut file.tokens.leeway),
    ];
    for (name, slot) in overrides {
        if let Some(v) = env(name) {
            *slot = Some(v);
        }
    }
    if let Some(v) = env("CANDOR_STORAGE_URL") {
        file.storage.url = Some(v);
    }
    if let Some(v) = env("CANDOR_SERVER_MASTER_KEY_FILE") {
        file.server.master_key_file = Some(PathBuf::from(v));
    }

    let data_dir = global
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from("candor-data"));
    let database_url = global
        .database_url
        .clone()
        .or_else(|| file.storage.url.clone())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("candor.db").display()));
    let master_key_file = file
        .server
        .master_key_file
        .clone()
        .unwrap_or_else(|| data_dir.join("master.key"));
    Ok(Resolved {
        file,
        data_dir,
        database_url,
        master_key_file,
    })
}

fn duration(value: &Option<String>, key: &str, default: Duration) -> Result<Duration> {
    match value {
        None => Ok(default),
        Some(v) => humantime::parse_duration(v).with_context(|| {
            format!("{key} = '{v}' is not a duration (e.g. \"60s\", \"1h\", \"30d\")")
        }),
    }
}

/// The connection limits of `[server]`, fitted to the process's open-file limit `fds`.
pub(crate) fn limits(resolved: &Resolved, fds: Option<u64>) -> Result<candor_server::Limits> {
    let s = &resolved.file.server;
    let mut l = candor_serve::Limits::from_config(candor_serve::LimitsConfig {
        max_connections: s.max_connections,
        max_connections_per_address: s.max_connections_per_address,
        header_read_timeout: s.header_read_timeout.as_deref(),
        idle_timeout: s.idle_timeout.as_deref(),
    })
    .map_err(|e| anyhow::anyhow!("[server] {e}"))?;
    // A reverse proxy carries many users' connections: the per-address cap is not for it.
    l.per_address_exempt = candor_proto::forwarded::parse_trusted(&s.trusted_proxies)
        .map_err(|e| anyhow::anyhow!("[server] trusted_proxies: {e}"))?;
    fit_to_fds(&mut l, fds);
    Ok(l)
}

/// Lowers `max_connections` to fit the open-file limit `fds`, saying so.
pub(crate) fn fit_to_fds(l: &mut candor_serve::Limits, fds: Option<u64>) {
    let Some(fds) = fds else {
        return;
    };
    let wanted = l.max_connections;
    // Keep room for the database, logs and the process's own files.
    if l.fit_to_fd_limit(fds, 256) {
        tracing::warn!(
            max_connections = l.max_connections,
            configured = wanted,
            open_file_limit = fds,
            "max_connections lowered to fit the open-file limit; raise the limit (ulimit -n, LimitNOFILE=) to allow more"
        );
    }
}

/// The server settings for `issuer`, with the `[tokens]` section applied.
pub(crate) fn settings(resolved: &Resolved, issuer: &str) -> Result<Settings> {
    let t = &resolved.file.tokens;
    let mut s = Settings::new(issuer);
    s.authorization_code_ttl = duration(
        &t.authorization_code_ttl,
        "[tokens] authorization_code_ttl",
        s.authorization_code_ttl,
    )?;
    s.access_token_ttl = duration(
        &t.access_token_ttl,
        "[tokens] access_token_ttl",
        s.access_token_ttl,
    )?;
    s.refresh_token_ttl = duration(
        &t.refresh_token_ttl,
        "[tokens] refresh_token_ttl",
        s.refresh_token_ttl,
    )?;
    s.id_token_ttl = duration(&t.id_token_ttl, "[tokens] id_token_ttl", s.id_token_ttl)?;
    s.refresh_token_idle_ttl = duration(
        &t.refresh_token_idle_ttl,
        "[tokens] refresh_token_idle_ttl",
        s.refresh_token_idle_ttl,
    )?;
    s.session_ttl = duration(&t.session_ttl, "[tokens] session_ttl", s.session_ttl)?;
    s.leeway = duration(&t.leeway, "[tokens] leeway", s.leeway)?;
    if let Some(alg) = &t.access_token_alg {
        s.access_token_alg = alg
            .parse::<SigningAlg>()
            .with_context(|| format!("[tokens] access_token_alg = '{alg}'"))?;
    }
    let login = &resolved.file.login;
    if let Some(n) = login.max_failures {
        if n == 0 {
            bail!("[login] max_failures must be at least 1");
        }
        s.login_max_failures = n;
    }
    s.login_failure_window = duration(
        &login.failure_window,
        "[login] failure_window",
        s.login_failure_window,
    )?;
    for (key, value, slot) in [
        (
            "address_per_minute",
            login.address_per_minute,
            &mut s.login_rate_per_address.per_minute,
        ),
        (
            "address_burst",
            login.address_burst,
            &mut s.login_rate_per_address.burst,
        ),
        (
            "client_per_minute",
            login.client_per_minute,
            &mut s.login_rate_per_client.per_minute,
        ),
        (
            "client_burst",
            login.client_burst,
            &mut s.login_rate_per_client.burst,
        ),
    ] {
        if let Some(v) = value {
            if v == 0 {
                bail!("[login] {key} must be at least 1");
            }
            *slot = v;
        }
    }
    s.access_log = resolved.file.server.access_log;
    s.trusted_proxies =
        candor_proto::forwarded::parse_trusted(&resolved.file.server.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("[server] trusted_proxies: {e}"))?;
    for (name, d) in [
        ("[login] failure_window", s.login_failure_window),
        ("[tokens] authorization_code_ttl", s.authorization_code_ttl),
        ("[tokens] access_token_ttl", s.access_token_ttl),
        ("[tokens] refresh_token_ttl", s.refresh_token_ttl),
        ("[tokens] id_token_ttl", s.id_token_ttl),
        ("[tokens] refresh_token_idle_ttl", s.refresh_token_idle_ttl),
        ("[tokens] session_ttl", s.session_ttl),
    ] {
        if d.is_zero() {
            bail!("{name} must be longer than zero");
        }
    }
    Ok(s)
}

/// The token lifetimes of the configuration, for commands that revoke without serving (the
/// issuer is the configured one, or a placeholder: such commands never publish it).
pub(crate) fn token_settings(resolved: &Resolved) -> Result<Settings> {
    let issuer = resolved
        .file
        .server
        .issuer
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_string());
    settings(resolved, &issuer)
}

/// The server's TLS configuration from `[server] tls_cert` and `tls_key`, checked and loaded.
pub(crate) fn server_tls(resolved: &Resolved) -> Result<Option<Arc<rustls::ServerConfig>>> {
    match (
        &resolved.file.server.tls_cert,
        &resolved.file.server.tls_key,
    ) {
        (Some(cert), Some(key)) => {
            for (what, path) in [("tls_cert", cert), ("tls_key", key)] {
                if !path.is_file() {
                    bail!("[server] {what} = '{}': no such file", path.display());
                }
            }
            let config = candor_serve::load_tls(cert, key).with_context(|| {
                format!(
                    "cannot load the TLS certificate {} and key {} (PEM files expected)",
                    cert.display(),
                    key.display()
                )
            })?;
            Ok(Some(config))
        }
        (None, None) => Ok(None),
        _ => bail!("[server] tls_cert and tls_key go together: set both, or neither"),
    }
}

/// The address the server listens on: `flag` (`--listen`), else `[server] listen`, else
/// `127.0.0.1:8080`.
pub(crate) fn listen_addr(resolved: &Resolved, flag: Option<&str>) -> Result<std::net::SocketAddr> {
    let listen = flag
        .map(str::to_string)
        .or_else(|| resolved.file.server.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    listen
        .parse()
        .with_context(|| format!("listen address '{listen}' is not HOST:PORT"))
}

/// The file a `sqlite:` store URL names (as `candor_store::open` reads it); `None` for
/// another database or an in-memory one.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Creates a new file (never an existing one) only its owner may read: 0600 on Unix. For the
/// master key and for backups, which hold secrets or their digests.
pub(crate) fn create_private(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Creates the data directory (0700 on Unix) if the database or key lives there.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors() {
        let err = toml::from_str::<FileConfig>("[server]\nisuer = \"x\"\n").err();
        assert!(err.is_some_and(|e| e.to_string().contains("isuer")));
    }

    #[test]
    fn design_example_parses() {
        let text = r#"
[server]
issuer = "http://127.0.0.1:8080"
listen = "127.0.0.1:8080"
[storage]
url = "sqlite://candor-data/candor.db"
[tokens]
authorization_code_ttl = "60s"
access_token_ttl = "1h"
refresh_token_ttl = "30d"
id_token_ttl = "1h"
"#;
        let file: FileConfig = toml::from_str(text).unwrap_or_default();
        let resolved = Resolved {
            file,
            data_dir: "d".into(),
            database_url: "sqlite://d/candor.db".into(),
            master_key_file: "d/master.key".into(),
        };
        let s = settings(&resolved, "http://127.0.0.1:8080");
        let s = s.unwrap();
        assert_eq!(s.refresh_token_ttl, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(s.access_token_ttl, Duration::from_secs(3600));
    }

    #[test]
    fn bad_durations_name_the_key() {
        let mut file = FileConfig::default();
        file.tokens.access_token_ttl = Some("soon".into());
        let resolved = Resolved {
            file,
            data_dir: "d".into(),
            database_url: String::new(),
            master_key_file: "k".into(),
        };
        let err = settings(&resolved, "http://127.0.0.1").err();
        assert!(err.is_some_and(|e| format!("{e:#}").contains("access_token_ttl")));
    }
}
