//! `candor completions SHELL` and `candor man --dir DIR`: shell completions and man pages,
//! generated from the same clap definitions as `--help`, so they cannot drift from it.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::args::Cli;

pub(crate) fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "candor", &mut out);
    crate::output::stdout(&String::from_utf8_lossy(&out))?;
    Ok(())
}

/// Writes `candor.1` and a page per command (`candor-serve.1`, `candor-client-create.1`, …),
/// as `man candor-serve` finds them.
pub(crate) fn man(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages to {}", dir.display()))?;
    Ok(())
}
