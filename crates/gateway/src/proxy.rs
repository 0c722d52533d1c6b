//! Forwarding a request to a route's upstream and its response back: hop-by-hop headers
//! removed both ways, the caller's identity as `X-Candor-*` headers (any copies the caller sent
//! removed first), `X-Forwarded-*` appended, bodies streamed, upgrades (WebSocket) spliced,
//! a failed connect retried on another upstream for idempotent requests without a body.

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
use hyper_util::rt::TokioIo;
use ipnet::IpNet;

use crate::Body;
use crate::config::Route;
use crate::connections::{Connector, SendError};
use crate::identity::Identity;
use crate::upstream::Pool;

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

/// What the gateway knows of the request besides its headers.
pub struct Origin<'a> {
    pub peer: IpAddr,
    pub trusted: &'a [IpNet],
    /// `https` when the gateway's own listener is TLS.
    pub scheme: &'static str,
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
    let spoofed: Vec<HeaderName> = h
        .keys()
        .filter(|k| k.as_str().starts_with("x-candor-"))
        .cloned()
        .collect();
    for k in spoofed {
        h.remove(k);
    }
    let trusted_peer = origin.trusted.iter().any(|n| n.contains(&origin.peer));
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
    if !(trusted_peer && h.contains_key(X_FORWARDED_HOST))
        && let Some(host) = h.remove(header::HOST)
    {
        h.insert(X_FORWARDED_HOST, host);
    }
    h.remove(header::HOST);
    if !trusted_peer {
        h.remove(header::FORWARDED);
    }
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

