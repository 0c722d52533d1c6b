//! `candor doctor`: har, response, jwt and probe. Exit status 0 when nothing is wrong, 1 when
//! problems were found, 2 when the input itself is unusable.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use candor_doctor::har;
use candor_doctor::jwt::{self, JwtOptions};
use candor_doctor::probe::{self, ProbeOptions};
use candor_doctor::response::{self, ResponseOptions};
use candor_doctor::{Finding, InputError, Report, Severity, render};
use candor_proto::client_auth::AuthMethod;
use candor_proto::secret::Secret;
use clap::{Args, Subcommand, ValueEnum};

use crate::args::Global;

/// Exit status for unusable input.
const UNUSABLE: u8 = 2;

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Output: text for people (colour on a terminal only; NO_COLOR turns it off), or JSON:
    /// {"findings": [{"code", "severity", "message", "fix", ...}]}.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub format: OutputFormat,
    #[command(subcommand)]
    pub command: DoctorCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DoctorCommand {
    /// Analyse a browser capture (HAR 1.2 from Chrome, Firefox or Safari): finds each OAuth flow
    /// and names what went wrong in it.
    Har {
        /// The .har file ("-" reads standard input). Files over 200 MB are refused.
        file: PathBuf,
        /// Seconds of clock difference tolerated when checking token times.
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        leeway: i64,
    },
    /// Classify a raw HTTP response from a token endpoint (what `curl -i` prints).
    Response {
        /// File with the response ("-" reads standard input).
        file: PathBuf,
        /// Seconds of clock difference tolerated when checking an id_token's times.
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        leeway: i64,
    },
    /// Decode a JWT (id_token or access token), explain each claim and check it.
    Jwt {
        /// The token ("-" reads it from standard input, which keeps it out of shell history).
        token: String,
        /// The provider's keys: a JWKS URL (https://.../jwks) or a file holding a JWK Set.
        #[arg(long, value_name = "URL|FILE")]
        jwks: Option<String>,
        /// The issuer iss must equal.
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
        /// The client_id (or resource) aud must contain.
        #[arg(long, value_name = "AUD")]
        audience: Option<String>,
        /// The nonce of the authorization request.
        #[arg(long)]
        nonce: Option<String>,
        /// The access token issued with the id_token, to check at_hash.
        #[arg(long, value_name = "TOKEN")]
        access_token: Option<String>,
        /// Seconds of clock difference tolerated for exp, nbf and iat.
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        leeway: i64,
    },
    /// Probe a live provider: DNS, TCP, TLS, discovery, clock, JWKS, token endpoint,
    /// client_credentials and the authorization endpoint.
    Probe(ProbeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// The issuer URL, e.g. https://idp.example or https://idp.example/realms/main.
    #[arg(long, value_name = "URL")]
    pub issuer: String,
    /// A client_id: with --client-secret-env, a client_credentials token is requested; with
    /// --redirect-uri, the authorization endpoint is asked to accept the redirect URI.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The name of an environment variable holding the client secret (never pass a secret
    /// on the command line, where `ps` and shell history keep it).
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,
    /// Client authentication for client_credentials (default: what discovery offers, Basic
    /// first).
    #[arg(long, value_name = "METHOD", value_parser = ["client_secret_basic", "client_secret_post", "client_secret_jwt"])]
    pub auth_method: Option<String>,
    /// A redirect URI to check at the authorization endpoint.
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// Scope to request (default: none for client_credentials, "openid" at the authorization
    /// endpoint).
    #[arg(long, value_name = "SCOPES")]
    pub scope: Option<String>,
    /// Time limit for each step, e.g. 10s.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Seconds of clock difference tolerated.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub leeway: i64,
    /// A PEM file of extra CA certificates to trust (a private CA).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn read_input(path: &PathBuf, limit: usize) -> Result<Vec<u8>, InputError> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(limit as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| InputError::new(format!("cannot read standard input: {e}")))?;
        if buf.len() > limit {
            return Err(InputError::new(format!(
                "standard input is larger than {} MB",
                limit / (1024 * 1024)
            )));
        }
        return Ok(buf);
    }
    let meta = std::fs::metadata(path)
        .map_err(|e| InputError::new(format!("cannot read {}: {e}", path.display())))?;
    if meta.is_dir() {
        return Err(InputError::new(format!(
            "{} is a directory",
            path.display()
        )));
    }
    if meta.len() > limit as u64 {
        return Err(InputError::new(format!(
            "{} is {} MB; the limit is {} MB",
            path.display(),
            meta.len() / (1024 * 1024),
            limit / (1024 * 1024)
        )));
    }
    std::fs::read(path).map_err(|e| InputError::new(format!("cannot read {}: {e}", path.display())))
}

fn read_secret_env(var: &str) -> Result<Secret, InputError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim().to_string())),
        Ok(_) => Err(InputError::new(format!(
            "the environment variable {var} is empty"
        ))),
        Err(_) => Err(InputError::new(format!(
            "the environment variable {var} is not set (--client-secret-env names the variable that holds the secret)"
        ))),
    }
}

