//! Candor's API gateway: in front of a team's services, it checks every request's access token
//! — from Candor or any OpenID provider, by the issuer's JWKS — against the route's audience,
//! scopes and claims, refuses a revoked token as soon as the issuer's revocation feed says so,
//! and forwards the rest to the route's upstreams. Every refusal carries a diagnosis code.
//!
//! Per request, each step a function of its own: [`route::find`], [`candor_proto::bearer`],
//! [`verify::verify`] (with the verified-token cache), the deny set ([`deny`]), scopes and
//! claims ([`authorize`]), [`proxy::forward`].

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod config;
pub mod connections;
pub mod deny;
pub mod feed;
pub mod identity;
pub mod introspect;
pub mod issuer;
pub mod metrics;
pub mod pace;
pub mod path;
pub mod per_thread;
pub mod proxy;
pub mod rate_limit;
pub mod refuse;
pub mod route;
pub mod tunnel;
pub mod upstream;
pub mod upstream_auth;
pub mod verify;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_client::{HttpClient, Options};
use candor_proto::error::quote;
use candor_proto::{Code, OAuthError};
use candor_serve::Peer;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::config::{AuthMode, ClaimCheck, Config, Route, RouteKind};
use crate::identity::Identity;
use crate::issuer::Issuer;
use crate::metrics::Metrics;
use crate::refuse::Docs;
use crate::route::NoRoute;
use crate::upstream::Pool;
use crate::verify::Verified;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every response the gateway sends.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    /// The reason is the source (printed after it in a chain).
    #[error("cannot listen on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(#[from] candor_serve::TlsError),
    #[error("{0}")]
    Start(String),
}

struct RouteState {
    /// The route's name, as the call log records it.
    name: Arc<str>,
    /// The route's counters.
    metrics: Arc<metrics::RouteMetrics>,
    upstream_auth: Option<Arc<upstream_auth::UpstreamAuth>>,
    route: Route,
    pool: Pool,
    connector: connections::Connector,
    /// The route's rate limits, with what each is keyed by.
    limits: Vec<(candor_limit::Limit, candor_limit::KeyKind)>,
    /// The issuers whose tokens the route accepts.
    issuers: Vec<Arc<Issuer>>,
}

/// Everything a request needs, built from one configuration.
pub struct State {
    routes: Vec<RouteState>,
    issuers: Vec<Arc<Issuer>>,
    verified: Verified,
    docs: Docs,
    metrics: Arc<Metrics>,
    trusted: Vec<ipnet::IpNet>,
    scheme: &'static str,
    /// The counters of requests no route took.
    no_route: Arc<metrics::RouteMetrics>,
    /// The call log, when it is on.
    calls: Option<Arc<candor_calls::CallLog>>,
    /// For `/metrics`, when a route has limits.
    limiter: Option<candor_limit::Limiter>,
    /// The tunnel slots (`max_tunnels`), shared by every state of a gateway.
    tunnels: Arc<tokio::sync::Semaphore>,
    max_tunnels: usize,
    body_pace: config::BodyPace,
    access_log: bool,
}

/// What became of a request: what [`handle`] records.
struct Outcome<'a> {
    route: Option<&'a RouteState>,
    response: Response<Body>,
    diagnosis: Option<Code>,
    upstream: Option<Arc<str>>,
    identity: Option<Arc<Identity>>,
}

impl<'a> Outcome<'a> {
    fn refused(route: Option<&'a RouteState>, response: Response<Body>, code: Code) -> Self {
        Outcome {
            route,
            response,
            diagnosis: Some(code),
            upstream: None,
            identity: None,
        }
    }
}

fn now() -> i64 {
    use candor_proto::clock::Clock;
    candor_proto::clock::SystemClock.now()
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
            .map(|r| {
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
            })
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

    fn refusal(
        &self,
        route: Option<&str>,
        error: &OAuthError,
        scope: Option<&str>,
    ) -> Response<Body> {
        refuse::refusal(&self.docs, route, error, scope)
    }
}

