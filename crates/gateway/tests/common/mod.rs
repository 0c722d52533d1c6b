//! What the gateway's integration tests share: a Candor issuer on an ephemeral port (SQLite or
//! PostgreSQL), upstreams, the gateway itself, and calls through it.

#![allow(
    dead_code,
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
use candor_proto::seal::MasterKey;
use candor_server::App;
use candor_server::clients::NewClient;
use candor_server::clock::ManualClock;
use candor_store::Store;
use candor_store::testing::{PostgresTestDatabase, postgres_url_or_skip};
use serde_json::{Value, json};

pub(crate) const AUDIENCE: &str = "https://api.example";

/// A Candor issuer on an ephemeral port.
pub(crate) struct Issuer {
    pub base: String,
    pub app: App,
    pub store: Arc<dyn Store>,
    pub master: Arc<MasterKey>,
    pub clock: ManualClock,
    pub _dir: tempfile::TempDir,
    pub _pg: Option<PostgresTestDatabase>,
    pub _stop: tokio::sync::oneshot::Sender<()>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Issuer {
    pub(crate) async fn start(backend: Backend) -> Option<Issuer> {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("candor.db").display()),
                None,
            ),
            Backend::Postgres => {
                let base = postgres_url_or_skip("gateway tests")?;
                let db = PostgresTestDatabase::create(&base).await.unwrap();
                (db.url().to_string(), Some(db))
            }
        };
        let store = candor_store::open(&url).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let clock = ManualClock::new();
        let mut settings = candor_server::Settings::new(&base);
        settings.client_cache_ttl = Duration::ZERO;
        let (master, _) = MasterKey::generate().unwrap();
        let master = Arc::new(master);
        let app = candor_server::build(
            settings,
            store.clone(),
            master.clone(),
            Arc::new(clock.clone()),
        )
        .await
        .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(candor_server::serve(listener, app.clone(), async move {
            let _ = rx.await;
        }));
        Some(Issuer {
            base,
            app,
            store,
            master,
            clock,
            _dir: dir,
            _pg: pg,
            _stop: tx,
        })
    }

    /// A client_credentials client with `scopes`; returns (id, secret).
    pub(crate) async fn client(&self, scopes: &[&str], format: Format) -> (String, String) {
        let mut new = NewClient::new("svc");
        new.scopes = scopes.iter().map(|s| s.to_string()).collect();
        new.audiences = vec![AUDIENCE.into()];
        new.access_token_format = format;
        let r =
            candor_server::clients::create(self.store.as_ref(), &self.master, new, self.app.now())
                .await
                .unwrap();
        (r.client.client_id, r.secret.unwrap().expose().to_string())
    }

    /// `candor keys rotate --alg ES256 --immediately`: the new key signs from now on.
    pub(crate) async fn rotate_now(&self) {
        let now = self.app.now();
        candor_server::keys::rotate(
            self.store.as_ref(),
            &self.master,
            candor_proto::jose::SigningAlg::Es256,
            now,
            now,
            3600,
        )
        .await
        .unwrap();
        self.app.keys().reload_at(now).await.unwrap();
    }

    pub(crate) async fn token(&self, id: &str, secret: &str, scope: &str) -> String {
        let r: Value = reqwest::Client::new()
            .post(format!("{}/token", self.base))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_string()
    }
}

/// `app` served on an ephemeral port: an upstream for a test.
pub(crate) async fn serve_router(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// An upstream that answers with what it received.
pub(crate) async fn echo_upstream(
    listener: Option<tokio::net::TcpListener>,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = match listener {
        Some(l) => l,
        None => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/healthz", any(|| async { "ok" }))
        .fallback(any(|req: Request| async move {
            let headers: serde_json::Map<String, Value> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or("?"))))
                .collect();
            axum::Json(json!({
                "method": req.method().as_str(),
                "path": req.uri().path_and_query().map(|p| p.as_str()).unwrap_or(""),
                "headers": headers,
            }))
        }));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

/// A call log in `dir`, exporting spans to an OTLP collector that is not there: the export
/// fails, is counted, and changes nothing else.
pub(crate) async fn call_log_exporting_spans(
    dir: &std::path::Path,
) -> (
    candor_calls::CallStore,
    Arc<candor_calls::Recorder>,
    Arc<candor_calls::CallLog>,
) {
    let store =
        candor_calls::CallStore::open(&format!("sqlite://{}", dir.join("calls.db").display()))
            .await
            .unwrap();
    let recorder = candor_calls::Recorder::start(
        store.clone(),
        candor_calls::Settings {
            otlp: Some(candor_calls::OtlpSettings {
                endpoint: "http://127.0.0.1:9".into(),
                headers: Vec::new(),
                logs: false,
                traces: true,
                timeout: Duration::from_secs(1),
            }),
            ..candor_calls::Settings::default()
        },
    );
    let log = Arc::new(candor_calls::CallLog::new(recorder.clone()));
    (store, recorder, log)
}

