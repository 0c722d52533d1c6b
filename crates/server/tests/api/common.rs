//! The harness: a real Candor server on an ephemeral port, on SQLite or PostgreSQL, with a
//! manual clock; and helpers to talk to it over HTTP.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use candor_proto::seal::MasterKey;
use candor_server::App;
use candor_server::clients::{self, NewClient};
use candor_server::clock::ManualClock;
use candor_store::Store;
use candor_store::testing::{PostgresTestDatabase, postgres_url_or_skip};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Every test in both backends: `both!(case_a, case_b)` makes `sqlite::case_a` and
/// `postgres::case_a`, each calling `case_a(server)`.
#[macro_export]
macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let server = $crate::common::TestServer::start($crate::common::Backend::Sqlite).await;
                    super::$case(server.expect("sqlite server")).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(server) = $crate::common::TestServer::start($crate::common::Backend::Postgres).await {
                        super::$case(server).await;
                    }
                }
            )*
        }
    };
}

/// Log output of the whole test binary, for assertions on what is (and is not) logged.
pub(crate) fn logs() -> String {
    let buf = log_buffer().lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&buf).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

#[derive(Clone)]
struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logging() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let writer = BufWriter(log_buffer().clone());
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_env_filter("info,sqlx=warn")
            .with_writer(move || writer.clone())
            .try_init();
    });
}

pub(crate) struct TestServer {
    pub base: String,
    pub app: App,
    pub clock: ManualClock,
    pub store: Arc<dyn Store>,
    pub master: Arc<MasterKey>,
    pub http: reqwest::Client,
    pub backend: Backend,
    pub db_url: String,
    pub dir: tempfile::TempDir,
    _pg: Option<PostgresTestDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A connection of a test's own to the server's database.
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

pub(crate) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Response {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error response of the catalogue's shape.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, error: &str, diagnosis: &str) -> Value {
        let body = self.json();
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(body["error"], error, "error; body: {}", self.text);
        assert_eq!(
            body["diagnosis"], diagnosis,
            "diagnosis; body: {}",
            self.text
        );
        let uri = body["error_uri"].as_str().unwrap_or_default();
        assert!(
            uri.ends_with(&format!("/docs/errors/{diagnosis}")),
            "error_uri {uri}"
        );
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(!description.is_empty(), "no error_description");
        assert!(
            description
                .chars()
                .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'),
            "error_description outside RFC 6749 charset: {description}"
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
        body
    }
}

/// Credentials for a request.
pub(crate) enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    /// A raw Authorization header value.
    Header(&'a str),
}

impl TestServer {
    /// A server on a fresh database; `None` (after saying so) when PostgreSQL is not
    /// configured for tests.
    pub(crate) async fn start(backend: Backend) -> Option<TestServer> {
        TestServer::start_with(backend, |_| {}).await
    }