/// Checks the route's scopes and claims for `identity` and `method`.
pub fn authorize(
    route: &Route,
    identity: &Identity,
    method: &Method,
) -> Result<(), (OAuthError, Option<String>)> {
    let needed = route.scopes_for(method);
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|s| !identity.has_scope(s))
        .collect();
    if !missing.is_empty() {
        let scope = needed.join(" ");
        return Err((
            OAuthError::new(
                Code::TokenInsufficientScope,
                format!(
                    "{} {} on route {} needs the scope {}; the token has {}",
                    method,
                    "requests",
                    quote(&route.name),
                    quote(&missing.join(" ")),
                    quote(&identity.scopes.join(" "))
                ),
            ),
            Some(scope),
        ));
    }
    for rule in &route.claims {
        let value = identity.claims.get(&rule.claim);
        let ok = match (&rule.check, value) {
            (ClaimCheck::Equals(want), Some(serde_json::Value::String(got))) => got == want,
            (ClaimCheck::Contains(want), Some(serde_json::Value::String(got))) => {
                got.split(' ').any(|p| p == want)
            }
            (ClaimCheck::Contains(want), Some(serde_json::Value::Array(list))) => {
                list.iter().any(|v| v.as_str() == Some(want.as_str()))
            }
            _ => false,
        };
        if !ok {
            let (how, want) = match &rule.check {
                ClaimCheck::Contains(w) => ("to contain", w),
                ClaimCheck::Equals(w) => ("to equal", w),
            };
            return Err((
                OAuthError::new(
                    Code::TokenClaimMismatch,
                    format!(
                        "route {} needs the claim {} {how} {}; the token's is {}",
                        quote(&route.name),
                        quote(&rule.claim),
                        quote(want),
                        value.map_or_else(|| "absent".to_string(), |v| quote(&v.to_string()))
                    ),
                ),
                None,
            ));
        }
    }
    Ok(())
}

/// The revocation feed of `issuer` is behind: what its policy makes of `identity`.
async fn stale(
    state: &State,
    issuer: &Issuer,
    identity: &Identity,
    token: &str,
    policy: config::OnStale,
    now: i64,
) -> Result<(), OAuthError> {
    let behind = || {
        OAuthError::new(
            Code::RevocationFeedStale,
            format!(
                "the revocation feed of {} was last read {}s ago; it cannot be told whether the token was revoked",
                quote(&issuer.config.issuer),
                issuer.feed_lag(now).unwrap_or(i64::MAX).min(999_999)
            ),
        )
    };
    match policy {
        config::OnStale::Refuse => Err(behind()),
        config::OnStale::Accept => {
            state.metrics.stale_accepted();
            Ok(())
        }
        config::OnStale::Introspect => {
            let Some(introspector) = &issuer.introspector else {
                return Err(behind());
            };
            let digest = candor_proto::secret::digest(token);
            match introspector.check(token, digest, now).await {
                introspect::Answer::Active(fresh) if fresh.sub == identity.sub => Ok(()),
                introspect::Answer::Active(_) | introspect::Answer::Inactive => {
                    Err(OAuthError::new(
                        Code::TokenRevoked,
                        "the issuer's introspection says the token is no longer active",
                    ))
                }
                introspect::Answer::Unavailable(_) => Err(behind()),
            }
        }
    }
}

