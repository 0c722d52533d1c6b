//! `candor migrate status|up`, and the check `serve --no-migrate` makes (docs/upgrading.md).
//!
//! Two databases have a schema: the store and the call log, each with its own migrations
//! table (`candor_store::db`). Both are looked at without being changed, except by `up`.

use anyhow::{Context, Result, bail};
use candor_store::db::{MigrationState, Migrations, Pool, PoolLimits, Status};
use serde_json::{Value, json};

use crate::args::{Global, MigrateCommand, OutputFormat};
use crate::config::{self, Resolved};

/// One database with a schema of its own.
struct Schema {
    /// `store` or `calls`, as printed.
    name: &'static str,
    url: String,
    migrations: Migrations<'static>,
}

/// The databases of this configuration: the store, and the call log unless it is off.
fn schemas(resolved: &Resolved) -> Vec<Schema> {
    let mut out = vec![Schema {
        name: "store",
        url: resolved.database_url.clone(),
        migrations: candor_store::migrations(),
    }];
    if resolved.file.calls.enabled != Some(false) {
        out.push(Schema {
            name: "calls",
            url: crate::calls::database_url(resolved),
            migrations: candor_calls::store::migrations(),
        });
    }
    out
}

impl Schema {
    /// A SQLite file that does not exist yet: its migrations are all pending, and looking must
    /// not create it.
    fn missing_file(&self) -> bool {
        config::sqlite_file(&self.url).is_some_and(|p| !p.exists())
    }

    async fn open(&self) -> Result<Pool> {
        Pool::open_unmigrated(&self.url, &PoolLimits::ONE)
            .await
            .with_context(|| {
                format!(
                    "cannot open the {} database at {}",
                    self.name,
                    candor_store::redact_url(&self.url)
                )
            })
    }

    async fn status(&self) -> Result<Vec<MigrationState>> {
        if self.missing_file() {
            return Ok(self
                .migrations
                .sqlite
                .iter()
                .filter(|m| !m.migration_type.is_down_migration())
                .map(|m| MigrationState {
                    version: m.version,
                    description: m.description.to_string(),
                    status: Status::Pending,
                })
                .collect());
        }
        let pool = self.open().await?;
        let states = pool.migration_status(&self.migrations).await;
        pool.close().await;
        states.with_context(|| format!("cannot read the {} database's migrations", self.name))
    }
}

/// Whether a database may run with this migration as it stands: applied, or applied by a
/// newer Candor (which the expand-then-contract rule makes safe to run on).
fn ready(state: &MigrationState) -> bool {
    matches!(
        state.status,
        Status::Applied { .. } | Status::Unknown { .. }
    )
}

pub(crate) async fn run(global: &Global, command: MigrateCommand) -> Result<()> {
    let resolved = config::load(global)?;
    match command {
        MigrateCommand::Status { format, check } => status(&resolved, format, check).await,
        MigrateCommand::Up => up(&resolved).await,
    }
}

async fn status(resolved: &Resolved, format: OutputFormat, check: bool) -> Result<()> {
    let mut report = Vec::new();
    for schema in schemas(resolved) {
        let states = schema.status().await?;
        report.push((schema, states));
    }
    match format {
        OutputFormat::Json => {
            let mut out = serde_json::Map::new();
            for (schema, states) in &report {
                out.insert(
                    schema.name.to_string(),
                    json!({
                        "database": candor_store::redact_url(&schema.url),
                        "migrations": states.iter().map(state_json).collect::<Vec<_>>(),
                    }),
                );
            }
            crate::output::stdout(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
        }
        OutputFormat::Table => {
            let mut text = format!(
                "{:<9} {:>7}  {:<20} {:<9} {}\n",
                "DATABASE", "VERSION", "DESCRIPTION", "STATUS", "APPLIED AT"
            );
            for (schema, states) in &report {
                for s in states {
                    let on = match &s.status {
                        Status::Applied { on } | Status::Unknown { on } => on.as_str(),
                        _ => "-",
                    };
                    text.push_str(&format!(
                        "{:<9} {:>7}  {:<20} {:<9} {}\n",
                        schema.name,
                        s.version,
                        s.description,
                        s.status.name(),
                        on
                    ));
                }
            }
            crate::output::stdout(&text)?;
        }
    }
    if check {
        let behind: Vec<String> = report
            .iter()
            .flat_map(|(schema, states)| {
                states
                    .iter()
                    .filter(|s| !ready(s))
                    .map(move |s| describe(schema.name, s))
            })
            .collect();
        if !behind.is_empty() {
            bail!(
                "not up to date: {}; run `candor migrate up`",
                behind.join(", ")
            );
        }
    }
    Ok(())
}

fn state_json(s: &MigrationState) -> Value {
    let on = match &s.status {
        Status::Applied { on } | Status::Unknown { on } => Some(on.clone()),
        _ => None,
    };
    json!({
        "version": s.version,
        "description": s.description,
        "status": s.status.name(),
        "applied_at": on,
    })
}

/// `store 4 (hardening) pending`.
fn describe(database: &str, s: &MigrationState) -> String {
    format!(
        "{database} {} ({}) {}",
        s.version,
        s.description,
        s.status.name()
    )
}

async fn up(resolved: &Resolved) -> Result<()> {
    let mut applied = Vec::new();
    for schema in schemas(resolved) {
        if schema.missing_file() {
            config::ensure_dir(&resolved.data_dir)?;
        }
        let before = schema.status().await?;
        let pool = schema.open().await?;
        let done = pool.migrate(&schema.migrations).await;
        pool.close().await;
        done.with_context(|| format!("cannot migrate the {} database", schema.name))?;
        for s in before.iter().filter(|s| !ready(s)) {
            applied.push(json!({
                "database": schema.name,
                "version": s.version,
                "description": s.description,
            }));
        }
    }
    crate::output::stdout(&format!(
        "{}\n",
        serde_json::to_string_pretty(&json!({ "applied": applied }))?
    ))?;
    Ok(())
}

/// For `serve --no-migrate`: an error naming every migration the store or the call log lacks,
/// and the command that applies them; `Ok` when both are up to date.
pub(crate) async fn refuse_if_behind(resolved: &Resolved) -> Result<()> {
    refuse_if_any_behind(resolved, &["store", "calls"]).await
}

/// [`refuse_if_behind`] for the schemas named `which` (`candor gateway` has no store, only the
/// call log).
pub(crate) async fn refuse_if_any_behind(resolved: &Resolved, which: &[&str]) -> Result<()> {
    let mut behind = Vec::new();
    for schema in schemas(resolved)
        .into_iter()
        .filter(|s| which.contains(&s.name))
    {
        let states = schema.status().await?;
        behind.extend(
            states
                .iter()
                .filter(|s| !ready(s))
                .map(|s| describe(schema.name, s)),
        );
    }
    if !behind.is_empty() {
        bail!(
            "--no-migrate: the schema is not up to date ({}): run `candor migrate up` with the same configuration first, or start without --no-migrate",
            behind.join(", ")
        );
    }
    Ok(())
}
