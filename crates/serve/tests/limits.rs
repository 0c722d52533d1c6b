//! The accept loop against real sockets: what a slow or silent peer can hold, and for how
//! long. Bounds are asserted loosely (a connection is closed at all, well within a generous
//! limit), never as timings.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Extension;
use axum::routing::get;
use candor_serve::{Limits, Peer, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far longer than any limit set below: a connection still open after this was not bounded.
const GENEROUS: Duration = Duration::from_secs(20);

fn limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(3),
        shutdown_grace: Duration::from_secs(5),
        ..Limits::default()
    }
}

async fn start(limits: Limits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/peer",
            get(|Extension(Peer(peer)): Extension<Peer>| async move { peer.ip().to_string() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "slow"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, None, app, limits, async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// Reads until the server closes the connection; what it sent, or `None` if it kept the
/// connection open past [`GENEROUS`].
async fn read_to_close(stream: &mut TcpStream) -> Option<String> {
    let mut all = Vec::new();
    let read = tokio::time::timeout(GENEROUS, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(buf.get(..n).unwrap_or_default()),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&all).into_owned())
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let (addr, _stop) = start(limits()).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    assert_eq!(read_to_close(&mut s).await.as_deref(), Some(""));
}

#[tokio::test]
async fn a_partial_or_dribbled_request_head_is_closed() {
    let (addr, _stop) = start(limits()).await;
    let mut partial = TcpStream::connect(addr).await.expect("connect");
    partial
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    assert!(read_to_close(&mut partial).await.is_some());

    // One byte every 100 ms never completes the head: the connection goes, however busy.
    let mut dribble = TcpStream::connect(addr).await.expect("connect");
    let closed = tokio::time::timeout(GENEROUS, async {
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().cycle() {
            if dribble.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "a dribbling peer kept its connection");

    // After a first request, a partial second head is bounded too.
    let mut second = TcpStream::connect(addr).await.expect("connect");
    second.write_all(GET).await.expect("write");
    second
        .write_all(b"GET / HTTP/1.1\r\n")
        .await
        .expect("write");
    let seen = read_to_close(&mut second).await.expect("closed");
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
}

#[tokio::test]
async fn idle_keep_alive_outlives_the_header_timeout_then_closes() {
    let (addr, _stop) = start(limits()).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(GET).await.expect("write");
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.expect("read");
    assert!(String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).starts_with("HTTP/1.1 200"));
    // Idle for three header timeouts, well inside the idle timeout: still served.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.write_all(GET).await.expect("write after idling");
    let n = s.read(&mut buf).await.expect("read");
    assert!(String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).starts_with("HTTP/1.1 200"));
    // Then left alone, it is closed.
    assert_eq!(read_to_close(&mut s).await.as_deref(), Some(""));
}

#[tokio::test]
async fn a_slow_handler_is_not_idle() {
    let (addr, _stop) = start(limits()).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let seen = read_to_close(&mut s).await.expect("closed");
    assert!(
        seen.starts_with("HTTP/1.1 200") && seen.ends_with("slow"),
        "{seen}"
    );
}

#[tokio::test]
async fn silent_peers_at_the_connection_cap_do_not_lock_others_out() {
    let (addr, _stop) = start(Limits {
        max_connections: 4,
        ..limits()
    })
    .await;
    let mut squatters = Vec::new();
    for _ in 0..8 {
        squatters.push(TcpStream::connect(addr).await.expect("connect"));
    }
    // Every slot is taken by a silent peer; a real request waits, then is served once the
    // silent ones are dropped.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let seen = read_to_close(&mut s).await.expect("served");
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    drop(squatters);
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    let (addr, _stop) = start(limits()).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let seen = read_to_close(&mut s).await.expect("served");
    assert!(seen.ends_with("127.0.0.1"), "{seen}");
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let (addr, stop) = start(limits()).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop.send(());
    let seen = read_to_close(&mut s).await.expect("closed");
    assert!(
        seen.starts_with("HTTP/1.1 200") && seen.ends_with("slow"),
        "{seen}"
    );
    // And nothing new is accepted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_on_threads_answers_from_each_and_drains_on_shutdown() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                // Which event loop answered; off the loops there is none.
                candor_serve::worker().map_or("none".to_string(), |w| w.to_string())
            }),
        )
        .route(
            "/slow",
            get(move || {
                let counter = counter.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(800)).await;
                    counter.fetch_add(1, Ordering::SeqCst);
                    "slow"
                }
            }),
        );
    assert_eq!(candor_serve::worker(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(candor_serve::serve_threads(
        listener,
        2,
        None,
        app,
        limits(),
        async move {
            let _ = rx.await;
        },
    ));
    // Many connections at once: each is answered by one of the two loops.
    let answers = futures_answers(addr, 40).await;
    assert_eq!(answers.len(), 40);
    assert!(answers.iter().all(|a| a == "0" || a == "1"), "{answers:?}");
    // A request in flight at shutdown still gets its answer; then serve_threads returns.
    let slow = tokio::spawn(async move {
        reqwest::get(format!("http://{addr}/slow"))
            .await
            .expect("slow")
            .text()
            .await
            .expect("body")
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = tx.send(());
    assert_eq!(slow.await.expect("join"), "slow");
    let finished = tokio::time::timeout(GENEROUS, server).await;
    assert!(matches!(finished, Ok(Ok(Ok(())))), "{finished:?}");
    assert_eq!(served.load(Ordering::SeqCst), 1);
    // Nobody accepts any more.
    assert!(TcpStream::connect(addr).await.is_err());
}

/// `n` requests to `/`, each on a connection of its own, at once.
async fn futures_answers(addr: SocketAddr, n: usize) -> Vec<String> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .build()
                    .expect("client");
                client
                    .get(format!("http://{addr}/"))
                    .send()
                    .await
                    .expect("send")
                    .text()
                    .await
                    .expect("body")
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("join"));
    }
    out
}
