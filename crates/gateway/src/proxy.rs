//! Forwarding a request to a route's upstream and its response back: hop-by-hop headers
//! removed both ways, the caller's identity as `X-Candor-*` headers (any copies the caller sent
//! removed first, in every spelling an upstream may fold to the same name), `X-Forwarded-*`
//! appended, bodies streamed at the pace the gateway allows, the upgrades a route allows
//! (WebSocket) spliced within their bounds, a failed connect retried on another upstream for
//! idempotent requests without a body.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use candor_proto::error::quote;
use candor_proto::{Code, OAuthError};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Either};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use ipnet::IpNet;
use tokio::sync::OwnedSemaphorePermit;

use crate::Body;
use crate::config::{BodyPace, Route};
use crate::connections::{Checkout, Connector, Driven, SendError};
use crate::identity::Identity;
use crate::pace::Paced;
use crate::upstream::{Backend, Failure, Pool};

/// The TLS configuration for a route's https upstreams: the system's roots (the platform
/// verifier), or only the CAs of `upstream_ca`.
fn tls_config(route: &Route) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let config = match &route.upstream_ca {
        None => {
            use rustls_platform_verifier::ConfigVerifierExt;
            rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| format!("the system's certificate roots: {e}"))?
        }
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|c| c.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("upstream_ca {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "upstream_ca {} holds no certificate",
                    path.display()
                ));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| format!("upstream_ca {}: {e}", path.display()))?;
            }
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
    };
    // ALPN is the connector's to set (it offers what it enables: HTTP/1.1).
    Ok(config)
}

/// What opens connections to one route's upstreams (http and https).
pub fn connector(route: &Route) -> Result<Connector, String> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(route.connect_timeout));
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(route)?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(connector)
}

const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Identity headers the gateway sets; a caller's copies are removed.
pub const SUBJECT: HeaderName = HeaderName::from_static("x-candor-subject");
pub const CLIENT_ID: HeaderName = HeaderName::from_static("x-candor-client-id");
pub const SCOPE: HeaderName = HeaderName::from_static("x-candor-scope");
pub const ISSUER: HeaderName = HeaderName::from_static("x-candor-issuer");

/// Removes hop-by-hop headers (RFC 9110 §7.6.1), those the `Connection` header names included.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none: one look at the names instead of nine removals.
    if !headers.keys().any(|k| HOP_BY_HOP.contains(k)) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in HOP_BY_HOP {
        headers.remove(n);
    }
}

/// Headers that make an upstream read another path or method than the one the route checked
/// (IIS and Symfony honour `X-Original-URL`; many frameworks the method overrides): no caller
/// may send them.
const REWRITERS: [&str; 5] = [
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Headers that say who the caller is or how it connected: believed only from trusted
/// proxies, and never in an underscore spelling.
const FORWARDING: [&str; 14] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-forwarded-ssl",
    "x-forwarded-scheme",
    "x-url-scheme",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "x-cluster-client-ip",
];

/// Whether the lower-case header `name` is `target` once `_` is read as `-`, as CGI, WSGI, PHP
/// and Rack read it (`X_Candor_Subject` reaches them as `HTTP_X_CANDOR_SUBJECT`).
fn folds_to(name: &str, target: &str) -> bool {
    name.len() == target.len()
        && name
            .bytes()
            .zip(target.bytes())
            .all(|(a, b)| a == b || (a == b'_' && b == b'-'))
}

/// Whether the lower-case header `name` begins with `prefix`, `_` read as `-`.
fn starts_folded(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|head| folds_to(head, prefix))
}

/// Whether a caller's header must not reach the upstream: the identity headers in any spelling,
/// the rewriting headers, forwarding headers spelled with `_`, and — from a peer that is not a
/// trusted proxy — every forwarding header (the gateway sets its own).
fn refused(name: &str, trusted_peer: bool) -> bool {
    // Every name below begins with x, f or t: most headers are out at the first byte.
    if !matches!(name.as_bytes().first(), Some(b'x' | b'f' | b't')) {
        return false;
    }
    if starts_folded(name, "x-candor-") || REWRITERS.iter().any(|r| folds_to(name, r)) {
        return true;
    }
    FORWARDING.iter().any(|f| folds_to(name, f)) && (!trusted_peer || name.contains('_'))
}

