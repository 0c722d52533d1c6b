//! The gateway under attack: each finding of the adversarial review (issue 18) as a black-box
//! test against the real gateway, real upstreams that read requests the way real servers do
//! (a decoding, case-folding, matrix-dropping one; a CGI-style one; one that switches protocols
//! unasked), real floods and real slow callers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use candor_proto::access_token::Format;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

use common::*;

/// Sends `request` byte for byte (a client would normalise what matters here) and reads the
/// answer to its end: the status and the body.
async fn raw(base: &str, request: &str) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: api.example\r\n{extra}Connection: close\r\n\r\n")
}

/// How a permissive Java or PHP server reads a path: matrix parameters dropped from every
/// segment, percent-decoded (twice, as some filters do), case folded, dot segments resolved.
fn loosest_reading(path: &str) -> String {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 2 < b.len() + 1
                && let Some(h) = s.get(i + 1..i + 3)
                && let Ok(v) = u8::from_str_radix(h, 16)
            {
                out.push(v);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    let stripped: Vec<&str> = path
        .split('/')
        .map(|s| s.split(';').next().unwrap_or(""))
        .collect();
    let decoded = decode(&decode(&stripped.join("/"))).replace('\\', "/");
    let mut out: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/")).to_ascii_lowercase()
}

/// An upstream that says which path it serves, read the loosest way.
async fn decoding_upstream() -> SocketAddr {
    serve_router(Router::new().fallback(any(|req: Request| async move {
        let raw = req.uri().path().to_string();
        axum::Json(json!({ "raw": raw, "read": loosest_reading(&raw) }))
    })))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoded_or_folded_path_never_reaches_what_its_route_forbids() {
    let issuer = Issuer::start(Backend::Sqlite).await.unwrap();
    let upstream = decoding_upstream().await;
    let g = gateway(&format!(
        "{}{}{}",
        issuer_toml(&issuer, ""),
        route_toml("all", "/", upstream, "scopes = [\"orders:read\"]"),
        route_toml(
            "admin",
            "/admin",
            upstream,
            "scopes = [\"admin\"]\nmatch = { path_prefix = \"/admin\", case_insensitive = true }"
        )
        .replace("match = { path_prefix = \"/admin\" }\n", "")
    ))
    .await;
    let (id, secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let token = issuer.token(&id, &secret, "orders:read").await;
    let auth = format!("Authorization: Bearer {token}\r\n");
    // (path, the status the gateway must answer)
    let attacks = [
        ("/%61dmin/users", 403),
        ("/adm%69n/users", 403),
        ("/admi%6E", 403),
        ("/ADMIN/users", 403),
        ("/Admin", 403),
        ("/orders/../admin/users", 403),
        ("/orders/%2e%2e/admin", 403),
        ("/admin;x=1/users", 400),
        ("/..;/admin/users", 400),
        ("/orders/..;/admin", 400),
        ("/x/..%2Fadmin", 400),
        ("/admin%2Fusers", 400),
        ("/%2561dmin/users", 400),
        ("/orders%5C..%5Cadmin", 400),
        ("//admin/users", 400),
        ("/orders/%00", 400),
    ];
    for (path, want) in attacks {
        let (status, body) = raw(&g.base, &get(path, &auth)).await;
        assert_eq!(status, want, "{path}: {body}");
        if status == 200 {
            let seen: Value = serde_json::from_str(&body).unwrap();
            assert!(
                !seen["read"].as_str().unwrap_or("").starts_with("/admin"),
                "{path} reached the admin area: {body}"
            );
        }
    }
    // What the route allows goes through, and the upstream is sent what the route matched.
    let (status, body) = raw(&g.base, &get("/%6Frders/%7E1/./x", &auth)).await;
    assert_eq!(status, 200, "{body}");
    let seen: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(seen["raw"], "/orders/~1/x");
    let (status, body) = raw(&g.base, &get("/orders/a%2cb", &auth)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["raw"],
        "/orders/a%2Cb"
    );
}

/// An upstream that reads headers as CGI, WSGI, PHP and Rack do: `HTTP_` + the name upper-cased
/// with `-` as `_`, the last of two spellings winning.
async fn cgi_upstream() -> SocketAddr {
    serve_router(Router::new().fallback(any(|req: Request| async move {
        let mut environ = serde_json::Map::new();
        for (k, v) in req.headers() {
            let key = format!("HTTP_{}", k.as_str().to_ascii_uppercase().replace('-', "_"));
            environ.insert(key, json!(v.to_str().unwrap_or("?")));
        }
        axum::Json(Value::Object(environ))
    })))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spelling_of_an_identity_or_forwarding_header_reaches_a_cgi_upstream() {
    let issuer = Issuer::start(Backend::Sqlite).await.unwrap();
    let upstream = cgi_upstream().await;
    let g = gateway(&format!(
        "{}{}",
        issuer_toml(&issuer, ""),
        route_toml("open", "/", upstream, "auth = \"optional\"")
    ))
    .await;
    let spoofs = [
        ("X_Candor_Subject", "admin"),
        ("X-Candor_Subject", "admin"),
        ("x_candor-scope", "everything"),
        ("X_CANDOR_ISSUER", "https://evil.example"),
        ("X_Forwarded_For", "10.0.0.1"),
        ("X-Real-IP", "10.0.0.1"),
        ("X_Forwarded_Host", "evil.example"),
        ("X-Original-URL", "/admin"),
        ("X_Rewrite_URL", "/admin"),
        ("X-HTTP-Method-Override", "DELETE"),
    ];
    let (id, secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let token = issuer.token(&id, &secret, "orders:read").await;
    for bearer in [None, Some(token.as_str())] {
        let a = call(
            reqwest::Method::GET,
            &format!("{}/x", g.base),
            bearer,
            &spoofs,
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        let env = &a.body;
        match bearer {
            None => {
                assert!(env.get("HTTP_X_CANDOR_SUBJECT").is_none(), "{env}");
                assert!(env.get("HTTP_X_CANDOR_SCOPE").is_none(), "{env}");
                assert!(env.get("HTTP_X_CANDOR_ISSUER").is_none(), "{env}");
            }
            Some(_) => {
                assert_eq!(env["HTTP_X_CANDOR_SUBJECT"], id.as_str(), "{env}");
                assert_eq!(env["HTTP_X_CANDOR_SCOPE"], "orders:read", "{env}");
            }
        }
        assert_eq!(env["HTTP_X_FORWARDED_FOR"], "127.0.0.1", "{env}");
        assert!(env.get("HTTP_X_REAL_IP").is_none(), "{env}");
        assert!(env.get("HTTP_X_ORIGINAL_URL").is_none(), "{env}");
        assert!(env.get("HTTP_X_REWRITE_URL").is_none(), "{env}");
        assert!(env.get("HTTP_X_HTTP_METHOD_OVERRIDE").is_none(), "{env}");
        assert_ne!(env["HTTP_X_FORWARDED_HOST"], "evil.example", "{env}");
    }
    // No Host header (HTTP/1.0): the caller's X-Forwarded-Host does not pass for it.
    let (status, body) = raw(
        &g.base,
        "GET /x HTTP/1.0\r\nX-Forwarded-Host: evil.example\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("evil.example"), "{body}");
    // HTTP/2 carries the host as :authority: that is what the upstream is told.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let env: Value = h2
        .get(format!("{}/x", g.base))
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        env["HTTP_X_FORWARDED_HOST"],
        g.base.trim_start_matches("http://"),
        "{env}"
    );
}

/// An upstream that answers every request with 101 and then echoes bytes: an h2c server that
/// takes any upgrade, or a broken one.
async fn switching_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if s.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let _ = s
                    .write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
                    .await;
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_the_route_does_not_name_opens_no_tunnel() {
    let (echo, _e) = echo_upstream(None).await;
    let switching = switching_upstream().await;
    let g = gateway(&format!(
        "{}{}{}",
        route_toml("echo", "/", echo, "auth = \"none\""),
        route_toml("switching", "/switch", switching, "auth = \"none\""),
        route_toml("plain", "/plain", echo, "auth = \"none\"\nupgrades = []"),
    ))
    .await;
    let h2c = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n";
    // h2c is never honoured: the request is served as HTTP/1.1, the upstream asked nothing.
    let (status, body) = raw(&g.base, &get("/x", h2c)).await;
    assert_eq!(status, 200, "{body}");
    let seen: Value = serde_json::from_str(&body).unwrap();
    assert!(seen["headers"].get("upgrade").is_none(), "{seen}");
    assert!(seen["headers"].get("http2-settings").is_none(), "{seen}");
    // An upstream that switches anyway is not spliced to the caller.
    let (status, body) = raw(&g.base, &get("/switch/x", h2c)).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("upstream.protocol"), "{body}");
    let ws = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let (status, body) = raw(&g.base, &get("/switch/x", ws)).await;
    assert_eq!(status, 502, "asked websocket, got h2c: {body}");
    // A route that names no upgrade refuses one, with the diagnosis.
    let (status, body) = raw(&g.base, &get("/plain/x", ws)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("route.upgrade_not_allowed"), "{body}");
    let (status, body) = raw(
        &g.base,
        &get("/x", "Connection: Upgrade\r\nUpgrade: x-tunnel\r\n"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // CONNECT is not forwarded.
    let (status, body) = raw(
        &g.base,
        "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n",
    )
    .await;
    assert_eq!(status, 405, "{body}");
}

async fn websocket_upstream() -> SocketAddr {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    serve_router(
        Router::new().fallback(any(|ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|mut socket| async move {
                while let Some(Ok(msg)) = socket.recv().await {
                    if let Message::Text(t) = msg {
                        let _ = socket.send(Message::Text(t)).await;
                    }
                }
            })
        })),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnels_are_capped_and_idle_out_and_end_at_their_lifetime() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let upstream = websocket_upstream().await;
    let (echo, _e) = echo_upstream(None).await;
    let g = gateway(&format!(
        "max_connections = 16\nmax_tunnels = 3\n{}{}{}",
        route_toml(
            "ws",
            "/ws",
            upstream,
            "auth = \"none\"\ntunnel = { idle_timeout = \"1s\" }"
        ),
        route_toml(
            "short",
            "/short",
            upstream,
            "auth = \"none\"\ntunnel = { idle_timeout = \"10s\", max_lifetime = \"1s\" }"
        ),
        route_toml("http", "/", echo, "auth = \"none\""),
    ))
    .await;
    let url = |p: &str| format!("{}{p}", g.base.replace("http://", "ws://"));
    let mut open = Vec::new();
    for _ in 0..3 {
        let (socket, r) = tokio_tungstenite::connect_async(url("/ws")).await.unwrap();
        assert_eq!(r.status(), 101);
        open.push(socket);
    }
    match tokio_tungstenite::connect_async(url("/ws")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), 503);
            let body = String::from_utf8_lossy(r.body().as_deref().unwrap_or(&[])).to_string();
            assert!(body.contains("gateway.tunnels_exhausted"), "{body}");
        }
        other => panic!("a fourth tunnel: {other:?}"),
    }
    // Ordinary requests are still served beside them.
    let a = call(reqwest::Method::GET, &format!("{}/x", g.base), None, &[]).await;
    assert_eq!(a.status, 200);
    // A tunnel in use lives; idle ones close after idle_timeout and give their slot back.
    open[0].send(Message::Text("ping".into())).await.unwrap();
    assert_eq!(
        open[0]
            .next()
            .await
            .unwrap()
            .unwrap()
            .into_text()
            .unwrap()
            .as_str(),
        "ping"
    );
    for socket in &mut open {
        let end = tokio::time::timeout(Duration::from_secs(5), socket.next()).await;
        assert!(
            matches!(end, Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_))))),
            "{end:?}"
        );
    }
    let (mut fresh, _) = tokio_tungstenite::connect_async(url("/ws")).await.unwrap();
    fresh.send(Message::Text("again".into())).await.unwrap();
    assert!(fresh.next().await.unwrap().is_ok());
    drop(fresh);
    // A busy tunnel still ends at its lifetime.
    let (mut short, _) = tokio_tungstenite::connect_async(url("/short"))
        .await
        .unwrap();
    let started = Instant::now();
    let ended = loop {
        if started.elapsed() > Duration::from_secs(6) {
            break false;
        }
        if short.send(Message::Text("x".into())).await.is_err() {
            break true;
        }
        let answer = tokio::time::timeout(Duration::from_millis(300), short.next()).await;
        if let Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) = answer {
            break true;
        }
    };
    assert!(ended, "a tunnel outlived its max_lifetime");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

