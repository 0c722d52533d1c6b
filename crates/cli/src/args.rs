//! The command line (docs/cli.md). Every flag's `///` doc is its `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Candor: an OAuth 2.1 / OpenID Connect server that names every failure.
#[derive(Debug, Parser)]
#[command(name = "candor", version = crate::version::LONG, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// TOML configuration file (see docs/configuration.md).
    #[arg(long, global = true, value_name = "FILE", env = "CANDOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory: the SQLite database (DIR/candor.db) and the master key live here.
    /// Default: ./candor-data.
    #[arg(long, global = true, value_name = "DIR", env = "CANDOR_DATA")]
    pub data: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Overrides [storage] url.
    #[arg(long, global = true, value_name = "URL", env = "CANDOR_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CANDOR_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// `client`, `user` and `keys` act through the admin API at this URL (the server's admin
    /// listener, e.g. http://10.0.0.5:9090) instead of opening the database. The token is
    /// read from CANDOR_ADMIN_TOKEN, else from [admin] token_env or token_file.
    #[arg(long, global = true, value_name = "URL", env = "CANDOR_ADMIN_URL")]
    pub admin_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the authorization server.
    Serve(ServeArgs),
    /// Register and manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Create and manage end users.
    #[command(subcommand)]
    User(UserCommand),
    /// List and rotate signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print generated documentation.
    #[command(subcommand)]
    Docs(DocsCommand),
    /// Run the API gateway of the configuration's [gateway] section (see docs/gateway.md), or
    /// `check` it.
    Gateway(GatewayArgs),
    /// Check the whole configuration file (every section) without starting anything.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Read the call log: the latest calls (`tail`) and statistics (`stats`); see
    /// docs/calls.md.
    #[command(subcommand)]
    Calls(CallsCommand),
    /// Diagnose an OAuth exchange with any provider: a HAR capture, a token response, a JWT,
    /// or a live probe.
    Doctor(crate::doctor::DoctorArgs),
    /// Copy the SQLite store and call log into one file while the server runs (see
    /// docs/backup.md; on PostgreSQL use pg_dump).
    Backup(BackupArgs),
    /// Restore a backup made by `candor backup` into an empty data directory.
    Restore(RestoreArgs),
    /// See (`status`) and apply (`up`) the schema migrations of the store and the call log.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Print a shell completion script for bash, zsh or fish.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (candor.1 and one per command) into a directory.
    Man {
        /// Directory to write them to (created when missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The backup file to write (a tar archive, mode 0600); it must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Put the master key in the backup too. Without it the backup holds the signing keys only
    /// sealed, and a restore needs the master key from elsewhere; with it, whoever reads the
    /// file can unseal the signing keys and sign tokens as this server — keep it like the key.
    #[arg(long)]
    pub include_master_key: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup file, made by `candor backup`.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MigrateCommand {
    /// List each migration of the store and of the call log: applied (when), pending, or
    /// unknown to this binary (applied by a newer Candor).
    Status {
        /// A table, or one JSON object.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Exit with status 1 when a migration is pending, failed or changed (for scripts).
        #[arg(long)]
        check: bool,
    },
    /// Apply the pending migrations (on PostgreSQL under a lock, once for all nodes).
    Up,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate --config FILE as `serve` would read it (and its [gateway] section as the
    /// gateway would); prints a JSON summary with warnings, exits 1 naming the bad key.
    Check,
}

#[derive(Debug, Args)]
pub(crate) struct GatewayArgs {
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
    /// Do not migrate the call log: refuse to start when it has a pending migration (run
    /// `candor migrate up` first), as `serve --no-migrate` does.
    #[arg(long, env = "CANDOR_NO_MIGRATE")]
    pub no_migrate: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GatewayCommand {
    /// Validate the configuration (--config) and exit: 0 when it is valid, 1 with the key and
    /// what is wrong otherwise.
    Check,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Development mode: needs no configuration. Creates the data directory, database and keys
    /// on first start and listens on 127.0.0.1:8080 with that issuer.
    #[arg(long)]
    pub dev: bool,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", env = "CANDOR_LISTEN")]
    pub listen: Option<String>,
    /// Issuer URL. Plain http:// is allowed on loopback only. Default in --dev:
    /// http://<listen address>.
    #[arg(long, value_name = "URL", env = "CANDOR_ISSUER")]
    pub issuer: Option<String>,
    /// Do not migrate: refuse to start when the store or the call log has a pending migration
    /// (run `candor migrate up` first). For deployments that migrate as a step of their own.
    #[arg(long, env = "CANDOR_NO_MIGRATE")]
    pub no_migrate: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Register a client; prints it as JSON, with the client_secret (shown only this once).
    Create(Box<ClientCreateArgs>),
    /// List registered clients as a JSON array.
    List,
    /// Show one client as JSON.
    Show {
        /// The client_id.
        client_id: String,
    },
    /// Delete a client; every token issued to it is void, JWTs included (through the
    /// revocation feed).
    Delete {
        /// The client_id.
        client_id: String,
    },
    /// Change a client in place (its client_id, secret and tokens stay); prints it with the
    /// warnings its registration invites. Options left out leave their field as it is.
    Update(Box<ClientUpdateArgs>),
    /// Issue a new client secret (printed this once); the old one stops working at once, or
    /// after --overlap.
    RotateSecret {
        /// The client_id.
        client_id: String,
        /// Keep the old secret working this long beside the new one (e.g. 1h, 7d; at most
        /// 30d), so that every instance of the application can move to the new one.
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
        overlap: std::time::Duration,
    },
    /// Disable a client: nothing more is issued to it, and every token it holds is revoked.
    Disable {
        /// The client_id.
        client_id: String,
    },
    /// Enable a disabled client (the tokens revoked when it was disabled stay revoked).
    Enable {
        /// The client_id.
        client_id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ClientCreateArgs {
    /// Human-readable name, unique among the server's clients (it labels the call log and
    /// the consent page).
    #[arg(long)]
    pub name: String,
    /// Register the client even when another one has the same name.
    #[arg(long)]
    pub allow_duplicate_name: bool,
    /// client_id to use (letters, digits, - . _ ~). Default: a random one.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Redirect URI (repeatable). Compared as an exact string at authorization time.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the user afterwards (repeatable).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant type (repeatable): client_credentials, authorization_code, refresh_token.
    /// Default: client_credentials without redirect URIs, else authorization_code and
    /// refresh_token.
    #[arg(long = "grant-type", value_name = "GRANT")]
    pub grant_types: Vec<String>,
    /// Scopes the client may request, space-separated (e.g. "read write").
    #[arg(long, value_name = "SCOPES", default_value = "")]
    pub scope: String,
    /// Audience (resource indicator, an absolute URI) its access tokens may carry
    /// (repeatable). Default: the issuer.
    #[arg(long = "audience", value_name = "URI")]
    pub audiences: Vec<String>,
    /// A public client (no secret; auth method none; PKCE required).
    #[arg(long, conflicts_with = "auth_method")]
    pub public: bool,
    /// Client authentication method at the token endpoint.
    #[arg(long, value_name = "METHOD", default_value = "client_secret_basic",
          value_parser = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"])]
    pub auth_method: String,
    /// File with the client's public keys (a JWK Set), for private_key_jwt.
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,
    /// Access token format.
    #[arg(long, value_name = "FORMAT", default_value = "jwt", value_parser = ["jwt", "opaque"])]
    pub access_token_format: String,
    /// Let this confidential client skip PKCE (public clients always need it).
    #[arg(long)]
    pub no_require_pkce: bool,
    /// Signing algorithm of this client's id_tokens.
    #[arg(long, value_name = "ALG", value_parser = ["RS256", "ES256", "EdDSA"])]
    pub id_token_alg: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ClientUpdateArgs {
    /// The client_id.
    pub client_id: String,
    /// A new name (unique among the server's clients).
    #[arg(long)]
    pub name: Option<String>,
    /// Redirect URI (repeatable): the list replaces the registered one.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Remove every redirect URI.
    #[arg(long, conflicts_with = "redirect_uris")]
    pub no_redirect_uris: bool,
    /// Post-logout redirect URI (repeatable): the list replaces the registered one.
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant type (repeatable): the list replaces the registered one.
    #[arg(long = "grant-type", value_name = "GRANT")]
    pub grant_types: Vec<String>,
    /// Scopes, space-separated: replace the registered ones.
    #[arg(long, value_name = "SCOPES")]
    pub scope: Option<String>,
    /// Audience (repeatable): the list replaces the registered one.
    #[arg(long = "audience", value_name = "URI")]
    pub audiences: Vec<String>,
    /// Client authentication method; a method that needs a secret the client has not got
    /// issues one (printed once).
    #[arg(long, value_name = "METHOD",
          value_parser = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"])]
    pub auth_method: Option<String>,
    /// File with the client's public keys (a JWK Set), for private_key_jwt.
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,
    /// Access token format.
    #[arg(long, value_name = "FORMAT", value_parser = ["jwt", "opaque"])]
    pub access_token_format: Option<String>,
    /// Whether PKCE is required (public clients always need it).
    #[arg(long, value_name = "BOOL")]
    pub require_pkce: Option<bool>,
    /// Signing algorithm of this client's id_tokens (`default`: the server's).
    #[arg(long, value_name = "ALG", value_parser = ["RS256", "ES256", "EdDSA", "default"])]
    pub id_token_alg: Option<String>,
}

impl ClientUpdateArgs {
    /// The change as the admin API's JSON (RFC 7591 names), fields left out when not given.
    pub(crate) fn patch(&self) -> anyhow::Result<serde_json::Value> {
        let mut p = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            p.insert(k.to_string(), v);
        };
        if let Some(n) = &self.name {
            put("client_name", n.clone().into());
        }
        if self.no_redirect_uris {
            put("redirect_uris", serde_json::json!([]));
        } else if !self.redirect_uris.is_empty() {
            put("redirect_uris", serde_json::json!(self.redirect_uris));
        }
        if !self.post_logout_redirect_uris.is_empty() {
            put(
                "post_logout_redirect_uris",
                serde_json::json!(self.post_logout_redirect_uris),
            );
        }
        if !self.grant_types.is_empty() {
            put("grant_types", serde_json::json!(self.grant_types));
        }
        if let Some(s) = &self.scope {
            put("scope", s.clone().into());
        }
        if !self.audiences.is_empty() {
            put("audiences", serde_json::json!(self.audiences));
        }
        if let Some(m) = &self.auth_method {
            put("token_endpoint_auth_method", m.clone().into());
        }
        if let Some(path) = &self.jwks {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read --jwks {}: {e}", path.display()))?;
            let set: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("--jwks {} is not JSON: {e}", path.display()))?;
            put("jwks", set);
        }
        if let Some(f) = &self.access_token_format {
            put("access_token_format", f.clone().into());
        }
        if let Some(b) = self.require_pkce {
            put("require_pkce", b.into());
        }
        if let Some(a) = &self.id_token_alg {
            put("id_token_signed_response_alg", a.clone().into());
        }
        if p.is_empty() {
            anyhow::bail!(
                "nothing to change: give at least one option (candor client update --help)"
            );
        }
        Ok(serde_json::Value::Object(p))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user; asks for the password on the terminal, or reads it from the first line
    /// of standard input with --password-stdin.
    Create(UserCreateArgs),
    /// List users as a JSON array.
    List,
    /// Delete a user, ending their sessions and grants first.
    Delete {
        /// The username.
        username: String,
    },
    /// Change a user's email, name or roles; prints the user.
    Update(UserUpdateArgs),
    /// Forget a user's failed sign-ins: a lockout ends at once.
    Unlock {
        /// The username.
        username: String,
    },
    /// Disable an account: it cannot sign in, and its sessions and grants end at once.
    Disable {
        /// The username.
        username: String,
    },
    /// Let a disabled account sign in again.
    Enable {
        /// The username.
        username: String,
    },
    /// List a user's live browser sessions as JSON.
    Sessions {
        /// The username.
        username: String,
    },
    /// List the consents a user gave applications as JSON.
    Consents {
        /// The username.
        username: String,
    },
    /// Withdraw a user's consent to a client and revoke the grants it gave.
    RevokeConsent {
        /// The username.
        username: String,
        /// The client_id.
        client_id: String,
    },
    /// End every session and grant of a user (their refresh tokens, and their access tokens
    /// wherever the revocation feed reaches); they sign in again.
    RevokeSessions {
        /// The username.
        username: String,
    },
    /// Replace a user's password (asked on the terminal, or read from standard input with
    /// --password-stdin); ends the user's
    /// sessions and grants as `revoke-sessions` does.
    SetPassword {
        /// The username.
        username: String,
        /// Read the password from the first line of standard input instead of asking on the
        /// terminal (passwords never go on the command line, where `ps` and shell history
        /// would show them).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct UserCreateArgs {
    /// Login name.
    #[arg(long)]
    pub username: String,
    /// Read the password from the first line of standard input instead of asking on the
    /// terminal.
    #[arg(long)]
    pub password_stdin: bool,
    /// Email address (the email claim).
    #[arg(long)]
    pub email: Option<String>,
    /// Full name (the name claim).
    #[arg(long)]
    pub name: Option<String>,
    /// Role (repeatable): `admin` or `viewer` let the user's tokens with an admin scope use
    /// the admin API.
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UserUpdateArgs {
    /// The username.
    pub username: String,
    /// A new email address.
    #[arg(long, conflicts_with = "no_email")]
    pub email: Option<String>,
    /// Remove the email address.
    #[arg(long)]
    pub no_email: bool,
    /// A new full name.
    #[arg(long, conflicts_with = "no_name")]
    pub name: Option<String>,
    /// Remove the full name.
    #[arg(long)]
    pub no_name: bool,
    /// Role (repeatable): the list replaces the user's roles.
    #[arg(long = "role", value_name = "ROLE", conflicts_with = "no_roles")]
    pub roles: Vec<String>,
    /// Remove every role.
    #[arg(long)]
    pub no_roles: bool,
}

impl UserUpdateArgs {
    /// The change as the admin API's JSON; fields left out when not given.
    pub(crate) fn patch(&self) -> anyhow::Result<serde_json::Value> {
        let mut p = serde_json::Map::new();
        if self.no_email {
            p.insert("email".into(), serde_json::Value::Null);
        } else if let Some(e) = &self.email {
            p.insert("email".into(), e.clone().into());
        }
        if self.no_name {
            p.insert("name".into(), serde_json::Value::Null);
        } else if let Some(n) = &self.name {
            p.insert("name".into(), n.clone().into());
        }
        if self.no_roles {
            p.insert("roles".into(), serde_json::json!([]));
        } else if !self.roles.is_empty() {
            p.insert("roles".into(), serde_json::json!(self.roles));
        }
        if p.is_empty() {
            anyhow::bail!(
                "nothing to change: give at least one option (candor user update --help)"
            );
        }
        Ok(serde_json::Value::Object(p))
    }

    /// The same change, typed, for acting on the database.
    pub(crate) fn change(&self) -> candor_server::users::UserChange {
        candor_server::users::UserChange {
            email: if self.no_email {
                Some(None)
            } else {
                self.email.clone().map(Some)
            },
            name: if self.no_name {
                Some(None)
            } else {
                self.name.clone().map(Some)
            },
            roles: if self.no_roles {
                Some(Vec::new())
            } else if self.roles.is_empty() {
                None
            } else {
                Some(self.roles.clone())
            },
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// List signing keys (public parts only) as JSON.
    List,
    /// Add a new signing key and retire the previous one of the same algorithm; retired keys
    /// stay in the JWKS until every token they signed has expired.
    Rotate {
        /// Algorithm to rotate; default: every algorithm in use.
        #[arg(long, value_name = "ALG", value_parser = ["RS256", "ES256", "EdDSA"])]
        alg: Option<String>,
        /// How long the new key is published before it signs, so that clients caching the
        /// JWKS learn it first.
        #[arg(
            long,
            value_name = "DURATION",
            default_value = "2m",
            conflicts_with = "immediately"
        )]
        activate_in: String,
        /// Sign with the new key at once (after a key compromise); clients with a cached JWKS
        /// refetch it when they meet the new kid.
        #[arg(long)]
        immediately: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CallsCommand {
    /// Print the latest calls, oldest first; --follow keeps printing new ones.
    Tail(CallsTailArgs),
    /// Counts, error rates and latency percentiles over a time range, grouped.
    Stats(CallsStatsArgs),
}

/// Which calls to show (all when none is given).
#[derive(Debug, Args)]
pub(crate) struct CallsFilter {
    /// Only this client_id.
    #[arg(long, value_name = "ID")]
    pub client: Option<String>,
    /// Only this gateway route or server endpoint (token, authorize, …).
    #[arg(long, value_name = "NAME")]
    pub route: Option<String>,
    /// Only this diagnosis code, or a prefix ending in * (e.g. 'redirect_uri.*').
    #[arg(long, value_name = "CODE")]
    pub diagnosis: Option<String>,
    /// Only this status (404) or class (4xx).
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only this upstream URL.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Only calls of the gateway or of the server; for stats, `identity` counts the identity
    /// events instead (docs/calls.md).
    #[arg(long, value_name = "SOURCE", value_parser = ["gateway", "server", "identity"])]
    pub source: Option<String>,
    /// Only refused calls (those with a diagnosis).
    #[arg(long)]
    pub refused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CallsTailArgs {
    #[command(flatten)]
    pub filter: CallsFilter,
    /// Only calls since then: a duration ago (15m), a Unix time or an RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// How many of the latest calls to print first (1 to 1000).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Keep printing new calls as they are written (every second).
    #[arg(long, short)]
    pub follow: bool,
    /// One line per call (table) or one JSON object per line.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct CallsStatsArgs {
    #[command(flatten)]
    pub filter: CallsFilter,
    /// Start of the range: a duration ago (1h), a Unix time or an RFC 3339 time.
    #[arg(long, value_name = "TIME", default_value = "1h")]
    pub since: String,
    /// End of the range (default: now).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Group by these (comma-separated or repeated): route, client, status, diagnosis,
    /// upstream, source.
    #[arg(long, value_name = "DIMENSION", value_delimiter = ',')]
    pub by: Vec<String>,
    /// One row per minute, hour or day as well.
    #[arg(long, value_name = "INTERVAL", value_parser = ["minute", "hour", "day"])]
    pub interval: Option<String>,
    /// At most this many rows, the largest groups first.
    #[arg(long)]
    pub limit: Option<u32>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DocsCommand {
    /// Print the diagnosis catalogue as Markdown (docs/errors.md), or one code's entry.
    Errors {
        /// A diagnosis code (`jwks.alg_mismatch`): print only its entry.
        code: Option<String>,
    },
}
