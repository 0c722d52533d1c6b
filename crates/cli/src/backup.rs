//! `candor backup` and `candor restore` (docs/backup.md).
//!
//! A backup is one tar archive: a manifest, a consistent copy of the SQLite store and of the
//! call log, each taken with `VACUUM INTO` while the server goes on writing
//! (`candor_store::db::Pool::copy_into`), and the master key only when asked for. Copying
//! `candor.db` with `cp` is not a backup: what the last transactions wrote may still be in the
//! `-wal` file beside it. PostgreSQL is backed up with `pg_dump` (docs/backup.md).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use candor_store::db::{Migrations, Pool, PoolLimits, Status};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::args::{BackupArgs, Global, RestoreArgs};
use crate::config::{self, Resolved};

/// The archive's entries, by their fixed names: a restore reads no other name, so no path in
/// an archive decides where a file goes.
const MANIFEST: &str = "candor-backup.json";
const STORE: &str = "candor.db";
const CALLS: &str = "calls.db";
const MASTER_KEY: &str = "master.key";

/// What a backup holds; the archive's first entry.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    /// The archive layout's version (this one is 1).
    format: u32,
    candor_version: String,
    /// Unix time at which the backup began.
    created_at: u64,
    store: Part,
    /// The call log, when it is a SQLite file (on PostgreSQL pg_dump has it).
    calls: Option<Part>,
    master_key: bool,
}

/// One database in the archive.
#[derive(Debug, Serialize, Deserialize)]
struct Part {
    file: String,
    /// The migrations it had.
    migrations: Vec<i64>,
}

const FORMAT: u32 = 1;