/// What the gateway knows of the request besides its headers.
pub struct Origin<'a> {
    pub peer: IpAddr,
    pub trusted: &'a [IpNet],
    /// `https` when the gateway's own listener is TLS.
    pub scheme: &'static str,
    /// The host the request was routed by (the target's authority, else `Host`), as sent:
    /// what `X-Forwarded-Host` says.
    pub host: Option<HeaderValue>,
    /// The route's own `Authorization` for the upstream (upstream_auth), replacing the
    /// caller's.
    pub upstream_authorization: Option<String>,
}

/// The headers sent upstream.
pub fn upstream_headers(
    mut h: HeaderMap,
    identity: Option<&Identity>,
    origin: &Origin<'_>,
    upgrade: Option<&HeaderValue>,
) -> HeaderMap {
    strip_hop_by_hop(&mut h);
    let trusted_peer = origin.trusted.iter().any(|n| n.contains(&origin.peer));
    let doomed: Vec<HeaderName> = h
        .keys()
        .filter(|k| refused(k.as_str(), trusted_peer))
        .cloned()
        .collect();
    for k in doomed {
        h.remove(k);
    }
    let forwarded_for: Vec<String> = if trusted_peer {
        h.get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    let mut chain = forwarded_for.join(", ");
    if !chain.is_empty() {
        chain.push_str(", ");
    }
    chain.push_str(&origin.peer.to_string());
    if let Ok(v) = HeaderValue::from_str(&chain) {
        // insert replaces every value the caller sent.
        h.insert(X_FORWARDED_FOR, v);
    } else {
        h.remove(X_FORWARDED_FOR);
    }
    if !(trusted_peer && h.contains_key(X_FORWARDED_PROTO)) {
        h.insert(X_FORWARDED_PROTO, HeaderValue::from_static(origin.scheme));
    }
    if !(trusted_peer && h.contains_key(X_FORWARDED_HOST)) {
        // The host the gateway routed by, whether it came as Host or as the target's
        // authority (HTTP/2, absolute-form); never one the caller chose beside it.
        match &origin.host {
            Some(v) => {
                h.insert(X_FORWARDED_HOST, v.clone());
            }
            None => {
                h.remove(X_FORWARDED_HOST);
            }
        }
    }
    h.remove(header::HOST);
    if let Some(id) = identity {
        for (name, value) in id.headers() {
            h.insert(name.clone(), value.clone());
        }
    }
    if let Some(a) = &origin.upstream_authorization
        && let Ok(v) = HeaderValue::from_str(a)
    {
        h.insert(header::AUTHORIZATION, v);
    }
    if let Some(protocol) = upgrade {
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, protocol.clone());
    }
    h
}

/// A protocol upgrade the caller asked for and the route allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The `Upgrade` header sent upstream.
    pub header: HeaderValue,
    /// The protocols asked for, lower case, without versions.
    pub protocols: Vec<String>,
}

/// The upgrade `headers` ask for, as `allowed` (a route's `upgrades`) permits: `None` when
/// there is none to make (no `Upgrade` with `Connection: upgrade`, or only `h2c`, which is
/// never honoured: the request is served as HTTP/1.1); a refusal when it names another.
pub fn requested_upgrade(
    headers: &HeaderMap,
    allowed: &[String],
) -> Result<Option<Upgrade>, OAuthError> {
    let asked = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        });
    if !asked || !headers.contains_key(header::UPGRADE) {
        return Ok(None);
    }
    let mut tokens = Vec::new();
    for v in headers.get_all(header::UPGRADE) {
        let v = v.to_str().map_err(|_| {
            OAuthError::new(
                Code::RouteUpgradeNotAllowed,
                "the Upgrade header holds bytes that are not visible ASCII",
            )
        })?;
        tokens.extend(v.split(',').map(str::trim).filter(|t| !t.is_empty()));
    }
    let name = |t: &str| t.split('/').next().unwrap_or(t).to_ascii_lowercase();
    let kept: Vec<&str> = tokens.into_iter().filter(|t| name(t) != "h2c").collect();
    if kept.is_empty() {
        return Ok(None);
    }
    let protocols: Vec<String> = kept.iter().map(|t| name(t)).collect();
    if let Some(other) = protocols.iter().find(|p| !allowed.contains(p)) {
        return Err(OAuthError::new(
            Code::RouteUpgradeNotAllowed,
            format!(
                "the request asks to upgrade to {}; the route allows {}",
                quote(other),
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            ),
        ));
    }
    let header = HeaderValue::from_str(&kept.join(", ")).map_err(|_| {
        OAuthError::new(
            Code::RouteUpgradeNotAllowed,
            "the Upgrade header is malformed",
        )
    })?;
    Ok(Some(Upgrade { header, protocols }))
}

