//! The JWKS cache over real HTTP: a token with an unknown kid makes it refetch the key set
//! (a rotation), but at most once per `min_refetch` (a flood of forged kids cannot make it
//! hammer the provider).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use candor_client::{Expectations, HttpClient, JwksCache, Options};
use candor_proto::jose::{SigningAlg, SigningKey};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Provider {
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

async fn jwks(State(p): State<Provider>) -> axum::Json<Value> {
    p.fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(p.jwks.lock().unwrap().clone())
}

async fn serve(p: Provider) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/jwks", get(jwks)).with_state(p);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/jwks")
}

fn id_token(key: &SigningKey, now: i64) -> String {
    key.sign(
        "JWT",
        &json!({"iss": "https://op.example", "sub": "u1", "aud": "rp", "iat": now, "exp": now + 300}),
    )
    .unwrap()
}

fn expect(now: i64) -> Expectations {
    Expectations {
        issuer: Some("https://op.example".into()),
        audience: Some("rp".into()),
        nonce: None,
        access_token: None,
        now,
        leeway: 60,
        require_id_token_claims: true,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once_it_may() {
    let (old, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let (new, _) = SigningKey::generate(SigningAlg::Rs256).unwrap();
    let provider = Provider::default();
    *provider.jwks.lock().unwrap() = json!({"keys": [old.public_jwk()]});
    let uri = serve(provider.clone()).await;
    let http = HttpClient::new(Options::default()).unwrap();

    // Allowed to refetch: the rotation is picked up.
    let cache = JwksCache::new(http.clone(), uri.clone()).with_min_refetch(Duration::ZERO);
    let t = now();
    cache
        .validate(&id_token(&old, t), &expect(t))
        .await
        .unwrap();
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 1);
    cache
        .validate(&id_token(&old, t), &expect(t))
        .await
        .unwrap();
    assert_eq!(
        provider.fetches.load(Ordering::SeqCst),
        1,
        "a known kid uses the cache"
    );
    *provider.jwks.lock().unwrap() = json!({"keys": [old.public_jwk(), new.public_jwk()]});
    let claims = cache
        .validate(&id_token(&new, t), &expect(t))
        .await
        .unwrap();
    assert_eq!(claims["sub"], "u1");
    assert_eq!(
        provider.fetches.load(Ordering::SeqCst),
        2,
        "an unknown kid refetched once"
    );

    // Not allowed yet: once an unknown kid has refetched, the next one within min_refetch
    // is refused without another request.
    let strict = JwksCache::new(http, uri).with_min_refetch(Duration::from_secs(3600));
    strict
        .validate(&id_token(&old, t), &expect(t))
        .await
        .unwrap();
    let before = provider.fetches.load(Ordering::SeqCst);
    for n in 0..5 {
        let (stranger, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
        let err = strict
            .validate(&id_token(&stranger, t), &expect(t))
            .await
            .unwrap_err();
        assert_eq!(err.code(), candor_proto::Code::IdTokenKidUnknown, "{err}");
        assert_eq!(
            provider.fetches.load(Ordering::SeqCst),
            before + 1,
            "forged kid {n}: one refetch, then none within min_refetch"
        );
    }
}

/// Issue 18: after `candor keys rotate --immediately`, a fetch that no unknown kid caused
/// (the first, or the background refresher's) must not hold the new key back for
/// `min_refetch`; unknown-kid refetches have their own clock, and a burst still shares one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recent_fetch_does_not_hold_back_an_immediate_rotation() {
    let (old, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let (rotated, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let provider = Provider::default();
    *provider.jwks.lock().unwrap() = json!({"keys": [old.public_jwk()]});
    let uri = serve(provider.clone()).await;
    let http = HttpClient::new(Options::default()).unwrap();
    let cache = Arc::new(JwksCache::new(http, uri).with_min_refetch(Duration::from_secs(3600)));
    let t = now();
    // The key set was fetched a moment ago (as by the refresher).
    cache.snapshot().await.unwrap();
    cache
        .validate(&id_token(&old, t), &expect(t))
        .await
        .unwrap();
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 1);
    // Rotated immediately: the old key is gone, the new one signs.
    *provider.jwks.lock().unwrap() = json!({"keys": [rotated.public_jwk()]});
    let token = id_token(&rotated, t);
    let burst = (0..200).map(|_| {
        let cache = cache.clone();
        let token = token.clone();
        tokio::spawn(async move { cache.validate(&token, &expect(t)).await.is_ok() })
    });
    let results = futures_util_join(burst.collect()).await;
    assert!(
        results.iter().all(|ok| *ok),
        "every token of the new key validates at once"
    );
    assert_eq!(
        provider.fetches.load(Ordering::SeqCst),
        2,
        "one refetch for the whole burst"
    );
    // The bound still holds: another unknown kid within min_refetch fetches nothing.
    let (stranger, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let err = cache
        .validate(&id_token(&stranger, t), &expect(t))
        .await
        .unwrap_err();
    assert_eq!(err.code(), candor_proto::Code::IdTokenKidUnknown, "{err}");
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_unknown_kids_makes_one_fetch() {
    let (old, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let (rotated, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let provider = Provider::default();
    *provider.jwks.lock().unwrap() = json!({"keys": [old.public_jwk()]});
    let uri = serve(provider.clone()).await;
    let http = HttpClient::new(Options::default()).unwrap();
    let cache = Arc::new(JwksCache::new(http, uri).with_min_refetch(Duration::ZERO));
    let t = now();
    cache
        .validate(&id_token(&old, t), &expect(t))
        .await
        .unwrap();
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 1);
    // The provider rotates; a thousand tokens signed by the new key arrive at once.
    *provider.jwks.lock().unwrap() = json!({"keys": [old.public_jwk(), rotated.public_jwk()]});
    let token = id_token(&rotated, t);
    let burst = (0..1000).map(|_| {
        let cache = cache.clone();
        let token = token.clone();
        tokio::spawn(async move { cache.validate(&token, &expect(t)).await.is_ok() })
    });
    let results = futures_util_join(burst.collect()).await;
    assert!(
        results.iter().all(|ok| *ok),
        "every token of the new key validates"
    );
    assert_eq!(
        provider.fetches.load(Ordering::SeqCst),
        2,
        "one refetch for the whole burst"
    );
}

#[tokio::test]
async fn the_old_keys_stay_when_the_provider_fails() {
    let (key, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    let provider = Provider::default();
    *provider.jwks.lock().unwrap() = json!({"keys": [key.public_jwk()]});
    let uri = serve(provider.clone()).await;
    let http = HttpClient::new(Options::default()).unwrap();
    let cache = JwksCache::new(http, uri).with_min_refetch(Duration::ZERO);
    let t = now();
    cache
        .validate(&id_token(&key, t), &expect(t))
        .await
        .unwrap();
    // The provider now serves garbage: an unknown kid's refetch fails, known keys still work.
    *provider.jwks.lock().unwrap() = json!({"nothing": true});
    let (stranger, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
    assert!(
        cache
            .validate(&id_token(&stranger, t), &expect(t))
            .await
            .is_err()
    );
    cache
        .validate(&id_token(&key, t), &expect(t))
        .await
        .unwrap();
    assert_eq!(cache.counts(), (2, 1));
}

async fn futures_util_join(handles: Vec<tokio::task::JoinHandle<bool>>) -> Vec<bool> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
