//! `candor gateway` and `candor gateway check`; and the gateway `candor serve` runs beside the
//! server when its configuration has a `[gateway]` section.

use std::path::Path;

use anyhow::{Context, Result, bail};
use candor_gateway::config::{Config, File};

use crate::args::{GatewayArgs, GatewayCommand, Global};

/// Reads and validates the `[gateway]` section of `path`.
pub(crate) fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let config = File::from_toml(&text)
        .and_then(|f| f.validate())
        .with_context(|| format!("config file {} is not valid", path.display()))?;
    Ok(config)
}

pub(crate) async fn run(global: &Global, args: GatewayArgs) -> Result<()> {
    let Some(path) = &global.config else {
        bail!(
            "the gateway needs its configuration: pass --config FILE with a [gateway] section (docs/gateway.md)"
        );
    };
    let mut config = load(path)?;
    if matches!(args.command, Some(GatewayCommand::Check)) {
        crate::output::stdout(&format!(
            "{}\n",
            serde_json::json!({
                "valid": true,
                "listen": config.listen.to_string(),
                "issuers": config.issuers.iter().map(|i| i.issuer.clone()).collect::<Vec<_>>(),
                "routes": config.routes.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
                "warnings": config.warnings(),
            })
        ))?;
        return Ok(());
    }
    let fds = candor_serve::raise_fd_limit().map(|l| l.now);
    crate::config::fit_to_fds(&mut config.limits, fds);
    let tls = candor_gateway::tls(&config)?;
    let (listener, admin) = candor_gateway::bind(&config).await?;
    let resolved = crate::config::load(global)?;
    if args.no_migrate {
        crate::migrate::refuse_if_any_behind(&resolved, &["calls"]).await?;
    }
    let calls = crate::calls::start(&resolved).await?;
    let limiter = crate::limits::limiter(&resolved).await?;
    let gateway = candor_gateway::Gateway::start(&config, calls.clone(), Some(limiter)).await?;
    gateway.attach_admin(crate::credential::guard(&resolved, config.docs())?);
    reload_on_sighup(gateway.clone(), path.clone(), None);
    crate::serve::notify_ready();
    crate::output::stdout(&format!("candor gateway listening on {}\n", config.listen))?;
    gateway
        .serve(
            listener,
            admin,
            tls,
            config.limits.clone(),
            crate::serve::shutdown_signal(),
        )
        .await
        .context("gateway error")?;
    if let Some(log) = calls {
        log.recorder.shutdown().await;
    }
    tracing::info!("candor gateway stopped");
    Ok(())
}

/// Reloads the configuration file on SIGHUP; a file that does not validate is logged and the
/// running configuration stays. `docs` is where refusals link when the file names no
/// `docs_url` (the pages of the server the gateway runs beside).
pub(crate) fn reload_on_sighup(
    gateway: std::sync::Arc<candor_gateway::Gateway>,
    path: std::path::PathBuf,
    docs: Option<String>,
) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot listen for SIGHUP; reloads need a restart");
            return;
        };
        while hup.recv().await.is_some() {
            match load(&path) {
                Ok(mut config) => {
                    config.docs_url = config.docs_url.or_else(|| docs.clone());
                    if let Err(e) = gateway.reload(&config).await {
                        tracing::error!(error = %e, "reload failed; the running configuration stays");
                    }
                }
                Err(e) => {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "reload refused; the running configuration stays"
                    );
                }
            }
        }
    });
}