pub(crate) async fn backup(global: &Global, args: BackupArgs) -> Result<()> {
    let resolved = config::load(global)?;
    let store_path = sqlite_path(&resolved.database_url, "store")?;
    if !store_path.exists() {
        bail!(
            "no Candor database at {}: point --data or --config at the server's data",
            store_path.display()
        );
    }
    if args.to.exists() {
        bail!(
            "{} exists: a backup never overwrites a file; choose a new name",
            args.to.display()
        );
    }
    let created_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Everything is written beside the target and renamed into place at the end, so a backup
    // that fails half-way leaves no file that looks like a backup.
    let parent = parent_of(&args.to);
    let staging = tempfile::Builder::new()
        .prefix(".candor-backup-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;

    let store = snapshot(
        &resolved.database_url,
        &staging.path().join(STORE),
        &candor_store::migrations(),
    )
    .await
    .context("cannot copy the store")?;
    let calls_url = crate::calls::database_url(&resolved);
    let calls = match config::sqlite_file(&calls_url) {
        Some(path) if path.exists() => Some(
            snapshot(
                &calls_url,
                &staging.path().join(CALLS),
                &candor_calls::store::migrations(),
            )
            .await
            .context("cannot copy the call log")?,
        ),
        _ => None,
    };
    if args.include_master_key {
        let key = master_key_text(&resolved)?;
        write_private(&staging.path().join(MASTER_KEY), key.as_bytes())?;
    }
    let manifest = Manifest {
        format: FORMAT,
        candor_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at,
        store: Part {
            file: STORE.to_string(),
            migrations: store,
        },
        calls: calls.map(|migrations| Part {
            file: CALLS.to_string(),
            migrations,
        }),
        master_key: args.include_master_key,
    };
    write_private(
        &staging.path().join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;

    let mut archive = tempfile::Builder::new()
        .prefix(".candor-backup-")
        .tempfile_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    {
        let mut tar = tar::Builder::new(archive.as_file_mut());
        let mut names = vec![MANIFEST, STORE];
        if manifest.calls.is_some() {
            names.push(CALLS);
        }
        if manifest.master_key {
            names.push(MASTER_KEY);
        }
        for name in names {
            tar.append_path_with_name(staging.path().join(name), name)
                .with_context(|| format!("cannot add {name} to the archive"))?;
        }
        tar.finish().context("cannot write the archive")?;
    }
    archive
        .as_file()
        .sync_all()
        .context("cannot write the archive to disk")?;
    let size = archive.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    // tempfile made it 0600: the backup holds password hashes and sealed keys.
    archive
        .persist_noclobber(&args.to)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot create {}", args.to.display()))?;
    print(&json!({
        "backup": args.to.display().to_string(),
        "bytes": size,
        "store_migrations": manifest.store.migrations,
        "calls": manifest.calls.is_some(),
        "master_key": manifest.master_key,
    }))?;
    if !manifest.master_key {
        eprintln!(
            "note: the master key is not in the backup: keep it apart ({}); a restore needs it",
            resolved.master_key_file.display()
        );
    }
    Ok(())
}

/// Copies the SQLite database at `url` to `to` while others write, and says which migrations
/// it had. The database is opened without migrating: a backup changes nothing.
async fn snapshot(url: &str, to: &Path, migrations: &Migrations<'_>) -> Result<Vec<i64>> {
    let pool = Pool::open_unmigrated(url, &PoolLimits::ONE).await?;
    let done = async {
        let states = pool.migration_status(migrations).await?;
        pool.copy_into(to).await?;
        Ok::<_, candor_store::db::OpenError>(applied(&states))
    }
    .await;
    pool.close().await;
    Ok(done?)
}

fn applied(states: &[candor_store::db::MigrationState]) -> Vec<i64> {
    states
        .iter()
        .filter(|s| matches!(s.status, Status::Applied { .. } | Status::Unknown { .. }))
        .map(|s| s.version)
        .collect()
}

/// The master key as the server reads it: `CANDOR_MASTER_KEY`, else the file; checked.
fn master_key_text(resolved: &Resolved) -> Result<String> {
    crate::master::load(&resolved.master_key_file, false)?;
    match std::env::var("CANDOR_MASTER_KEY") {
        Ok(text) if !text.is_empty() => Ok(format!("{}\n", text.trim())),
        _ => std::fs::read_to_string(&resolved.master_key_file).with_context(|| {
            format!(
                "cannot read master key file {}",
                resolved.master_key_file.display()
            )
        }),
    }
}

pub(crate) async fn restore(global: &Global, args: RestoreArgs) -> Result<()> {
    let resolved = config::load(global)?;
    let store_path = sqlite_path(&resolved.database_url, "store")?;
    let calls_url = crate::calls::database_url(&resolved);
    let calls_path = config::sqlite_file(&calls_url);
    let data = &resolved.data_dir;
    if let Some(entry) = std::fs::read_dir(data)
        .ok()
        .and_then(|mut entries| entries.next())
    {
        let name = entry.map(|e| e.file_name().to_string_lossy().into_owned());
        bail!(
            "{} is not empty (it holds {}): restore only into an empty or new data directory, so that nothing is overwritten",
            data.display(),
            name.unwrap_or_else(|_| "an entry".to_string())
        );
    }
    for path in std::iter::once(&store_path).chain(calls_path.as_ref()) {
        if path.exists() {
            bail!(
                "{} exists: a restore never overwrites a database",
                path.display()
            );
        }
    }
    let archive = File::open(&args.from)
        .with_context(|| format!("cannot open the backup {}", args.from.display()))?;
    config::ensure_dir(data)?;
    let staging = tempfile::Builder::new()
        .prefix(".candor-restore-")
        .tempdir_in(data)
        .with_context(|| format!("cannot write in {}", data.display()))?;
    unpack(archive, staging.path())
        .with_context(|| format!("{} is not a Candor backup", args.from.display()))?;
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(staging.path().join(MANIFEST))
            .with_context(|| format!("{} holds no {MANIFEST}", args.from.display()))?,
    )
    .with_context(|| format!("{MANIFEST} in {} cannot be read", args.from.display()))?;
    if manifest.format != FORMAT {
        bail!(
            "the backup's format is {}; this Candor reads format {FORMAT}",
            manifest.format
        );
    }
    verify(&staging.path().join(STORE), &candor_store::migrations()).await?;
    let key_file = &resolved.master_key_file;
    let key_in_backup = manifest.master_key && staging.path().join(MASTER_KEY).is_file();
    if key_in_backup && key_file.exists() {
        let there = std::fs::read_to_string(key_file).unwrap_or_default();
        let here = std::fs::read_to_string(staging.path().join(MASTER_KEY))?;
        if there.trim() != here.trim() {
            bail!(
                "{} exists and holds another master key than the backup's: move it away first",
                key_file.display()
            );
        }
    }

    let mut restored = vec![store_path.display().to_string()];
    place(&staging.path().join(STORE), &store_path)?;
    match (&manifest.calls, &calls_path) {
        (Some(_), Some(path)) => {
            verify(
                &staging.path().join(CALLS),
                &candor_calls::store::migrations(),
            )
            .await?;
            place(&staging.path().join(CALLS), path)?;
            restored.push(path.display().to_string());
        }
        (Some(_), None) => eprintln!(
            "note: the backup's call log is not restored: this configuration keeps the call log in {}",
            candor_store::redact_url(&calls_url)
        ),
        (None, _) => {}
    }
    if key_in_backup && !key_file.exists() {
        place(&staging.path().join(MASTER_KEY), key_file)?;
        restored.push(key_file.display().to_string());
    }
    print(&json!({
        "restored": restored,
        "backup_created_at": manifest.created_at,
        "store_migrations": manifest.store.migrations,
        "master_key": key_in_backup,
    }))?;
    if !key_in_backup && !key_file.exists() {
        eprintln!(
            "note: the backup holds no master key: put the key it was made with at {} (or set CANDOR_MASTER_KEY) before `candor serve`",
            key_file.display()
        );
    }
    warn_if_owned_by_another(data, &store_path);
    Ok(())
}

/// A restore run as root into the service user's directory (`/var/lib/candor`) leaves files
/// the service cannot open: say so, with the fix, rather than let the next start fail.
fn warn_if_owned_by_another(dir: &Path, file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(d), Ok(f)) = (std::fs::metadata(dir), std::fs::metadata(file))
            && d.uid() != f.uid()
        {
            eprintln!(
                "note: the restored files belong to uid {}, {} to uid {}: run `chown -R --reference={} {}` (or restore as the directory's owner, e.g. sudo -u candor)",
                f.uid(),
                dir.display(),
                d.uid(),
                dir.display(),
                dir.display()
            );
        }
    }
}

