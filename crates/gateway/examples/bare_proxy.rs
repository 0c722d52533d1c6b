//! The floor of the gateway's request path: `candor_serve::serve_threads` in front (one event
//! loop per CPU, as the gateway), the gateway's upstream connections behind
//! ([`candor_gateway::connections`]), and nothing between — no route, no token, no header
//! rewriting, no metrics. What the gateway's throughput reads
//! against in `bench/gateway/RESULTS.md`. Serves until killed.
//!
//!     cargo run --release -p candor-gateway --example bare_proxy -- LISTEN UPSTREAM
//!     # e.g. 127.0.0.1:8000 http://127.0.0.1:9001

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;

use candor_gateway::connections::{Connections, Connector, UpstreamBody};
use http_body_util::BodyExt;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let upstream: http::Uri = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:9001".into())
        .parse()
        .expect("upstream URL");
    let host = http::HeaderValue::from_str(upstream.authority().expect("authority").as_str())
        .expect("host");
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.set_nodelay(true);
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let connector: Connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let threads = candor_serve::default_threads();
    let shared = Arc::new((
        connector,
        upstream,
        host,
        Arc::new(Connections::new(threads, usize::MAX >> 4)),
    ));
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    println!(
        "bare_proxy listening on http://{}",
        listener.local_addr().expect("addr")
    );
    let service = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let shared = shared.clone();
        async move {
            let (connector, upstream, host, connections) = &*shared;
            let (mut parts, body) = req.into_parts();
            parts.headers.insert(http::header::HOST, host.clone());
            parts.uri = parts
                .uri
                .path_and_query()
                .map_or(http::Uri::from_static("/"), |pq| {
                    http::Uri::from(pq.clone())
                });
            // The gateway's body wrapper costs nothing until a body stalls: kept, as in the
            // gateway.
            let pace = candor_gateway::config::BodyPace {
                timeout: std::time::Duration::from_secs(20),
                min_rate: 500,
            };
            let body = candor_gateway::pace::Paced::new(body, pace);
            let req = http::Request::from_parts(parts, UpstreamBody::Left(body));
            let wait = std::time::Duration::from_secs(2);
            let response = match connections.checkout(connector, upstream, wait).await {
                Ok(c) => c.send(req).await.ok(),
                Err(_) => None,
            };
            Ok::<_, Infallible>(match response {
                Some(r) => r.map(|b| b.boxed_unsync()),
                None => {
                    let mut r = http::Response::new(
                        http_body_util::Empty::new()
                            .map_err(|never: Infallible| match never {})
                            .boxed_unsync(),
                    );
                    *r.status_mut() = http::StatusCode::BAD_GATEWAY;
                    r
                }
            })
        }
    });
    candor_serve::serve_threads(
        listener,
        threads,
        None,
        service,
        candor_serve::Limits::default(),
        std::future::pending(),
    )
    .await
    .expect("serve");
}
