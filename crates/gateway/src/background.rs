//! What runs beside the request path: each issuer's revocation-feed follower and the
//! upstreams' active health checks.

use std::sync::Arc;
use std::time::Duration;

use candor_client::{HttpClient, Options};
use http::header;

use crate::config;
use crate::issuer::Issuer;
use crate::upstream::Backend;
use crate::{GatewayError, State, connections, feed};

/// What runs beside the request path: each issuer's feed follower, and the health checks.
#[derive(Default)]
pub struct Background {
    feeds: Vec<(Arc<Issuer>, tokio::task::JoinHandle<()>)>,
    others: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    pub(crate) fn abort(self) {
        for (_, t) in self.feeds {
            t.abort();
        }
        for t in self.others {
            t.abort();
        }
    }
}

/// Starts what runs beside the request path: revocation feeds (loaded once before this
/// returns, so the gateway never answers with an empty deny set), health checks. A feed that
/// is already followed for an issuer carried over from `running` (see [`State::new`]) is taken
/// from it and goes on where it was; what is left in `running` is the caller's to stop.
pub async fn start_background(
    state: &Arc<State>,
    running: &mut Background,
) -> Result<Background, GatewayError> {
    let mut tasks = Background::default();
    follow_feeds(state, running, &mut tasks).await?;
    for r in &state.routes {
        let Some(health) = r.route.health.clone() else {
            continue;
        };
        for b in &r.pool.backends {
            let b = b.clone();
            let health = health.clone();
            let connector = r.connector.clone();
            tasks
                .others
                .push(tokio::spawn(health_checks(b, health, connector)));
        }
    }
    Ok(tasks)
}

/// Checks one upstream every `health.interval`, taking it out of rotation and back.
async fn health_checks(b: Arc<Backend>, health: config::Health, connector: connections::Connector) {
    let mut tick = tokio::time::interval(health.interval);
    loop {
        tick.tick().await;
        let check = async {
            let mut req = http::Request::new(connections::UpstreamBody::Right(
                http_body_util::Empty::new(),
            ));
            *req.uri_mut() = health.path.parse().ok()?;
            req.headers_mut().insert(header::HOST, b.host.clone());
            let checkout = b
                .connections
                .checkout(&connector, &b.target, Duration::from_secs(1))
                .await
                .ok()?;
            let response = checkout.send(req).await.ok()?;
            // Read to the end, so the connection is pooled again.
            let status = response.status();
            http_body_util::BodyExt::collect(response.into_body())
                .await
                .ok()?;
            Some(status.is_success())
        };
        let ok = tokio::time::timeout(health.interval.min(Duration::from_secs(5)), check)
            .await
            .ok()
            .flatten()
            .unwrap_or(false);
        b.checked(ok, &health);
    }
}

/// Follows each issuer's revocation feed (loaded once first), or goes on following it where a
/// running feed was carried over.
async fn follow_feeds(
    state: &State,
    running: &mut Background,
    tasks: &mut Background,
) -> Result<(), GatewayError> {
    let feed_http = HttpClient::new(Options {
        timeout: Duration::from_secs(40),
        ..Options::default()
    })
    .map_err(|e| GatewayError::Start(format!("HTTP client: {e}")))?;
    for issuer in &state.issuers {
        if let Some(at) = running
            .feeds
            .iter()
            .position(|(i, _)| Arc::ptr_eq(i, issuer))
        {
            tasks.feeds.push(running.feeds.swap_remove(at));
            continue;
        }
        let Some(authorization) = issuer
            .feed_authorization
            .as_ref()
            .map(|a| a.expose().to_string())
        else {
            continue;
        };
        let after = match feed::load(issuer, &feed_http, &authorization).await {
            Ok(after) => after,
            Err(why) => {
                tracing::warn!(issuer = %issuer.config.issuer, error = %why, "cannot load the revocation feed yet; will keep trying");
                0
            }
        };
        tasks.feeds.push((
            issuer.clone(),
            tokio::spawn(feed::follow(
                issuer.clone(),
                feed_http.clone(),
                authorization,
                after,
            )),
        ));
    }
    Ok(())
}