/// Extracts the entries Candor writes, by name, into `dir`; refuses anything else.
fn unpack(archive: File, dir: &Path) -> Result<()> {
    let mut tar = tar::Archive::new(archive);
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let name = path.to_str().unwrap_or_default();
        if ![MANIFEST, STORE, CALLS, MASTER_KEY].contains(&name)
            || entry.header().entry_type() != tar::EntryType::Regular
        {
            bail!("unexpected entry {}", path.display());
        }
        let mut body = Vec::new();
        entry.read_to_end(&mut body)?;
        write_private(&dir.join(name), &body)?;
    }
    Ok(())
}

/// SQLite's integrity check of a restored copy, and whether this binary knows its schema.
async fn verify(path: &Path, migrations: &Migrations<'_>) -> Result<()> {
    let url = format!("sqlite://{}", path.display());
    let pool = Pool::open_unmigrated(&url, &PoolLimits::ONE).await?;
    let checked = async {
        let problems = pool.integrity_problems().await?;
        let states = pool.migration_status(migrations).await?;
        Ok::<_, candor_store::db::OpenError>((problems, states))
    }
    .await;
    pool.close().await;
    let (problems, states) = checked?;
    if let Some(problems) = problems {
        bail!("the backup's database is damaged: {problems}");
    }
    let newer: Vec<i64> = states
        .iter()
        .filter(|s| matches!(s.status, Status::Unknown { .. }))
        .map(|s| s.version)
        .collect();
    if !newer.is_empty() {
        bail!(
            "the backup was made by a newer Candor (migrations {newer:?} are unknown to {}): restore it with that version or later",
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok(())
}

/// Moves a restored file into place (copies it when `to` is on another file system).
fn place(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        config::ensure_dir(dir)?;
    }
    if std::fs::rename(from, to).is_err() {
        std::fs::copy(from, to).with_context(|| format!("cannot write {}", to.display()))?;
        set_private(to)?;
    }
    Ok(())
}

/// Writes `bytes` to a new file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = config::create_private(path)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn set_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    }
    Ok(())
}

/// The SQLite file `url` names; on PostgreSQL, what to do instead.
fn sqlite_path(url: &str, what: &str) -> Result<PathBuf> {
    config::sqlite_file(url).with_context(|| {
        format!(
            "the {what} is not a SQLite file ({}): back up and restore PostgreSQL with pg_dump and pg_restore (docs/backup.md)",
            candor_store::redact_url(url)
        )
    })
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn print(value: &serde_json::Value) -> Result<()> {
    crate::output::stdout(&format!("{}\n", serde_json::to_string_pretty(value)?))?;
    Ok(())
}