/// Handles one request.
pub async fn handle(state: &State, mut req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let call = state.calls.as_ref().map(|log| CallStart::of(&req, log));
    if let Some(trace) = call.as_ref().and_then(|c| c.trace) {
        // For proxy::forward: the upstream is sent this call's span as its parent.
        req.extensions_mut().insert(trace);
    }
    let access = state.access_log.then(|| {
        (
            req.method().clone(),
            candor_calls::record::path_only(req.uri().path()),
            req.headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        )
    });
    let outcome = pipeline(state, req).await;
    let elapsed = started.elapsed();
    let status = outcome.response.status().as_u16();
    if let Some((method, path, request_id)) = &access {
        candor_calls::access::log(&candor_calls::access::Line {
            source: candor_calls::Source::Gateway,
            route: outcome.route.map_or("-", |r| &r.name),
            method: method.as_str(),
            path,
            status,
            elapsed,
            client: outcome
                .identity
                .as_deref()
                .and_then(|i| i.client_id.as_deref()),
            diagnosis: outcome.diagnosis.map(Code::as_str),
            request_id: request_id.as_deref(),
        });
    }
    outcome
        .route
        .map_or(&*state.no_route, |r| &*r.metrics)
        .record(status, outcome.diagnosis.map_or("", Code::as_str), elapsed);
    if let (Some(log), Some(call)) = (&state.calls, call) {
        log.recorder.record(candor_calls::Call {
            at_us: call.at_us,
            source: candor_calls::Source::Gateway,
            route: outcome
                .route
                .map_or_else(|| Arc::from("-"), |r| r.name.clone()),
            method: call.method,
            path: call.path,
            status,
            latency_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            upstream: outcome.upstream,
            bytes_in: call.bytes_in,
            bytes_out: http_body::Body::size_hint(outcome.response.body()).exact(),
            principal: outcome.identity.map(|i| i.principal()),
            diagnosis: outcome.diagnosis.map(Code::as_str),
            request_id: call.request_id,
            trace: call.trace,
        });
    }
    outcome.response
}

/// What the call log needs of a request, taken before the request is consumed.
struct CallStart {
    at_us: i64,
    method: Arc<str>,
    path: Box<str>,
    bytes_in: Option<u64>,
    request_id: Option<Box<str>>,
    trace: Option<candor_calls::trace::Trace>,
}

impl CallStart {
    fn of(req: &Request<Incoming>, log: &candor_calls::CallLog) -> CallStart {
        CallStart {
            at_us: candor_calls::record::now_us(),
            method: candor_calls::record::method(req.method().as_str()),
            path: candor_calls::record::path_only(req.uri().path()),
            bytes_in: http_body::Body::size_hint(req.body()).exact(),
            request_id: candor_calls::record::request_id(
                req.headers().get("x-request-id").map(HeaderValue::as_bytes),
            ),
            trace: log.recorder.traces().then(|| {
                candor_calls::trace::Trace::start(
                    req.headers().get("traceparent").map(HeaderValue::as_bytes),
                )
            }),
        }
    }
}

/// The host a request names: the target's authority when it has one (HTTP/2's `:authority`,
/// an absolute-form target — RFC 9112 §3.2.2 says to ignore `Host` then), else `Host`.
fn request_host(req: &Request<Incoming>) -> Option<std::borrow::Cow<'_, str>> {
    match req.uri().authority() {
        Some(a) => Some(match a.port() {
            Some(p) => std::borrow::Cow::Owned(format!("{}:{}", a.host(), p.as_str())),
            None => std::borrow::Cow::Borrowed(a.host()),
        }),
        None => req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(std::borrow::Cow::Borrowed),
    }
}