    /// [`TestServer::start`] with settings changed by `tweak` (after the harness's own).
    pub(crate) async fn start_with(
        backend: Backend,
        tweak: fn(&mut candor_server::Settings),
    ) -> Option<TestServer> {
        init_logging();
        let dir = tempfile::tempdir().expect("tempdir");
        let (db_url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("candor.db").display()),
                None,
            ),
            Backend::Postgres => {
                let base = postgres_url_or_skip("PostgreSQL server API tests")?;
                let db = PostgresTestDatabase::create(&base)
                    .await
                    .expect("test database");
                (db.url().to_string(), Some(db))
            }
        };
        let (master, _) = MasterKey::generate().expect("master key");
        Some(TestServer::node(backend, db_url, Arc::new(master), None, dir, pg, tweak).await)
    }

    /// A second node on the same database and master key (its own clock and key cache), as
    /// several `candor` processes sharing PostgreSQL run. Both answer for one issuer, as
    /// behind a load balancer.
    pub(crate) async fn second_node(&self) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let issuer = Some(self.base.clone());
        TestServer::node(
            self.backend,
            self.db_url.clone(),
            self.master.clone(),
            issuer,
            dir,
            None,
            |_| {},
        )
        .await
    }

    /// Starts a server on `db_url`; its issuer is its own address unless `issuer` is given.
    async fn node(
        backend: Backend,
        db_url: String,
        master: Arc<MasterKey>,
        issuer: Option<String>,
        dir: tempfile::TempDir,
        pg: Option<PostgresTestDatabase>,
        tweak: fn(&mut candor_server::Settings),
    ) -> TestServer {
        let store = candor_store::open(&db_url).await.expect("store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let clock = ManualClock::new();
        let mut settings = candor_server::Settings::new(issuer.as_deref().unwrap_or(&base));
        // Tests change registrations and expect the next request to see them.
        settings.client_cache_ttl = std::time::Duration::ZERO;
        // Lock after 5 failures, without the slowdown (tests never assert on time).
        settings.login_max_failures = 5;
        settings.login_slowdown_after = 100;
        // Every test signs in from 127.0.0.1: no per-address or per-client rate unless a test
        // asks for one.
        let unlimited = candor_server::throttle::Rate {
            per_minute: 1_000_000,
            burst: 1_000_000,
        };
        settings.login_rate_per_address = unlimited;
        settings.login_rate_per_client = unlimited;
        tweak(&mut settings);
        let app = candor_server::build(
            settings,
            store.clone(),
            master.clone(),
            Arc::new(clock.clone()),
        )
        .await
        .expect("build");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(candor_server::serve(listener, app.clone(), async move {
            let _ = rx.await;
        }));
        TestServer {
            base,
            app,
            clock,
            store,
            master,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            backend,
            db_url,
            dir,
            _pg: pg,
            shutdown: Some(tx),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers a client; returns its id and secret (if it has one).
    pub(crate) async fn register(&self, new: NewClient) -> (String, Option<String>) {
        let r = clients::create(self.store.as_ref(), &self.master, new, self.app.now())
            .await
            .expect("register client");
        (r.client.client_id, r.secret.map(|s| s.expose().to_string()))
    }

    /// A confidential client_credentials client with scopes "read write".
    pub(crate) async fn service_client(&self) -> (String, String) {
        let mut new = NewClient::new("service");
        new.scopes = vec!["read".into(), "write".into()];
        let (id, secret) = self.register(new).await;
        (id, secret.expect("secret"))
    }

    /// POSTs a form (encoded here) to `path`.
    pub(crate) async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        auth: Auth<'_>,
    ) -> Response {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.post_raw(
            path,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
            auth,
        )
        .await
    }

    /// POSTs raw bytes with the given Content-Type.
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        auth: Auth<'_>,
    ) -> Response {
        let mut req = self.http.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req = match auth {
            Auth::None => req,
            Auth::Basic(id, secret) => req.header(
                "authorization",
                format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
            ),
            Auth::Header(h) => req.header("authorization", h),
        };
        into_response(req.send().await.expect("request")).await
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        into_response(self.http.get(self.url(path)).send().await.expect("request")).await
    }

    /// A client_credentials token for a client_secret_basic client.
    pub(crate) async fn cc_token(&self, id: &str, secret: &str, scope: Option<&str>) -> Value {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        let r = self
            .post_form("/token", &form, Auth::Basic(id, secret))
            .await;
        assert_eq!(r.status, 200, "token request failed: {}", r.text);
        r.json()
    }

    /// A connection of its own to the server's database, behind the store's back.
    async fn raw(&self) -> Raw {
        use sqlx::Connection;
        match self.backend {
            Backend::Sqlite => {
                let path = self.db_url.trim_start_matches("sqlite://");
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                Raw::Sqlite(
                    sqlx::SqliteConnection::connect_with(&options)
                        .await
                        .expect("sqlite"),
                )
            }
            Backend::Postgres => Raw::Postgres(
                sqlx::PgConnection::connect(&self.db_url)
                    .await
                    .expect("postgres"),
            ),
        }
    }

    /// Runs one SQL statement on the server's database, behind the store's back (to break it,
    /// or to count rows); returns the rows it changed.
    pub(crate) async fn sql(&self, statement: &str) -> u64 {
        let statement = sqlx::AssertSqlSafe(statement.to_string());
        match self.raw().await {
            Raw::Sqlite(mut c) => sqlx::raw_sql(statement)
                .execute(&mut c)
                .await
                .map(|d| d.rows_affected()),
            Raw::Postgres(mut c) => sqlx::raw_sql(statement)
                .execute(&mut c)
                .await
                .map(|d| d.rows_affected()),
        }
        .expect("statement")
    }

    /// The number of rows in `table`.
    pub(crate) async fn count(&self, table: &str) -> i64 {
        let query = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        match self.raw().await {
            Raw::Sqlite(mut c) => sqlx::query_scalar(query).fetch_one(&mut c).await,
            Raw::Postgres(mut c) => sqlx::query_scalar(query).fetch_one(&mut c).await,
        }
        .expect("count")
    }

    /// Everything stored in the database, as text, for "nothing in the clear" checks.
    pub(crate) fn dump_database(&self) -> Vec<u8> {
        match self.backend {
            Backend::Sqlite => {
                let mut all = Vec::new();
                for entry in std::fs::read_dir(self.dir.path()).expect("dir").flatten() {
                    if entry.file_name().to_string_lossy().starts_with("candor.db") {
                        all.extend(std::fs::read(entry.path()).expect("read db"));
                    }
                }
                all
            }
            Backend::Postgres => {
                let out = std::process::Command::new("pg_dump")
                    .arg("--data-only")
                    .arg(&self.db_url)
                    .output()
                    .expect("pg_dump");
                assert!(
                    out.status.success(),
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            }
        }
    }
}

async fn into_response(r: reqwest::Response) -> Response {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Response {
        status,
        headers,
        text,
    }
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
