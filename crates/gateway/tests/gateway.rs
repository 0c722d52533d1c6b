//! The real gateway in front of real upstream HTTP servers, with a real Candor server as the
//! issuer (on SQLite and on PostgreSQL), over real sockets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use candor_proto::access_token::Format;
use serde_json::{Value, json};

mod common;

use common::*;

both!(
    limits_by_client_count_each_verified_client_on_its_own,
    forwards_with_the_identity_and_enforces_scopes,
    each_refusal_is_named,
    a_revoked_token_is_refused_within_a_second,
    a_rotated_key_is_fetched_and_a_dead_issuer_keeps_its_keys,
);

async fn forwards_with_the_identity_and_enforces_scopes(issuer: Issuer) {
    let (upstream, _u) = echo_upstream(None).await;
    let g = gateway(&format!(
        "{}{}",
        issuer_toml(&issuer, ""),
        route_toml(
            "orders",
            "/orders",
            upstream,
            "scopes = { GET = [\"orders:read\"], POST = [\"orders:write\"] }"
        )
    ))
    .await;
    let (id, secret) = issuer
        .client(&["orders:read", "orders:write"], Format::Jwt)
        .await;
    let read = issuer.token(&id, &secret, "orders:read").await;
    let a = call(
        reqwest::Method::GET,
        &format!("{}/orders/17?x=1", g.base),
        Some(&read),
        &[
            ("x-candor-subject", "admin"),
            ("X-Candor-Scope", "everything"),
            ("x-forwarded-for", "6.6.6.6"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "secret"),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let h = &a.body["headers"];
    assert_eq!(a.body["path"], "/orders/17?x=1");
    assert_eq!(
        h["x-candor-subject"],
        id.as_str(),
        "spoofed identity replaced"
    );
    assert_eq!(h["x-candor-client-id"], id.as_str());
    assert_eq!(h["x-candor-scope"], "orders:read");
    assert_eq!(h["x-candor-issuer"], issuer.base.as_str());
    assert_eq!(h["host"], upstream.to_string().as_str(), "{h}");
    assert_eq!(
        h["x-forwarded-for"], "127.0.0.1",
        "an untrusted X-Forwarded-For is replaced"
    );
    assert!(
        h.get("x-hop").is_none(),
        "headers named by Connection are hop-by-hop"
    );
    // The same token again: from the verified-token cache.
    let again = call(
        reqwest::Method::GET,
        &format!("{}/orders/18", g.base),
        Some(&read),
        &[],
    )
    .await;
    assert_eq!(again.status, 200);
    // POST needs orders:write.
    let post = call(
        reqwest::Method::POST,
        &format!("{}/orders", g.base),
        Some(&read),
        &[],
    )
    .await;
    refused(&post, 403, "token.insufficient_scope");
    let challenge = post.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"orders:write\""),
        "{challenge}"
    );
    let write = issuer.token(&id, &secret, "orders:write").await;
    assert_eq!(
        call(
            reqwest::Method::POST,
            &format!("{}/orders", g.base),
            Some(&write),
            &[]
        )
        .await
        .status,
        200
    );
    // Metrics on the admin listener, never on the public one.
    let metrics = reqwest::get(format!("{}/metrics", g.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "candor_gateway_requests_total{route=\"orders\",status=\"200\",diagnosis=\"\"} 3"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("candor_gateway_requests_total{route=\"orders\",status=\"403\",diagnosis=\"token.insufficient_scope\"} 1"), "{metrics}");
    // Four requests with two tokens: each token's signature is checked once per event-loop
    // thread that sees it (the cache is per thread; two threads), the others are cache hits.
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    let (hits, misses) = (
        value("candor_gateway_verified_cache_hits_total "),
        value("candor_gateway_verified_cache_misses_total "),
    );
    assert_eq!(hits + misses, 4, "{metrics}");
    assert!(hits >= 1 && misses >= 2, "{metrics}");
    refused(
        &call(
            reqwest::Method::GET,
            &format!("{}/metrics", g.base),
            None,
            &[],
        )
        .await,
        404,
        "route.not_found",
    );
}

async fn each_refusal_is_named(issuer: Issuer) {
    let (upstream, _u) = echo_upstream(None).await;
    let other = Issuer::start(Backend::Sqlite).await.unwrap();
    let g = gateway(&format!(
        "{}{}[[gateway.routes]]\nname = \"open\"\nauth = \"optional\"\nmatch = {{ path_prefix = \"/open\", methods = [\"GET\"] }}\nupstreams = [{{ url = \"http://{upstream}\" }}]\n",
        issuer_toml(&issuer, ""),
        route_toml(
            "orders",
            "/orders",
            upstream,
            "scopes = [\"orders:read\"]\nclaims = { \"client_id\" = { equals = \"nobody\" } }"
        ),
    ))
    .await;
    let url = format!("{}/orders/1", g.base);
    let get = |token: Option<String>| {
        let url = url.clone();
        async move { call(reqwest::Method::GET, &url, token.as_deref(), &[]).await }
    };
    let (id, secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let good = issuer.token(&id, &secret, "orders:read").await;

    let missing = get(None).await;
    refused(&missing, 401, "token.missing");
    assert_eq!(
        missing.headers["www-authenticate"],
        "Bearer realm=\"candor-gateway\""
    );
    refused(&get(Some("not-a-jwt".into())).await, 401, "token.malformed");
    // A token from an issuer the gateway does not trust.
    let (oid, osecret) = other.client(&["orders:read"], Format::Jwt).await;
    refused(
        &get(Some(other.token(&oid, &osecret, "orders:read").await)).await,
        401,
        "token.issuer",
    );
    // Tampered claims: the signature does not verify.
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let mut claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[1])
            .unwrap(),
    )
    .unwrap();
    claims["scope"] = json!("orders:read orders:admin");
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims.to_string(),
    );
    refused(&get(Some(parts.join("."))).await, 401, "token.signature");
    // Signed by a key the issuer never published.
    let (stranger, _) =
        candor_proto::jose::SigningKey::generate(candor_proto::jose::SigningAlg::Es256).unwrap();
    let mut forged = claims.clone();
    forged["scope"] = json!("orders:read");
    refused(
        &get(Some(stranger.sign("at+jwt", &forged).unwrap())).await,
        401,
        "token.kid_unknown",
    );
    // Not an access token (typ JWT, as an id_token has).
    refused(
        &get(Some(
            issuer
                .app
                .keys()
                .current()
                .active(candor_proto::jose::SigningAlg::Es256)
                .unwrap()
                .sign("JWT", &forged)
                .unwrap(),
        ))
        .await,
        401,
        "token.type",
    );
    // Another audience.
    let mut elsewhere = forged.clone();
    elsewhere["aud"] = json!("https://other.example");
    let key = issuer.app.keys().current();
    let es = key.active(candor_proto::jose::SigningAlg::Es256).unwrap();
    refused(
        &get(Some(es.sign("at+jwt", &elsewhere).unwrap())).await,
        401,
        "token.audience",
    );
    // Expired, and not yet valid.
    let mut old = forged.clone();
    old["exp"] = json!(issuer.app.now() - 600);
    refused(
        &get(Some(es.sign("at+jwt", &old).unwrap())).await,
        401,
        "token.expired",
    );
    let mut early = forged.clone();
    early["iat"] = json!(issuer.app.now() + 600);
    refused(
        &get(Some(es.sign("at+jwt", &early).unwrap())).await,
        401,
        "token.not_yet_valid",
    );
    // An algorithm the issuer's allow-list does not hold (EdDSA here).
    let ed = key.active(candor_proto::jose::SigningAlg::EdDsa).unwrap();
    refused(
        &get(Some(ed.sign("at+jwt", &forged).unwrap())).await,
        401,
        "token.alg_not_allowed",
    );
    // A valid token, but the route's claim rule is not met.
    refused(&get(Some(good.clone())).await, 403, "token.claim_mismatch");
    // Two Authorization headers; a token in the query.
    refused(
        &call(
            reqwest::Method::GET,
            &url,
            Some(&good),
            &[("authorization", "Bearer other")],
        )
        .await,
        400,
        "authorization_header.invalid",
    );
    refused(
        &call(
            reqwest::Method::GET,
            &format!("{url}?access_token=x"),
            Some(&good),
            &[],
        )
        .await,
        401,
        "token.malformed",
    );
    // Routing.
    refused(
        &call(
            reqwest::Method::GET,
            &format!("{}/nowhere", g.base),
            None,
            &[],
        )
        .await,
        404,
        "route.not_found",
    );
    let wrong_method = call(
        reqwest::Method::DELETE,
        &format!("{}/open/x", g.base),
        None,
        &[],
    )
    .await;
    refused(&wrong_method, 405, "route.method_not_allowed");
    assert_eq!(wrong_method.headers["allow"], "GET");
    // Dot segments are resolved before routing (sent raw: HTTP clients resolve them first):
    // the request lands on the route the upstream would read it under, which wants a token.
    for path in ["/open/../orders/1", "/open/%2e%2e/orders/1"] {
        let head = raw_get(&g.base, path).await;
        assert!(head.starts_with("HTTP/1.1 401"), "{path}: {head}");
        assert!(head.contains("token.missing"), "{path}: {head}");
    }
    // An encoded delimiter cannot be read one way only.
    let head = raw_get(&g.base, "/open%2forders").await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert!(head.contains("route.path_ambiguous"), "{head}");
    // An optional route takes anonymous callers, but not bad tokens.
    let anon = call(
        reqwest::Method::GET,
        &format!("{}/open/x", g.base),
        None,
        &[("x-candor-subject", "admin")],
    )
    .await;
    assert_eq!(anon.status, 200, "{}", anon.body);
    assert!(anon.body["headers"].get("x-candor-subject").is_none());
    refused(
        &call(
            reqwest::Method::GET,
            &format!("{}/open/x", g.base),
            Some("junk"),
            &[],
        )
        .await,
        401,
        "token.malformed",
    );
    // No panic, a clear refusal, for an oversized or hostile header.
    let huge = "a".repeat(20_000);
    let r = call(reqwest::Method::GET, &url, Some(&huge), &[]).await;
    assert!(
        r.status == 401 || r.status == 431 || r.status == 400,
        "{}",
        r.status
    );
}

