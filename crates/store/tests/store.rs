//! One suite, run against both backends.
//!
//! Every case is an `async fn(&dyn Store, &Raw)`; the `suite!` macro turns each into
//! `sqlite::<case>` (a fresh SQLite file in a temporary directory) and `postgres::<case>` (a fresh
//! database on the server of `CANDOR_TEST_POSTGRES_URL`, skipped loudly when it is unset).
//! `Raw` is a second, plain connection to the same database, for writing what the store never
//! would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use candor_proto::access_token::Format;
use candor_proto::client_auth::AuthMethod;
use candor_proto::grant_type::GrantType;
use candor_proto::jose::SigningAlg;
use candor_store::testing::{PostgresTestDatabase, postgres_url_or_skip};
use candor_store::{
    AccessTokenRecord, AuthorizationCodeRecord, Backend, Client, Consumed, Issuance,
    LOGIN_FAILURE_RETENTION, NewRevocation, PreviousSecret, RefreshTokenRecord, RevocationKind,
    SessionRecord, SigningKeyRecord, Store, StoreError, User,
};
use sqlx::Connection;

// ---- harness ---------------------------------------------------------------------------------

/// A second connection to the store's database, bypassing the store.
enum Raw {
    Sqlite {
        url: String,
        path: std::path::PathBuf,
    },
    Postgres {
        url: String,
    },
}

impl Raw {
    /// The URL the store was opened with.
    fn url(&self) -> &str {
        match self {
            Raw::Sqlite { url, .. } | Raw::Postgres { url } => url,
        }
    }

    /// Runs one statement; returns the number of rows it changed.
    async fn execute(&self, sql: &'static str) -> u64 {
        match self {
            Raw::Sqlite { path, .. } => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .unwrap();
                let done = sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
                done.rows_affected()
            }
            Raw::Postgres { url } => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                let done = sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
                done.rows_affected()
            }
        }
    }
}

struct SqliteDb {
    store: Arc<dyn Store>,
    raw: Raw,
    _dir: tempfile::TempDir,
}

impl SqliteDb {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("candor.db");
        let url = format!("sqlite://{}", path.display());
        let store = candor_store::open(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        Self {
            store,
            raw: Raw::Sqlite { url, path },
            _dir: dir,
        }
    }
}

struct PostgresDb {
    // Fields drop in order: the store's pool before its database.
    store: Arc<dyn Store>,
    raw: Raw,
    _database: PostgresTestDatabase,
}

impl PostgresDb {
    async fn new() -> Option<Self> {
        let base = postgres_url_or_skip("PostgreSQL store tests")?;
        let database = PostgresTestDatabase::create(&base).await.unwrap();
        let url = database.url().to_string();
        let store = candor_store::open(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        Some(Self {
            store,
            raw: Raw::Postgres { url },
            _database: database,
        })
    }
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = super::SqliteDb::new().await;
                    super::$case(&*db.store, &db.raw).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = super::PostgresDb::new().await else {
                        return;
                    };
                    super::$case(&*db.store, &db.raw).await;
                }
            )*
        }
    };
}

suite!(
    ping_and_reopen,
    client_round_trip,
    scope_registered_is_exact,
    duplicate_client_conflicts,
    missing_client_is_not_updated_or_deleted,
    clients_list_in_byte_order,
    users_crud,
    signing_keys,
    access_tokens,
    access_token_conflicts_and_cascade,
    revocation_feed,
    remember_assertion_detects_replay,
    concurrent_remember_assertion_has_one_winner,
    concurrent_revoke_has_one_winner,
    purge_expired,
    awkward_strings_round_trip,
    corrupt_rows_are_errors_not_panics,
    codes_round_trip_and_are_single_use,
    concurrent_consume_code_has_one_winner,
    refresh_tokens_round_trip_and_are_single_use,
    concurrent_consume_refresh_token_has_one_winner,
    revoked_refresh_token_is_spent,
    revoke_refresh_family,
    sessions,
    spent_requests_are_single_use,
    concurrent_spend_request_has_one_winner,
    redemption_stores_its_issuance_or_nothing,
    revocation_waits_for_a_rotation_in_flight,
    revoke_subject_ends_a_users_grants,
    check_writable,
    consent_upsert_replaces,
    login_failures_window,
    concurrent_login_failures_all_count,
    purge_expired_browser_flow,
    deleting_client_or_user_cascades_browser_flow,
    browser_flow_corrupt_rows_are_errors_not_panics,
    disable_and_enable_client,
    disable_and_enable_user,
    sessions_and_consents_of_a_user,
);

/// Polls all `futures` concurrently on the current task (no `'static` needed, so they may
/// borrow the store); outputs in input order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

// ---- fixtures --------------------------------------------------------------------------------

/// An issuance that stores nothing, for tests of consumption alone.
const NOTHING: Issuance = Issuance {
    refresh_token: None,
    access_token: None,
};

fn client(id: &str) -> Client {
    Client {
        client_id: id.to_string(),
        name: format!("Client {id}"),
        secret_digest: Some(vec![0, 1, 2, 254, 255]),
        secret_sealed: Some(vec![9; 48]),
        auth_method: AuthMethod::ClientSecretJwt,
        redirect_uris: vec![
            "https://app.example/cb".to_string(),
            "http://127.0.0.1:9000/cb?x=1&y=2".to_string(),
        ],
        post_logout_redirect_uris: vec!["https://app.example/bye".to_string()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: vec![
            "openid".to_string(),
            "profile".to_string(),
            "email".to_string(),
        ],
        audiences: vec!["https://api.example".to_string()],
        access_token_format: Format::Jwt,
        jwks: Some(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}"#.to_string()),
        require_pkce: true,
        id_token_signed_response_alg: Some(SigningAlg::Es256),
        disabled_at: Some(1_700_000_002),
        previous_secret: Some(PreviousSecret {
            digest: vec![3, 4, 5],
            sealed: Some(vec![7; 40]),
            until: 1_700_003_600,
        }),
        created_at: 1_700_000_000,
        updated_at: 1_700_000_001,
    }
}

/// A public client: every optional field `None`, every list empty.
fn bare_client(id: &str) -> Client {
    Client {
        client_id: id.to_string(),
        name: String::new(),
        secret_digest: None,
        secret_sealed: None,
        auth_method: AuthMethod::None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![],
        scopes: vec![],
        audiences: vec![],
        access_token_format: Format::Opaque,
        jwks: None,
        require_pkce: false,
        id_token_signed_response_alg: None,
        disabled_at: None,
        previous_secret: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn user(id: &str, username: &str) -> User {
    User {
        id: id.to_string(),
        username: username.to_string(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_string(),
        email: Some(format!("{username}@example.com")),
        name: Some(format!("User {username}")),
        roles: Vec::new(),
        disabled_at: None,
        created_at: 1_700_000_000,
    }
}

fn key(kid: &str, alg: &str, created_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_string(),
        alg: alg.parse().expect("a signing algorithm"),
        private_sealed: (0..=255).collect(),
        public_jwk: format!(r#"{{"kid":"{kid}","alg":"{alg}","use":"sig"}}"#),
        created_at,
        activates_at: created_at,
        retired_at: None,
        publish_until: None,
    }
}

fn token(digest_byte: u8, client_id: &str, expires_at: i64) -> AccessTokenRecord {
    AccessTokenRecord {
        digest: vec![digest_byte; 32],
        jti: format!("jti-{digest_byte}"),
        client_id: client_id.to_string(),
        subject: Some("user-1".to_string()),
        scope: "openid profile".to_string(),
        audiences: vec!["https://api.example".to_string(), "urn:other".to_string()],
        issued_at: expires_at - 3600,
        expires_at,
        grant_id: Some("grant-1".to_string()),
        revoked_at: None,
    }
}

fn revocation(kind: RevocationKind, id: &str, expires_at: i64) -> NewRevocation {
    NewRevocation {
        kind,
        id: id.to_string(),
        expires_at,
        revoked_at: 1_000,
    }
}

fn code(
    digest_byte: u8,
    client_id: &str,
    user_id: &str,
    expires_at: i64,
) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        digest: vec![digest_byte; 32],
        client_id: client_id.to_string(),
        user_id: user_id.to_string(),
        redirect_uri: "https://app.example/cb?x=1&y=2".to_string(),
        redirect_uri_sent: true,
        scope: "openid profile".to_string(),
        nonce: Some("n-0S6_WzA2Mj".to_string()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string()),
        auth_time: expires_at - 120,
        sid: Some("sid-1".to_string()),
        amr: vec!["pwd".to_string(), "otp".to_string()],
        grant_id: format!("grant-{digest_byte}"),
        issued_at: expires_at - 60,
        expires_at,
        used_at: None,
    }
}

/// A code with every optional field `None` and no amr.
fn bare_code(
    digest_byte: u8,
    client_id: &str,
    user_id: &str,
    expires_at: i64,
) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        redirect_uri_sent: false,
        scope: String::new(),
        nonce: None,
        code_challenge: None,
        sid: None,
        amr: vec![],
        ..code(digest_byte, client_id, user_id, expires_at)
    }
}

fn refresh(
    digest_byte: u8,
    family_id: &str,
    client_id: &str,
    user_id: &str,
    expires_at: i64,
) -> RefreshTokenRecord {
    RefreshTokenRecord {
        digest: vec![digest_byte; 32],
        family_id: family_id.to_string(),
        client_id: client_id.to_string(),
        user_id: user_id.to_string(),
        scope: "openid offline_access".to_string(),
        auth_time: 10,
        sid: Some("sid-1".to_string()),
        amr: vec!["pwd".to_string()],
        issued_at: 20,
        expires_at,
        idle_expires_at: expires_at - 1,
        used_at: None,
        revoked_at: None,
    }
}