/// The path and query sent upstream (origin form): `path` is the request's path in normal
/// form (what the route matched), the query as it came.
pub fn upstream_path(
    route: &Route,
    base: &str,
    path: &str,
    uri: &Uri,
) -> Result<Uri, http::uri::InvalidUri> {
    let base = base.trim_end_matches('/');
    let rest = if route.strip_prefix {
        let prefix = route.path_prefix.trim_end_matches('/');
        let stripped = match path.get(..prefix.len()) {
            Some(head)
                if head == prefix
                    || (route.case_insensitive && head.eq_ignore_ascii_case(prefix)) =>
            {
                path.get(prefix.len()..).unwrap_or("")
            }
            _ => path,
        };
        if stripped.starts_with('/') {
            stripped.to_string()
        } else {
            format!("/{stripped}")
        }
    } else {
        path.to_string()
    };
    let mut out = format!("{base}{rest}");
    if let Some(q) = uri.query() {
        out.push('?');
        out.push_str(q);
    }
    out.parse()
}

fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// What a request takes upstream besides itself.
pub struct Forward<'a> {
    pub route: &'a Route,
    pub pool: &'a Pool,
    pub connector: &'a Connector,
    pub identity: Option<&'a Identity>,
    pub origin: Origin<'a>,
    /// The request's path in normal form.
    pub path: &'a str,
    /// The caller failures are counted against (the client behind a trusted proxy).
    pub client: IpAddr,
    /// The upgrade the route allows, with the tunnel slot it will hold.
    pub upgrade: Option<(Upgrade, OwnedSemaphorePermit)>,
    pub pace: BodyPace,
}

/// Forwards `req` to an upstream of its route: the response (or why there is none), and which
/// upstream was tried last.
pub async fn forward(
    req: Request<Incoming>,
    f: Forward<'_>,
) -> (Result<Response<Body>, OAuthError>, Option<Arc<str>>) {
    let mut upstream = None;
    let result = forward_to(req, f, &mut upstream).await;
    (result, upstream)
}

fn unhealthy_or_refused(route: &Route, tried: usize, busy: bool) -> OAuthError {
    if busy {
        OAuthError::new(
            Code::UpstreamBusy,
            format!(
                "every connection the upstreams of route {} may have is in use",
                quote(&route.name)
            ),
        )
    } else if tried == 0 {
        OAuthError::new(
            Code::UpstreamUnhealthy,
            format!(
                "every upstream of route {} is out of rotation (failed health checks or consecutive failures)",
                quote(&route.name)
            ),
        )
    } else {
        OAuthError::new(
            Code::UpstreamConnect,
            format!(
                "the upstreams of route {} refused the connection ({tried} tried)",
                quote(&route.name)
            ),
        )
    }
}

