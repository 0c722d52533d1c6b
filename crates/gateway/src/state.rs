//! The run-time state of one configuration: the routes with their pools, connectors, limits
//! and issuers, the verified-token cache, and what every request shares. A reload builds a new
//! [`State`] beside the running one ([`crate::Gateway::reload`]).

use std::sync::Arc;

use candor_client::{HttpClient, Options};
use candor_proto::OAuthError;
use http::Response;

use crate::config::{self, Config, Route};
use crate::issuer::Issuer;
use crate::metrics::{self, Metrics};
use crate::refuse::{self, Docs};
use crate::upstream::Pool;
use crate::verify::Verified;
use crate::{Body, GatewayError, connections, proxy, upstream_auth};

pub struct RouteState {
    /// The route's name, as the call log records it.
    pub(crate) name: Arc<str>,
    /// The route's counters.
    pub(crate) metrics: Arc<metrics::RouteMetrics>,
    pub(crate) upstream_auth: Option<Arc<upstream_auth::UpstreamAuth>>,
    pub(crate) route: Route,
    pub(crate) pool: Pool,
    pub(crate) connector: connections::Connector,
    /// The route's rate limits, with what each is keyed by.
    pub(crate) limits: Vec<(candor_limit::Limit, candor_limit::KeyKind)>,
    /// The issuers whose tokens the route accepts.
    pub(crate) issuers: Vec<Arc<Issuer>>,
}

/// Everything a request needs, built from one configuration.
pub struct State {
    pub(crate) routes: Vec<RouteState>,
    pub(crate) issuers: Vec<Arc<Issuer>>,
    pub(crate) verified: Verified,
    pub(crate) docs: Docs,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) trusted: Vec<ipnet::IpNet>,
    pub(crate) scheme: &'static str,
    /// The counters of requests no route took.
    pub(crate) no_route: Arc<metrics::RouteMetrics>,
    /// The call log, when it is on.
    pub(crate) calls: Option<Arc<candor_calls::CallLog>>,
    /// For `/metrics`, when a route has limits.
    pub(crate) limiter: Option<candor_limit::Limiter>,
    /// The tunnel slots (`max_tunnels`), shared by every state of a gateway.
    pub(crate) tunnels: Arc<tokio::sync::Semaphore>,
    pub(crate) max_tunnels: usize,
    pub(crate) body_pace: config::BodyPace,
    pub(crate) access_log: bool,
}

impl RouteState {
    /// A route's run-time state: its limits, pool, connector, credentials and issuers.
    fn new(
        r: &Route,
        config: &Config,
        metrics: &Metrics,
        limiter: &candor_limit::Limiter,
        http: &HttpClient,
        issuers: &[Arc<Issuer>],
    ) -> Result<RouteState, GatewayError> {
        Ok(RouteState {
            limits: r
                .rate_limits
                .iter()
                .map(|l| (limiter.limit(l.policy.clone()), l.key.clone()))
                .collect(),
            name: Arc::from(r.name.as_str()),
            upstream_auth: r
                .upstream_auth
                .as_ref()
                .map(|u| upstream_auth::UpstreamAuth::new(u, http.clone()).map(Arc::new))
                .transpose()
                .map_err(|e| GatewayError::Start(format!("route '{}': {e}", r.name)))?,
            metrics: metrics.route(&Arc::from(r.name.as_str())),
            pool: Pool::new(r, config.threads),
            connector: proxy::connector(r)
                .map_err(|e| GatewayError::Start(format!("route '{}': {e}", r.name)))?,
            issuers: issuers
                .iter()
                .filter(|i| {
                    r.issuers
                        .as_ref()
                        .is_none_or(|names| names.contains(&i.config.issuer))
                })
                .cloned()
                .collect(),
            route: r.clone(),
        })
    }
}

impl State {
    /// Builds the run-time state of `config` (no I/O yet).
    /// `previous` is the state a reload replaces: an issuer whose configuration and
    /// credentials did not change is carried over whole — its deny set, its feed's position
    /// and its keys — so that a reload forgets nothing it knew (a revoked token stays refused
    /// through a feed outage, valid tokens keep their keys while the issuer is down).
    pub fn new(
        config: &Config,
        metrics: Arc<Metrics>,
        calls: Option<Arc<candor_calls::CallLog>>,
        limiter: &candor_limit::Limiter,
        tunnels: Arc<tokio::sync::Semaphore>,
        previous: Option<&State>,
    ) -> Result<State, GatewayError> {
        let http = HttpClient::new(Options {
            // Loopback issuers (development, tests) are plain http; others must be https.
            allow_insecure_http: false,
            ..Options::default()
        })
        .map_err(|e| GatewayError::Start(format!("HTTP client: {e}")))?;
        let issuers = config
            .issuers
            .iter()
            .map(|i| {
                let fresh = Issuer::new(i.clone(), http.clone())?;
                Ok(previous
                    .and_then(|p| p.issuers.iter().find(|old| old.carries_over(&fresh)))
                    .cloned()
                    .unwrap_or_else(|| Arc::new(fresh)))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(GatewayError::Start)?;
        let routes = config
            .routes
            .iter()
            .map(|r| RouteState::new(r, config, &metrics, limiter, &http, &issuers))
            .collect::<Result<Vec<_>, GatewayError>>()?;
        let no_route = metrics.route(&Arc::from("-"));
        Ok(State {
            routes,
            issuers,
            verified: Verified::new(config.verified_cache_entries, config.threads),
            docs: Docs {
                base: config.docs(),
                realm: "candor-gateway".into(),
            },
            metrics,
            trusted: config.trusted_proxies.clone(),
            scheme: if config.tls_cert.is_some() {
                "https"
            } else {
                "http"
            },
            no_route,
            calls,
            limiter: config
                .routes
                .iter()
                .any(|r| !r.rate_limits.is_empty())
                .then(|| limiter.clone()),
            tunnels,
            max_tunnels: config.max_tunnels,
            body_pace: config.body_pace,
            access_log: config.access_log,
        })
    }

    pub(crate) fn refusal(
        &self,
        route: Option<&str>,
        error: &OAuthError,
        scope: Option<&str>,
    ) -> Response<Body> {
        refuse::refusal(&self.docs, route, error, scope)
    }
}