fn session(digest_byte: u8, sid: &str, user_id: &str, expires_at: i64) -> SessionRecord {
    SessionRecord {
        digest: vec![digest_byte; 32],
        sid: sid.to_string(),
        user_id: user_id.to_string(),
        auth_time: 10,
        amr: vec!["pwd".to_string(), "mfa".to_string()],
        created_at: 10,
        expires_at,
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A client "c1" and a user "u-1" for the browser-flow records to belong to.
async fn client_and_user(s: &dyn Store) {
    s.insert_client(&client("c1")).await.unwrap();
    s.insert_user(&user("u-1", "alice")).await.unwrap();
}

/// The message of a [`StoreError::Corrupt`]; anything else fails the test.
fn corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Corrupt(message)) => message,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

// ---- cases -----------------------------------------------------------------------------------

async fn ping_and_reopen(s: &dyn Store, raw: &Raw) {
    s.ping().await.unwrap();
    s.insert_client(&client("c1")).await.unwrap();
    s.remember_assertion("c1", "j1", 100).await.unwrap();

    // A second store on the same database (migrations run again: a no-op) sees what the first
    // committed.
    let again = candor_store::open(raw.url()).await.unwrap();
    again.ping().await.unwrap();
    assert_eq!(again.get_client("c1").await.unwrap(), Some(client("c1")));
    assert!(!again.remember_assertion("c1", "j1", 100).await.unwrap());
}

async fn client_round_trip(s: &dyn Store, _raw: &Raw) {
    assert_eq!(s.get_client("c1").await.unwrap(), None);
    assert!(s.list_clients().await.unwrap().is_empty());

    let full = client("c1");
    let bare = bare_client("c2");
    s.insert_client(&full).await.unwrap();
    s.insert_client(&bare).await.unwrap();
    assert_eq!(s.get_client("c1").await.unwrap(), Some(full.clone()));
    assert_eq!(s.get_client("c2").await.unwrap(), Some(bare.clone()));
    assert_eq!(
        s.list_clients().await.unwrap(),
        vec![full.clone(), bare.clone()]
    );

    // Replace every field: Some → None, lists → empty, and the other way round.
    let mut changed = bare_client("c1");
    changed.updated_at = 1_800_000_000;
    assert!(s.update_client(&changed).await.unwrap());
    assert_eq!(s.get_client("c1").await.unwrap(), Some(changed));
    let mut filled = client("c2");
    filled.require_pkce = false;
    assert!(s.update_client(&filled).await.unwrap());
    assert_eq!(s.get_client("c2").await.unwrap(), Some(filled));

    assert!(s.delete_client("c1").await.unwrap());
    assert_eq!(s.get_client("c1").await.unwrap(), None);
    assert_eq!(s.list_clients().await.unwrap().len(), 1);
}

async fn scope_registered_is_exact(s: &dyn Store, _raw: &Raw) {
    let mut c = bare_client("c1");
    c.scopes = strings(&["read", "billing:write", "a_b", "100%"]);
    s.insert_client(&c).await.unwrap();
    for known in ["read", "billing:write", "a_b", "100%"] {
        assert!(s.scope_registered(known).await.unwrap(), "{known}");
    }
    // Not a substring, another case, or a LIKE wildcard match.
    for unknown in ["rea", "READ", "billing", "axb", "100", "%", "_", r"\"] {
        assert!(!s.scope_registered(unknown).await.unwrap(), "{unknown}");
    }
    assert!(!s.scope_registered("nothing").await.unwrap());
}

async fn duplicate_client_conflicts(s: &dyn Store, _raw: &Raw) {
    s.insert_client(&client("dup")).await.unwrap();
    let err = s.insert_client(&bare_client("dup")).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what == "client 'dup'"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "client 'dup' already exists");
    // The first one is untouched.
    assert_eq!(s.get_client("dup").await.unwrap(), Some(client("dup")));
}

async fn missing_client_is_not_updated_or_deleted(s: &dyn Store, _raw: &Raw) {
    s.insert_client(&client("present")).await.unwrap();
    assert!(!s.update_client(&client("absent")).await.unwrap());
    assert!(!s.delete_client("absent").await.unwrap());
    assert_eq!(s.get_client("absent").await.unwrap(), None);
    assert_eq!(s.list_clients().await.unwrap(), vec![client("present")]);
}

async fn clients_list_in_byte_order(s: &dyn Store, _raw: &Raw) {
    // Both backends order by bytes, whatever the PostgreSQL server's locale.
    for id in ["b", "é", "a", "B", "_", "a-b", "ab"] {
        s.insert_client(&bare_client(id)).await.unwrap();
    }
    let ids: Vec<String> = s
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["B", "_", "a", "a-b", "ab", "b", "é"]);
}

async fn users_crud(s: &dyn Store, _raw: &Raw) {
    assert!(s.list_users().await.unwrap().is_empty());
    let alice = user("u-1", "alice");
    let mut bob = user("u-2", "bob");
    bob.email = None;
    bob.name = None;
    s.insert_user(&bob).await.unwrap();
    s.insert_user(&alice).await.unwrap();

    assert_eq!(
        s.get_user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(s.get_user("u-2").await.unwrap(), Some(bob.clone()));
    assert_eq!(
        s.get_user("alice").await.unwrap(),
        None,
        "get_user is by id"
    );
    assert_eq!(s.get_user_by_username("u-1").await.unwrap(), None);
    assert_eq!(
        s.get_user_by_username("Alice").await.unwrap(),
        None,
        "case matters"
    );
    assert_eq!(
        s.list_users().await.unwrap(),
        vec![alice.clone(), bob.clone()]
    );

    // Duplicate username (with a new id), and duplicate id (with a new username).
    let err = s.insert_user(&user("u-3", "alice")).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what == "user 'alice'"),
        "{err:?}"
    );
    let err = s.insert_user(&user("u-1", "carol")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.list_users().await.unwrap().len(), 2);

    assert!(s.set_password_hash("alice", "$argon2id$new").await.unwrap());
    assert!(
        !s.set_password_hash("nobody", "$argon2id$new")
            .await
            .unwrap()
    );
    let updated = s.get_user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(updated.password_hash, "$argon2id$new");
    assert_eq!(
        User {
            password_hash: alice.password_hash.clone(),
            ..updated
        },
        alice
    );

    // The profile and roles change; the password and the id stay.
    let changed = User {
        email: None,
        name: Some("Alice A.".into()),
        roles: vec!["admin".into(), "viewer".into()],
        ..s.get_user_by_username("alice").await.unwrap().unwrap()
    };
    assert!(s.update_user_profile(&changed).await.unwrap());
    assert_eq!(
        s.get_user_by_username("alice").await.unwrap(),
        Some(changed.clone())
    );
    assert!(!s.update_user_profile(&user("u-9", "nobody")).await.unwrap());

    assert!(s.delete_user("alice").await.unwrap());
    assert!(!s.delete_user("alice").await.unwrap());
    assert_eq!(s.get_user("u-1").await.unwrap(), None);
    assert_eq!(s.list_users().await.unwrap(), vec![bob]);
}

async fn signing_keys(s: &dyn Store, _raw: &Raw) {
    assert!(s.list_signing_keys().await.unwrap().is_empty());
    // Inserted out of order: listed oldest first.
    s.insert_signing_key(&key("rs-new", "RS256", 300))
        .await
        .unwrap();
    s.insert_signing_key(&key("rs-old", "RS256", 100))
        .await
        .unwrap();
    s.insert_signing_key(&key("es", "ES256", 200))
        .await
        .unwrap();
    let kids = |keys: Vec<SigningKeyRecord>| keys.into_iter().map(|k| k.kid).collect::<Vec<_>>();
    assert_eq!(
        kids(s.list_signing_keys().await.unwrap()),
        ["rs-old", "es", "rs-new"]
    );
    assert_eq!(
        s.list_signing_keys().await.unwrap()[0],
        key("rs-old", "RS256", 100)
    );

    let err = s
        .insert_signing_key(&key("es", "ES256", 999))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what == "signing key 'es'"),
        "{err:?}"
    );

    // Retiring RS256 but rs-new retires rs-old only; ES256 is another algorithm.
    assert_eq!(
        s.retire_signing_keys(SigningAlg::Rs256, "rs-new", 400, 500)
            .await
            .unwrap(),
        1
    );
    // Already retired keys keep their first retirement.
    assert_eq!(
        s.retire_signing_keys(SigningAlg::Rs256, "rs-new", 450, 9_999)
            .await
            .unwrap(),
        0
    );
    let keys = s.list_signing_keys().await.unwrap();
    assert_eq!(
        keys[0],
        SigningKeyRecord {
            retired_at: Some(400),
            publish_until: Some(500),
            ..key("rs-old", "RS256", 100)
        }
    );
    assert_eq!(keys[1], key("es", "ES256", 200));
    assert_eq!(keys[2], key("rs-new", "RS256", 300));

    // Published until 500 inclusive; active keys are never deleted.
    assert_eq!(s.delete_expired_signing_keys(500).await.unwrap(), 0);
    assert_eq!(s.delete_expired_signing_keys(501).await.unwrap(), 1);
    assert_eq!(s.delete_expired_signing_keys(i64::MAX).await.unwrap(), 0);
    assert_eq!(kids(s.list_signing_keys().await.unwrap()), ["es", "rs-new"]);
}