/// The path and query sent upstream (origin form).
pub fn upstream_path(route: &Route, base: &str, uri: &Uri) -> Result<Uri, http::uri::InvalidUri> {
    let base = base.trim_end_matches('/');
    if !route.strip_prefix && base.is_empty() {
        // The common case: the caller's path and query as they came, no copy.
        return Ok(match uri.path_and_query() {
            Some(pq) => Uri::from(pq.clone()),
            None => Uri::from_static("/"),
        });
    }
    let path = uri.path();
    let rest = if route.strip_prefix {
        let stripped = path
            .strip_prefix(route.path_prefix.trim_end_matches('/'))
            .unwrap_or(path);
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

/// Forwards `req` on `route`; a refusal names why the upstream could not answer.
/// Forwards `req` to an upstream of `route`: the response (or why there is none), and which
/// upstream was tried last.
pub async fn forward(
    req: Request<Incoming>,
    route: &Route,
    pool: &Pool,
    connector: &Connector,
    identity: Option<&Identity>,
    origin: &Origin<'_>,
) -> (Result<Response<Body>, OAuthError>, Option<Arc<str>>) {
    let mut upstream = None;
    let result = forward_to(req, route, pool, connector, identity, origin, &mut upstream).await;
    (result, upstream)
}

async fn forward_to(
    mut req: Request<Incoming>,
    route: &Route,
    pool: &Pool,
    connector: &Connector,
    identity: Option<&Identity>,
    origin: &Origin<'_>,
    upstream_used: &mut Option<Arc<str>>,
) -> Result<Response<Body>, OAuthError> {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .filter(|_| {
            req.headers()
                .get_all(header::CONNECTION)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| {
                    v.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
                })
        })
        .cloned();
    let caller_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let retryable = idempotent(&parts.method) && !has_body(&parts.headers) && upgrade.is_none();
    let mut headers = upstream_headers(parts.headers, identity, origin, upgrade.as_ref());
    if let Some(trace) = parts.extensions.get::<candor_calls::trace::Trace>()
        && let Ok(v) = HeaderValue::from_str(&trace.traceparent())
    {
        // This call is a span of the caller's trace: the upstream's spans are its children.
        headers.insert(TRACEPARENT, v);
    }
    // A connect failure sent nothing: the request is built only once a connection is had.
    let mut tried: Vec<usize> = Vec::new();
    let (backend, checkout) = loop {
        let Some(i) = pool.pick(&tried) else {
            return Err(if tried.is_empty() {
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
                        "the upstreams of route {} refused the connection ({} tried)",
                        quote(&route.name),
                        tried.len()
                    ),
                )
            });
        };
        tried.push(i);
        let Some(backend) = pool.get(i) else {
            continue;
        };
        *upstream_used = Some(backend.name.clone());
        match backend
            .connections
            .checkout(connector, &backend.target)
            .await
        {
            Ok(c) => break (backend, c),
            Err(e) => {
                backend.failed();
                tracing::warn!(route = %route.name, upstream = %backend.url, error = %e, "upstream connect failed");
                if retryable {
                    continue;
                }
                return Err(OAuthError::new(
                    Code::UpstreamConnect,
                    format!(
                        "the upstream {} of route {} refused the connection",
                        quote(backend.url.as_str()),
                        quote(&route.name)
                    ),
                ));
            }
        }
    };
    let uri = upstream_path(route, backend.url.path(), &parts.uri)
        .map_err(|_| OAuthError::new(Code::RouteNotFound, "the upstream URL cannot be built"))?;
    // The upstream's own name, as nginx's proxy_pass sends it; the caller's Host travels as
    // X-Forwarded-Host.
    headers.insert(header::HOST, backend.host.clone());
    let mut upstream_req = Request::new(Either::Left(body));
    *upstream_req.method_mut() = parts.method;
    *upstream_req.uri_mut() = uri;
    *upstream_req.headers_mut() = headers;
    backend.in_flight.fetch_add(1, Ordering::Relaxed);
    let sent = tokio::time::timeout(route.response_timeout, checkout.send(upstream_req)).await;
    backend.in_flight.fetch_sub(1, Ordering::Relaxed);
    match sent {
        Ok(Ok(mut response)) => {
            if response.status().is_server_error() {
                backend.failed();
            } else {
                backend.succeeded();
            }
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                if let Some(caller) = caller_upgrade {
                    let upstream = hyper::upgrade::on(&mut response);
                    tokio::spawn(async move {
                        if let (Ok(a), Ok(b)) = (caller.await, upstream.await) {
                            let mut a = TokioIo::new(a);
                            let mut b = TokioIo::new(b);
                            let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
                        }
                    });
                }
                let (mut head, _) = response.into_parts();
                head.headers.remove(header::TRANSFER_ENCODING);
                return Ok(Response::from_parts(
                    head,
                    crate::refuse::full(Bytes::new()),
                ));
            }
            let (mut head, body) = response.into_parts();
            strip_hop_by_hop(&mut head.headers);
            Ok(Response::from_parts(
                head,
                body.map_err(|e| -> crate::BoxError { Box::new(e) })
                    .boxed_unsync(),
            ))
        }
        Ok(Err(SendError::Connect(e))) => {
            backend.failed();
            Err(OAuthError::new(
                Code::UpstreamConnect,
                format!(
                    "the upstream {} of route {} refused the connection: {e}",
                    quote(backend.url.as_str()),
                    quote(&route.name)
                ),
            ))
        }
        Ok(Err(SendError::Request(e))) => {
            backend.failed();
            Err(OAuthError::new(
                Code::UpstreamConnect,
                format!(
                    "the upstream {} of route {} failed: {e}",
                    quote(backend.url.as_str()),
                    quote(&route.name)
                ),
            ))
        }
        Err(_) => {
            backend.failed();
            Err(OAuthError::new(
                Code::UpstreamTimeout,
                format!(
                    "the upstream {} of route {} sent no response within {}s",
                    quote(backend.url.as_str()),
                    quote(&route.name),
                    route.response_timeout.as_secs()
                ),
            ))
        }
    }
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
            upstream_authorization: None,
        };
        let out = upstream_headers(h.clone(), None, &origin, None);
        assert_eq!(
            out.get("x-forwarded-for").map(|v| v.as_bytes()),
            Some(&b"6.6.6.6, 192.0.2.1"[..])
        );
    }
}