async fn a_revoked_token_is_refused_within_a_second(issuer: Issuer) {
    let (upstream, _u) = echo_upstream(None).await;
    let (feed_id, feed_secret) = issuer
        .client(&[candor_server::feed::FEED_SCOPE], Format::Jwt)
        .await;
    let secret_file = issuer._dir.path().join("feed.secret");
    std::fs::write(&secret_file, format!("{feed_secret}\n")).unwrap();
    let feed = format!(
        "revocation_feed = {{ client_id = \"{feed_id}\", client_secret_file = \"{}\" }}",
        secret_file.display()
    );
    let (id, secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    // A token revoked before the gateway starts is refused from the first request on.
    let early = issuer.token(&id, &secret, "orders:read").await;
    revoke(&issuer, &id, &secret, &early).await;
    let g = gateway(&format!(
        "{}{}",
        issuer_toml(&issuer, &feed),
        route_toml("orders", "/", upstream, "")
    ))
    .await;
    let ready = reqwest::get(format!("{}/readyz", g.admin)).await.unwrap();
    assert_eq!(ready.status(), 200);
    refused(
        &call(
            reqwest::Method::GET,
            &format!("{}/x", g.base),
            Some(&early),
            &[],
        )
        .await,
        401,
        "token.revoked",
    );

    let token = issuer.token(&id, &secret, "orders:read").await;
    assert_eq!(
        call(
            reqwest::Method::GET,
            &format!("{}/x", g.base),
            Some(&token),
            &[]
        )
        .await
        .status,
        200
    );
    revoke(&issuer, &id, &secret, &token).await;
    let a = eventually(
        &format!("{}/x", g.base),
        Some(&token),
        401,
        Duration::from_secs(10),
    )
    .await;
    refused(&a, 401, "token.revoked");
    // (The bound the gateway promises is a second; timing is measured in bench/, never here.)
    // A user's sessions ended: the subject entry voids their tokens too (a client's here).
    let other = issuer.token(&id, &secret, "orders:read").await;
    assert_eq!(
        call(
            reqwest::Method::GET,
            &format!("{}/x", g.base),
            Some(&other),
            &[]
        )
        .await
        .status,
        200
    );
    issuer.clock.advance(1);
    assert!(
        candor_server::clients::delete(
            issuer.store.as_ref(),
            issuer.app.settings(),
            &id,
            issuer.app.now()
        )
        .await
        .unwrap()
    );
    eventually(
        &format!("{}/x", g.base),
        Some(&other),
        401,
        Duration::from_secs(10),
    )
    .await;
}

async fn a_rotated_key_is_fetched_and_a_dead_issuer_keeps_its_keys(issuer: Issuer) {
    let (upstream, _u) = echo_upstream(None).await;
    let g = gateway(&format!(
        "{}{}",
        issuer_toml(&issuer, ""),
        route_toml("orders", "/", upstream, "")
    ))
    .await;
    let (id, secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let before = issuer.token(&id, &secret, "orders:read").await;
    assert_eq!(
        call(
            reqwest::Method::GET,
            &format!("{}/x", g.base),
            Some(&before),
            &[]
        )
        .await
        .status,
        200
    );
    // The issuer rotates its ES256 key (immediately): tokens name a kid the gateway has not
    // fetched; it fetches the JWKS again and accepts them.
    issuer.rotate_now().await;
    let after = issuer.token(&id, &secret, "orders:read").await;
    assert_ne!(
        jsonwebtoken::decode_header(&before).unwrap().kid,
        jsonwebtoken::decode_header(&after).unwrap().kid
    );
    // A burst of requests with the new kid: all accepted (one refetch serves them).
    let url = format!("{}/x", g.base);
    let burst = (0..50).map(|_| call(reqwest::Method::GET, &url, Some(&after), &[]));
    for a in futures::future::join_all(burst).await {
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let metrics = reqwest::get(format!("{}/metrics", g.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "candor_gateway_jwks_fetches_total{{issuer=\"{}\"}} 2",
            issuer.base
        )),
        "{metrics}"
    );
    // The issuer goes away: the keys the gateway holds keep working, for new tokens too.
    let third = issuer.token(&id, &secret, "orders:read").await;
    let base = issuer.base.clone();
    drop(issuer);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        reqwest::get(format!("{base}/jwks")).await.is_err(),
        "the issuer is down"
    );
    assert_eq!(
        call(
            reqwest::Method::GET,
            &format!("{}/x", g.base),
            Some(&third),
            &[]
        )
        .await
        .status,
        200
    );
    // A gateway that never had the keys answers 503 issuer.unavailable, not 401.
    let g2 = gateway(&format!(
        "[[gateway.issuers]]\nissuer = \"{base}\"\naudiences = [\"{AUDIENCE}\"]\n{}",
        route_toml("orders", "/", upstream, "")
    ))
    .await;
    refused(
        &call(
            reqwest::Method::GET,
            &format!("{}/x", g2.base),
            Some(&third),
            &[],
        )
        .await,
        503,
        "issuer.unavailable",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_killed_mid_load_is_502_then_recovers() {
    let (upstream, task) = echo_upstream(None).await;
    let g = gateway(&route_toml("open", "/", upstream, "auth = \"none\"")).await;
    assert_eq!(
        call(reqwest::Method::GET, &format!("{}/x", g.base), None, &[])
            .await
            .status,
        200
    );
    task.abort();
    tokio::time::sleep(Duration::from_millis(100)).await;
    refused(
        &call(reqwest::Method::GET, &format!("{}/x", g.base), None, &[]).await,
        502,
        "upstream.connect",
    );
    // Back on the same port: served again (passive ejection lasts only while it fails).
    let listener = tokio::net::TcpListener::bind(upstream).await.unwrap();
    let (_, _task) = echo_upstream(Some(listener)).await;
    eventually(&format!("{}/x", g.base), None, 200, Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_connect_is_retried_on_another_upstream_and_the_last_one_stays() {
    let (up, _u) = echo_upstream(None).await;
    let dead = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let g = gateway(&format!(
        "[[gateway.routes]]\nname = \"pair\"\nauth = \"none\"\nupstreams = [{{ url = \"http://{dead}\" }}, {{ url = \"http://{up}\" }}]\n[[gateway.routes]]\nname = \"dead\"\nauth = \"none\"\nmatch = {{ path_prefix = \"/dead\" }}\nupstreams = [{{ url = \"http://{dead}\" }}]\n"
    ))
    .await;
    for _ in 0..10 {
        let a = call(reqwest::Method::GET, &format!("{}/x", g.base), None, &[]).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    // POST is not retried: it may have reached the dead one... here it goes where it goes.
    for _ in 0..6 {
        let _ = call(
            reqwest::Method::GET,
            &format!("{}/dead/x", g.base),
            None,
            &[],
        )
        .await;
    }
    // Passive ejection never takes out a route's last upstream (a caller must not be able to
    // switch a route off): it is still tried, and the answer says why it failed.
    refused(
        &call(
            reqwest::Method::GET,
            &format!("{}/dead/x", g.base),
            None,
            &[],
        )
        .await,
        502,
        "upstream.connect",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_load_fails_no_request() {
    let (upstream, _u) = echo_upstream(None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = |extra: &str| {
        let text = format!(
            "[gateway]\nlisten = \"{addr}\"\n{}{extra}",
            route_toml("open", "/", upstream, "auth = \"none\"")
        );
        candor_gateway::config::File::from_toml(&text)
            .and_then(|f| f.validate())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let first = config("");
    let gw = candor_gateway::Gateway::start(&first, None, None)
        .await
        .unwrap();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = gw.clone();
    let limits = first.limits.clone();
    tokio::spawn(async move {
        serving
            .serve(listener, None, None, limits, async move {
                let _ = stopped.await;
            })
            .await
    });
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let load = (0..4).map(|_| {
        let client = client.clone();
        let url = format!("{base}/x");
        tokio::spawn(async move {
            let mut failed = 0;
            for _ in 0..150 {
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => {}
                    _ => failed += 1,
                }
            }
            failed
        })
    });
    let load: Vec<_> = load.collect();
    // Reload twice while the load runs: a new route appears, then goes.
    tokio::time::sleep(Duration::from_millis(30)).await;
    gw.reload(&config(&route_toml(
        "new",
        "/new",
        upstream,
        "auth = \"none\"",
    )))
    .await
    .unwrap();
    let metrics_route = client.get(format!("{base}/new/1")).send().await.unwrap();
    assert_eq!(metrics_route.status(), 200);
    // A reload that cannot start (the feed's secret file is missing) leaves the running one.
    let broken = config(
        "[[gateway.issuers]]\nissuer = \"http://127.0.0.1:9\"\nrevocation_feed = { client_id = \"g\", client_secret_file = \"/nonexistent/secret\" }\n",
    );
    assert!(gw.reload(&broken).await.is_err());
    assert_eq!(
        client
            .get(format!("{base}/new/1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    gw.reload(&config("")).await.unwrap();
    let mut failed = 0;
    for t in load {
        failed += t.await.unwrap();
    }
    assert_eq!(failed, 0, "requests failed during reloads");
    // /new is gone again: it falls to the catch-all route.
    let gone = client.get(format!("{base}/new/1")).send().await.unwrap();
    assert_eq!(gone.status(), 200);
    let body: Value = gone.json().await.unwrap();
    assert_eq!(body["path"], "/new/1");
}

/// The resident memory of this process (the gateway runs in it), in MiB.
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gigabyte_streams_both_ways_in_flat_memory() {
    use axum::body::Body as AxumBody;
    use futures::StreamExt;
    const GIB: u64 = 1 << 30;
    const CHUNK: usize = 64 * 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let app = Router::new()
        .route(
            "/upload",
            any(|body: AxumBody| async move {
                let mut n: u64 = 0;
                let mut stream = body.into_data_stream();
                while let Some(chunk) = stream.next().await {
                    n += chunk.map(|c| c.len() as u64).unwrap_or(0);
                }
                n.to_string()
            }),
        )
        .route(
            "/download",
            any(|| async move {
                let chunks = futures::stream::iter(0..GIB / CHUNK as u64)
                    .map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![7u8; CHUNK])));
                AxumBody::from_stream(chunks)
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let g = gateway(&route_toml(
        "big",
        "/",
        upstream,
        "auth = \"none\"\ntimeouts = { response = \"120s\" }",
    ))
    .await;
    let before = rss_mib();

    let chunks = futures::stream::iter(0..GIB / CHUNK as u64)
        .map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![1u8; CHUNK])));
    let up = reqwest::Client::new()
        .post(format!("{}/upload", g.base))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 200);
    assert_eq!(
        up.text().await.unwrap(),
        GIB.to_string(),
        "every byte arrived"
    );
    let after_upload = rss_mib();

    let down = reqwest::get(format!("{}/download", g.base)).await.unwrap();
    assert_eq!(down.status(), 200);
    let mut stream = down.bytes_stream();
    let mut n: u64 = 0;
    while let Some(chunk) = stream.next().await {
        n += chunk.unwrap().len() as u64;
    }
    assert_eq!(n, GIB);
    let after_download = rss_mib();
    // Loosely: a gigabyte went through; memory grew by far less (buffers, not bodies).
    assert!(
        after_upload.saturating_sub(before) < 200 && after_download.saturating_sub(before) < 200,
        "RSS {before} MiB -> {after_upload} MiB (upload) -> {after_download} MiB (download)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_echoes_through_the_gateway() {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    use futures::{SinkExt, StreamExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/ws",
        any(|ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|mut socket| async move {
                while let Some(Ok(msg)) = socket.recv().await {
                    if let Message::Text(t) = msg {
                        let _ = socket
                            .send(Message::Text(format!("echo: {t}").into()))
                            .await;
                    }
                }
            })
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let g = gateway(&route_toml("ws", "/", upstream, "auth = \"none\"")).await;
    let url = format!("{}/ws", g.base.replace("http://", "ws://"));
    let (mut socket, response) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert_eq!(response.status(), 101);
    for i in 0..3 {
        socket
            .send(tokio_tungstenite::tungstenite::Message::Text(
                format!("hello {i}").into(),
            ))
            .await
            .unwrap();
        let reply = socket.next().await.unwrap().unwrap();
        assert_eq!(
            reply.into_text().unwrap().as_str(),
            format!("echo: hello {i}")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_tokens_are_introspected_once_per_burst() {
    let issuer = Issuer::start(Backend::Sqlite).await.unwrap();
    let (upstream, _u) = echo_upstream(None).await;
    let (gid, gsecret) = issuer.client(&[], Format::Jwt).await;
    let secret_file = issuer._dir.path().join("introspection.secret");
    std::fs::write(&secret_file, &gsecret).unwrap();
    let g = gateway(&format!(
        "{}{}",
        issuer_toml(
            &issuer,
            &format!(
                "introspection = {{ client_id = \"{gid}\", client_secret_file = \"{}\", cache = \"1s\" }}",
                secret_file.display()
            )
        ),
        route_toml("orders", "/", upstream, "scopes = [\"orders:read\"]")
    ))
    .await;
    let (id, secret) = issuer.client(&["orders:read"], Format::Opaque).await;
    let token = issuer.token(&id, &secret, "orders:read").await;
    assert!(!token.contains('.'), "an opaque token");
    let url = format!("{}/x", g.base);
    let burst = (0..30).map(|_| call(reqwest::Method::GET, &url, Some(&token), &[]));
    for a in futures::future::join_all(burst).await {
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["headers"]["x-candor-client-id"], id.as_str());
        assert_eq!(a.body["headers"]["x-candor-scope"], "orders:read");
    }
    let metrics = reqwest::get(format!("{}/metrics", g.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "candor_gateway_introspections_total{{issuer=\"{}\"}} 1",
            issuer.base
        )),
        "{metrics}"
    );
    refused(
        &call(
            reqwest::Method::GET,
            &url,
            Some("no-such-opaque-token"),
            &[],
        )
        .await,
        401,
        "token.unknown",
    );
    // Revoked: refused once the cached answer (1 s here) runs out.
    revoke(&issuer, &id, &secret, &token).await;
    let a = eventually(&url, Some(&token), 401, Duration::from_secs(10)).await;
    refused(&a, 401, "token.unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_callers_are_served() {
    let (upstream, _u) = echo_upstream(None).await;
    let g = gateway(&route_toml("open", "/", upstream, "auth = \"none\"")).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let urls: Vec<String> = (0..20).map(|i| format!("{}/h2/{i}", g.base)).collect();
    let calls = urls.iter().map(|u| h2.get(u).send());
    for r in futures::future::join_all(calls).await {
        let r = r.unwrap();
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert!(body["path"].as_str().unwrap().starts_with("/h2/"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_feed_is_refused_or_accepted_as_configured() {
    let issuer = Issuer::start(Backend::Sqlite).await.unwrap();
    let (upstream, _u) = echo_upstream(None).await;
    let (feed_id, feed_secret) = issuer
        .client(&[candor_server::feed::FEED_SCOPE], Format::Jwt)
        .await;
    let secret_file = issuer._dir.path().join("feed.secret");
    std::fs::write(&secret_file, &feed_secret).unwrap();
    let with_policy = |policy: &str| {
        format!(
            "{}{}",
            issuer_toml(
                &issuer,
                &format!(
                    "revocation_feed = {{ client_id = \"{feed_id}\", client_secret_file = \"{}\", max_feed_lag = \"2s\", on_stale = \"{policy}\" }}",
                    secret_file.display()
                )
            ),
            route_toml("orders", "/", upstream, "")
        )
    };
    let refusing = gateway(&with_policy("refuse")).await;
    let accepting = gateway(&with_policy("accept")).await;
    let (id, secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let token = issuer.token(&id, &secret, "orders:read").await;
    // A quiet but healthy feed stays fresh past max_feed_lag.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    for g in [&refusing, &accepting] {
        let a = call(
            reqwest::Method::GET,
            &format!("{}/x", g.base),
            Some(&token),
            &[],
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    // The issuer goes away: once the feed is 2 s behind, one gateway refuses, the other
    // accepts and counts.
    drop(issuer);
    let a = eventually(
        &format!("{}/x", refusing.base),
        Some(&token),
        503,
        Duration::from_secs(15),
    )
    .await;
    refused(&a, 503, "revocation_feed.stale");
    let a = call(
        reqwest::Method::GET,
        &format!("{}/x", accepting.base),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let metrics = reqwest::get(format!("{}/metrics", accepting.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("candor_gateway_feed_stale_accepted_total 0"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstreams_are_verified_against_the_routes_ca() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let tls = candor_serve::load_tls(&cert_path, &key_path).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().fallback(any(|req: Request| async move {
        axum::Json(json!({"path": req.uri().path(), "secure": true}))
    }));
    tokio::spawn(candor_serve::serve(
        listener,
        Some(tls),
        app,
        candor_serve::Limits::default(),
        std::future::pending(),
    ));
    let g = gateway(&format!(
        "[[gateway.routes]]\nname = \"tls\"\nauth = \"none\"\nmatch = {{ path_prefix = \"/tls\" }}\nupstreams = [{{ url = \"https://localhost:{port}\" }}]\nupstream_ca = \"{}\"\n[[gateway.routes]]\nname = \"untrusted\"\nauth = \"none\"\nmatch = {{ path_prefix = \"/untrusted\" }}\nupstreams = [{{ url = \"https://localhost:{port}\" }}]\n",
        cert_path.display()
    ))
    .await;
    let a = call(
        reqwest::Method::GET,
        &format!("{}/tls/x", g.base),
        None,
        &[],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["secure"], true);
    // The system's roots do not know this certificate: the upstream is refused, not trusted.
    let b = call(
        reqwest::Method::GET,
        &format!("{}/untrusted/x", g.base),
        None,
        &[],
    )
    .await;
    refused(&b, 502, "upstream.connect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_auth_replaces_the_callers_token_with_the_routes_own() {
    let issuer = Issuer::start(Backend::Sqlite).await.unwrap();
    let (upstream, _u) = echo_upstream(None).await;
    let (own_id, own_secret) = issuer.client(&["inventory:read"], Format::Jwt).await;
    let secret_file = issuer._dir.path().join("upstream-auth.secret");
    std::fs::write(&secret_file, &own_secret).unwrap();
    let g = gateway(&format!(
        "{}[[gateway.routes]]\nname = \"inventory\"\nupstreams = [{{ url = \"http://{upstream}\" }}]\nscopes = [\"orders:read\"]\nupstream_auth = {{ token_endpoint = \"{}/token\", client_id = \"{own_id}\", client_secret_file = \"{}\", scope = \"inventory:read\" }}\n",
        issuer_toml(&issuer, ""),
        issuer.base,
        secret_file.display()
    ))
    .await;
    let (id, secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let caller = issuer.token(&id, &secret, "orders:read").await;
    let first = call(
        reqwest::Method::GET,
        &format!("{}/x", g.base),
        Some(&caller),
        &[],
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let sent = first.body["headers"]["authorization"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        sent.starts_with("Bearer ") && !sent.contains(&caller),
        "{sent}"
    );
    // It is the route's own token: the route's client, the route's scope.
    let own = sent.trim_start_matches("Bearer ");
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            own.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["client_id"], own_id.as_str());
    assert_eq!(claims["scope"], "inventory:read");
    // The caller's identity still travels, in X-Candor-*; the token is reused.
    assert_eq!(first.body["headers"]["x-candor-client-id"], id.as_str());
    let second = call(
        reqwest::Method::GET,
        &format!("{}/y", g.base),
        Some(&caller),
        &[],
    )
    .await;
    assert_eq!(second.body["headers"]["authorization"], sent.as_str());
}

/// An upstream that counts the connections it accepts and the ones it has closed, and
/// closes them all, silently, when told to (as an upstream's keep-alive timeout does).
struct CountingUpstream {
    addr: SocketAddr,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    closed: Arc<std::sync::atomic::AtomicUsize>,
    close_all: tokio::sync::watch::Sender<bool>,
}

async fn counting_upstream() -> CountingUpstream {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let (close_all, closing) = tokio::sync::watch::channel(false);
    let (count, gone) = (accepted.clone(), closed.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let mut closing = closing.clone();
            closing.mark_unchanged();
            let gone = gone.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                    ))
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                tokio::select! {
                    _ = conn => {}
                    _ = closing.changed() => {}
                }
                gone.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    CountingUpstream {
        addr,
        accepted,
        closed,
        close_all,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_reused_and_one_closed_while_idle_costs_no_request() {
    use std::sync::atomic::Ordering;
    let up = counting_upstream().await;
    let g = gateway(&route_toml("open", "/", up.addr, "auth = \"none\"")).await;
    // One caller on one keep-alive connection to the gateway (a connection of our own: a
    // pooling client may open a second one while the first is on its way back to its pool):
    // its requests share one upstream connection.
    let addr = g.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut caller, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut get = async || {
        caller.ready().await.unwrap();
        let req = hyper::Request::get("/x")
            .header(hyper::header::HOST, addr.as_str())
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let r = caller.send_request(req).await.unwrap();
        assert_eq!(r.status(), 200);
        let body = http_body_util::BodyExt::collect(r.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&body[..], b"ok");
    };
    for _ in 0..20 {
        get().await;
    }
    assert_eq!(up.accepted.load(Ordering::SeqCst), 1);
    let metrics = reqwest::get(format!("{}/metrics", g.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "candor_gateway_upstream_idle_connections{{route=\"open\",upstream=\"http://{}/\"}} 1",
            up.addr
        )),
        "{metrics}"
    );
    // The upstream closes that connection while it is idle in the gateway's pool: the next
    // request gets a new one, and its answer; the new one is reused in turn.
    up.close_all.send_replace(true);
    let since = Instant::now();
    while up.closed.load(Ordering::SeqCst) < 1 && since.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..5 {
        get().await;
    }
    assert_eq!(up.accepted.load(Ordering::SeqCst), 2);
}

/// A route limited per client_id: each client's verified token spends its own budget; the
/// refusal is a 429 with the limit's headers; forwarded answers carry `RateLimit`.
async fn limits_by_client_count_each_verified_client_on_its_own(issuer: Issuer) {
    let (upstream, _u) = echo_upstream(None).await;
    let g = gateway(&format!(
        "{}{}",
        issuer_toml(&issuer, ""),
        route_toml(
            "orders",
            "/orders",
            upstream,
            "rate_limit = { rate = \"2/min\", burst = 2, key = \"client_id\" }"
        )
    ))
    .await;
    let (a_id, a_secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let (b_id, b_secret) = issuer.client(&["orders:read"], Format::Jwt).await;
    let a = issuer.token(&a_id, &a_secret, "orders:read").await;
    let b = issuer.token(&b_id, &b_secret, "orders:read").await;
    let url = format!("{}/orders/1", g.base);
    let first = call(reqwest::Method::GET, &url, Some(&a), &[]).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.headers.get("ratelimit").and_then(|v| v.to_str().ok()),
        Some("\"route:orders\";r=1;t=30")
    );
    assert_eq!(
        call(reqwest::Method::GET, &url, Some(&a), &[]).await.status,
        200
    );
    let third = call(reqwest::Method::GET, &url, Some(&a), &[]).await;
    refused(&third, 429, "rate_limit.exceeded");
    assert!(third.headers.get("www-authenticate").is_none());
    let retry: u64 = third.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(
        third.headers["ratelimit-policy"].to_str().unwrap(),
        "\"route:orders\";q=2;w=60;candor-burst=2"
    );
    let description = third.body["error_description"].as_str().unwrap();
    assert!(description.contains("per client_id"), "{description}");
    // Another client has a budget of its own.
    assert_eq!(
        call(reqwest::Method::GET, &url, Some(&b), &[]).await.status,
        200
    );
    // A bad token is refused for itself, not counted against a client.
    refused(
        &call(reqwest::Method::GET, &url, Some("not.a.jwt"), &[]).await,
        401,
        "token.malformed",
    );
    let metrics = reqwest::get(format!("{}/metrics", g.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "candor_rate_limit_decisions_total{policy=\"route:orders\",outcome=\"limited\"} 1"
        ),
        "{metrics}"
    );
}

/// With spans exported, a call joins its caller's trace: the upstream is sent this call's
/// span as its parent, and the call log keeps the trace, the span and the caller's span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_trace_is_joined_and_passed_on_to_the_upstream() {
    let (up, _task) = echo_upstream(None).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, recorder, log) = call_log_exporting_spans(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let text = format!(
        "[gateway]\nlisten = \"{}\"\nthreads = 2\n{}",
        listener.local_addr().unwrap(),
        route_toml("orders", "/orders", up, "auth = \"none\"")
    );
    let (_, stop) = gateway_with_call_log(&text, listener, log, None).await;

    let http = reqwest::Client::new();
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let seen: Value = http
        .get(format!("{base}/orders/1"))
        .header("traceparent", caller)
        .header("tracestate", "vendor=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = seen["headers"]["traceparent"].as_str().unwrap().to_string();
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.len(), 4, "{sent}");
    assert_eq!(
        parts[1], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the caller's trace"
    );
    assert_ne!(
        parts[2], "00f067aa0ba902b7",
        "the gateway's span is the parent"
    );
    assert_eq!(parts[3], "01");
    assert_eq!(
        seen["headers"]["tracestate"], "vendor=1",
        "tracestate passes as is"
    );
    // No traceparent, or a malformed one: a new trace.
    let fresh: Value = http
        .get(format!("{base}/orders/2"))
        .header("traceparent", "not-a-trace")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fresh = fresh["headers"]["traceparent"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !fresh.contains("4bf92f3577b34da6a3ce929d0e0e4736") && fresh.len() == 55,
        "{fresh}"
    );

    let _ = stop.send(());
    recorder.shutdown().await;
    let calls = store
        .tail(&candor_calls::Filter::default(), None, None, 10)
        .await
        .unwrap();
    assert_eq!(calls.len(), 2);
    let joined = calls.iter().find(|c| c.path == "/orders/1").unwrap();
    assert_eq!(
        joined.trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(joined.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(joined.span_id.as_deref(), Some(parts[2]));
    let other = calls.iter().find(|c| c.path == "/orders/2").unwrap();
    assert_eq!(other.parent_span_id, None);
    assert!(fresh.contains(other.span_id.as_deref().unwrap()));
}
