//! `candor serve`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use candor_server::clock::SystemClock;
use candor_server::settings::validate_issuer;

use crate::args::{Global, ServeArgs};
use crate::config;

pub(crate) async fn run(global: &Global, args: ServeArgs) -> Result<()> {
    let resolved = config::load(global)?;
    // The issuer is what a production server cannot do without; it may come from the file,
    // CANDOR_SERVER_ISSUER (or CANDOR_ISSUER) or --issuer — configuration from the
    // environment alone is a configuration.
    if global.config.is_none()
        && !args.dev
        && args.issuer.is_none()
        && resolved.file.server.issuer.is_none()
    {
        bail!(
            "no configuration: pass --config FILE, set CANDOR_SERVER_ISSUER (every key has its variable: docs/configuration.md), or --dev for a local development server on 127.0.0.1:8080"
        );
    }
    let tls = config::server_tls(&resolved)?;
    let fds = candor_serve::raise_fd_limit();
    if let Some(l) = fds.filter(|l| l.now > l.before) {
        tracing::debug!(from = l.before, to = l.now, "raised the open-file limit");
    }
    let limits = config::limits(&resolved, fds.map(|l| l.now))?;
    let addr = config::listen_addr(&resolved, args.listen.as_deref())?;

    if resolved.database_url.starts_with("sqlite:") || args.dev {
        config::ensure_dir(&resolved.data_dir)?;
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;

    let scheme = if tls.is_some() { "https" } else { "http" };
    let issuer = match args
        .issuer
        .clone()
        .or_else(|| resolved.file.server.issuer.clone())
    {
        Some(i) => i,
        None if args.dev => format!("{scheme}://{bound}"),
        None => bail!("no issuer: set [server] issuer in the config file or pass --issuer"),
    };
    validate_issuer(&issuer).map_err(anyhow::Error::msg)?;
    let mut settings = config::settings(&resolved, &issuer)?;
    settings.demo = args.dev;
    settings.admin_on_public_listener =
        args.dev || resolved.file.admin.on_public_listener.unwrap_or(false);
    let limiter = crate::limits::limiter(&resolved).await?;
    settings.rate_limits = crate::limits::endpoint_limits(&resolved)?;
    settings.limiter = Some(limiter.clone());

    if args.no_migrate {
        crate::migrate::refuse_if_behind(&resolved).await?;
    }
    let store = candor_store::open(&resolved.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the store at {}",
                candor_store::redact_url(&resolved.database_url)
            )
        })?;
    let master =
        Arc::new(crate::master::for_store(&resolved.master_key_file, store.as_ref()).await?);
    let app = candor_server::build(settings, store, master, Arc::new(SystemClock))
        .await
        .context("cannot start the server")?;
    if app.settings().admin_on_public_listener {
        candor_server::console::ensure(app.store(), app.master(), app.settings(), app.now())
            .await
            .context("cannot register the console")?;
    }
    let demo = if args.dev {
        let prepared =
            candor_server::demo::ensure(app.store(), app.master(), app.settings(), app.now())
                .await
                .context("cannot prepare the demo app")?;
        Some(prepared)
    } else {
        None
    };
    let calls = crate::calls::start(&resolved).await?;
    let catalogue = Some(candor_proto::error::docs_base(app.issuer()));
    let dev_admin_token = if args.dev {
        crate::credential::dev_token(&resolved)?
    } else {
        None
    };
    let admin_guard = match &dev_admin_token {
        Some(token) => candor_admin::Guard::new(Some(token.digest()), catalogue.clone()),
        None => crate::credential::guard(&resolved, catalogue.clone())?,
    };
    app.attach_admin(admin_guard.clone());
    if let Some(log) = &calls {
        app.attach_call_log(log.clone());
    }
    let events = crate::calls::start_events(&resolved, calls.as_ref()).await?;
    if let Some(events) = &events {
        app.attach_events(events.clone());
    }
    if let Some(admin) = &resolved.file.server.admin_listen {
        let addr: SocketAddr = admin
            .parse()
            .with_context(|| format!("[server] admin_listen = '{admin}' is not HOST:PORT"))?;
        let admin_listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} ([server] admin_listen)"))?;
        tracing::info!(listen = %addr, "admin listener ready (/metrics, /admin/calls)");
        tokio::spawn(candor_server::serve_admin(
            admin_listener,
            app.clone(),
            shutdown_signal(),
        ));
    }

    tracing::info!(
        listen = %bound,
        issuer = %app.issuer(),
        store = %candor_store::redact_url(&resolved.database_url),
        "candor is ready"
    );
    crate::output::stdout(&format!(
        "candor listening on {scheme}://{bound} (issuer {})\n",
        app.issuer()
    ))?;
    if let Some(prepared) = demo {
        let page = candor_server::demo::home_uri(app.issuer());
        let user = candor_server::demo::USERNAME;
        crate::output::stdout(&match prepared.new_password {
            Some(password) => format!(
                "try it: open {page} and sign in as '{user}' with password {} (shown only this once); the console is at {}\n",
                password.expose(),
                candor_server::console::home_uri(app.issuer())
            ),
            None => format!(
                "try it: open {page} and sign in as '{user}'; the console is at {}\n",
                candor_server::console::home_uri(app.issuer())
            ),
        })?;
    }
    if let Some(token) = &dev_admin_token {
        crate::output::stdout(&format!(
            "admin API: curl -H 'Authorization: Bearer {}' {}/admin/api/v1/clients (token for this run only)\n",
            token.expose(),
            app.issuer()
        ))?;
    }
    // A [gateway] section: the gateway runs beside the server, on its own address.
    let gateway = match &global.config {
        Some(path) if resolved.file.gateway.is_some() => Some(crate::gateway::load(path)?),
        _ => None,
    };
    match gateway {
        None => {
            // Listening, migrated and with its keys: ready for systemd (Type=notify). Nothing
            // but the gateway reloads on SIGHUP; without one, a SIGHUP (systemctl reload) is
            // said and ignored rather than ending the process.
            ignore_sighup();
            notify_ready();
            candor_server::serve_with(listener, app, tls, limits, shutdown_signal())
                .await
                .context("server error")?
        }
        Some(mut config) => {
            crate::config::fit_to_fds(&mut config.limits, fds.map(|l| l.now));
            // Beside this server, refusals link to its pages unless the file says otherwise.
            let docs = Some(candor_proto::error::docs_base(app.issuer()));
            config.docs_url = config.docs_url.or_else(|| docs.clone());
            let gateway_tls = candor_gateway::tls(&config)?;
            let (gateway_listener, gateway_admin) = candor_gateway::bind(&config).await?;
            crate::output::stdout(&format!("candor gateway listening on {}\n", config.listen))?;
            // The gateway's issuer may be this very server: it must be answering before the
            // gateway loads its keys and feed.
            let shows_gateway = app.clone();
            let server = tokio::spawn(candor_server::serve_with(
                listener,
                app,
                tls,
                limits,
                shutdown_signal(),
            ));
            let gateway =
                candor_gateway::Gateway::start(&config, calls.clone(), Some(limiter.clone()))
                    .await?;
            // The call log, the limiter and the process are one for both: the server's admin
            // listener reports them when there is one (docs/server.md, "Metrics").
            if resolved.file.server.admin_listen.is_some() {
                gateway.leave_shared_metrics_to_the_server();
            }
            gateway.attach_admin(admin_guard);
            // The server's admin API and console show the gateway's routes and issuers.
            shows_gateway.attach_gateway(gateway.clone());
            if let Some(path) = &global.config {
                crate::gateway::reload_on_sighup(gateway.clone(), path.clone(), docs);
            }
            notify_ready();
            gateway
                .serve(
                    gateway_listener,
                    gateway_admin,
                    gateway_tls,
                    config.limits.clone(),
                    shutdown_signal(),
                )
                .await
                .context("gateway error")?;
            server
                .await
                .context("server task")?
                .context("server error")?;
        }
    }
    if let Some(events) = events {
        // Written, and given a few seconds to reach the webhooks.
        events.shutdown(std::time::Duration::from_secs(5)).await;
    }
    if let Some(log) = calls {
        // What is queued is written before the process ends.
        log.recorder.shutdown().await;
    }
    tracing::info!("candor stopped");
    Ok(())
}

/// Tells systemd the service is ready (`READY=1`); nothing when not started by a unit with
/// `Type=notify` (no `NOTIFY_SOCKET`).
pub(crate) fn notify_ready() {
    if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "cannot tell systemd that candor is ready");
    }
}

/// A SIGHUP to a server without a gateway: its settings are read once, at start.
fn ignore_sighup() {
    #[cfg(unix)]
    if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!(
                    "SIGHUP: nothing to reload (only a [gateway] section reloads); restart candor to apply server settings"
                );
            }
        });
    }
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    let which = tokio::select! {
        _ = ctrl_c => "SIGINT",
        _ = term => "SIGTERM",
    };
    // Every listener waits on its own copy of this future: one line says it, once.
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::info!(
            signal = which,
            "shutting down: no new connections; requests in flight may finish"
        );
    }
}
