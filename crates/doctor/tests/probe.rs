//! The probe against a real Candor and against small servers broken on purpose.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use candor_doctor::probe::{ProbeOptions, probe};
use candor_doctor::{Report, render};
use candor_proto::Code;
use candor_proto::jose::{SigningAlg, SigningKey};
use candor_proto::secret::Secret;
use serde_json::json;

fn init() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

fn show(r: &Report) -> String {
    render::text(r, false)
}

fn opts(issuer: &str) -> ProbeOptions {
    let mut o = ProbeOptions::new(issuer);
    o.timeout = Duration::from_secs(5);
    o
}

async fn listen() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, format!("http://{addr}"))
}

// ---- a real Candor ------------------------------------------------------------------

struct Candor {
    issuer: String,
    _dir: tempfile::TempDir,
    client_id: String,
    secret: Secret,
    web_client: String,
    webapp_secret: Secret,
}

async fn candor() -> Candor {
    use candor_server::clients::{NewClient, create};
    let dir = tempfile::tempdir().unwrap();
    let store = candor_store::open(&format!("sqlite://{}/candor.db", dir.path().display()))
        .await
        .unwrap();
    let (master, _) = candor_proto::seal::MasterKey::generate().unwrap();
    let master = Arc::new(master);
    let (listener, issuer) = listen().await;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut svc = NewClient::new("service");
    svc.client_id = Some("svc".into());
    let svc = create(store.as_ref(), &master, svc, now).await.unwrap();
    let mut web = NewClient::new("web");
    web.client_id = Some("web".into());
    web.redirect_uris = vec!["http://127.0.0.1:3000/cb".into()];
    web.auth_method = candor_proto::client_auth::AuthMethod::None;
    web.scopes = vec!["openid".into()];
    create(store.as_ref(), &master, web, now).await.unwrap();
    // A confidential web application: authorization_code only.
    let mut webapp = NewClient::new("webapp");
    webapp.client_id = Some("webapp".into());
    webapp.redirect_uris = vec!["http://127.0.0.1:3000/cb".into()];
    let webapp = create(store.as_ref(), &master, webapp, now).await.unwrap();
    let settings = candor_server::Settings::new(issuer.clone());
    let app = candor_server::build(
        settings,
        store,
        master,
        Arc::new(candor_server::clock::SystemClock),
    )
    .await
    .unwrap();
    tokio::spawn(candor_server::serve(listener, app, std::future::pending()));
    Candor {
        issuer,
        _dir: dir,
        client_id: svc.client.client_id,
        secret: svc.secret.unwrap(),
        web_client: "web".into(),
        webapp_secret: webapp.secret.unwrap(),
    }
}

/// Every problem the probe found.
fn candor_problems(r: &Report) -> usize {
    r.findings().filter(|f| f.is_problem()).count()
}

#[tokio::test]
async fn a_healthy_candor_passes_every_step() {
    init();
    let c = candor().await;
    let mut o = opts(&c.issuer);
    o.client_id = Some(c.client_id.clone());
    o.client_secret = Some(c.secret.clone());
    let r = probe(&o).await.unwrap();
    let text = show(&r);
    assert_eq!(candor_problems(&r), 0, "{text}");
    for expected in [
        "is an IP address",
        "connected to",
        "issuer: http://127.0.0.1",
        "1. DNS",
        "3. TLS",
        "not used: the issuer is http",
        "with an RFC 6749 section 5.2 error",
        "token issued: access_token",
        "its signature verifies with the JWKS",
        "within",
        "skipped: pass --client-id and --redirect-uri",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    assert!(
        !text.contains(c.secret.expose()),
        "the secret is never printed"
    );

    // The redirect URI check: a registered one reaches the login page, a near miss does not.
    let mut o = opts(&c.issuer);
    o.client_id = Some(c.web_client.clone());
    o.redirect_uri = Some("http://127.0.0.1:3000/cb".into());
    let r = probe(&o).await.unwrap();
    assert_eq!(candor_problems(&r), 0, "{}", show(&r));
    assert!(
        show(&r).contains("the client_id and redirect URI are accepted"),
        "{}",
        show(&r)
    );
    // A web application's client may not use client_credentials: said and skipped, not an
    // error (its credentials were accepted).
    let mut o = opts(&c.issuer);
    o.client_id = Some("webapp".into());
    o.client_secret = Some(c.webapp_secret.clone());
    let r = probe(&o).await.unwrap();
    assert_eq!(candor_problems(&r), 0, "{}", show(&r));
    assert_eq!(r.exit_code(), 0, "{}", show(&r));
    assert!(
        show(&r).contains("may not use client_credentials"),
        "{}",
        show(&r)
    );
    let mut o = opts(&c.issuer);
    o.client_id = Some(c.web_client.clone());
    o.redirect_uri = Some("http://127.0.0.1:3000/cb/".into());
    let r = probe(&o).await.unwrap();
    assert_eq!(r.exit_code(), 1, "{}", show(&r));
    assert!(
        r.has(Code::RedirectUriTrailingSlash),
        "Candor's page names the near miss:\n{}",
        show(&r)
    );
}

#[tokio::test]
async fn a_wrong_secret_is_named_by_candor() {
    init();
    let c = candor().await;
    let mut o = opts(&c.issuer);
    o.client_id = Some(c.client_id.clone());
    o.client_secret = Some(Secret::new("not-the-secret"));
    let r = probe(&o).await.unwrap();
    assert!(r.has(Code::ClientAuthSecretMismatch), "{}", show(&r));
    assert_eq!(r.exit_code(), 1);
}

// ---- broken providers -----------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    Good,
    Html,
    EmptyJson,
    PlainText500,
}

