//! `candor config check`: the whole configuration file read as `serve` (and the gateway beside
//! it) would read it — every section, every key — without starting anything.

use anyhow::{Context, Result, bail};
use candor_server::settings::validate_issuer;
use serde_json::json;

use crate::args::Global;
use crate::config;

pub(crate) async fn run(global: &Global) -> Result<()> {
    let Some(path) = &global.config else {
        bail!("config check needs the file: pass --config FILE (or set CANDOR_CONFIG)");
    };
    let resolved = config::load(global)?;
    let server = &resolved.file.server;
    let mut warnings = Vec::new();
    config::server_tls(&resolved)?;
    config::limits(&resolved, None)?;
    let listen = config::listen_addr(&resolved, None)?;
    if let Some(admin) = &server.admin_listen {
        admin
            .parse::<std::net::SocketAddr>()
            .with_context(|| format!("[server] admin_listen = '{admin}' is not HOST:PORT"))?;
    }
    let issuer = match &server.issuer {
        Some(i) => {
            validate_issuer(i)
                .map_err(anyhow::Error::msg)
                .context("[server] issuer")?;
            i.clone()
        }
        None => {
            warnings.push(
                "no [server] issuer: only `candor serve --dev` starts with this file".to_string(),
            );
            format!("http://{listen}")
        }
    };
    config::settings(&resolved, &issuer)?;
    crate::calls::webhooks(&resolved.file.webhooks)?;
    crate::limits::endpoint_limits(&resolved)?;
    let url = &resolved.database_url;
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        bail!(
            "[storage] url = '{}': not sqlite://PATH or postgres://…",
            candor_store::redact_url(url)
        );
    }
    let gateway = match &resolved.file.gateway {
        Some(_) => {
            let g = crate::gateway::load(path)?;
            warnings.extend(g.warnings());
            Some(json!({
                "listen": g.listen.to_string(),
                "issuers": g.issuers.iter().map(|i| i.issuer.clone()).collect::<Vec<_>>(),
                "routes": g.routes.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
            }))
        }
        None => None,
    };
    crate::output::stdout(&format!(
        "{}\n",
        json!({
            "valid": true,
            "issuer": server.issuer,
            "listen": listen.to_string(),
            "storage": candor_store::redact_url(url),
            "gateway": gateway,
            "warnings": warnings,
        })
    ))?;
    Ok(())
}