/// Loads `--jwks URL|FILE`: a file that cannot be read is unusable input; a URL that cannot
/// be fetched is a finding.
async fn load_jwks(
    spec: &str,
) -> Result<Result<candor_client::id_token::ParsedJwks, Finding>, InputError> {
    if spec.starts_with("https://") || spec.starts_with("http://") {
        let http = candor_client::HttpClient::new(candor_client::Options {
            allow_insecure_http: true,
            ..candor_client::Options::default()
        })
        .map_err(|e| InputError::new(e.to_string()))?;
        let raw = match http.get_json(spec).await {
            Ok(r) => r,
            Err(e) => {
                return Ok(Err(candor_doctor::explain::finding_from_kind(
                    &e.kind,
                    Severity::Error,
                )));
            }
        };
        return Ok(candor_client::id_token::parse_jwks(
            spec,
            raw.status,
            raw.content_type(),
            &raw.body,
        )
        .map_err(|k| candor_doctor::explain::finding_from_kind(&k, Severity::Error)));
    }
    let bytes = read_input(&PathBuf::from(spec), 16 * 1024 * 1024)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| InputError::new(format!("--jwks {spec} is not JSON: {e}")))?;
    candor_client::id_token::parse_jwks_value(&value)
        .map(Ok)
        .map_err(|k| InputError::new(format!("--jwks {spec}: {k}")))
}

async fn diagnose(cmd: DoctorCommand) -> Result<Report, InputError> {
    match cmd {
        DoctorCommand::Har { file, leeway } => {
            let capture = if file.as_os_str() == "-" {
                har::parse_reader(std::io::stdin().lock())?
            } else {
                har::load_path(&file)?
            };
            Ok(har::analyze(
                &capture,
                &har::Options { leeway },
                &format!("HAR {}", file.display()),
            ))
        }
        DoctorCommand::Response { file, leeway } => {
            let bytes = read_input(&file, response::MAX_RESPONSE_BYTES)?;
            response::diagnose(
                &bytes,
                &ResponseOptions {
                    leeway,
                    now: unix_now(),
                },
                &format!("response {}", file.display()),
            )
        }
        DoctorCommand::Jwt {
            token,
            jwks,
            issuer,
            audience,
            nonce,
            access_token,
            leeway,
        } => {
            let token = if token == "-" {
                let bytes = read_input(&PathBuf::from("-"), 1024 * 1024)?;
                String::from_utf8(bytes)
                    .map_err(|_| InputError::new("the token on standard input is not text"))?
            } else {
                token
            };
            let loaded = match &jwks {
                Some(spec) => Some(load_jwks(spec).await?),
                None => None,
            };
            jwt::explain(
                &token,
                &JwtOptions {
                    jwks: loaded,
                    jwks_source: jwks,
                    issuer,
                    audience,
                    nonce,
                    access_token,
                    leeway,
                    now: unix_now(),
                },
            )
        }
        DoctorCommand::Probe(args) => {
            let mut opts = ProbeOptions::new(args.issuer);
            opts.client_id = args.client_id;
            opts.client_secret = args
                .client_secret_env
                .as_deref()
                .map(read_secret_env)
                .transpose()?;
            opts.auth_method = args
                .auth_method
                .as_deref()
                .map(|m| m.parse::<AuthMethod>().map_err(InputError::new))
                .transpose()?;
            opts.redirect_uri = args.redirect_uri;
            opts.scope = args.scope;
            opts.timeout = args.timeout;
            opts.leeway = args.leeway;
            if let Some(path) = &args.ca_file {
                let pem_bytes = read_input(path, 1024 * 1024)?;
                let certs = pem::parse_many(&pem_bytes).map_err(|e| {
                    InputError::new(format!("--ca-file {}: not PEM: {e}", path.display()))
                })?;
                opts.extra_roots = certs
                    .into_iter()
                    .filter(|p| p.tag() == "CERTIFICATE")
                    .map(|p| p.into_contents())
                    .collect();
                if opts.extra_roots.is_empty() {
                    return Err(InputError::new(format!(
                        "--ca-file {} holds no CERTIFICATE",
                        path.display()
                    )));
                }
            }
            probe::probe(&opts).await
        }
    }
}

/// Runs `candor doctor`; prints the report on stdout, unusable input on stderr.
pub(crate) async fn run(_global: &Global, args: DoctorArgs) -> Result<ExitCode> {
    let format = match args.format {
        OutputFormat::Text => render::Format::Text,
        OutputFormat::Json => render::Format::Json,
    };
    match diagnose(args.command).await {
        Ok(report) => {
            let colour = format == render::Format::Text
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
            crate::output::stdout(&render::render(&report, format, colour))?;
            Ok(ExitCode::from(report.exit_code()))
        }
        Err(e) => {
            if format == render::Format::Json {
                crate::output::stdout(&format!(
                    "{}\n",
                    render::json_safe(
                        serde_json::json!({"error": e.message, "findings": [], "exit_status": UNUSABLE})
                            .to_string()
                    )
                ))?;
            }
            // The message may quote the input (a path, an issuer, a HAR field).
            eprintln!(
                "candor doctor: unusable input: {}",
                render::printable(&e.to_string())
            );
            Ok(ExitCode::from(UNUSABLE))
        }
    }
}