/// An upstream that counts the requests it serves at once (each upstream connection carries
/// one at a time, so this is the connections the gateway keeps busy; their closing reaches the
/// upstream later than the gateway's next connect, so open sockets are not counted), and
/// answers after `delay` (3 s on `/slow`).
async fn counting_upstream(delay: Duration) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let busy = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let most_out = most.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let busy = busy.clone();
            let most = most.clone();
            let service = hyper::service::service_fn(move |req: http::Request<_>| {
                let busy = busy.clone();
                let most = most.clone();
                async move {
                    let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let wait = if req.uri().path() == "/slow" {
                        Duration::from_secs(3)
                    } else {
                        delay
                    };
                    tokio::time::sleep(wait).await;
                    busy.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                    ))
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(s), service)
                    .await;
            });
        }
    });
    (addr, most_out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_cannot_multiply_upstream_connections_past_the_cap() {
    let (upstream, most) = counting_upstream(Duration::from_millis(100)).await;
    let g = gateway(&format!(
        "[[gateway.routes]]\nname = \"capped\"\nauth = \"none\"\nupstreams = [{{ url = \"http://{upstream}\", max_connections = 4 }}]\ntimeouts = {{ connect = \"20s\" }}\n\
         [[gateway.routes]]\nname = \"tight\"\nauth = \"none\"\nmatch = {{ path_prefix = \"/tight\" }}\nstrip_prefix = true\nupstreams = [{{ url = \"http://{upstream}\", max_connections = 1 }}]\ntimeouts = {{ connect = \"300ms\" }}\n"
    ))
    .await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut calls = Vec::new();
    for _ in 0..4 {
        for i in 0..32 {
            let h2 = h2.clone();
            let url = format!("{}/r{i}", g.base);
            calls.push(tokio::spawn(async move {
                let r = h2.get(url).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap_or_default())
            }));
        }
    }
    for c in calls {
        let (status, body) = c.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let most = most.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "{most} upstream requests at once");
    // Past the cap and its wait: 503 upstream.busy, and nothing was sent.
    let slow = {
        let url = format!("{}/tight/slow", g.base);
        tokio::spawn(async move { reqwest::get(url).await.unwrap().status().as_u16() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let a = call(
        reqwest::Method::GET,
        &format!("{}/tight/x", g.base),
        None,
        &[],
    )
    .await;
    refused(&a, 503, "upstream.busy");
    assert_eq!(slow.await.unwrap(), 200);
}

/// An upstream whose `/boom` answers 500 (the caller chooses to fail), everything else 200.
async fn flaky_upstream() -> SocketAddr {
    serve_router(
        Router::new()
            .route(
                "/boom",
                any(|| async { (http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
            )
            .fallback(any(|| async { "ok" })),
    )
    .await
}

async fn available(admin: &str, route: &str) -> Vec<u8> {
    let metrics = reqwest::get(format!("{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("candor_gateway_upstream_available{")
                && l.contains(&format!("route=\"{route}\""))
        })
        .map(|l| if l.ends_with(" 1") { 1 } else { 0 })
        .collect()
}

/// The status of a GET from `local`; 0 when the gateway closed the connection instead.
async fn from(local: [u8; 4], url: &str) -> u16 {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(local))
        .build()
        .unwrap();
    match client.get(url).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_cannot_eject_a_routes_upstreams() {
    let (a, b) = (flaky_upstream().await, flaky_upstream().await);
    let two = |name: &str, prefix: &str, extra: &str| {
        format!(
            "[[gateway.routes]]\nname = \"{name}\"\nauth = \"none\"\nstrip_prefix = true\nmatch = {{ path_prefix = \"{prefix}\" }}\nupstreams = [{{ url = \"http://{a}\" }}, {{ url = \"http://{b}\" }}]\n{extra}\n"
        )
    };
    let g = gateway(&format!(
        "{}{}[[gateway.routes]]\nname = \"only\"\nauth = \"none\"\nstrip_prefix = true\nmatch = {{ path_prefix = \"/only\" }}\nupstreams = [{{ url = \"http://{a}\" }}]\neject_on = [\"connect\", \"5xx\", \"timeout\"]\n",
        two("default", "/default", ""),
        two("strict", "/strict", "eject_on = [\"connect\", \"5xx\"]"),
    ))
    .await;
    // By default 5xx answers eject nothing: they are the caller's to provoke.
    for _ in 0..30 {
        assert_eq!(
            from([127, 0, 0, 1], &format!("{}/default/boom", g.base)).await,
            500
        );
    }
    assert_eq!(available(&g.admin, "default").await, vec![1, 1]);
    // Counted where the route asks, but one caller alone ejects nothing…
    for _ in 0..30 {
        assert_eq!(
            from([127, 0, 0, 1], &format!("{}/strict/boom", g.base)).await,
            500
        );
    }
    assert_eq!(available(&g.admin, "strict").await, vec![1, 1]);
    // …several callers do, and never the last upstream in rotation.
    for i in 0..40u8 {
        let _ = from([127, 0, 0, 2 + i % 4], &format!("{}/strict/boom", g.base)).await;
    }
    let left = available(&g.admin, "strict").await;
    assert_eq!(left.iter().sum::<u8>(), 1, "{left:?}");
    for _ in 0..10 {
        assert_eq!(
            from([127, 0, 0, 9], &format!("{}/strict/ok", g.base)).await,
            200
        );
    }
    for i in 0..40u8 {
        let _ = from([127, 0, 0, 2 + i % 4], &format!("{}/only/boom", g.base)).await;
    }
    assert_eq!(available(&g.admin, "only").await, vec![1]);
    assert_eq!(
        from([127, 0, 0, 9], &format!("{}/only/ok", g.base)).await,
        200
    );
}

/// An upstream that reads every body to its end and answers with its length.
async fn reading_upstream() -> SocketAddr {
    serve_router(Router::new().fallback(any(
        |body: bytes::Bytes| async move { body.len().to_string() },
    )))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dribbling_body_is_cut_off_and_one_address_cannot_take_every_slot() {
    let upstream = reading_upstream().await;
    let g = gateway(&format!(
        "max_connections = 8\nmax_connections_per_address = 4\nbody_read_timeout = \"1s\"\nbody_min_rate = 1000\n{}",
        route_toml("open", "/", upstream, "auth = \"none\"")
    ))
    .await;
    let addr = g.base.trim_start_matches("http://").to_string();
    // A body that dribbles: one byte every 400 ms of the 1000 announced. (It is cut off
    // after about a second; the 10 s bound below is for a gateway that never cuts it.)
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        .await
        .unwrap();
    let (mut r, mut w) = s.into_split();
    let dribble = tokio::spawn(async move {
        for _ in 0..100 {
            if w.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), r.read_to_end(&mut answer)).await;
    dribble.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request.body_timeout"), "{answer}");
    // A body at network speed is not held to anything.
    let big = vec![b'x'; 2_000_000];
    let r = reqwest::Client::new()
        .post(format!("{}/upload", g.base))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Four connections from one address, each known to the gateway (it answered a request on
    // it and keeps it open); the fifth is closed at once, other addresses still come in.
    // (The connections of the steps above may still count for a moment after they close.)
    drop(r);
    let mut held = Vec::new();
    for _ in 0..100 {
        match answered_and_kept(&addr).await {
            Some(s) => held.push(s),
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        if held.len() == 4 {
            break;
        }
    }
    assert_eq!(
        held.len(),
        4,
        "four connections from one address are allowed"
    );
    let mut fifth = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = fifth.write_all(get("/x", "").as_bytes()).await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), fifth.read_to_end(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the fifth connection: {read:?} {}",
        String::from_utf8_lossy(&buf)
    );
    assert_eq!(from([127, 0, 0, 2], &format!("{}/x", g.base)).await, 200);
    // Once they close, the address gets its share back (as soon as the gateway has seen them go).
    drop(held);
    let mut status = 0;
    for _ in 0..50 {
        status = from([127, 0, 0, 1], &format!("{}/x", g.base)).await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}

/// A connection on which the gateway has answered one request and that it keeps open;
/// `None` when the gateway closed it instead.
async fn answered_and_kept(addr: &str) -> Option<tokio::net::TcpStream> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /x HTTP/1.1\r\nHost: api.example\r\n\r\n")
        .await
        .ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    // The body: one digit, the length of no body.
    s.read_exact(&mut byte).await.ok()?;
    Some(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_accepts_only_its_issuers_and_sends_opaque_tokens_only_to_them() {
    let trusted = Issuer::start(Backend::Sqlite).await.unwrap();
    let other = Issuer::start(Backend::Sqlite).await.unwrap();
    let (upstream, _u) = echo_upstream(None).await;
    let mut toml = String::new();
    for (n, i) in [&trusted, &other].into_iter().enumerate() {
        let (id, secret) = i.client(&[], Format::Jwt).await;
        let file = i._dir.path().join(format!("introspect-{n}.secret"));
        std::fs::write(&file, &secret).unwrap();
        toml.push_str(&issuer_toml(
            i,
            &format!(
                "introspection = {{ client_id = \"{id}\", client_secret_file = \"{}\" }}",
                file.display()
            ),
        ));
    }
    toml.push_str(&route_toml(
        "admin",
        "/admin",
        upstream,
        &format!("scopes = [\"admin\"]\nissuers = [\"{}\"]", trusted.base),
    ));
    toml.push_str(&route_toml("any", "/", upstream, "scopes = [\"admin\"]"));
    let g = gateway(&toml).await;
    let (id, secret) = other.client(&["admin"], Format::Jwt).await;
    let foreign = other.token(&id, &secret, "admin").await;
    // The other issuer's admin opens the route that accepts every issuer…
    let a = call(
        reqwest::Method::GET,
        &format!("{}/x", g.base),
        Some(&foreign),
        &[],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    // …but not the one meant for the first issuer's admins, even once remembered.
    let a = call(
        reqwest::Method::GET,
        &format!("{}/admin/x", g.base),
        Some(&foreign),
        &[],
    )
    .await;
    refused(&a, 401, "token.issuer");
    let (id, secret) = trusted.client(&["admin"], Format::Jwt).await;
    let own = trusted.token(&id, &secret, "admin").await;
    let a = call(
        reqwest::Method::GET,
        &format!("{}/admin/x", g.base),
        Some(&own),
        &[],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    // An opaque token on the first issuer's route is asked of the first issuer only.
    let (id, secret) = other.client(&["admin"], Format::Opaque).await;
    let opaque = other.token(&id, &secret, "admin").await;
    let a = call(
        reqwest::Method::GET,
        &format!("{}/admin/x", g.base),
        Some(&opaque),
        &[],
    )
    .await;
    refused(&a, 401, "token.unknown");
    let metrics = reqwest::get(format!("{}/metrics", g.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let asked = |iss: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("candor_gateway_introspections_total{")
                    && l.contains(&format!("issuer=\"{iss}\""))
            })
            .map(|l| l.rsplit(' ').next().unwrap_or("").to_string())
    };
    assert_eq!(asked(&other.base).as_deref(), Some("0"), "{metrics}");
    assert_eq!(asked(&trusted.base).as_deref(), Some("1"), "{metrics}");
    // `gateway check` warns about the route that takes scopes from every issuer.
    let config = candor_gateway::config::File::from_toml(&format!("[gateway]\n{toml}"))
        .and_then(|f| f.validate())
        .unwrap();
    let warnings = config.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("route 'any'"), "{warnings:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_deny_set_and_the_keys_through_an_issuer_outage() {
    let issuer = Issuer::start(Backend::Sqlite).await.unwrap();
    let (upstream, _u) = echo_upstream(None).await;
    let (feed_id, feed_secret) = issuer
        .client(&[candor_server::feed::FEED_SCOPE], Format::Jwt)
        .await;
    // Beside the issuer's files, not among them: the issuer and its directory go away.
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("feed.secret");
    std::fs::write(&secret_file, &feed_secret).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let text = format!(
        "[gateway]\nlisten = \"{}\"\nthreads = 2\n{}{}",
        listener.local_addr().unwrap(),
        issuer_toml(
            &issuer,
            &format!(
                "revocation_feed = {{ client_id = \"{feed_id}\", client_secret_file = \"{}\", max_feed_lag = \"1s\", on_stale = \"accept\" }}",
                secret_file.display()
            )
        ),
        route_toml("orders", "/", upstream, "")
    );
    let config = candor_gateway::config::File::from_toml(&text)
        .and_then(|f| f.validate())
        .unwrap();
    let gw = candor_gateway::Gateway::start(&config, None, None)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    {
        let gw = gw.clone();
        let limits = config.limits.clone();
        tokio::spawn(async move {
            gw.serve(listener, None, None, limits, async move {
                let _ = stopped.await;
            })
            .await
        });
    }
    let (id, secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let revoked = issuer.token(&id, &secret, "orders:read").await;
    let valid = issuer.token(&id, &secret, "orders:read").await;
    for t in [&revoked, &valid] {
        let a = call(reqwest::Method::GET, &format!("{base}/x"), Some(t), &[]).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    revoke(&issuer, &id, &secret, &revoked).await;
    eventually(
        &format!("{base}/x"),
        Some(&revoked),
        401,
        Duration::from_secs(5),
    )
    .await;
    // The issuer goes away (feed and JWKS with it); the gateway is reloaded meanwhile.
    drop(issuer);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    gw.reload(&config).await.unwrap();
    let a = call(
        reqwest::Method::GET,
        &format!("{base}/x"),
        Some(&revoked),
        &[],
    )
    .await;
    refused(&a, 401, "token.revoked");
    // A token not yet seen by this state, verified with the keys carried over.
    let a = call(
        reqwest::Method::GET,
        &format!("{base}/y"),
        Some(&valid),
        &[],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_are_read_as_the_target_names_them() {
    let (a, _a) = echo_upstream(None).await;
    let (b, _b) = echo_upstream(None).await;
    let g = gateway(&format!(
        "{}[[gateway.routes]]\nname = \"api\"\nauth = \"none\"\nmatch = {{ host = \"api.example\" }}\nupstreams = [{{ url = \"http://{b}\" }}]\n",
        route_toml("generic", "/", a, "auth = \"none\""),
    ))
    .await;
    // (request target, Host header, the upstream that must answer)
    let cases = [
        // A fully qualified name is the same host.
        ("/x", "api.example.", b),
        // An absolute-form target names the host; Host is ignored (RFC 9112 §3.2.2).
        ("http://api.example/x", "other.example", b),
        ("http://other.example/x", "api.example", a),
    ];
    for (target, host, upstream) in cases {
        let (status, body) = raw(
            &g.base,
            &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status, 200, "{target} {host}: {body}");
        let seen = serde_json::from_str::<Value>(&body).unwrap()["headers"]["host"].clone();
        assert_eq!(seen, upstream.to_string(), "{target} {host}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_key_rotation_is_accepted_at_once_with_the_default_refetch_bound() {
    let issuer = Issuer::start(Backend::Sqlite).await.unwrap();
    let (upstream, _u) = echo_upstream(None).await;
    // The default jwks_min_refetch (30 s): the keys were fetched a moment ago.
    let g = gateway(&format!(
        "{}{}",
        issuer_toml(&issuer, "").replace("jwks_min_refetch = \"0s\"\n", ""),
        route_toml("orders", "/", upstream, "")
    ))
    .await;
    let (id, secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let before = issuer.token(&id, &secret, "orders:read").await;
    let url = format!("{}/x", g.base);
    assert_eq!(
        call(reqwest::Method::GET, &url, Some(&before), &[])
            .await
            .status,
        200
    );
    issuer.rotate_now().await;
    let after = issuer.token(&id, &secret, "orders:read").await;
    let a = call(reqwest::Method::GET, &url, Some(&after), &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_link_only_to_pages_that_exist() {
    let issuer = Issuer::start(Backend::Sqlite).await.unwrap();
    let (upstream, _u) = echo_upstream(None).await;
    let route = route_toml("orders", "/", upstream, "");
    // In front of an issuer that is not known to be a Candor server, without docs_url: no
    // error_uri (another provider has no /docs/errors pages), the diagnosis still named.
    let g = gateway_exact(&format!("{}{route}", issuer_toml(&issuer, ""))).await;
    let a = call(
        reqwest::Method::GET,
        &format!("{}/x", g.base),
        Some("junk"),
        &[],
    )
    .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["diagnosis"], "token.malformed");
    assert!(a.body.get("error_uri").is_none(), "{}", a.body);
    let challenge = a.headers["www-authenticate"].to_str().unwrap();
    assert!(!challenge.contains("error_uri"), "{challenge}");
    // A Candor issuer (it has a revocation feed): its own pages, which answer.
    let (feed_id, feed_secret) = issuer
        .client(&[candor_server::feed::FEED_SCOPE], Format::Jwt)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("feed.secret");
    std::fs::write(&secret_file, &feed_secret).unwrap();
    let feed = format!(
        "revocation_feed = {{ client_id = \"{feed_id}\", client_secret_file = \"{}\" }}",
        secret_file.display()
    );
    let g = gateway_exact(&format!("{}{route}", issuer_toml(&issuer, &feed))).await;
    let a = call(
        reqwest::Method::GET,
        &format!("{}/x", g.base),
        Some("junk"),
        &[],
    )
    .await;
    let uri = a.body["error_uri"].as_str().unwrap().to_string();
    assert_eq!(uri, format!("{}/docs/errors/token.malformed", issuer.base));
    let page = reqwest::get(&uri).await.unwrap();
    assert_eq!(page.status(), 200, "{uri}");
    // docs_url wins.
    let g = gateway_exact(&format!(
        "docs_url = \"https://candor.example/docs/errors/\"\n{}{route}",
        issuer_toml(&issuer, &feed)
    ))
    .await;
    let a = call(
        reqwest::Method::GET,
        &format!("{}/x", g.base),
        Some("junk"),
        &[],
    )
    .await;
    assert_eq!(
        a.body["error_uri"],
        "https://candor.example/docs/errors/token.malformed"
    );
}