async fn forward_to(
    mut req: Request<Incoming>,
    f: Forward<'_>,
    upstream_used: &mut Option<Arc<str>>,
) -> Result<Response<Body>, OAuthError> {
    let Forward {
        route,
        pool,
        connector,
        identity,
        origin,
        path,
        client: caller,
        upgrade,
        pace,
    } = f;
    let caller_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let retryable = idempotent(&parts.method) && !has_body(&parts.headers) && upgrade.is_none();
    let mut headers = upstream_headers(
        parts.headers,
        identity,
        &origin,
        upgrade.as_ref().map(|(u, _)| &u.header),
    );
    if let Some(trace) = parts.extensions.get::<candor_calls::trace::Trace>()
        && let Ok(v) = HeaderValue::from_str(&trace.traceparent())
    {
        // This call is a span of the caller's trace: the upstream's spans are its children.
        headers.insert(TRACEPARENT, v);
    }
    let target = Target {
        route,
        pool,
        caller,
    };
    // A connect failure sent nothing: the request is built only once a connection is had.
    let (index, backend, checkout) = connect(&target, connector, retryable, upstream_used).await?;
    let uri = upstream_path(route, backend.url.path(), path, &parts.uri)
        .map_err(|_| OAuthError::new(Code::RouteNotFound, "the upstream URL cannot be built"))?;
    // The upstream's own name, as nginx's proxy_pass sends it; the caller's Host travels as
    // X-Forwarded-Host.
    headers.insert(header::HOST, backend.host.clone());
    let mut upstream_req = Request::new(Either::Left(Paced::new(body, pace)));
    *upstream_req.method_mut() = parts.method;
    *upstream_req.uri_mut() = uri;
    *upstream_req.headers_mut() = headers;
    backend.in_flight.fetch_add(1, Ordering::Relaxed);
    let sent = tokio::time::timeout(route.response_timeout, checkout.send(upstream_req)).await;
    backend.in_flight.fetch_sub(1, Ordering::Relaxed);
    let response = answered(&target, index, backend, sent, pace)?;
    if response.status().is_server_error() {
        pool.failed(index, Failure::ServerError, caller, route.eject_on);
    } else {
        backend.succeeded();
    }
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        return switch(route, backend, response, upgrade, caller_upgrade);
    }
    let (mut head, body) = response.into_parts();
    strip_hop_by_hop(&mut head.headers);
    Ok(Response::from_parts(
        head,
        body.map_err(|e| -> crate::BoxError { Box::new(e) })
            .boxed_unsync(),
    ))
}

/// Where a request is going, and who its failures count against.
struct Target<'a> {
    route: &'a Route,
    pool: &'a Pool,
    caller: IpAddr,
}

/// "the upstream 'URL' of route 'NAME' WHAT".
fn named(route: &Route, backend: &Backend, what: &str) -> String {
    format!(
        "the upstream {} of route {} {what}",
        quote(backend.url.as_str()),
        quote(&route.name)
    )
}

/// A connection to one of the route's upstreams: the next the pool picks, again after a
/// failure only when the request may be retried (idempotent, no body, no upgrade).
async fn connect<'p>(
    t: &Target<'p>,
    connector: &'p Connector,
    retryable: bool,
    upstream_used: &mut Option<Arc<str>>,
) -> Result<(usize, &'p Arc<Backend>, Checkout<'p>), OAuthError> {
    let route = t.route;
    let mut tried: Vec<usize> = Vec::new();
    let mut busy = false;
    loop {
        let Some(i) = t.pool.pick(&tried) else {
            return Err(unhealthy_or_refused(route, tried.len(), busy));
        };
        tried.push(i);
        let Some(backend) = t.pool.get(i) else {
            continue;
        };
        *upstream_used = Some(backend.name.clone());
        match backend
            .connections
            .checkout(connector, &backend.target, route.connect_timeout)
            .await
        {
            Ok(c) => return Ok((i, backend, c)),
            Err(e) => {
                if matches!(e, SendError::Busy) {
                    // At the cap, every waiting request would say so: the metric and the 503
                    // tell it; the log stays quiet.
                    busy = true;
                    tracing::debug!(route = %route.name, upstream = %backend.url, "every upstream connection busy");
                } else {
                    t.pool.failed(i, Failure::Connect, t.caller, route.eject_on);
                    tracing::warn!(route = %route.name, upstream = %backend.url, error = %e, "upstream connect failed");
                }
                if retryable {
                    continue;
                }
                return Err(if busy {
                    unhealthy_or_refused(route, tried.len(), true)
                } else {
                    OAuthError::new(
                        Code::UpstreamConnect,
                        named(route, backend, "refused the connection"),
                    )
                });
            }
        }
    }
}

