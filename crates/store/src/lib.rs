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
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;

pub use model::{
    AccessTokenRecord, Client, NewRevocation, Revocation, RevocationKind, SigningKeyRecord, User,
};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Everything that can go wrong below the store API.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite://…` nor `postgres://…`, or does not parse.
    #[error("unsupported database URL '{0}': expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
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

    // ---- housekeeping --------------------------------------------------------------------

    /// Deletes what expired before `now`: opaque tokens, assertion jtis, and revocation-feed
    /// entries whose token has expired anyway. Returns how many rows went.
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
