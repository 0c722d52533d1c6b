//! The `candor` binary: parses the command line, resolves configuration, and calls into the
//! server crate. Thin by design.

mod admin;
mod args;
mod backup;
mod calls;
mod check;
mod config;
mod credential;
mod doctor;
mod gateway;
mod limits;
mod manual;
mod master;
mod migrate;
mod output;
mod remote;
mod serve;
mod version;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command, LogFormat};

/// Candor's own crates: a bare level in `CANDOR_LOG` is theirs.
const OWN: &[&str] = &[
    "candor",
    "candor_server",
    "candor_gateway",
    "candor_serve",
    "candor_store",
    "candor_calls",
    "candor_limit",
    "candor_client",
    "candor_doctor",
    "candor_proto",
    "tower_http",
];

/// The log filter `CANDOR_LOG` asks for. A bare level (`debug`) raises Candor's own logs and
/// its request traces, and keeps the libraries under it (SQL drivers, HTTP internals) at
/// `warn`, where a debug level would bury Candor's lines in theirs; a filter with targets
/// (`debug,sqlx=debug`) is taken as written.
fn log_filter(value: Option<&str>) -> String {
    match value.map(str::trim) {
        None | Some("") => "info,sqlx=warn,tower_http=warn".to_string(),
        Some(v) if matches!(v, "trace" | "debug" | "info" | "warn" | "error" | "off") => {
            let mut out = String::from("warn");
            for target in OWN {
                out.push_str(&format!(",{target}={v}"));
            }
            out
        }
        Some(v) => v.to_string(),
    }
}

fn init_logging(format: LogFormat) {
    let wanted = std::env::var("CANDOR_LOG").ok();
    let filter = EnvFilter::try_new(log_filter(wanted.as_deref()))
        .unwrap_or_else(|_| EnvFilter::new(log_filter(None)));
    // Colour only on a terminal: log files and CI output stay readable.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().with_current_span(true).init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.log_format);
    // Two crypto providers linked in make rustls panic at first use: pick aws-lc-rs once.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut cli = cli;
    if cli.global.config.is_none()
        && let Some(found) = config::default_location()
    {
        tracing::info!(config = %found.display(), "no --config given: using the configuration file at the default location (pass --config to use another)");
        cli.global.config = Some(found);
    }
    let result = runtime.block_on(async {
        let done = match cli.command {
            Command::Serve(args) => serve::run(&cli.global, args).await,
            Command::Client(cmd) => admin::client(&cli.global, cmd).await,
            Command::User(cmd) => admin::user(&cli.global, cmd).await,
            Command::Keys(cmd) => admin::keys(&cli.global, cmd).await,
            Command::Docs(cmd) => admin::docs(cmd),
            Command::Gateway(args) => gateway::run(&cli.global, args).await,
            Command::Config(args::ConfigCommand::Check) => check::run(&cli.global).await,
            Command::Calls(cmd) => calls::run(&cli.global, cmd).await,
            Command::Doctor(args) => return doctor::run(&cli.global, args).await,
            Command::Backup(args) => backup::backup(&cli.global, args).await,
            Command::Restore(args) => backup::restore(&cli.global, args).await,
            Command::Migrate(cmd) => migrate::run(&cli.global, cmd).await,
            Command::Completions { shell } => manual::completions(shell),
            Command::Man { dir } => manual::man(&dir),
        };
        done.map(|()| ExitCode::SUCCESS)
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_is_for_candors_own_logs() {
        assert_eq!(log_filter(None), "info,sqlx=warn,tower_http=warn");
        let debug = log_filter(Some("debug"));
        assert!(debug.starts_with("warn,"), "{debug}");
        assert!(debug.contains("candor_server=debug"), "{debug}");
        assert!(!debug.contains("sqlx"), "{debug}");
        assert_eq!(log_filter(Some("debug,sqlx=debug")), "debug,sqlx=debug");
    }
}
