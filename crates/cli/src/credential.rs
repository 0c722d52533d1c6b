//! The admin credential (`[admin] token_env` or `token_file`) that guards every admin
//! listener's administration (docs/configuration.md, "[admin]").

use anyhow::{Context, Result, bail};

use crate::config::Resolved;

/// The admin surface's guard of `resolved`; refusals link under `docs` (a catalogue's base).
pub(crate) fn guard(resolved: &Resolved, docs: Option<String>) -> Result<candor_admin::Guard> {
    Ok(candor_admin::Guard::new(token(resolved)?, docs))
}

/// Under `serve --dev` without a configured token: a fresh random one for this run, so that
/// the admin API works in the first minute. Returned to be printed once; only its digest is
/// kept. `None` when `[admin]` configures one.
pub(crate) fn dev_token(resolved: &Resolved) -> Result<Option<candor_proto::secret::Secret>> {
    if token(resolved)?.is_some() {
        return Ok(None);
    }
    Ok(Some(candor_proto::secret::random_token()))
}

/// The admin token's digest, from `[admin]`.
fn token(resolved: &Resolved) -> Result<Option<[u8; 32]>> {
    Ok(raw_token(resolved)?.map(|t| candor_proto::secret::digest(&t)))
}

/// The admin token itself, from `[admin]` (for the CLI acting through the admin API).
pub(crate) fn raw_token(resolved: &Resolved) -> Result<Option<String>> {
    let a = &resolved.file.admin;
    let token = match (&a.token_env, &a.token_file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => bail!("[admin] token_env and token_file: set one, not both"),
        (Some(var), None) => std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .with_context(|| format!("[admin] token_env = '{var}': the variable is not set"))?,
        (None, Some(path)) => std::fs::read_to_string(path).with_context(|| {
            format!("[admin] token_file = '{}': cannot read it", path.display())
        })?,
    };
    let token = token.trim();
    if token.len() < 16 {
        bail!(
            "[admin] the admin token is shorter than 16 characters; use a long random one (e.g. openssl rand -hex 32)"
        );
    }
    Ok(Some(token.to_string()))
}
