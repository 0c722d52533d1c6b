//! The master key file: 32 random bytes, base64url, created with mode 0600 on first use.
//! `CANDOR_MASTER_KEY` (the same base64url text) overrides the file, for deployments that keep
//! secrets in the environment.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use candor_proto::seal::MasterKey;

fn decode(text: &str, origin: &str) -> Result<MasterKey> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim())
        .with_context(|| format!("{origin} is not base64url"))?;
    MasterKey::from_bytes(&bytes).with_context(|| format!("{origin} is not a valid master key"))
}

/// Loads the master key; creates the file when `create` and neither it nor the variable
/// exists.
pub(crate) fn load(path: &Path, create: bool) -> Result<MasterKey> {
    if let Ok(text) = std::env::var("CANDOR_MASTER_KEY")
        && !text.is_empty()
    {
        return decode(&text, "CANDOR_MASTER_KEY");
    }
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read master key file {}", path.display()))?;
        return decode(&text, &format!("master key file {}", path.display()));
    }
    if !create {
        bail!(
            "no master key at {} (and CANDOR_MASTER_KEY is not set); run `candor serve` once to create one",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::config::ensure_dir(dir)?;
    }
    let (key, bytes) = MasterKey::generate().context("cannot generate a master key")?;
    let mut file = crate::config::create_private(path)
        .with_context(|| format!("cannot create master key file {}", path.display()))?;
    writeln!(file, "{}", URL_SAFE_NO_PAD.encode(bytes))
        .with_context(|| format!("cannot write master key file {}", path.display()))?;
    tracing::info!(path = %path.display(), "created a new master key");
    Ok(key)
}

/// The master key for `store`: the variable's or the file's; made anew only for a store that
/// holds no signing key yet. A key made beside a database whose keys another master key
/// sealed could unseal nothing, and would be left behind to confuse the next start.
pub(crate) async fn for_store(path: &Path, store: &dyn candor_store::Store) -> Result<MasterKey> {
    let given = std::env::var("CANDOR_MASTER_KEY").is_ok_and(|v| !v.is_empty()) || path.exists();
    if !given
        && !store
            .list_signing_keys()
            .await
            .context("cannot read the signing keys")?
            .is_empty()
    {
        bail!(
            "the database already holds signing keys, sealed with a master key that is not at {} (and CANDOR_MASTER_KEY is not set): give this node the key the database was made with (master_key_file, or CANDOR_MASTER_KEY); a new one would unseal nothing",
            path.display()
        );
    }
    load(path, !given)
}