async fn access_tokens(s: &dyn Store, _raw: &Raw) {
    s.insert_client(&client("c1")).await.unwrap();
    let t1 = token(1, "c1", 5_000);
    let t2 = AccessTokenRecord {
        subject: None,
        audiences: vec![],
        grant_id: None,
        scope: String::new(),
        ..token(2, "c1", 6_000)
    };
    s.insert_access_token(&t1).await.unwrap();
    s.insert_access_token(&t2).await.unwrap();
    assert_eq!(
        s.get_access_token(&t1.digest).await.unwrap(),
        Some(t1.clone())
    );
    assert_eq!(
        s.get_access_token(&t2.digest).await.unwrap(),
        Some(t2.clone())
    );
    assert_eq!(s.get_access_token(&[3; 32]).await.unwrap(), None);
    assert_eq!(s.get_access_token(&[]).await.unwrap(), None);

    let seq = s.revoke_access_token(&t1.digest, 1_234).await.unwrap();
    let seq = seq.expect("the first revocation revokes");
    assert_eq!(
        s.get_access_token(&t1.digest).await.unwrap(),
        Some(AccessTokenRecord {
            revoked_at: Some(1_234),
            ..t1.clone()
        })
    );
    // Revoked once only; unknown tokens are not revoked.
    assert_eq!(
        s.revoke_access_token(&t1.digest, 2_000).await.unwrap(),
        None
    );
    assert_eq!(s.revoke_access_token(&[3; 32], 2_000).await.unwrap(), None);
    assert_eq!(
        s.get_access_token(&t1.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(1_234)
    );
    assert_eq!(s.get_access_token(&t2.digest).await.unwrap(), Some(t2));

    // The feed says so, by jti, with the token's expiry.
    assert!(
        s.is_revoked(RevocationKind::AccessToken, &t1.jti)
            .await
            .unwrap()
    );
    assert!(
        !s.is_revoked(RevocationKind::AccessToken, "jti-2")
            .await
            .unwrap()
    );
    let feed = s.revocations_since(0, 100).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].seq, seq);
    assert_eq!(feed[0].kind, RevocationKind::AccessToken);
    assert_eq!(feed[0].id, t1.jti);
    assert_eq!(feed[0].expires_at, 5_000);
    assert_eq!(feed[0].revoked_at, 1_234);

    // A jti already in the feed (revoked as a JWT, say) keeps its entry.
    let t4 = token(4, "c1", 7_000);
    s.insert_access_token(&t4).await.unwrap();
    let earlier = s
        .append_revocation(&revocation(RevocationKind::AccessToken, &t4.jti, 7_000))
        .await
        .unwrap();
    assert_eq!(
        s.revoke_access_token(&t4.digest, 3_000).await.unwrap(),
        Some(earlier)
    );
    assert_eq!(s.revocations_since(0, 100).await.unwrap().len(), 2);
}