/// A gateway on `toml` (a whole file) recording into `log`, its admin listener guarded by
/// `admin` when given: (public base, admin base, stop).
pub(crate) async fn gateway_with_call_log(
    toml: &str,
    listener: tokio::net::TcpListener,
    log: Arc<candor_calls::CallLog>,
    admin: Option<candor_admin::Guard>,
) -> (Option<String>, tokio::sync::oneshot::Sender<()>) {
    let config = candor_gateway::config::File::from_toml(toml)
        .and_then(|f| f.validate())
        .unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let gateway = candor_gateway::Gateway::start(&config, Some(log), None)
        .await
        .unwrap();
    let (admin_listener, admin_base) = match admin {
        Some(guard) => {
            gateway.attach_admin(guard);
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", l.local_addr().unwrap());
            (Some(l), Some(base))
        }
        None => (None, None),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = config.limits.clone();
    tokio::spawn(async move {
        let _ = gateway
            .serve(listener, admin_listener, None, limits, async move {
                let _ = stopped.await;
            })
            .await;
    });
    (admin_base, stop)
}

pub(crate) struct Gateway {
    pub base: String,
    pub admin: String,
    pub _stop: tokio::sync::oneshot::Sender<()>,
}

/// A gateway on `toml`, its refusals linking to a catalogue (unless `toml` says where).
pub(crate) async fn gateway(toml: &str) -> Gateway {
    if toml.contains("docs_url") {
        gateway_exact(toml).await
    } else {
        gateway_exact(&format!("docs_url = \"{DOCS}\"\n{toml}")).await
    }
}

/// Where the tests' refusals link.
pub(crate) const DOCS: &str = "http://docs.example/docs/errors";

/// A gateway on `toml` and nothing more.
pub(crate) async fn gateway_exact(toml: &str) -> Gateway {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let admin_base = format!("http://{}", admin.local_addr().unwrap());
    let text = format!(
        // Two event loops whatever the machine: the tests cover the hand-off between them.
        "[gateway]\nlisten = \"{}\"\nadmin_listen = \"{}\"\nthreads = 2\n{toml}",
        listener.local_addr().unwrap(),
        admin.local_addr().unwrap()
    );
    let config = candor_gateway::config::File::from_toml(&text)
        .and_then(|f| f.validate())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(e) = candor_gateway::run_on(config, listener, Some(admin), None, async move {
            let _ = rx.await;
        })
        .await
        {
            panic!("gateway: {e}");
        }
    });
    Gateway {
        base,
        admin: admin_base,
        _stop: tx,
    }
}

pub(crate) fn issuer_toml(issuer: &Issuer, extra: &str) -> String {
    format!(
        "[[gateway.issuers]]\nissuer = \"{}\"\naudiences = [\"{AUDIENCE}\"]\nalgorithms = [\"ES256\", \"RS256\"]\njwks_min_refetch = \"0s\"\n{extra}\n",
        issuer.base
    )
}

pub(crate) fn route_toml(name: &str, prefix: &str, upstream: SocketAddr, extra: &str) -> String {
    format!(
        "[[gateway.routes]]\nname = \"{name}\"\nmatch = {{ path_prefix = \"{prefix}\" }}\nupstreams = [{{ url = \"http://{upstream}\" }}]\n{extra}\n"
    )
}

pub(crate) struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

pub(crate) async fn call(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

pub(crate) fn refused(a: &Answer, status: u16, diagnosis: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["diagnosis"], diagnosis, "{}", a.body);
    assert!(
        a.body["error_uri"]
            .as_str()
            .unwrap_or("")
            .ends_with(diagnosis),
        "{}",
        a.body
    );
    assert!(
        a.body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    if status == 401 || status == 403 || diagnosis == "authorization_header.invalid" {
        let challenge = a
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    }
}

/// Asks `url` (with `token`) every 20 ms until it answers `status`; fails after `within`.
pub(crate) async fn eventually(
    url: &str,
    token: Option<&str>,
    status: u16,
    within: Duration,
) -> Answer {
    let started = Instant::now();
    loop {
        let a = call(reqwest::Method::GET, url, token, &[]).await;
        if a.status == status {
            return a;
        }
        assert!(
            started.elapsed() < within,
            "{url} still answers {} after {within:?}: {}",
            a.status,
            a.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[macro_export]
macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let issuer = super::Issuer::start(super::Backend::Sqlite).await.unwrap();
                    super::$case(issuer).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(issuer) = super::Issuer::start(super::Backend::Postgres).await {
                        super::$case(issuer).await;
                    }
                }
            )*
        }
    };
}

/// A GET sent byte for byte as written; the response, as text.
pub(crate) async fn raw_get(base: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) async fn revoke(issuer: &Issuer, id: &str, secret: &str, token: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/revoke", issuer.base))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
