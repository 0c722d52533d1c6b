//! Candor's persistence layer: one [`Store`] trait, two backends.
//!
//! * SQLite (embedded, the default): one file, WAL mode, nothing to install.
//! * PostgreSQL: for several stateless `candor` nodes sharing one database.
//!
//! [`open`] picks the backend from the URL (`sqlite://…` or `postgres://…`) and runs the
//! migrations of that backend. Both backends pass the same test suite (`tests/store.rs`).
//!
//! What is stored is never a usable credential: client secrets, opaque access tokens,
//! authorization codes and refresh tokens are kept as SHA-256 digests; private signing keys and
//! the few client secrets that must be recoverable (`client_secret_jwt`) are sealed with the
//! server's master key before they reach this layer. This crate only ever sees bytes it cannot
//! use.
//!
//! Times are Unix seconds (`i64`), supplied by the caller's clock, so that expiry is testable
//! without sleeping.

mod codec;
mod model;
mod postgres;
mod sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;

pub use model::{
    AccessTokenRecord, AuthorizationCodeRecord, Client, Consumed, NewRevocation, PendingRequest,
    RefreshTokenRecord, Revocation, RevocationKind, SessionRecord, SigningKeyRecord, User,
};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Everything that can go wrong below the store API.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite://…` nor `postgres://…`, or does not parse.
    #[error("unsupported database URL '{0}': expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// The backend does not implement this operation yet.
    #[error("operation not supported by this store: {0}")]
    Unsupported(&'static str),
    /// A row with the same unique key exists already (client_id, username, kid, digest).
    #[error("{0} already exists")]
    Conflict(String),
    /// A stored value could not be decoded (a JSON column that does not parse, say).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Migrations failed to apply.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database did not answer, or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How long [`Store::purge_expired`] keeps a failed-login counter after its last failure: a day.
pub const LOGIN_FAILURE_RETENTION: i64 = 24 * 60 * 60;

/// Which backend a store runs on; for logs, `/readyz` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// The persistence API of the authorization server.
///
/// Every method that changes state commits before it returns: a caller that got `Ok` may answer
/// its HTTP request knowing the change survives a crash.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Answers `Ok` when the database is reachable (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    // ---- clients -------------------------------------------------------------------------

    /// Inserts a new client; [`StoreError::Conflict`] when the client_id exists.
    async fn insert_client(&self, client: &Client) -> Result<()>;
    async fn get_client(&self, client_id: &str) -> Result<Option<Client>>;
    /// All clients, ordered by client_id.
    async fn list_clients(&self) -> Result<Vec<Client>>;
    /// Whether any client is registered for `scope` (one indexed-free query, not a listing:
    /// it runs on the error path of every request with an unknown scope).
    async fn scope_registered(&self, scope: &str) -> Result<bool>;
    /// Replaces a client's row; `false` when no such client exists.
    async fn update_client(&self, client: &Client) -> Result<bool>;
    /// `false` when no such client exists.
    async fn delete_client(&self, client_id: &str) -> Result<bool>;

    // ---- users ---------------------------------------------------------------------------

    /// Inserts a new user; [`StoreError::Conflict`] when the username exists.
    async fn insert_user(&self, user: &User) -> Result<()>;
    async fn get_user_by_username(&self, username: &str) -> Result<Option<User>>;
    async fn get_user(&self, id: &str) -> Result<Option<User>>;
    /// All users, ordered by username.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// `false` when no such user exists.
    async fn delete_user(&self, username: &str) -> Result<bool>;
    /// Replaces the password hash (a PHC string); `false` when no such user exists.
    async fn set_password_hash(&self, username: &str, password_hash: &str) -> Result<bool>;

    // ---- signing keys --------------------------------------------------------------------

    /// Inserts a signing key; [`StoreError::Conflict`] when the kid exists.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()>;
    /// All keys, oldest first.
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>>;
    /// Marks every active key of `alg` other than `keep_kid` as retired at `retired_at`; it
    /// stays published until `publish_until` (when the last token it signed has expired).
    /// Returns how many keys were retired.
    async fn retire_signing_keys(
        &self,
        alg: &str,
        keep_kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<u64>;
    /// Deletes retired keys whose `publish_until` is before `now`. Returns how many.
    async fn delete_expired_signing_keys(&self, now: i64) -> Result<u64>;

    // ---- opaque access tokens ------------------------------------------------------------

    /// Inserts an opaque access token record (keyed by the digest of the token).
    /// [`StoreError::Conflict`] when the digest or the jti exists. The client must exist:
    /// deleting a client deletes its opaque tokens.
    async fn insert_access_token(&self, token: &AccessTokenRecord) -> Result<()>;
    async fn get_access_token(&self, digest: &[u8]) -> Result<Option<AccessTokenRecord>>;
    /// Marks an opaque token revoked and appends its jti to the revocation feed, in one
    /// transaction. `None` when no such token exists or it was revoked already.
    async fn revoke_access_token(&self, digest: &[u8], now: i64) -> Result<Option<i64>>;

    // ---- revocation feed -----------------------------------------------------------------

    /// Appends to the revocation feed; returns the entry's sequence number. Appending the same
    /// (kind, id) twice is harmless and returns the existing sequence number.
    async fn append_revocation(&self, revocation: &NewRevocation) -> Result<i64>;
    async fn is_revoked(&self, kind: RevocationKind, id: &str) -> Result<bool>;
    /// Entries with `seq > after`, in sequence order, at most `limit`.
    async fn revocations_since(&self, after: i64, limit: u32) -> Result<Vec<Revocation>>;

    // ---- client assertions (private_key_jwt, client_secret_jwt) --------------------------

    /// Records the jti of a client assertion until `expires_at`. Returns `false` when the
    /// same (client_id, jti) was recorded before and has not been purged yet (see
    /// [`Store::purge_expired`]): a replay. Atomic: of two concurrent calls with the same pair,
    /// exactly one gets `true`.
    async fn remember_assertion(&self, client_id: &str, jti: &str, expires_at: i64)
    -> Result<bool>;

    // ---- authorization codes -------------------------------------------------------------

    /// Inserts a code; [`StoreError::Conflict`] when the digest exists.
    async fn insert_code(&self, _code: &AuthorizationCodeRecord) -> Result<()> {
        Err(StoreError::Unsupported("insert_code"))
    }
    /// Marks the code used, atomically: of two concurrent calls exactly one gets `Fresh`; the
    /// other gets `Spent` with the record. `NotFound` when no such digest. `Fresh` carries the
    /// record as now stored (`used_at` = `now`); expiry is the caller's to check.
    async fn consume_code(
        &self,
        _digest: &[u8],
        _now: i64,
    ) -> Result<Consumed<AuthorizationCodeRecord>> {
        Err(StoreError::Unsupported("consume_code"))
    }

    // ---- refresh tokens ------------------------------------------------------------------

    /// Inserts a refresh token; [`StoreError::Conflict`] when the digest exists.
    async fn insert_refresh_token(&self, _token: &RefreshTokenRecord) -> Result<()> {
        Err(StoreError::Unsupported("insert_refresh_token"))
    }
    async fn get_refresh_token(&self, _digest: &[u8]) -> Result<Option<RefreshTokenRecord>> {
        Err(StoreError::Unsupported("get_refresh_token"))
    }
    /// Marks the token used if it is neither used nor revoked, atomically (`Fresh`); else
    /// `Spent` with the record as stored, or `NotFound`.
    async fn consume_refresh_token(
        &self,
        _digest: &[u8],
        _now: i64,
    ) -> Result<Consumed<RefreshTokenRecord>> {
        Err(StoreError::Unsupported("consume_refresh_token"))
    }
    /// Revokes every token of a family and appends `(refresh_family, family_id)` to the
    /// revocation feed with `feed_expires_at`, in one transaction; returns the feed entry's
    /// sequence number (the existing one when the family was revoked before).
    async fn revoke_refresh_family(
        &self,
        _family_id: &str,
        _now: i64,
        _feed_expires_at: i64,
    ) -> Result<i64> {
        Err(StoreError::Unsupported("revoke_refresh_family"))
    }

    // ---- browser sessions ----------------------------------------------------------------

    async fn insert_session(&self, _session: &SessionRecord) -> Result<()> {
        Err(StoreError::Unsupported("insert_session"))
    }
    async fn get_session(&self, _digest: &[u8]) -> Result<Option<SessionRecord>> {
        Err(StoreError::Unsupported("get_session"))
    }
    /// Deletes the session with this public `sid`; `false` when none.
    async fn delete_session(&self, _sid: &str) -> Result<bool> {
        Err(StoreError::Unsupported("delete_session"))
    }

    // ---- pending authorization requests --------------------------------------------------

    async fn insert_pending(&self, _request: &PendingRequest) -> Result<()> {
        Err(StoreError::Unsupported("insert_pending"))
    }
    async fn get_pending(&self, _id: &str) -> Result<Option<PendingRequest>> {
        Err(StoreError::Unsupported("get_pending"))
    }
    /// Deletes and returns the request, atomically: of two concurrent calls exactly one gets
    /// it.
    async fn take_pending(&self, _id: &str) -> Result<Option<PendingRequest>> {
        Err(StoreError::Unsupported("take_pending"))
    }

    // ---- consent ---------------------------------------------------------------------------

    /// The scopes `user_id` has granted `client_id`, if any consent is recorded.
    async fn get_consent(&self, _user_id: &str, _client_id: &str) -> Result<Option<Vec<String>>> {
        Err(StoreError::Unsupported("get_consent"))
    }
    /// Records (replaces) the scopes `user_id` grants `client_id`.
    async fn put_consent(
        &self,
        _user_id: &str,
        _client_id: &str,
        _scopes: &[String],
        _now: i64,
    ) -> Result<()> {
        Err(StoreError::Unsupported("put_consent"))
    }

    // ---- failed logins ---------------------------------------------------------------------

    /// Counts a failed login for `username` and returns the failures within the current
    /// window (a window starts at the first failure and lasts `window` seconds; an older
    /// window is reset: one that started at `now - window` or before is over). Atomic across
    /// nodes. Usernames are counted as typed, whether or not such a user exists.
    async fn record_login_failure(&self, _username: &str, _now: i64, _window: i64) -> Result<u32> {
        Err(StoreError::Unsupported("record_login_failure"))
    }
    /// The failures within the current window and the time of the last one.
    async fn login_failures(
        &self,
        _username: &str,
        _now: i64,
        _window: i64,
    ) -> Result<(u32, Option<i64>)> {
        Err(StoreError::Unsupported("login_failures"))
    }
    async fn clear_login_failures(&self, _username: &str) -> Result<()> {
        Err(StoreError::Unsupported("clear_login_failures"))
    }

    // ---- housekeeping --------------------------------------------------------------------

    /// Deletes what expired before `now` (`expires_at < now`): opaque tokens, assertion jtis,
    /// revocation-feed entries whose token has expired anyway, authorization codes (used or
    /// not), refresh tokens whose family has ended (`expires_at`, not `idle_expires_at`: a used
    /// token is kept until then so that its reuse is recognised), browser sessions and pending
    /// authorization requests; and failed-login counters whose last failure is more than
    /// [`LOGIN_FAILURE_RETENTION`] seconds before `now` (so a failed-login window longer than
    /// that is cut short by a purge). All in one transaction. Returns how many rows went.
    async fn purge_expired(&self, now: i64) -> Result<u64>;
}

/// Opens the store named by `url` and brings its schema up to date.
///
/// `sqlite://PATH` creates the file (and its parent directory must exist) in WAL mode;
/// `postgres://…` or `postgresql://…` connects a pool.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(SqliteStore::open(path).await?))
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        Ok(Arc::new(SqliteStore::open(path).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }
}

/// A URL with any password replaced by `***`, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