async fn access_token_conflicts_and_cascade(s: &dyn Store, _raw: &Raw) {
    s.insert_client(&client("c1")).await.unwrap();
    s.insert_client(&client("c2")).await.unwrap();
    let t1 = token(1, "c1", 5_000);
    s.insert_access_token(&t1).await.unwrap();

    // Same digest, or same jti: a conflict.
    let err = s
        .insert_access_token(&AccessTokenRecord {
            jti: "other".to_string(),
            ..t1.clone()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what == "access token 'other'"),
        "{err:?}"
    );
    let err = s
        .insert_access_token(&AccessTokenRecord {
            digest: vec![7; 32],
            ..t1.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    // A token of an unknown client is refused, but not as a conflict.
    let err = s
        .insert_access_token(&token(8, "nobody", 5_000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");

    // Deleting a client deletes its tokens, and only its tokens.
    let t2 = token(2, "c2", 5_000);
    s.insert_access_token(&t2).await.unwrap();
    assert!(s.delete_client("c1").await.unwrap());
    assert_eq!(s.get_access_token(&t1.digest).await.unwrap(), None);
    assert_eq!(s.get_access_token(&t2.digest).await.unwrap(), Some(t2));
}

async fn revocation_feed(s: &dyn Store, _raw: &Raw) {
    assert!(s.revocations_since(0, 10).await.unwrap().is_empty());
    let a = s
        .append_revocation(&revocation(RevocationKind::AccessToken, "j1", 5_000))
        .await
        .unwrap();
    let b = s
        .append_revocation(&revocation(RevocationKind::RefreshFamily, "f1", 6_000))
        .await
        .unwrap();
    let c = s
        .append_revocation(&revocation(RevocationKind::Grant, "g1", 7_000))
        .await
        .unwrap();
    assert!(a < b && b < c, "{a} {b} {c}");

    // Appending again is harmless and answers the first seq, even with other times.
    let again = NewRevocation {
        revoked_at: 9_999,
        ..revocation(RevocationKind::RefreshFamily, "f1", 8_000)
    };
    assert_eq!(s.append_revocation(&again).await.unwrap(), b);
    // The same id of another kind is another entry.
    let d = s
        .append_revocation(&revocation(RevocationKind::Grant, "j1", 7_000))
        .await
        .unwrap();
    assert!(d > c);

    assert!(
        s.is_revoked(RevocationKind::AccessToken, "j1")
            .await
            .unwrap()
    );
    assert!(s.is_revoked(RevocationKind::Grant, "j1").await.unwrap());
    assert!(
        s.is_revoked(RevocationKind::RefreshFamily, "f1")
            .await
            .unwrap()
    );
    assert!(
        !s.is_revoked(RevocationKind::AccessToken, "f1")
            .await
            .unwrap()
    );
    assert!(
        !s.is_revoked(RevocationKind::AccessToken, "J1")
            .await
            .unwrap()
    );

    let all = s.revocations_since(0, 100).await.unwrap();
    let seqs: Vec<i64> = all.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [a, b, c, d]);
    assert_eq!(all[1].kind, RevocationKind::RefreshFamily);
    assert_eq!(all[1].id, "f1");
    assert_eq!(
        all[1].expires_at, 6_000,
        "the first entry is kept as it was"
    );
    assert_eq!(all[1].revoked_at, 1_000);

    // Paging by seq and limit.
    let page: Vec<i64> = s
        .revocations_since(0, 2)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(page, [a, b]);
    let page: Vec<i64> = s
        .revocations_since(b, 2)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(page, [c, d]);
    assert!(s.revocations_since(d, 10).await.unwrap().is_empty());
    assert!(s.revocations_since(0, 0).await.unwrap().is_empty());
    assert_eq!(s.revocations_since(-1, u32::MAX).await.unwrap().len(), 4);
}

async fn remember_assertion_detects_replay(s: &dyn Store, _raw: &Raw) {
    assert!(s.remember_assertion("c1", "j1", 100).await.unwrap());
    assert!(!s.remember_assertion("c1", "j1", 100).await.unwrap());
    assert!(!s.remember_assertion("c1", "j1", 999).await.unwrap());
    // Pairs, not jtis alone.
    assert!(s.remember_assertion("c1", "j2", 100).await.unwrap());
    assert!(s.remember_assertion("c2", "j1", 100).await.unwrap());
    // Forgotten once purged.
    assert_eq!(s.purge_expired(101).await.unwrap(), 3);
    assert!(s.remember_assertion("c1", "j1", 200).await.unwrap());
}

async fn concurrent_remember_assertion_has_one_winner(s: &dyn Store, _raw: &Raw) {
    let calls = (0..16)
        .map(|_| s.remember_assertion("c1", "same-jti", 100))
        .collect();
    let results = join_all(calls).await;
    let wins = results
        .into_iter()
        .map(Result::unwrap)
        .filter(|&won| won)
        .count();
    assert_eq!(wins, 1);
}

async fn concurrent_revoke_has_one_winner(s: &dyn Store, _raw: &Raw) {
    s.insert_client(&client("c1")).await.unwrap();
    let t = token(1, "c1", 5_000);
    s.insert_access_token(&t).await.unwrap();
    let calls = (0..16)
        .map(|i| s.revoke_access_token(&t.digest, 1_000 + i))
        .collect();
    let results: Vec<Option<i64>> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<i64> = results.iter().flatten().copied().collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let feed = s.revocations_since(0, 100).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].seq, winners[0]);
    assert_eq!(
        s.get_access_token(&t.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(feed[0].revoked_at)
    );
}

async fn purge_expired(s: &dyn Store, _raw: &Raw) {
    s.insert_client(&client("c1")).await.unwrap();
    let expired = token(1, "c1", 100);
    let boundary = token(2, "c1", 200);
    let live = token(3, "c1", 300);
    for t in [&expired, &boundary, &live] {
        s.insert_access_token(t).await.unwrap();
    }
    s.remember_assertion("c1", "old", 100).await.unwrap();
    s.remember_assertion("c1", "new", 300).await.unwrap();
    s.append_revocation(&revocation(RevocationKind::AccessToken, "old", 100))
        .await
        .unwrap();
    let live_seq = s
        .append_revocation(&revocation(RevocationKind::RefreshFamily, "new", 300))
        .await
        .unwrap();
    s.insert_signing_key(&key("k", "RS256", 0)).await.unwrap();

    // Expired means before `now`: what expires at 200 is still there at 200.
    assert_eq!(s.purge_expired(200).await.unwrap(), 3);
    assert_eq!(s.purge_expired(200).await.unwrap(), 0);

    assert_eq!(s.get_access_token(&expired.digest).await.unwrap(), None);
    assert_eq!(
        s.get_access_token(&boundary.digest).await.unwrap(),
        Some(boundary)
    );
    assert_eq!(s.get_access_token(&live.digest).await.unwrap(), Some(live));
    assert!(
        s.remember_assertion("c1", "old", 400).await.unwrap(),
        "purged"
    );
    assert!(
        !s.remember_assertion("c1", "new", 400).await.unwrap(),
        "kept"
    );
    assert!(
        !s.is_revoked(RevocationKind::AccessToken, "old")
            .await
            .unwrap()
    );
    assert!(
        s.is_revoked(RevocationKind::RefreshFamily, "new")
            .await
            .unwrap()
    );
    let feed = s.revocations_since(0, 10).await.unwrap();
    assert_eq!(feed.iter().map(|r| r.seq).collect::<Vec<_>>(), [live_seq]);
    // Clients and keys are not housekeeping's business.
    assert!(s.get_client("c1").await.unwrap().is_some());
    assert_eq!(s.list_signing_keys().await.unwrap().len(), 1);

    // A seq is never handed out twice, even after the newest entries went.
    // (tokens expiring at 200 and 300, assertions at 300 and 400, the entry at 300)
    assert_eq!(s.purge_expired(1_000).await.unwrap(), 5);
    let next = s
        .append_revocation(&revocation(RevocationKind::Grant, "later", 2_000))
        .await
        .unwrap();
    assert!(next > live_seq);
}

async fn awkward_strings_round_trip(s: &dyn Store, _raw: &Raw) {
    let nasty = [
        "o'brien",
        "\"quoted\"",
        "'; DROP TABLE clients; --",
        "?1 $1 :name @x",
        "back\\slash \\x00 %_ LIKE",
        "ünïcödé — 日本語 🦀",
        "line\nbreak\ttab\r",
        "  spaces  ",
        "[\"not\", \"a list\"]",
    ];
    for (i, text) in nasty.iter().enumerate() {
        let id = format!("{text}#{i}");
        let c = Client {
            name: text.to_string(),
            redirect_uris: nasty.iter().map(|s| s.to_string()).collect(),
            scopes: vec![text.to_string(), String::new()],
            jwks: Some(text.to_string()),
            secret_digest: Some(text.as_bytes().to_vec()),
            ..client(&id)
        };
        s.insert_client(&c).await.unwrap();
        assert_eq!(s.get_client(&id).await.unwrap(), Some(c));

        let u = User {
            password_hash: text.to_string(),
            email: Some(text.to_string()),
            name: Some(text.to_string()),
            ..user(&format!("id {text} {i}"), &id)
        };
        s.insert_user(&u).await.unwrap();
        assert_eq!(s.get_user_by_username(&id).await.unwrap(), Some(u.clone()));
        assert_eq!(s.get_user(&u.id).await.unwrap(), Some(u));

        let rev = revocation(RevocationKind::Grant, &id, 9_000);
        let seq = s.append_revocation(&rev).await.unwrap();
        assert!(s.is_revoked(RevocationKind::Grant, &id).await.unwrap());
        assert_eq!(s.append_revocation(&rev).await.unwrap(), seq);
        assert!(s.remember_assertion(&id, text, 9_000).await.unwrap());
        assert!(!s.remember_assertion(&id, text, 9_000).await.unwrap());
    }
    assert_eq!(s.list_clients().await.unwrap().len(), nasty.len());
    // No pattern matching anywhere: `%` is just a character.
    assert_eq!(s.get_user_by_username("%").await.unwrap(), None);
    assert_eq!(s.get_client("%").await.unwrap(), None);

    let t = AccessTokenRecord {
        scope: nasty.join(" "),
        audiences: nasty.iter().map(|s| s.to_string()).collect(),
        subject: Some(nasty[2].to_string()),
        grant_id: Some(nasty[5].to_string()),
        jti: nasty[0].to_string(),
        digest: (0..=255).collect(),
        ..token(0, &format!("{}#0", nasty[0]), 5_000)
    };
    s.insert_access_token(&t).await.unwrap();
    assert_eq!(
        s.get_access_token(&t.digest).await.unwrap(),
        Some(t.clone())
    );
    let seq = s.revoke_access_token(&t.digest, 10).await.unwrap().unwrap();
    let feed = s.revocations_since(seq - 1, 1).await.unwrap();
    assert_eq!(feed[0].id, nasty[0]);

    // Bytes are bytes: every value, no text conversion.
    let k = SigningKeyRecord {
        public_jwk: nasty.join(""),
        ..key(nasty[1], "EdDSA", 1)
    };
    s.insert_signing_key(&k).await.unwrap();
    assert_eq!(s.list_signing_keys().await.unwrap(), vec![k]);
}

async fn corrupt_rows_are_errors_not_panics(s: &dyn Store, raw: &Raw) {
    s.insert_client(&client("bad")).await.unwrap();
    s.insert_client(&client("good")).await.unwrap();
    s.insert_access_token(&token(1, "good", 5_000))
        .await
        .unwrap();
    s.append_revocation(&revocation(RevocationKind::Grant, "g", 5_000))
        .await
        .unwrap();

    for sql in [
        "UPDATE clients SET redirect_uris = '[\"https://a\", ' WHERE client_id = 'bad'",
        "UPDATE clients SET redirect_uris = '{\"a\": 1}' WHERE client_id = 'bad'",
        "UPDATE clients SET redirect_uris = '[1, 2]' WHERE client_id = 'bad'",
        "UPDATE clients SET redirect_uris = '' WHERE client_id = 'bad'",
    ] {
        assert_eq!(raw.execute(sql).await, 1);
        let message = corrupt(s.get_client("bad").await);
        assert!(message.contains("redirect_uris"), "{message}");
        corrupt(s.list_clients().await);
    }
    // An enumerated column with a value no build of Candor writes is one clear error, for
    // each: decoded once here, never parsed again (or defaulted) by a caller.
    for (column, sql) in [
        (
            "auth_method",
            "UPDATE clients SET redirect_uris = '[]', auth_method = 'carrier_pigeon' WHERE client_id = 'bad'",
        ),
        (
            "grant_types",
            "UPDATE clients SET auth_method = 'none', grant_types = '[\"password\"]' WHERE client_id = 'bad'",
        ),
        (
            "access_token_format",
            "UPDATE clients SET grant_types = '[]', access_token_format = 'JWT ' WHERE client_id = 'bad'",
        ),
        (
            "id_token_signed_response_alg",
            "UPDATE clients SET access_token_format = 'jwt', id_token_signed_response_alg = 'HS256' WHERE client_id = 'bad'",
        ),
    ] {
        assert_eq!(raw.execute(sql).await, 1);
        let message = corrupt(s.get_client("bad").await);
        assert!(message.contains(column), "{message}");
    }
    // The other rows still read.
    assert_eq!(s.get_client("good").await.unwrap(), Some(client("good")));

    assert_eq!(
        raw.execute("UPDATE access_tokens SET audiences = 'null'")
            .await,
        1
    );
    corrupt(s.get_access_token(&[1; 32]).await);

    assert_eq!(
        raw.execute("UPDATE revocations SET kind = 'bogus'").await,
        1
    );
    let message = corrupt(s.revocations_since(0, 10).await);
    assert!(message.contains("bogus"), "{message}");

    // The store itself is fine.
    s.ping().await.unwrap();
    assert!(s.delete_client("bad").await.unwrap());
    assert_eq!(s.list_clients().await.unwrap(), vec![client("good")]);
}

async fn codes_round_trip_and_are_single_use(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    let full = code(1, "c1", "u-1", 5_000);
    let bare = bare_code(2, "c1", "u-1", 5_000);
    s.insert_code(&full).await.unwrap();
    s.insert_code(&bare).await.unwrap();

    assert_eq!(
        s.consume_code(&[3; 32], 100, &Issuance::default())
            .await
            .unwrap(),
        Consumed::NotFound
    );
    assert_eq!(
        s.consume_code(&[], 100, &Issuance::default())
            .await
            .unwrap(),
        Consumed::NotFound
    );

    // Fresh once, with the record as now stored; then Spent, showing the first use.
    for c in [&full, &bare] {
        let used = AuthorizationCodeRecord {
            used_at: Some(100),
            ..c.clone()
        };
        assert_eq!(
            s.consume_code(&c.digest, 100, &Issuance::default())
                .await
                .unwrap(),
            Consumed::Fresh(used.clone())
        );
        assert_eq!(
            s.consume_code(&c.digest, 200, &Issuance::default())
                .await
                .unwrap(),
            Consumed::Spent(used)
        );
    }

    // A code stored as used already is spent from the start.
    let stale = AuthorizationCodeRecord {
        used_at: Some(50),
        ..code(4, "c1", "u-1", 5_000)
    };
    s.insert_code(&stale).await.unwrap();
    assert_eq!(
        s.consume_code(&stale.digest, 100, &Issuance::default())
            .await
            .unwrap(),
        Consumed::Spent(stale.clone())
    );

    // Same digest: a conflict, and the first code is untouched.
    let err = s
        .insert_code(&AuthorizationCodeRecord {
            grant_id: "other".to_string(),
            ..bare_code(1, "c1", "u-1", 9_000)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what == "authorization code of grant 'other'"),
        "{err:?}"
    );
    assert_eq!(
        s.consume_code(&full.digest, 300, &Issuance::default())
            .await
            .unwrap(),
        Consumed::Spent(AuthorizationCodeRecord {
            used_at: Some(100),
            ..full
        })
    );

    // Unknown client or user: refused, but not as a conflict.
    let err = s
        .insert_code(&code(5, "nobody", "u-1", 5_000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    let err = s
        .insert_code(&code(5, "c1", "nobody", 5_000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
}

async fn concurrent_consume_code_has_one_winner(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    let c = code(1, "c1", "u-1", 5_000);
    s.insert_code(&c).await.unwrap();
    let calls = (0..16)
        .map(|i| s.consume_code(&c.digest, 1_000 + i, &NOTHING))
        .collect();
    let results: Vec<_> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let fresh: Vec<&AuthorizationCodeRecord> = results
        .iter()
        .filter_map(|r| match r {
            Consumed::Fresh(record) => Some(record),
            _ => None,
        })
        .collect();
    assert_eq!(fresh.len(), 1, "{results:?}");
    let used_at = fresh[0].used_at;
    assert!(used_at.is_some());
    // Every loser saw the winner's mark.
    for r in &results {
        match r {
            Consumed::Fresh(_) => {}
            Consumed::Spent(record) => assert_eq!(record.used_at, used_at),
            Consumed::NotFound => panic!("{results:?}"),
        }
    }
}

async fn refresh_tokens_round_trip_and_are_single_use(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    let full = refresh(1, "f1", "c1", "u-1", 9_000);
    let bare = RefreshTokenRecord {
        sid: None,
        amr: vec![],
        scope: String::new(),
        ..refresh(2, "f1", "c1", "u-1", 9_000)
    };
    let stored_used = RefreshTokenRecord {
        used_at: Some(30),
        revoked_at: Some(40),
        ..refresh(3, "f2", "c1", "u-1", 9_000)
    };
    for t in [&full, &bare, &stored_used] {
        s.insert_refresh_token(t).await.unwrap();
        assert_eq!(
            s.get_refresh_token(&t.digest).await.unwrap(),
            Some(t.clone())
        );
    }
    assert_eq!(s.get_refresh_token(&[9; 32]).await.unwrap(), None);
    assert_eq!(
        s.consume_refresh_token(&[9; 32], 100, &Issuance::default())
            .await
            .unwrap(),
        Consumed::NotFound
    );

    let used = RefreshTokenRecord {
        used_at: Some(100),
        ..full.clone()
    };
    assert_eq!(
        s.consume_refresh_token(&full.digest, 100, &Issuance::default())
            .await
            .unwrap(),
        Consumed::Fresh(used.clone())
    );
    assert_eq!(
        s.consume_refresh_token(&full.digest, 200, &Issuance::default())
            .await
            .unwrap(),
        Consumed::Spent(used.clone())
    );
    assert_eq!(s.get_refresh_token(&full.digest).await.unwrap(), Some(used));
    // The other token of the family is unaffected.
    assert_eq!(
        s.get_refresh_token(&bare.digest).await.unwrap(),
        Some(bare.clone())
    );
    assert_eq!(
        s.consume_refresh_token(&stored_used.digest, 100, &Issuance::default())
            .await
            .unwrap(),
        Consumed::Spent(stored_used)
    );

    let err = s
        .insert_refresh_token(&refresh(2, "f9", "c1", "u-1", 9_000))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what == "refresh token of family 'f9'"),
        "{err:?}"
    );
    assert_eq!(s.get_refresh_token(&bare.digest).await.unwrap(), Some(bare));
    let err = s
        .insert_refresh_token(&refresh(5, "f1", "nobody", "u-1", 9_000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    let err = s
        .insert_refresh_token(&refresh(5, "f1", "c1", "nobody", 9_000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
}

async fn concurrent_consume_refresh_token_has_one_winner(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    let t = refresh(1, "f1", "c1", "u-1", 9_000);
    s.insert_refresh_token(&t).await.unwrap();
    let calls = (0..16)
        .map(|i| s.consume_refresh_token(&t.digest, 1_000 + i, &NOTHING))
        .collect();
    let results: Vec<_> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let fresh: Vec<&RefreshTokenRecord> = results
        .iter()
        .filter_map(|r| match r {
            Consumed::Fresh(record) => Some(record),
            _ => None,
        })
        .collect();
    assert_eq!(fresh.len(), 1, "{results:?}");
    let used_at = fresh[0].used_at;
    for r in &results {
        match r {
            Consumed::Fresh(_) => {}
            Consumed::Spent(record) => assert_eq!(record.used_at, used_at),
            Consumed::NotFound => panic!("{results:?}"),
        }
    }
    assert_eq!(
        s.get_refresh_token(&t.digest)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        used_at
    );
}

async fn revoked_refresh_token_is_spent(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    let t = refresh(1, "f1", "c1", "u-1", 9_000);
    s.insert_refresh_token(&t).await.unwrap();
    s.revoke_refresh_family("f1", 500, 9_000).await.unwrap();
    let revoked = RefreshTokenRecord {
        revoked_at: Some(500),
        ..t.clone()
    };
    // Never used, but revoked: spent, and still not marked used.
    assert_eq!(
        s.consume_refresh_token(&t.digest, 600, &Issuance::default())
            .await
            .unwrap(),
        Consumed::Spent(revoked.clone())
    );
    assert_eq!(s.get_refresh_token(&t.digest).await.unwrap(), Some(revoked));
}

async fn revoke_refresh_family(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    let current = refresh(1, "f1", "c1", "u-1", 9_000);
    let rotated = RefreshTokenRecord {
        used_at: Some(100),
        ..refresh(2, "f1", "c1", "u-1", 9_000)
    };
    let early = RefreshTokenRecord {
        revoked_at: Some(200),
        ..refresh(3, "f1", "c1", "u-1", 9_000)
    };
    let other = refresh(4, "f2", "c1", "u-1", 9_000);
    for t in [&current, &rotated, &early, &other] {
        s.insert_refresh_token(t).await.unwrap();
    }

    let seq = s.revoke_refresh_family("f1", 500, 9_100).await.unwrap();
    let get = |t: &RefreshTokenRecord| {
        let digest = t.digest.clone();
        async move { s.get_refresh_token(&digest).await }
    };
    assert_eq!(get(&current).await.unwrap().unwrap().revoked_at, Some(500));
    assert_eq!(
        get(&rotated).await.unwrap(),
        Some(RefreshTokenRecord {
            revoked_at: Some(500),
            ..rotated.clone()
        })
    );
    assert_eq!(
        get(&early).await.unwrap(),
        Some(early.clone()),
        "an earlier revocation stands"
    );
    assert_eq!(
        get(&other).await.unwrap(),
        Some(other.clone()),
        "another family"
    );

    let feed = s.revocations_since(0, 100).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].seq, seq);
    assert_eq!(feed[0].kind, RevocationKind::RefreshFamily);
    assert_eq!(feed[0].id, "f1");
    assert_eq!(feed[0].expires_at, 9_100);
    assert_eq!(feed[0].revoked_at, 500);
    assert!(
        s.is_revoked(RevocationKind::RefreshFamily, "f1")
            .await
            .unwrap()
    );
    assert!(
        !s.is_revoked(RevocationKind::RefreshFamily, "f2")
            .await
            .unwrap()
    );

    // Again: the same entry, nothing changes (a token added since is revoked, though).
    let late = refresh(5, "f1", "c1", "u-1", 9_000);
    s.insert_refresh_token(&late).await.unwrap();
    assert_eq!(
        s.revoke_refresh_family("f1", 700, 9_999).await.unwrap(),
        seq
    );
    let feed = s.revocations_since(0, 100).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!((feed[0].expires_at, feed[0].revoked_at), (9_100, 500));
    assert_eq!(get(&current).await.unwrap().unwrap().revoked_at, Some(500));
    assert_eq!(get(&late).await.unwrap().unwrap().revoked_at, Some(700));

    // A family with no token left (purged, say) still gets its feed entry.
    let seq2 = s.revoke_refresh_family("gone", 800, 9_000).await.unwrap();
    assert!(seq2 > seq);
    assert_eq!(get(&other).await.unwrap(), Some(other));
}

async fn sessions(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    let full = session(1, "sid-1", "u-1", 9_000);
    let bare = SessionRecord {
        amr: vec![],
        ..session(2, "sid-2", "u-1", 9_000)
    };
    s.insert_session(&full).await.unwrap();
    s.insert_session(&bare).await.unwrap();
    assert_eq!(
        s.get_session(&full.digest).await.unwrap(),
        Some(full.clone())
    );
    assert_eq!(
        s.get_session(&bare.digest).await.unwrap(),
        Some(bare.clone())
    );
    assert_eq!(s.get_session(&[3; 32]).await.unwrap(), None);

    // Same digest, or same sid: a conflict.
    let err = s
        .insert_session(&session(1, "sid-3", "u-1", 9_000))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what == "session 'sid-3'"),
        "{err:?}"
    );
    let err = s
        .insert_session(&session(3, "sid-1", "u-1", 9_000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = s
        .insert_session(&session(3, "sid-3", "nobody", 9_000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");

    // Deleted by the public sid, not by the digest.
    assert!(!s.delete_session("unknown").await.unwrap());
    assert!(s.delete_session("sid-1").await.unwrap());
    assert!(!s.delete_session("sid-1").await.unwrap());
    assert_eq!(s.get_session(&full.digest).await.unwrap(), None);
    assert_eq!(s.get_session(&bare.digest).await.unwrap(), Some(bare));
    // The sid is free again.
    s.insert_session(&session(4, "sid-1", "u-1", 9_000))
        .await
        .unwrap();
}

async fn spent_requests_are_single_use(s: &dyn Store, _raw: &Raw) {
    assert!(s.spend_request("p1", 9_000).await.unwrap());
    assert!(!s.spend_request("p1", 9_000).await.unwrap(), "a replay");
    assert!(
        !s.spend_request("p1", 1).await.unwrap(),
        "whatever the expiry"
    );
    assert!(s.spend_request("p2", 9_000).await.unwrap());
    assert!(s.spend_request("", 9_000).await.unwrap());
    assert!(s.spend_request("o'brien \"x\"", 9_000).await.unwrap());
    assert!(!s.spend_request("o'brien \"x\"", 9_000).await.unwrap());
}

async fn concurrent_spend_request_has_one_winner(s: &dyn Store, _raw: &Raw) {
    let calls = (0..16).map(|_| s.spend_request("p1", 9_000)).collect();
    let results: Vec<bool> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results.iter().filter(|won| **won).count(), 1, "{results:?}");
}

fn opaque(byte: u8, grant: &str) -> AccessTokenRecord {
    AccessTokenRecord {
        digest: vec![byte; 32],
        jti: format!("jti-{byte}"),
        client_id: "c1".into(),
        subject: Some("u-1".into()),
        scope: "openid".into(),
        audiences: vec![],
        issued_at: 10,
        expires_at: 9_000,
        grant_id: Some(grant.into()),
        revoked_at: None,
    }
}

async fn redemption_stores_its_issuance_or_nothing(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    s.insert_code(&code(1, "c1", "u-1", 9_000)).await.unwrap();
    let issued = Issuance {
        refresh_token: Some(refresh(10, "f1", "c1", "u-1", 9_000)),
        access_token: Some(opaque(11, "f1")),
    };
    assert!(matches!(
        s.consume_code(&[1; 32], 100, &issued).await.unwrap(),
        Consumed::Fresh(_)
    ));
    assert!(s.get_refresh_token(&[10; 32]).await.unwrap().is_some());
    assert!(s.get_access_token(&[11; 32]).await.unwrap().is_some());
    // The loser stores nothing.
    let second = Issuance {
        refresh_token: Some(refresh(12, "f1", "c1", "u-1", 9_000)),
        access_token: Some(opaque(13, "f1")),
    };
    assert!(matches!(
        s.consume_code(&[1; 32], 101, &second).await.unwrap(),
        Consumed::Spent(_)
    ));
    assert_eq!(s.get_refresh_token(&[12; 32]).await.unwrap(), None);
    assert_eq!(s.get_access_token(&[13; 32]).await.unwrap(), None);

    // An issuance that cannot be stored (a digest taken) leaves the code unused.
    s.insert_code(&code(2, "c1", "u-1", 9_000)).await.unwrap();
    let clash = Issuance {
        refresh_token: Some(refresh(10, "f2", "c1", "u-1", 9_000)),
        access_token: None,
    };
    assert!(s.consume_code(&[2; 32], 100, &clash).await.is_err());
    assert_eq!(s.get_code(&[2; 32]).await.unwrap().unwrap().used_at, None);
    // Likewise for a rotation.
    let rotate_clash = Issuance {
        refresh_token: Some(refresh(10, "f1", "c1", "u-1", 9_000)),
        access_token: None,
    };
    assert!(
        s.consume_refresh_token(&[10; 32], 200, &rotate_clash)
            .await
            .is_err()
    );
    let current = s.get_refresh_token(&[10; 32]).await.unwrap().unwrap();
    assert_eq!(
        current.used_at, None,
        "a failed rotation leaves the token usable"
    );
    let next = Issuance {
        refresh_token: Some(refresh(14, "f1", "c1", "u-1", 9_000)),
        access_token: None,
    };
    assert!(matches!(
        s.consume_refresh_token(&[10; 32], 200, &next)
            .await
            .unwrap(),
        Consumed::Fresh(_)
    ));
    assert!(s.get_refresh_token(&[14; 32]).await.unwrap().is_some());
}

async fn revocation_waits_for_a_rotation_in_flight(s: &dyn Store, raw: &Raw) {
    // A rotation holds the lock of the token it consumes while it inserts the next one (done
    // here by hand on a connection of its own); a revocation of the family that starts
    // meanwhile must wait for it and revoke the new token too, not only the ones it saw.
    client_and_user(s).await;
    let first = refresh(1, "fam", "c1", "u-1", 9_000);
    s.insert_refresh_token(&first).await.unwrap();
    const ROTATE: &str = "UPDATE refresh_tokens SET used_at = 50 WHERE digest = $1";
    const NEXT: &str = "INSERT INTO refresh_tokens (digest, family_id, client_id, user_id, scope, \
         auth_time, sid, amr, issued_at, expires_at, idle_expires_at) \
         VALUES ($1, 'fam', 'c1', 'u-1', 'openid', 10, NULL, '[]', 50, 9000, 9000)";
    let next = vec![2u8; 32];
    let pause = std::time::Duration::from_millis(500);
    let revoked = match raw {
        Raw::Postgres { url } => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            sqlx::query(ROTATE)
                .bind(&first.digest)
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query(NEXT)
                .bind(&next)
                .execute(&mut *tx)
                .await
                .unwrap();
            let (revoked, ()) = futures_join(s.revoke_refresh_family("fam", 100, 9_000), async {
                tokio::time::sleep(pause).await;
                tx.commit().await.unwrap();
            })
            .await;
            revoked
        }
        Raw::Sqlite { path, .. } => {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.unwrap();
            sqlx::query(ROTATE)
                .bind(&first.digest)
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query(NEXT)
                .bind(&next)
                .execute(&mut *tx)
                .await
                .unwrap();
            let (revoked, ()) = futures_join(s.revoke_refresh_family("fam", 100, 9_000), async {
                tokio::time::sleep(pause).await;
                tx.commit().await.unwrap();
            })
            .await;
            revoked
        }
    };
    revoked.unwrap();
    let t = s.get_refresh_token(&next).await.unwrap().unwrap();
    assert_eq!(
        t.revoked_at,
        Some(100),
        "the token the rotation issued survived"
    );
}

/// Runs two futures concurrently on this task.
async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = Box::pin(a);
    let mut b = Box::pin(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}

async fn revoke_subject_ends_a_users_grants(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    s.insert_user(&user("u-2", "bob")).await.unwrap();
    s.insert_session(&session(1, "sid-1", "u-1", 9_000))
        .await
        .unwrap();
    s.insert_session(&session(2, "sid-2", "u-2", 9_000))
        .await
        .unwrap();
    s.insert_refresh_token(&refresh(3, "f3", "c1", "u-1", 9_000))
        .await
        .unwrap();
    s.insert_refresh_token(&refresh(4, "f4", "c1", "u-2", 9_000))
        .await
        .unwrap();
    s.insert_access_token(&opaque(5, "f3")).await.unwrap();
    assert_eq!(
        s.revoked_at(RevocationKind::Subject, "u-1").await.unwrap(),
        None
    );

    let seq = s.revoke_subject("u-1", 500, 9_000).await.unwrap();
    assert_eq!(s.get_session(&[1; 32]).await.unwrap(), None);
    assert!(
        s.get_session(&[2; 32]).await.unwrap().is_some(),
        "bob's session stays"
    );
    assert_eq!(
        s.get_refresh_token(&[3; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(500)
    );
    assert_eq!(
        s.get_refresh_token(&[4; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert_eq!(
        s.get_access_token(&[5; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(500)
    );
    assert_eq!(
        s.revoked_at(RevocationKind::Subject, "u-1").await.unwrap(),
        Some(500)
    );
    assert_eq!(
        s.revoked_at(RevocationKind::Subject, "u-2").await.unwrap(),
        None
    );

    // Again later: a new entry at the end of the feed with the new time, the old one gone.
    let later = s.revoke_subject("u-1", 700, 9_500).await.unwrap();
    assert!(later > seq);
    assert_eq!(
        s.revoked_at(RevocationKind::Subject, "u-1").await.unwrap(),
        Some(700)
    );
    let feed = s.revocations_since(0, 100).await.unwrap();
    let entries: Vec<_> = feed
        .iter()
        .filter(|r| r.kind == RevocationKind::Subject && r.id == "u-1")
        .collect();
    assert_eq!(entries.len(), 1, "{feed:?}");
    assert_eq!(
        (entries[0].seq, entries[0].revoked_at, entries[0].expires_at),
        (later, 700, 9_500)
    );
    // Unknown users revoke nothing but are recorded (a deletion may come first).
    assert!(s.revoke_subject("nobody", 800, 9_000).await.unwrap() > later);
}

async fn check_writable(s: &dyn Store, raw: &Raw) {
    s.check_writable(1).await.unwrap();
    s.check_writable(2).await.unwrap();
    // A store that refuses writes is not ready, even though it answers.
    match raw {
        Raw::Sqlite { .. } => {
            raw.execute(
                "CREATE TRIGGER readiness_refuses BEFORE UPDATE ON readiness \
                 BEGIN SELECT RAISE(ABORT, 'read-only'); END",
            )
            .await
        }
        Raw::Postgres { .. } => {
            raw.execute(
                "ALTER TABLE readiness ADD CONSTRAINT readiness_refuses \
                 CHECK (checked_at < 0) NOT VALID",
            )
            .await
        }
    };
    s.ping().await.unwrap();
    assert!(s.check_writable(3).await.is_err());
}

async fn consent_upsert_replaces(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    s.insert_client(&client("c2")).await.unwrap();
    s.insert_user(&user("u-2", "bob")).await.unwrap();
    assert_eq!(s.get_consent("u-1", "c1").await.unwrap(), None);

    let first = strings(&["openid", "profile", "email"]);
    s.put_consent("u-1", "c1", &first, 100).await.unwrap();
    assert_eq!(
        s.get_consent("u-1", "c1").await.unwrap(),
        Some(first.clone())
    );
    // Per (user, client) pair; the arguments are not interchangeable.
    assert_eq!(s.get_consent("u-1", "c2").await.unwrap(), None);
    assert_eq!(s.get_consent("u-2", "c1").await.unwrap(), None);
    assert_eq!(s.get_consent("c1", "u-1").await.unwrap(), None);

    // Replaced, not merged; an empty list is a recorded consent to nothing.
    let second = strings(&["openid"]);
    s.put_consent("u-1", "c1", &second, 200).await.unwrap();
    assert_eq!(s.get_consent("u-1", "c1").await.unwrap(), Some(second));
    s.put_consent("u-1", "c1", &[], 300).await.unwrap();
    assert_eq!(s.get_consent("u-1", "c1").await.unwrap(), Some(vec![]));

    s.put_consent("u-2", "c1", &first, 100).await.unwrap();
    assert_eq!(
        s.get_consent("u-2", "c1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(s.get_consent("u-1", "c1").await.unwrap(), Some(vec![]));

    let err = s.put_consent("nobody", "c1", &first, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    let err = s.put_consent("u-1", "nobody", &first, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
}

async fn login_failures_window(s: &dyn Store, _raw: &Raw) {
    let window = 300;
    assert_eq!(
        s.login_failures("alice", 1_000, window).await.unwrap(),
        (0, None)
    );
    assert_eq!(
        s.record_login_failure("alice", 1_000, window)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.record_login_failure("alice", 1_100, window)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.record_login_failure("alice", 1_299, window)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        s.login_failures("alice", 1_299, window).await.unwrap(),
        (3, Some(1_299))
    );
    // Usernames are counted apart, case and all (unknown names too: nothing checks them).
    assert_eq!(
        s.record_login_failure("Alice", 1_299, window)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.login_failures("bob", 1_299, window).await.unwrap(),
        (0, None)
    );

    // The window started at 1000: at 1300 it is over, however recent the last failure.
    assert_eq!(
        s.login_failures("alice", 1_300, window).await.unwrap(),
        (0, None)
    );
    assert_eq!(
        s.record_login_failure("alice", 1_300, window)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.login_failures("alice", 1_300, window).await.unwrap(),
        (1, Some(1_300))
    );
    assert_eq!(
        s.record_login_failure("alice", 1_599, window)
            .await
            .unwrap(),
        2
    );
    // A wider window, asked for later, still sees the count.
    assert_eq!(
        s.login_failures("alice", 5_000, 10_000).await.unwrap(),
        (2, Some(1_599))
    );

    s.clear_login_failures("alice").await.unwrap();
    s.clear_login_failures("nobody").await.unwrap();
    assert_eq!(
        s.login_failures("alice", 1_600, window).await.unwrap(),
        (0, None)
    );
    assert_eq!(
        s.record_login_failure("alice", 1_600, window)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.login_failures("Alice", 1_300, window).await.unwrap(),
        (1, Some(1_299))
    );

    // Extreme times do not overflow.
    for now in [i64::MIN, 0, i64::MAX] {
        s.record_login_failure("x", now, i64::MAX).await.unwrap();
        s.login_failures("x", now, i64::MAX).await.unwrap();
    }
    assert_eq!(
        s.record_login_failure("x", i64::MAX, i64::MAX)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.login_failures("x", i64::MAX, i64::MAX).await.unwrap(),
        (2, Some(i64::MAX))
    );
}

async fn concurrent_login_failures_all_count(s: &dyn Store, _raw: &Raw) {
    let calls = (0..16)
        .map(|_| s.record_login_failure("mallory", 1_000, 300))
        .collect();
    let mut counts: Vec<u32> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=16).collect::<Vec<u32>>());
    assert_eq!(
        s.login_failures("mallory", 1_000, 300).await.unwrap(),
        (16, Some(1_000))
    );
}

async fn purge_expired_browser_flow(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    let now = 100_000;
    // For each kind: expired, at the boundary (kept) and live.
    for (byte, expires_at) in [(1, now - 1), (2, now), (3, now + 1)] {
        s.insert_code(&code(byte, "c1", "u-1", expires_at))
            .await
            .unwrap();
        s.insert_refresh_token(&refresh(byte, &format!("f{byte}"), "c1", "u-1", expires_at))
            .await
            .unwrap();
        s.insert_session(&session(byte, &format!("sid-{byte}"), "u-1", expires_at))
            .await
            .unwrap();
        assert!(
            s.spend_request(&format!("p{byte}"), expires_at)
                .await
                .unwrap()
        );
    }
    // A refresh token whose idle lifetime is over but whose family lives on is kept.
    let idle = RefreshTokenRecord {
        idle_expires_at: 10,
        used_at: Some(5),
        ..refresh(4, "f3", "c1", "u-1", now + 1)
    };
    s.insert_refresh_token(&idle).await.unwrap();
    // Login failures: last failure more than a day ago goes; a day ago exactly stays.
    let day_ago = now - LOGIN_FAILURE_RETENTION;
    s.record_login_failure("old", day_ago - 1, 60)
        .await
        .unwrap();
    s.record_login_failure("edge", day_ago, 60).await.unwrap();
    // A long-lived window whose latest failure is recent stays whole.
    s.record_login_failure("recent", 1, 1_000_000)
        .await
        .unwrap();
    s.record_login_failure("recent", now - 10, 1_000_000)
        .await
        .unwrap();

    assert_eq!(s.purge_expired(now).await.unwrap(), 5);
    assert_eq!(s.purge_expired(now).await.unwrap(), 0);

    assert_eq!(
        s.consume_code(&[1; 32], now, &Issuance::default())
            .await
            .unwrap(),
        Consumed::NotFound
    );
    assert!(matches!(
        s.consume_code(&[2; 32], now, &Issuance::default())
            .await
            .unwrap(),
        Consumed::Fresh(_)
    ));
    assert!(matches!(
        s.consume_code(&[3; 32], now, &Issuance::default())
            .await
            .unwrap(),
        Consumed::Fresh(_)
    ));
    assert_eq!(s.get_refresh_token(&[1; 32]).await.unwrap(), None);
    assert!(s.get_refresh_token(&[2; 32]).await.unwrap().is_some());
    assert!(s.get_refresh_token(&[3; 32]).await.unwrap().is_some());
    assert_eq!(s.get_refresh_token(&idle.digest).await.unwrap(), Some(idle));
    assert_eq!(s.get_session(&[1; 32]).await.unwrap(), None);
    assert!(s.get_session(&[2; 32]).await.unwrap().is_some());
    assert!(s.get_session(&[3; 32]).await.unwrap().is_some());
    assert!(
        s.spend_request("p1", now).await.unwrap(),
        "purged: forgotten"
    );
    assert!(!s.spend_request("p2", now).await.unwrap());
    assert!(!s.spend_request("p3", now).await.unwrap());
    let forever = i64::MAX;
    assert_eq!(
        s.login_failures("old", now, forever).await.unwrap(),
        (0, None)
    );
    assert_eq!(
        s.login_failures("edge", now, forever).await.unwrap(),
        (1, Some(day_ago))
    );
    assert_eq!(
        s.login_failures("recent", now, forever).await.unwrap(),
        (2, Some(now - 10))
    );
    // Clients, users and consents are not housekeeping's business.
    assert!(s.get_client("c1").await.unwrap().is_some());
    assert!(s.get_user("u-1").await.unwrap().is_some());

    // Later, everything goes: codes 2, 3; refresh tokens 2, 3, idle; sessions 2, 3;
    // spent requests 1 (spent again above), 2, 3; failures edge, recent.
    assert_eq!(s.purge_expired(i64::MAX).await.unwrap(), 12);
}

async fn deleting_client_or_user_cascades_browser_flow(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    s.insert_client(&client("c2")).await.unwrap();
    s.insert_user(&user("u-2", "bob")).await.unwrap();
    let scopes = strings(&["openid"]);
    // Records of (c1, u-1), (c2, u-1) and (c1, u-2).
    for (byte, c, u) in [(1, "c1", "u-1"), (2, "c2", "u-1"), (3, "c1", "u-2")] {
        s.insert_code(&code(byte, c, u, 9_000)).await.unwrap();
        s.insert_refresh_token(&refresh(byte, "f", c, u, 9_000))
            .await
            .unwrap();
        s.put_consent(u, c, &scopes, 1).await.unwrap();
    }
    s.insert_session(&session(1, "sid-1", "u-1", 9_000))
        .await
        .unwrap();
    s.insert_session(&session(3, "sid-3", "u-2", 9_000))
        .await
        .unwrap();

    assert!(s.delete_client("c1").await.unwrap());
    for byte in [1, 3] {
        assert_eq!(
            s.consume_code(&[byte; 32], 1, &Issuance::default())
                .await
                .unwrap(),
            Consumed::NotFound
        );
        assert_eq!(s.get_refresh_token(&[byte; 32]).await.unwrap(), None);
    }
    assert_eq!(s.get_consent("u-1", "c1").await.unwrap(), None);
    assert_eq!(s.get_consent("u-2", "c1").await.unwrap(), None);
    assert!(s.get_refresh_token(&[2; 32]).await.unwrap().is_some());
    assert_eq!(
        s.get_consent("u-1", "c2").await.unwrap(),
        Some(scopes.clone())
    );
    assert!(
        s.get_session(&[1; 32]).await.unwrap().is_some(),
        "sessions are the user's"
    );

    // Deleting a user (by username) deletes their codes, tokens, sessions and consents.
    assert!(s.delete_user("alice").await.unwrap());
    assert_eq!(
        s.consume_code(&[2; 32], 1, &Issuance::default())
            .await
            .unwrap(),
        Consumed::NotFound
    );
    assert_eq!(s.get_refresh_token(&[2; 32]).await.unwrap(), None);
    assert_eq!(s.get_session(&[1; 32]).await.unwrap(), None);
    assert_eq!(s.get_consent("u-1", "c2").await.unwrap(), None);
    assert!(s.get_session(&[3; 32]).await.unwrap().is_some());
}

async fn browser_flow_corrupt_rows_are_errors_not_panics(s: &dyn Store, raw: &Raw) {
    client_and_user(s).await;
    s.insert_code(&code(1, "c1", "u-1", 9_000)).await.unwrap();
    s.insert_refresh_token(&refresh(1, "f1", "c1", "u-1", 9_000))
        .await
        .unwrap();
    s.insert_session(&session(1, "sid-1", "u-1", 9_000))
        .await
        .unwrap();
    s.put_consent("u-1", "c1", &strings(&["openid"]), 1)
        .await
        .unwrap();

    assert_eq!(
        raw.execute("UPDATE authorization_codes SET amr = '[\"pwd\"'")
            .await,
        1
    );
    let message = corrupt(s.consume_code(&[1; 32], 100, &Issuance::default()).await);
    assert!(message.contains("amr"), "{message}");
    // Not spent (the transaction that marked it rolled back), and still corrupt.
    corrupt(s.consume_code(&[1; 32], 200, &Issuance::default()).await);

    assert_eq!(raw.execute("UPDATE refresh_tokens SET amr = '{}'").await, 1);
    corrupt(s.get_refresh_token(&[1; 32]).await);
    corrupt(
        s.consume_refresh_token(&[1; 32], 100, &Issuance::default())
            .await,
    );

    assert_eq!(raw.execute("UPDATE sessions SET amr = 'null'").await, 1);
    corrupt(s.get_session(&[1; 32]).await);

    assert_eq!(raw.execute("UPDATE consents SET scopes = '[1]'").await, 1);
    let message = corrupt(s.get_consent("u-1", "c1").await);
    assert!(message.contains("scopes"), "{message}");

    assert_eq!(
        raw.execute("UPDATE login_failures SET failures = -1").await,
        0
    );
    s.record_login_failure("alice", 1, 60).await.unwrap();
    assert_eq!(
        raw.execute("UPDATE login_failures SET failures = -1").await,
        1
    );
    corrupt(s.login_failures("alice", 1, 60).await);

    s.ping().await.unwrap();
}

async fn refresh_revoked_at(s: &dyn Store, digest_byte: u8) -> Option<i64> {
    s.get_refresh_token(&[digest_byte; 32])
        .await
        .unwrap()
        .unwrap()
        .revoked_at
}

async fn disable_and_enable_client(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    s.insert_client(&Client {
        disabled_at: None,
        ..client("c2")
    })
    .await
    .unwrap();
    s.insert_refresh_token(&refresh(3, "f3", "c2", "u-1", 9_000))
        .await
        .unwrap();
    s.insert_refresh_token(&refresh(4, "f4", "c1", "u-1", 9_000))
        .await
        .unwrap();

    assert!(s.disable_client("c2", 500, 9_000).await.unwrap());
    assert!(
        !s.disable_client("c2", 600, 9_000).await.unwrap(),
        "disabled already: nothing changes, the first time stays"
    );
    assert!(!s.disable_client("nobody", 600, 9_000).await.unwrap());
    assert_eq!(
        s.get_client("c2").await.unwrap().unwrap().disabled_at,
        Some(500)
    );
    assert_eq!(refresh_revoked_at(s, 3).await, Some(500));
    assert_eq!(refresh_revoked_at(s, 4).await, None, "another client's");
    assert_eq!(
        s.revoked_at(RevocationKind::Client, "c2").await.unwrap(),
        Some(500)
    );

    assert!(s.enable_client("c2", 700).await.unwrap());
    assert!(!s.enable_client("c2", 800).await.unwrap());
    assert!(!s.enable_client("nobody", 800).await.unwrap());
    let enabled = s.get_client("c2").await.unwrap().unwrap();
    assert_eq!((enabled.disabled_at, enabled.updated_at), (None, 700));
    assert_eq!(
        refresh_revoked_at(s, 3).await,
        Some(500),
        "what was revoked stays revoked"
    );
}

async fn disable_and_enable_user(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    s.insert_user(&user("u-2", "bob")).await.unwrap();
    s.insert_session(&session(1, "sid-1", "u-1", 9_000))
        .await
        .unwrap();
    s.insert_session(&session(2, "sid-2", "u-2", 9_000))
        .await
        .unwrap();
    s.insert_refresh_token(&refresh(3, "f3", "c1", "u-1", 9_000))
        .await
        .unwrap();

    assert!(s.disable_user("u-1", 500, 9_000).await.unwrap());
    assert!(!s.disable_user("u-1", 600, 9_000).await.unwrap());
    assert!(!s.disable_user("nobody", 600, 9_000).await.unwrap());
    assert_eq!(
        s.get_user("u-1").await.unwrap().unwrap().disabled_at,
        Some(500)
    );
    assert_eq!(s.get_session(&[1; 32]).await.unwrap(), None);
    assert!(s.get_session(&[2; 32]).await.unwrap().is_some());
    assert_eq!(refresh_revoked_at(s, 3).await, Some(500));
    assert_eq!(
        s.revoked_at(RevocationKind::Subject, "u-1").await.unwrap(),
        Some(500)
    );

    assert!(s.enable_user("u-1").await.unwrap());
    assert!(!s.enable_user("u-1").await.unwrap());
    assert_eq!(s.get_user("u-1").await.unwrap().unwrap().disabled_at, None);
}

async fn sessions_and_consents_of_a_user(s: &dyn Store, _raw: &Raw) {
    client_and_user(s).await;
    s.insert_client(&client("c2")).await.unwrap();
    s.insert_user(&user("u-2", "bob")).await.unwrap();
    let mut older = session(1, "sid-1", "u-1", 9_000);
    older.created_at = 5;
    s.insert_session(&older).await.unwrap();
    s.insert_session(&session(2, "sid-2", "u-1", 9_000))
        .await
        .unwrap();
    s.insert_session(&session(3, "sid-3", "u-1", 100))
        .await
        .unwrap();
    s.insert_session(&session(4, "sid-4", "u-2", 9_000))
        .await
        .unwrap();
    let sids: Vec<String> = s
        .list_sessions("u-1", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.sid)
        .collect();
    assert_eq!(
        sids,
        strings(&["sid-2", "sid-1"]),
        "newest first, live only"
    );

    s.put_consent("u-1", "c2", &strings(&["openid"]), 50)
        .await
        .unwrap();
    s.put_consent("u-1", "c1", &strings(&["openid", "email"]), 60)
        .await
        .unwrap();
    s.put_consent("u-2", "c1", &strings(&["openid"]), 70)
        .await
        .unwrap();
    let consents = s.list_consents("u-1").await.unwrap();
    assert_eq!(
        consents
            .iter()
            .map(|c| (c.client_id.as_str(), c.scopes.len(), c.granted_at))
            .collect::<Vec<_>>(),
        vec![("c1", 2, 60), ("c2", 1, 50)]
    );

    // Withdrawing u-1's consent to c1 revokes that pair's grants, and only those.
    s.insert_refresh_token(&refresh(5, "g-1", "c1", "u-1", 9_000))
        .await
        .unwrap();
    s.insert_refresh_token(&refresh(6, "g-2", "c2", "u-1", 9_000))
        .await
        .unwrap();
    s.insert_refresh_token(&refresh(7, "g-3", "c1", "u-2", 9_000))
        .await
        .unwrap();
    s.insert_access_token(&opaque(8, "g-4")).await.unwrap();
    assert!(s.revoke_consent("u-1", "c1", 500, 9_000).await.unwrap());
    assert!(!s.revoke_consent("u-1", "c1", 600, 9_000).await.unwrap());
    assert_eq!(s.get_consent("u-1", "c1").await.unwrap(), None);
    assert!(s.get_consent("u-1", "c2").await.unwrap().is_some());
    assert!(s.get_consent("u-2", "c1").await.unwrap().is_some());
    assert_eq!(refresh_revoked_at(s, 5).await, Some(500));
    assert_eq!(refresh_revoked_at(s, 6).await, None);
    assert_eq!(refresh_revoked_at(s, 7).await, None);
    assert_eq!(
        s.get_access_token(&[8; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(500)
    );
    for grant in ["g-1", "g-4"] {
        assert_eq!(
            s.revoked_at(RevocationKind::Grant, grant).await.unwrap(),
            Some(500),
            "{grant}"
        );
    }
    assert_eq!(
        s.revoked_at(RevocationKind::Grant, "g-2").await.unwrap(),
        None
    );
}
