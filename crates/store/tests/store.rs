//! One suite, run against both backends.
//!
//! Every case is an `async fn(&dyn Store, &Raw)`; the `suite!` macro turns each into
//! `sqlite::<case>` (a fresh SQLite file in a temporary directory) and `postgres::<case>` (a fresh
//! database on the server of `CANDOR_TEST_POSTGRES_URL`, skipped loudly when it is unset).
//! `Raw` is a second, plain connection to the same database, for writing what the store never
//! would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use candor_store::testing::{PostgresTestDatabase, postgres_url_or_skip};
use candor_store::{
    AccessTokenRecord, Backend, Client, NewRevocation, RevocationKind, SigningKeyRecord, Store,
    StoreError, User,
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

fn client(id: &str) -> Client {
    Client {
        client_id: id.to_string(),
        name: format!("Client {id}"),
        secret_digest: Some(vec![0, 1, 2, 254, 255]),
        secret_sealed: Some(vec![9; 48]),
        auth_method: "client_secret_jwt".to_string(),
        redirect_uris: vec![
            "https://app.example/cb".to_string(),
            "http://127.0.0.1:9000/cb?x=1&y=2".to_string(),
        ],
        post_logout_redirect_uris: vec!["https://app.example/bye".to_string()],
        grant_types: vec![
            "authorization_code".to_string(),
            "refresh_token".to_string(),
        ],
        scopes: vec![
            "openid".to_string(),
            "profile".to_string(),
            "email".to_string(),
        ],
        audiences: vec!["https://api.example".to_string()],
        access_token_format: "jwt".to_string(),
        jwks: Some(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}"#.to_string()),
        require_pkce: true,
        id_token_signed_response_alg: Some("ES256".to_string()),
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
        auth_method: "none".to_string(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![],
        scopes: vec![],
        audiences: vec![],
        access_token_format: "opaque".to_string(),
        jwks: None,
        require_pkce: false,
        id_token_signed_response_alg: None,
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
        created_at: 1_700_000_000,
    }
}

fn key(kid: &str, alg: &str, created_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_string(),
        alg: alg.to_string(),
        private_sealed: (0..=255).collect(),
        public_jwk: format!(r#"{{"kid":"{kid}","alg":"{alg}","use":"sig"}}"#),
        created_at,
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
        s.retire_signing_keys("RS256", "rs-new", 400, 500)
            .await
            .unwrap(),
        1
    );
    // Already retired keys keep their first retirement.
    assert_eq!(
        s.retire_signing_keys("RS256", "rs-new", 450, 9_999)
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
            id_token_signed_response_alg: Some(text.to_string()),
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
        ..key(nasty[1], nasty[5], 1)
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