/// The upstream's answer, or what its failure was (counted against it unless the caller's
/// body was at fault).
fn answered(
    t: &Target<'_>,
    index: usize,
    backend: &Backend,
    sent: Result<Result<Response<Driven>, SendError>, tokio::time::error::Elapsed>,
    pace: BodyPace,
) -> Result<Response<Driven>, OAuthError> {
    let (route, caller) = (t.route, t.caller);
    match sent {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(SendError::Request(e))) if crate::pace::fell_behind(&e) => {
            // The caller's fault, not the upstream's: nothing is counted against it.
            Err(OAuthError::new(
                Code::RequestBodyTimeout,
                format!(
                    "the request body fell behind the pace the gateway allows ({}s, then {} bytes per second)",
                    pace.timeout.as_secs(),
                    pace.min_rate
                ),
            ))
        }
        Ok(Err(SendError::Connect(e))) => {
            t.pool
                .failed(index, Failure::Connect, caller, route.eject_on);
            Err(OAuthError::new(
                Code::UpstreamConnect,
                named(route, backend, &format!("refused the connection: {e}")),
            ))
        }
        Ok(Err(SendError::Busy)) => Err(unhealthy_or_refused(route, 1, true)),
        Ok(Err(SendError::Request(e))) => {
            t.pool
                .failed(index, Failure::ServerError, caller, route.eject_on);
            Err(OAuthError::new(
                Code::UpstreamConnect,
                named(route, backend, &format!("failed: {e}")),
            ))
        }
        Err(_) => {
            t.pool
                .failed(index, Failure::Timeout, caller, route.eject_on);
            Err(OAuthError::new(
                Code::UpstreamTimeout,
                named(
                    route,
                    backend,
                    &format!(
                        "sent no response within {}s",
                        route.response_timeout.as_secs()
                    ),
                ),
            ))
        }
    }
}

