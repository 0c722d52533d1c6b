//! Where a client secret is read from — the revocation feed's, introspection's and a route's
//! own `upstream_auth` client's: a variable's name or a file's path, never the secret itself.

use super::{ConfigError, err};

/// Where the feed client's secret is read from, at start (never from the file itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(std::path::PathBuf),
}

impl SecretSource {
    /// An HTTP Basic `Authorization` value for `client_id` with this secret (RFC 6749 §2.3.1
    /// form-encodes both), read now; `purpose` names what it is for in errors.
    pub fn basic(&self, client_id: &str, purpose: &str) -> Result<String, String> {
        use base64::Engine;
        let secret = match self {
            SecretSource::Env(name) => std::env::var(name).map_err(|_| {
                format!("{purpose} needs the client secret in ${name}, which is not set")
            })?,
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| {
                    format!(
                        "{purpose} needs the client secret in {}: {e}",
                        path.display()
                    )
                })?
                .trim()
                .to_string(),
        };
        let pair = format!(
            "{}:{}",
            form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>(),
            form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
        );
        Ok(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }
}

/// `client_secret_env` or `client_secret_file` of the client table at `key`: exactly one.
pub(super) fn secret_source(
    env: &Option<String>,
    file: &Option<std::path::PathBuf>,
    key: &str,
) -> Result<SecretSource, ConfigError> {
    match (env, file) {
        (Some(env), None) if !env.is_empty() => Ok(SecretSource::Env(env.clone())),
        (None, Some(path)) => Ok(SecretSource::File(path.clone())),
        _ => Err(err(
            key,
            "needs exactly one of client_secret_env (a variable's name) and client_secret_file (a path); secrets never go in the file itself",
        )),
    }
}
