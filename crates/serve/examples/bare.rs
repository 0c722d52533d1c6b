//! A handler that does nothing but answer `200 ok`, served by `candor_serve::serve` (the accept
//! loop the server and the gateway use): the ceiling of any Candor endpoint's throughput on a
//! machine. Prints its address, then serves until killed.
//!
//!     cargo run --release -p candor-serve --example bare [ADDR]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!(
        "bare listening on http://{}",
        listener.local_addr().expect("addr")
    );
    let service = tower::service_fn(|_req: http::Request<hyper::body::Incoming>| async {
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok\n"))))
    });
    candor_serve::serve(
        listener,
        None,
        service,
        candor_serve::Limits::default(),
        std::future::pending(),
    )
    .await
    .expect("serve");
}
