//! The `candor` binary: parses the command line, resolves configuration, and calls into the
//! server crate. Thin by design.

mod admin;
mod args;
mod calls;
mod config;
mod doctor;
mod gateway;
mod limits;
mod master;
mod output;
mod serve;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command, LogFormat};

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("CANDOR_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
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
    let result = runtime.block_on(async {
        let done = match cli.command {
            Command::Serve(args) => serve::run(&cli.global, args).await,
            Command::Client(cmd) => admin::client(&cli.global, cmd).await,
            Command::User(cmd) => admin::user(&cli.global, cmd).await,
            Command::Keys(cmd) => admin::keys(&cli.global, cmd).await,
            Command::Docs(cmd) => admin::docs(cmd),
            Command::Gateway(args) => gateway::run(&cli.global, args).await,
            Command::Calls(cmd) => calls::run(&cli.global, cmd).await,
            Command::Doctor(args) => return doctor::run(&cli.global, args).await,
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