async fn pipeline(state: &State, req: Request<Incoming>) -> Outcome<'_> {
    let host = request_host(&req);
    let host = host.as_deref();
    if req.method() == Method::CONNECT {
        // A gateway routes requests for paths; it opens no tunnel to where a caller names.
        let e = OAuthError::new(
            Code::RouteMethodNotAllowed,
            "CONNECT is not accepted: the gateway forwards requests to its routes' upstreams, it opens no tunnels",
        );
        return Outcome::refused(None, state.refusal(None, &e, None), e.code);
    }
    // The request goes upstream whole; its path (shared bytes, no copy) stays for the route.
    let target = req.uri().clone();
    let normalized = match path::normalize(target.path()) {
        Ok(n) => n,
        Err(why) => {
            let e = OAuthError::new(
                Code::RoutePathAmbiguous,
                format!(
                    "the path holds {}; refused, since an upstream could read it as another path",
                    why.describe()
                ),
            );
            return Outcome::refused(None, state.refusal(None, &e, None), e.code);
        }
    };
    let index = match route::find(&state.routes, |r| &r.route, host, &normalized, req.method()) {
        Ok(i) => i,
        Err(NoRoute::NotFound) => {
            let e = OAuthError::new(
                Code::RouteNotFound,
                format!(
                    "no route matches {} {} (host {})",
                    req.method(),
                    quote(&normalized.forward),
                    quote(host.unwrap_or("(none)"))
                ),
            );
            return Outcome::refused(None, state.refusal(None, &e, None), e.code);
        }
        Err(NoRoute::Method(allowed)) => {
            let e = OAuthError::new(
                Code::RouteMethodNotAllowed,
                format!(
                    "{} is not accepted here; the route takes {}",
                    req.method(),
                    allowed
                        .iter()
                        .map(Method::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            let mut r = state.refusal(None, &e, None);
            let allow = allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(v) = HeaderValue::from_str(&allow) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return Outcome::refused(None, r, e.code);
        }
        Err(NoRoute::Ambiguous(what)) => {
            let e = OAuthError::new(
                Code::RoutePathAmbiguous,
                format!(
                    "the path holds {what}, which an upstream could read as another path; refused"
                ),
            );
            return Outcome::refused(None, state.refusal(None, &e, None), e.code);
        }
    };
    let Some(rs) = state.routes.get(index) else {
        let e = OAuthError::new(Code::RouteNotFound, "no route");
        return Outcome::refused(None, state.refusal(None, &e, None), e.code);
    };
    let fail = |e: OAuthError, scope: Option<&str>| {
        Outcome::refused(
            Some(rs),
            state.refusal(Some(&rs.route.name), &e, scope),
            e.code,
        )
    };
    let upgrade = match proxy::requested_upgrade(req.headers(), &rs.route.upgrades) {
        Ok(u) => u,
        Err(e) => return fail(e, None),
    };
    let peer = req
        .extensions()
        .get::<Peer>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
    // Limits by address or API key come before the token is verified, so that a flood of
    // bad tokens is limited too; limits by client or subject need the verified token.
    let mut limited = rate_limit::Checks::default();
    if !rs.limits.is_empty() {
        let who = rate_limit::Caller::new(peer, req.headers(), &state.trusted, None);
        if let Err(r) = limited
            .check(&rs.limits, &who, rate_limit::Stage::BeforeToken)
            .await
        {
            return Outcome::refused(
                Some(rs),
                r.response(state, &rs.route.name),
                Code::RateLimitExceeded,
            );
        }
    }

    let identity = match rs.route.auth {
        AuthMode::None => None,
        mode => {
            let values: Vec<&str> = match req
                .headers()
                .get_all(header::AUTHORIZATION)
                .iter()
                .map(|v| v.to_str())
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(v) => v,
                Err(_) => {
                    return fail(
                        OAuthError::new(
                            Code::AuthorizationHeaderInvalid,
                            "the Authorization header holds bytes that are not visible ASCII",
                        ),
                        None,
                    );
                }
            };
            match candor_proto::bearer::extract(&values, None, req.uri().query()) {
                Err(e) if e.code == Code::TokenMissing && mode == AuthMode::Optional => None,
                Err(e) => return fail(e, None),
                Ok(token) => {
                    let now = now();
                    let (identity, source) =
                        match verify::verify(token, &rs.issuers, &state.verified, now).await {
                            Ok(v) => v,
                            Err(r) => return fail(r.error, None),
                        };
                    match source {
                        verify::Source::Cache => state.metrics.cache_hit(),
                        verify::Source::Verified => state.metrics.cache_miss(),
                    }
                    if let Some(issuer) = state
                        .issuers
                        .iter()
                        .find(|i| *i.config.issuer == *identity.issuer)
                    {
                        if issuer.deny.denies(&identity) {
                            let mut refused = fail(
                                OAuthError::new(
                                    Code::TokenRevoked,
                                    "the token was revoked at its issuer (the revocation feed says so)",
                                ),
                                None,
                            );
                            refused.identity = Some(identity);
                            return refused;
                        }
                        if let Some(policy) = issuer.stale_policy(now)
                            && let Err(e) =
                                stale(state, issuer, &identity, token, policy, now).await
                        {
                            let mut refused = fail(e, None);
                            refused.identity = Some(identity);
                            return refused;
                        }
                    }
                    if let Err((e, scope)) = authorize(&rs.route, &identity, req.method()) {
                        let mut refused = fail(e, scope.as_deref());
                        refused.identity = Some(identity);
                        return refused;
                    }
                    Some(identity)
                }
            }
        }
    };

    if !rs.limits.is_empty() {
        let who = rate_limit::Caller::new(peer, req.headers(), &state.trusted, identity.as_deref());
        if let Err(r) = limited
            .check(&rs.limits, &who, rate_limit::Stage::AfterToken)
            .await
        {
            let mut refused = Outcome::refused(
                Some(rs),
                r.response(state, &rs.route.name),
                Code::RateLimitExceeded,
            );
            refused.identity = identity;
            return refused;
        }
    }
    let upstream_authorization = match &rs.upstream_auth {
        None => None,
        Some(auth) => match auth.header().await {
            Ok(h) => Some(h),
            Err(why) => {
                return fail(
                    OAuthError::new(
                        Code::UpstreamConnect,
                        format!(
                            "the route's own credentials for its upstream cannot be had: {why}"
                        ),
                    ),
                    None,
                );
            }
        },
    };
    // A tunnel's slot is taken before anything is sent: past the cap, nothing reaches the
    // upstream.
    let upgrade = match upgrade {
        None => None,
        Some(u) => match state.tunnels.clone().try_acquire_owned() {
            Ok(permit) => Some((u, permit)),
            Err(_) => {
                let mut refused = fail(
                    OAuthError::new(
                        Code::TunnelsExhausted,
                        format!(
                            "the gateway holds its {} upgraded connections (max_tunnels) already",
                            state.max_tunnels
                        ),
                    ),
                    None,
                );
                refused.identity = identity;
                return refused;
            }
        },
    };
    // What X-Forwarded-Host will say: the Host header as it came (no copy), or the target's
    // authority.
    let forwarded_host = match req.uri().authority() {
        Some(_) => host.and_then(|h| HeaderValue::from_str(h).ok()),
        None => req.headers().get(header::HOST).cloned(),
    };
    // Who failures are counted against (passive ejection wants more than one caller): the
    // peer, or the client a trusted proxy names.
    let client = if state.trusted.is_empty() {
        peer
    } else {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        candor_proto::forwarded::client_ip(peer, &forwarded, &state.trusted)
    };
    let forward = proxy::Forward {
        route: &rs.route,
        pool: &rs.pool,
        connector: &rs.connector,
        identity: identity.as_deref(),
        origin: proxy::Origin {
            peer,
            trusted: &state.trusted,
            scheme: state.scheme,
            host: forwarded_host,
            upstream_authorization,
        },
        path: &normalized.forward,
        client,
        upgrade,
        pace: state.body_pace,
    };
    // Every kind is named, with no wildcard: a new kind does not compile until it forwards.
    let (result, upstream) = match rs.route.kind {
        RouteKind::Http => proxy::forward(req, forward).await,
    };
    let mut outcome = match result {
        Ok(response) => Outcome {
            route: Some(rs),
            response,
            diagnosis: None,
            upstream: None,
            identity: None,
        },
        Err(e) => fail(e, None),
    };
    outcome.upstream = upstream;
    outcome.identity = identity;
    limited.annotate(outcome.response.headers_mut());
    outcome
}

/// The admin listener's answers: liveness, readiness, metrics.
async fn admin(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let now = now();
    if let Some(log) = &state.calls
        && candor_calls::CallLog::handles(req.uri().path())
    {
        let authorization: Vec<&str> = req
            .headers()
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let answer = log
            .answer(req.uri().path(), req.uri().query(), &authorization, now)
            .await;
        let mut r = refuse::json(
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &answer.body,
        );
        if answer.challenge {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"candor-admin\""),
            );
        }
        return r;
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => {
            let unready: Vec<String> = state
                .issuers
                .iter()
                .filter(|i| !i.feed_loaded())
                .map(|i| {
                    format!(
                        "the revocation feed of {} is not loaded yet",
                        i.config.issuer
                    )
                })
                .collect();
            if unready.is_empty() {
                refuse::json(StatusCode::OK, &serde_json::json!({"status": "ready"}))
            } else {
                refuse::json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &serde_json::json!({"status": "unavailable", "reasons": unready}),
                )
            }
        }
        "/metrics" => {
            let mut extra = String::new();
            extra.push_str("# HELP candor_gateway_jwks_fetches_total JWKS fetches, by issuer.\n# TYPE candor_gateway_jwks_fetches_total counter\n");
            let mut failures = String::from(
                "# HELP candor_gateway_jwks_fetch_failures_total JWKS fetches that failed, by issuer.\n# TYPE candor_gateway_jwks_fetch_failures_total counter\n",
            );
            let mut lag = String::from(
                "# HELP candor_gateway_revocation_feed_lag_seconds Seconds since the issuer's revocation feed was last read.\n# TYPE candor_gateway_revocation_feed_lag_seconds gauge\n",
            );
            let mut introspections = String::from(
                "# HELP candor_gateway_introspections_total Introspection calls for opaque tokens, by issuer.\n# TYPE candor_gateway_introspections_total counter\n",
            );
            let mut deny = String::from(
                "# HELP candor_gateway_deny_set_entries Revoked tokens, grants, users and clients held, by issuer.\n# TYPE candor_gateway_deny_set_entries gauge\n",
            );
            for i in &state.issuers {
                let iss = &i.config.issuer;
                let (f, e) = i.jwks().map_or((0, 0), |j| j.counts());
                extra.push_str(&format!(
                    "candor_gateway_jwks_fetches_total{{issuer=\"{iss}\"}} {f}\n"
                ));
                failures.push_str(&format!(
                    "candor_gateway_jwks_fetch_failures_total{{issuer=\"{iss}\"}} {e}\n"
                ));
                if let Some(l) = i.feed_lag(now) {
                    lag.push_str(&format!(
                        "candor_gateway_revocation_feed_lag_seconds{{issuer=\"{iss}\"}} {}\n",
                        l.min(1_000_000_000)
                    ));
                }
                deny.push_str(&format!(
                    "candor_gateway_deny_set_entries{{issuer=\"{iss}\"}} {}\n",
                    i.deny.len()
                ));
                if let Some(x) = &i.introspector {
                    introspections.push_str(&format!(
                        "candor_gateway_introspections_total{{issuer=\"{iss}\"}} {}\n",
                        x.calls()
                    ));
                }
            }
            let mut health = String::from(
                "# HELP candor_gateway_upstream_available Whether an upstream is in rotation (1) or not (0).\n# TYPE candor_gateway_upstream_available gauge\n",
            );
            let mut idle = String::from(
                "# HELP candor_gateway_upstream_idle_connections Keep-alive connections to an upstream waiting in the pool.\n# TYPE candor_gateway_upstream_idle_connections gauge\n",
            );
            for r in &state.routes {
                for b in &r.pool.backends {
                    health.push_str(&format!(
                        "candor_gateway_upstream_available{{route=\"{}\",upstream=\"{}\"}} {}\n",
                        r.route.name,
                        b.url,
                        u8::from(b.available())
                    ));
                    idle.push_str(&format!(
                        "candor_gateway_upstream_idle_connections{{route=\"{}\",upstream=\"{}\"}} {}\n",
                        r.route.name,
                        b.url,
                        b.connections.idle_count()
                    ));
                }
            }
            health.push_str(&idle);
            extra.push_str(&failures);
            extra.push_str(&lag);
            extra.push_str(&deny);
            extra.push_str(&introspections);
            extra.push_str(&health);
            extra.push_str(&format!(
                "# HELP candor_gateway_verified_cache_entries Verified tokens remembered.\n# TYPE candor_gateway_verified_cache_entries gauge\ncandor_gateway_verified_cache_entries {}\n",
                state.verified.len()
            ));
            if let Some(log) = &state.calls {
                extra.push_str(&log.metrics());
            }
            if let Some(limiter) = &state.limiter {
                extra.push_str(&candor_limit::metrics(limiter));
            }
            let mut r = text(StatusCode::OK, state.metrics.render(&extra));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            r
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(refuse::full(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

/// What runs beside the request path: each issuer's feed follower, and the health checks.
#[derive(Default)]
pub struct Background {
    feeds: Vec<(Arc<Issuer>, tokio::task::JoinHandle<()>)>,
    others: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    fn abort(self) {
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
    for r in &state.routes {
        let Some(health) = r.route.health.clone() else {
            continue;
        };
        for b in &r.pool.backends {
            let b = b.clone();
            let health = health.clone();
            let connector = r.connector.clone();
            tasks.others.push(tokio::spawn(async move {
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
                    let ok =
                        tokio::time::timeout(health.interval.min(Duration::from_secs(5)), check)
                            .await
                            .ok()
                            .flatten()
                            .unwrap_or(false);
                    b.checked(ok, &health);
                }
            }));
        }
    }
    Ok(tasks)
}

/// A running gateway: the state requests use now, replaced whole by [`Gateway::reload`]. A
/// request in flight keeps the state it started with, so a reload drops no request and no
/// connection.
pub struct Gateway {
    current: std::sync::RwLock<Arc<State>>,
    /// Bumped by every reload: a connection keeps the state it took until this moves.
    generation: std::sync::atomic::AtomicU64,
    tasks: std::sync::Mutex<Background>,
    /// The tunnel slots, kept across reloads (tunnels outlive the state they began in).
    tunnels: Arc<tokio::sync::Semaphore>,
    metrics: Arc<Metrics>,
    /// The call log, kept across reloads.
    calls: Option<Arc<candor_calls::CallLog>>,
    /// The rate limiter, kept across reloads (a reload keeps what callers have spent).
    limiter: candor_limit::Limiter,
    /// What cannot change without a restart.
    listen: std::net::SocketAddr,
    threads: usize,
}

impl Gateway {
    /// Builds the state of `config` and starts its background work (feeds loaded first).
    /// `calls` is the call log to record into; `limiter` decides the routes' rate limits
    /// (shared through Redis when it was built so; a local one is made when `None`).
    pub async fn start(
        config: &Config,
        calls: Option<Arc<candor_calls::CallLog>>,
        limiter: Option<candor_limit::Limiter>,
    ) -> Result<Arc<Gateway>, GatewayError> {
        let limiter = match limiter {
            Some(l) => l,
            None => candor_limit::Limiter::local(candor_limit::LocalOptions::default())
                .map_err(|e| GatewayError::Start(format!("rate limiter: {e}")))?,
        };
        let metrics = Arc::new(Metrics::new(config.threads));
        let tunnels = Arc::new(tokio::sync::Semaphore::new(config.max_tunnels));
        let state = Arc::new(State::new(
            config,
            metrics.clone(),
            calls.clone(),
            &limiter,
            tunnels.clone(),
            None,
        )?);
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        let tasks = start_background(&state, &mut Background::default()).await?;
        Ok(Arc::new(Gateway {
            current: std::sync::RwLock::new(state),
            generation: std::sync::atomic::AtomicU64::new(0),
            tasks: std::sync::Mutex::new(tasks),
            tunnels,
            metrics,
            calls,
            limiter,
            listen: config.listen,
            threads: config.threads,
        }))
    }

    /// The state new requests use.
    pub fn state(&self) -> Arc<State> {
        match self.current.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the configuration: the new state is built (and its feeds loaded) before it
    /// takes over; on an error the running one stays. Listen addresses, TLS and connection
    /// limits need a restart.
    pub async fn reload(&self, config: &Config) -> Result<(), GatewayError> {
        if config.listen != self.listen {
            tracing::warn!(
                running = %self.listen,
                configured = %config.listen,
                "gateway.listen changed; it takes effect at the next restart"
            );
        }
        let previous = self.state();
        let state = Arc::new(State::new(
            config,
            self.metrics.clone(),
            self.calls.clone(),
            &self.limiter,
            self.tunnels.clone(),
            Some(&previous),
        )?);
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        let mut running = match self.tasks.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(_) => Background::default(),
        };
        let tasks = match start_background(&state, &mut running).await {
            Ok(t) => t,
            Err(e) => {
                // The running state stays, with its tasks (those taken over are given back).
                if let Ok(mut t) = self.tasks.lock() {
                    *t = running;
                }
                return Err(e);
            }
        };
        if let Ok(mut current) = self.current.write() {
            *current = state;
        }
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        // What the new state did not take over belongs to the old one alone.
        running.abort();
        if let Ok(mut t) = self.tasks.lock() {
            *t = tasks;
        }
        tracing::info!(
            routes = config.routes.len(),
            "gateway configuration reloaded"
        );
        Ok(())
    }

    /// Serves on the listeners until `shutdown` resolves.
    pub async fn serve(
        self: &Arc<Self>,
        listener: tokio::net::TcpListener,
        admin_listener: Option<tokio::net::TcpListener>,
        tls: Option<Arc<rustls::ServerConfig>>,
        limits: candor_serve::Limits,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), GatewayError> {
        let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(admin_listener) = admin_listener {
            let gw = self.clone();
            let service = tower::service_fn(move |req| {
                let s = gw.state();
                async move { Ok::<_, Infallible>(admin(s, req).await) }
            });
            tokio::spawn(candor_serve::serve(
                admin_listener,
                None,
                service,
                candor_serve::Limits::default(),
                async move {
                    let _ = admin_stopped.await;
                },
            ));
        }
        let gw = self.clone();
        // Each connection gets its own copy of this closure, and with it a handle on the
        // state of its own (`Arc<Arc<State>>`, made again only after a reload): a request
        // then touches no lock and no reference count that another core's requests touch.
        let mut held: Option<(u64, Arc<Arc<State>>)> = None;
        let service = tower::service_fn(move |req| {
            let generation = gw.generation.load(std::sync::atomic::Ordering::Acquire);
            let s = match &held {
                Some((g, s)) if *g == generation => s.clone(),
                _ => {
                    let s = Arc::new(gw.state());
                    held = Some((generation, s.clone()));
                    s
                }
            };
            async move { Ok::<_, Infallible>(handle(&s, req).await) }
        });
        tracing::info!(listen = %self.listen, threads = self.threads, "candor gateway is ready");
        let served =
            candor_serve::serve_threads(listener, self.threads, tls, service, limits, shutdown)
                .await;
        let _ = stop_admin.send(());
        if let Ok(mut tasks) = self.tasks.lock() {
            std::mem::take(&mut *tasks).abort();
        }
        served.map_err(|e| GatewayError::Start(e.to_string()))
    }
}

/// Binds the listeners of `config`.
pub async fn bind(
    config: &Config,
) -> Result<(tokio::net::TcpListener, Option<tokio::net::TcpListener>), GatewayError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| GatewayError::Listen {
            addr: config.listen,
            source,
        })?;
    let admin = match config.admin_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| GatewayError::Listen { addr, source })?,
        ),
        None => None,
    };
    Ok((listener, admin))
}

/// The TLS configuration of `config`, if it serves https.
pub fn tls(config: &Config) -> Result<Option<Arc<rustls::ServerConfig>>, GatewayError> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(c), Some(k)) => Ok(Some(candor_serve::load_tls(c, k)?)),
        _ => Ok(None),
    }
}

/// Runs the gateway of `config` until `shutdown` resolves (no reloads).
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let tls = tls(&config)?;
    let (listener, admin) = bind(&config).await?;
    run_on(config, listener, admin, tls, shutdown).await
}

/// [`run`] on listeners already bound (tests bind ephemeral ports).
pub async fn run_on(
    config: Config,
    listener: tokio::net::TcpListener,
    admin_listener: Option<tokio::net::TcpListener>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let gateway = Gateway::start(&config, None, None).await?;
    gateway
        .serve(
            listener,
            admin_listener,
            tls,
            config.limits.clone(),
            shutdown,
        )
        .await
}