#[derive(Clone)]
struct Broken {
    token: Token,
    clock_offset: i64,
    issuer_suffix: &'static str,
    authorize_error_page: bool,
}

impl Default for Broken {
    fn default() -> Self {
        Broken {
            token: Token::Good,
            clock_offset: 0,
            issuer_suffix: "",
            authorize_error_page: false,
        }
    }
}

fn date_header(offset: i64) -> HeaderValue {
    let t = if offset >= 0 {
        SystemTime::now() + Duration::from_secs(offset as u64)
    } else {
        SystemTime::now() - Duration::from_secs((-offset) as u64)
    };
    HeaderValue::from_str(&httpdate::fmt_http_date(t)).unwrap()
}

async fn broken(b: Broken) -> String {
    let (listener, base) = listen().await;
    let key = SigningKey::generate(SigningAlg::Es256).unwrap().0;
    let jwks = json!({"keys": [key.public_jwk()]});
    let doc = json!({
        "issuer": format!("{base}{}", b.issuer_suffix),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    });
    let offset = b.clock_offset;
    let with_date = move |mut resp: Response| {
        resp.headers_mut().insert(header::DATE, date_header(offset));
        resp
    };
    let token = b.token;
    let page = b.authorize_error_page;
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { with_date(axum::Json(doc).into_response()) }),
        )
        .route("/jwks", get(move || async move { axum::Json(jwks).into_response() }))
        .route(
            "/token",
            post(move |_headers: HeaderMap| async move {
                match token {
                    Token::Good => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"}))).into_response(),
                    Token::Html => (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "text/html")],
                        "<!DOCTYPE html><html><head><title>Sign in - Portal</title></head><body><form></form></body></html>",
                    )
                        .into_response(),
                    Token::EmptyJson => (StatusCode::OK, axum::Json(json!({}))).into_response(),
                    Token::PlainText500 => {
                        (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], "oops").into_response()
                    }
                }
            }),
        )
        .route(
            "/authorize",
            get(move || async move {
                if page {
                    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/html")], "<html><title>Invalid parameter: redirect_uri</title></html>").into_response()
                } else {
                    ([(header::CONTENT_TYPE, "text/html")], "<html><title>Log in</title><form><input name=\"password\" type=\"password\"></form></html>").into_response()
                }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test]
async fn html_from_the_token_endpoint() {
    init();
    let base = broken(Broken {
        token: Token::Html,
        ..Broken::default()
    })
    .await;
    let mut o = opts(&base);
    o.client_id = Some("app".into());
    o.client_secret = Some(Secret::new("s"));
    let r = probe(&o).await.unwrap();
    let html: Vec<_> = r
        .findings()
        .filter(|f| f.code == Code::ResponseHtml)
        .collect();
    assert_eq!(
        html.len(),
        2,
        "bad request and client_credentials:\n{}",
        show(&r)
    );
    assert!(show(&r).contains("Sign in - Portal"), "{}", show(&r));
}

#[tokio::test]
async fn json_200_without_a_token() {
    init();
    let base = broken(Broken {
        token: Token::EmptyJson,
        ..Broken::default()
    })
    .await;
    let mut o = opts(&base);
    o.client_id = Some("app".into());
    o.client_secret = Some(Secret::new("s"));
    let r = probe(&o).await.unwrap();
    assert!(r.has(Code::ResponseMissingAccessToken), "{}", show(&r));
    assert_eq!(r.exit_code(), 1);
}

#[tokio::test]
async fn errors_without_an_rfc_body() {
    init();
    let base = broken(Broken {
        token: Token::PlainText500,
        ..Broken::default()
    })
    .await;
    let r = probe(&opts(&base)).await.unwrap();
    assert!(r.has(Code::ResponseErrorWithoutBody), "{}", show(&r));
}

#[tokio::test]
async fn a_clock_ten_minutes_off() {
    init();
    let base = broken(Broken {
        clock_offset: 600,
        ..Broken::default()
    })
    .await;
    let r = probe(&opts(&base)).await.unwrap();
    let f = r
        .findings()
        .find(|f| f.code == Code::ClockSkew)
        .unwrap_or_else(|| panic!("{}", show(&r)));
    assert!(f.message.contains("ahead of"), "{}", f.message);
    let base = broken(Broken {
        clock_offset: -600,
        ..Broken::default()
    })
    .await;
    assert!(probe(&opts(&base)).await.unwrap().has(Code::ClockSkew));
    let base = broken(Broken::default()).await;
    let r = probe(&opts(&base)).await.unwrap();
    assert!(!r.has(Code::ClockSkew), "{}", show(&r));
    assert_eq!(r.exit_code(), 0, "{}", show(&r));
}

#[tokio::test]
async fn discovery_issuer_mismatch_and_authorize_error_page() {
    init();
    let base = broken(Broken {
        issuer_suffix: "/",
        authorize_error_page: true,
        ..Broken::default()
    })
    .await;
    let mut o = opts(&base);
    o.client_id = Some("app".into());
    o.redirect_uri = Some("https://app.example/cb".into());
    let r = probe(&o).await.unwrap();
    assert!(r.has(Code::DiscoveryIssuerMismatch), "{}", show(&r));
    // The page says "Invalid parameter: redirect_uri", Keycloak's words for a redirect_uri
    // the client has not registered: the phrase table names that, not a generic error page.
    let f = r
        .findings()
        .find(|f| f.code == Code::RedirectUriNotRegistered)
        .unwrap_or_else(|| panic!("{}", show(&r)));
    assert!(f.message.contains("Keycloak"), "{}", f.message);
    assert!(!r.has(Code::AuthorizationErrorPage), "{}", show(&r));
}

#[tokio::test]
async fn a_closed_port() {
    init();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let r = probe(&opts(&format!("http://127.0.0.1:{port}")))
        .await
        .unwrap();
    assert_eq!(r.codes(), vec![Code::TransportConnect], "{}", show(&r));
    assert!(show(&r).contains("skipped: nothing accepted the TCP connection"));
}

#[tokio::test]
async fn a_name_that_does_not_resolve() {
    init();
    let r = probe(&opts("https://no-such-host.invalid")).await.unwrap();
    let codes = r.codes();
    assert!(
        codes == vec![Code::TransportDns] || codes == vec![Code::TransportTimeout],
        "{}",
        show(&r)
    );
}

#[tokio::test]
async fn unusable_arguments() {
    init();
    assert!(probe(&opts("not a url")).await.is_err());
    assert!(probe(&opts("https://idp.example/?q=1")).await.is_err());
}

// ---- TLS ---------------------------------------------------------------------------------

/// Serves TLS with `cert` on 127.0.0.1; completes handshakes and answers nothing useful.
async fn tls_server(cert: rustls::pki_types::CertificateDer<'static>, key: Vec<u8>) -> SocketAddr {
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_self_signed_certificate() {
    init();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let addr = tls_server(ck.cert.der().clone(), ck.signing_key.serialize_der()).await;
    let r = probe(&opts(&format!("https://localhost:{}", addr.port())))
        .await
        .unwrap();
    assert_eq!(r.codes(), vec![Code::TransportTls], "{}", show(&r));
    let f = r.findings().next().unwrap();
    assert!(
        f.received.as_deref().unwrap_or("").contains("self-signed"),
        "{}",
        show(&r)
    );
    assert!(show(&r).contains("skipped: the TLS handshake failed"));
}

#[tokio::test]
async fn a_certificate_for_another_host() {
    init();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["other.example".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let addr = tls_server(leaf.der().clone(), leaf_key.serialize_der()).await;
    let mut o = opts(&format!("https://localhost:{}", addr.port()));
    o.extra_roots = vec![ca.as_ref().der().to_vec()];
    let r = probe(&o).await.unwrap();
    assert_eq!(r.codes(), vec![Code::TransportTls], "{}", show(&r));
    let received = r
        .findings()
        .next()
        .unwrap()
        .received
        .clone()
        .unwrap_or_default();
    assert!(received.contains("other.example"), "{}", show(&r));
}

/// A development certificate that is its own CA (what `openssl req -x509` makes by default),
/// passed with --ca-file: named in words with what to do, never the verifier's internal name.
#[tokio::test]
async fn a_ca_certificate_served_as_the_servers_own() {
    init();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let addr = tls_server(cert.der().clone(), key.serialize_der()).await;
    let mut o = opts(&format!("https://localhost:{}", addr.port()));
    o.extra_roots = vec![cert.der().to_vec()];
    let r = probe(&o).await.unwrap();
    assert_eq!(r.codes(), vec![Code::TransportTls], "{}", show(&r));
    let text = show(&r);
    assert!(
        text.contains("CA certificate") && text.contains("mkcert"),
        "{text}"
    );
    assert!(!text.contains("CaUsedAsEndEntity"), "{text}");
}