/// A 101: spliced only when this request asked for it and the upstream switched to what was
/// asked — a connection the gateway did not agree to is never handed over.
fn switch(
    route: &Route,
    backend: &Backend,
    mut response: Response<Driven>,
    upgrade: Option<(Upgrade, OwnedSemaphorePermit)>,
    caller_upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Result<Response<Body>, OAuthError> {
    let switched_to = response
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split('/').next().unwrap_or(v).trim().to_ascii_lowercase());
    let (Some((asked, permit)), Some(caller_io), Some(to)) = (upgrade, caller_upgrade, switched_to)
    else {
        return Err(OAuthError::new(
            Code::UpstreamProtocol,
            named(
                route,
                backend,
                "switched protocols, though the request did not ask it to",
            ),
        ));
    };
    if !asked.protocols.contains(&to) {
        return Err(OAuthError::new(
            Code::UpstreamProtocol,
            named(
                route,
                backend,
                &format!(
                    "switched to {}, though the request asked for {}",
                    quote(&to),
                    asked.protocols.join(", ")
                ),
            ),
        ));
    }
    let upstream_io = hyper::upgrade::on(&mut response);
    let bounds = crate::tunnel::Bounds {
        idle_timeout: route.tunnel_idle_timeout,
        max_lifetime: route.tunnel_max_lifetime,
    };
    tokio::spawn(crate::tunnel::splice(
        caller_io,
        upstream_io,
        bounds,
        permit,
    ));
    let (mut head, _) = response.into_parts();
    head.headers.remove(header::TRANSFER_ENCODING);
    Ok(Response::from_parts(
        head,
        crate::refuse::full(Bytes::new()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoofed_identity_and_hop_by_hop_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert("x-candor-subject", HeaderValue::from_static("admin"));
        h.insert("X-Candor-Scope", HeaderValue::from_static("everything"));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.insert(header::HOST, HeaderValue::from_static("api.example"));
        h.insert("x-app", HeaderValue::from_static("kept"));
        let origin = Origin {
            peer: [192, 0, 2, 1].into(),
            trusted: &[],
            scheme: "http",
            host: Some(HeaderValue::from_static("api.example")),
            upstream_authorization: None,
        };
        let out = upstream_headers(h.clone(), None, &origin, None);
        assert!(out.get("x-candor-subject").is_none());
        assert!(out.get("x-candor-scope").is_none());
        assert!(out.get("x-secret").is_none());
        assert!(out.get("keep-alive").is_none());
        assert!(out.get(header::CONNECTION).is_none());
        assert_eq!(
            out.get("x-forwarded-for").map(|v| v.as_bytes()),
            Some(&b"192.0.2.1"[..])
        );
        assert_eq!(
            out.get("x-forwarded-host").map(|v| v.as_bytes()),
            Some(&b"api.example"[..])
        );
        assert_eq!(out.get("x-app").map(|v| v.as_bytes()), Some(&b"kept"[..]));
        // Behind a trusted proxy the chain is extended, not replaced.
        let trusted = ["192.0.2.0/24".parse().unwrap_or_else(|_| IpNet::default())];
        let origin = Origin {
            peer: [192, 0, 2, 1].into(),
            trusted: &trusted,
            scheme: "http",
            host: Some(HeaderValue::from_static("api.example")),
            upstream_authorization: None,
        };
        let out = upstream_headers(h.clone(), None, &origin, None);
        assert_eq!(
            out.get("x-forwarded-for").map(|v| v.as_bytes()),
            Some(&b"6.6.6.6, 192.0.2.1"[..])
        );
    }

    #[test]
    fn every_spelling_an_upstream_folds_is_removed() {
        let mut h = HeaderMap::new();
        for name in [
            "x_candor_subject",
            "x-candor_subject",
            "x_candor-scope",
            "x-original-url",
            "x_rewrite_url",
            "x-http-method-override",
            "x-method-override",
            "x_forwarded_for",
            "x_forwarded_host",
            "x-real-ip",
            "x-forwarded-port",
            "x-forwarded-prefix",
            "true-client-ip",
        ] {
            h.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static("admin"),
            );
        }
        h.insert("x_app_header", HeaderValue::from_static("kept"));
        h.insert("x-forwarded-host", HeaderValue::from_static("evil.example"));
        let origin = Origin {
            peer: [192, 0, 2, 1].into(),
            trusted: &[],
            scheme: "http",
            host: None,
            upstream_authorization: None,
        };
        let out = upstream_headers(h.clone(), None, &origin, None);
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            vec!["x-forwarded-for", "x-forwarded-proto", "x_app_header"],
            "no Host: the caller's X-Forwarded-Host goes, none is made up"
        );
        // A trusted proxy's dash spellings are believed; its underscore ones never.
        let trusted = ["192.0.2.0/24".parse().unwrap_or_else(|_| IpNet::default())];
        let origin = Origin {
            trusted: &trusted,
            host: Some(HeaderValue::from_static("api.example")),
            ..origin
        };
        let out = upstream_headers(h, None, &origin, None);
        assert_eq!(
            out.get("x-forwarded-host").map(|v| v.as_bytes()),
            Some(&b"evil.example"[..])
        );
        assert!(out.get("x-real-ip").is_some());
        assert!(out.get("x_forwarded_for").is_none());
        assert!(out.get("x-candor_subject").is_none());
        assert!(out.get("x-original-url").is_none());
    }

    #[test]
    fn only_the_upgrades_a_route_names_are_made() {
        let allowed = vec!["websocket".to_string()];
        let ask = |connection: &str, upgrade: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::CONNECTION,
                HeaderValue::from_str(connection).unwrap(),
            );
            h.insert(header::UPGRADE, HeaderValue::from_str(upgrade).unwrap());
            requested_upgrade(&h, &allowed)
        };
        assert_eq!(
            ask("keep-alive, Upgrade", "WebSocket")
                .ok()
                .flatten()
                .map(|u| u.protocols),
            Some(vec!["websocket".to_string()])
        );
        assert_eq!(ask("Upgrade, HTTP2-Settings", "h2c").ok(), Some(None));
        assert_eq!(ask("close", "websocket").ok(), Some(None));
        assert_eq!(
            ask("upgrade", "h2c, websocket")
                .ok()
                .flatten()
                .map(|u| u.header),
            Some(HeaderValue::from_static("websocket"))
        );
        assert!(ask("upgrade", "tls/1.2").is_err());
        assert!(ask("upgrade", "websocket, x-tunnel").is_err());
        assert!(requested_upgrade(&HeaderMap::new(), &allowed).is_ok_and(|u| u.is_none()));
    }
}
