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
pub mod db;
mod model;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;

pub use candor_proto::feed::Follower;
pub use model::{
    AccessTokenRecord, AuthorizationCodeRecord, Client, Consent, Consumed, Issuance, NewRevocation,
    PreviousSecret, RefreshTokenRecord, Revocation, RevocationKind, SessionRecord,
    SigningKeyRecord, User,
};
pub use sql::{SqlStore, migrations};

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
    /// The database server cannot be used at all: what went wrong, and what to do.
    #[error("{0}")]
    Unreachable(String),
}

impl From<db::OpenError> for StoreError {
    fn from(error: db::OpenError) -> Self {
        match error {
            db::OpenError::UnsupportedUrl(url) => StoreError::UnsupportedUrl(url),
            db::OpenError::Unreachable(why) => StoreError::Unreachable(why),
            db::OpenError::Database(e) => StoreError::Database(e),
            db::OpenError::Migration(e) => StoreError::Migration(e),
        }
    }
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

/// The persistence API of the authorization server: one trait per concern, all of them
/// implemented for both backends by [`SqlStore`] (`sql/`, one module per trait).
///
/// Every method that changes state commits before it returns: a caller that got `Ok` may answer
/// its HTTP request knowing the change survives a crash.
pub trait Store:
    Directory + KeyStore + TokenStore + FeedStore + BrowserStore + Maintenance + 'static
{
}

impl<T> Store for T where
    T: Directory + KeyStore + TokenStore + FeedStore + BrowserStore + Maintenance + 'static
{
}

/// Registered clients and users.
#[async_trait]
pub trait Directory: Send + Sync {
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
    /// Disables an enabled client and, in the same transaction, revokes every token issued to
    /// it (a `Client` entry in the feed tells gateways, kept until `feed_expires_at`).
    /// `false` when no such client exists or it is disabled already.
    async fn disable_client(&self, client_id: &str, now: i64, feed_expires_at: i64)
    -> Result<bool>;
    /// Enables a disabled client (what it was issued before stays revoked); `false` when no
    /// such client exists or it is enabled already.
    async fn enable_client(&self, client_id: &str, now: i64) -> Result<bool>;

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
    /// Replaces a user's email, name and roles (by username); `false` when no such user.
    async fn update_user_profile(&self, user: &User) -> Result<bool>;
    /// Disables an enabled account (by id) and, in the same transaction, ends its sessions
    /// and revokes everything issued to it, as [`TokenStore::revoke_subject`] does. `false`
    /// when no such user exists or it is disabled already.
    async fn disable_user(&self, user_id: &str, now: i64, feed_expires_at: i64) -> Result<bool>;
    /// Lets a disabled account sign in again; `false` when no such user or it is enabled.
    async fn enable_user(&self, user_id: &str) -> Result<bool>;
}

/// Signing keys (the private halves sealed by the caller).
#[async_trait]
pub trait KeyStore: Send + Sync {
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
        alg: candor_proto::jose::SigningAlg,
        keep_kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<u64>;
    /// Deletes retired keys whose `publish_until` is before `now`. Returns how many.
    async fn delete_expired_signing_keys(&self, now: i64) -> Result<u64>;
}

/// What tokens are issued from and redeemed against: opaque access tokens, client
/// assertions seen, authorization codes, refresh tokens, and ending a user's grants.
#[async_trait]
pub trait TokenStore: Send + Sync {
    // ---- opaque access tokens ------------------------------------------------------------

    /// Inserts an opaque access token record (keyed by the digest of the token).
    /// [`StoreError::Conflict`] when the digest or the jti exists. The client must exist:
    /// deleting a client deletes its opaque tokens.
    async fn insert_access_token(&self, token: &AccessTokenRecord) -> Result<()>;
    async fn get_access_token(&self, digest: &[u8]) -> Result<Option<AccessTokenRecord>>;
    /// Marks an opaque token revoked and appends its jti to the revocation feed, in one
    /// transaction. `None` when no such token exists or it was revoked already.
    async fn revoke_access_token(&self, digest: &[u8], now: i64) -> Result<Option<i64>>;

    // ---- client assertions (private_key_jwt, client_secret_jwt) --------------------------

    /// Records the jti of a client assertion until `expires_at`. Returns `false` when the
    /// same (client_id, jti) was recorded before and has not been purged yet (see
    /// [`Store::purge_expired`]): a replay. Atomic: of two concurrent calls with the same pair,
    /// exactly one gets `true`.
    async fn remember_assertion(&self, client_id: &str, jti: &str, expires_at: i64)
    -> Result<bool>;

    // ---- authorization codes -------------------------------------------------------------

    /// Inserts a code; [`StoreError::Conflict`] when the digest exists.
    async fn insert_code(&self, code: &AuthorizationCodeRecord) -> Result<()>;
    /// The code as stored, used or not; nothing changes.
    async fn get_code(&self, digest: &[u8]) -> Result<Option<AuthorizationCodeRecord>>;
    /// Marks the code used and stores `issued`, in one transaction: of two concurrent calls
    /// exactly one gets `Fresh` (with the record as now stored, `used_at` = `now`) and its
    /// issuance committed; the other gets `Spent` with the record, after the winner committed,
    /// and stores nothing. `NotFound` when no such digest. Validation (client, expiry,
    /// redirect URI, PKCE) is the caller's, before: a refused request leaves the code usable.
    async fn consume_code(
        &self,
        digest: &[u8],
        now: i64,
        issued: &Issuance,
    ) -> Result<Consumed<AuthorizationCodeRecord>>;

    // ---- refresh tokens ------------------------------------------------------------------

    /// Inserts a refresh token; [`StoreError::Conflict`] when the digest exists.
    async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<()>;
    async fn get_refresh_token(&self, digest: &[u8]) -> Result<Option<RefreshTokenRecord>>;
    /// Marks the token used if it is neither used nor revoked and stores `issued` (the next
    /// token of the family), in one transaction (`Fresh`); else nothing changes and the record
    /// comes back as stored (`Spent`), or `NotFound`. A revocation of the family that runs
    /// concurrently either sees the next token or makes this call `Spent`.
    async fn consume_refresh_token(
        &self,
        digest: &[u8],
        now: i64,
        issued: &Issuance,
    ) -> Result<Consumed<RefreshTokenRecord>>;
    /// Revokes every token of a family and appends `(refresh_family, family_id)` to the
    /// revocation feed with `feed_expires_at`, in one transaction; returns the feed entry's
    /// sequence number (the existing one when the family was revoked before). It waits for a
    /// rotation of the family in flight, so that the token that rotation issues is revoked too.
    async fn revoke_refresh_family(
        &self,
        family_id: &str,
        now: i64,
        feed_expires_at: i64,
    ) -> Result<i64>;

    // ---- users' grants -------------------------------------------------------------------

    /// Ends everything a user holds, in one transaction: deletes their browser sessions,
    /// revokes their refresh tokens and opaque access tokens, and appends `(subject, user_id)`
    /// to the feed at `now` (replacing an older entry, so that followers see the new time)
    /// with `feed_expires_at`. Returns the entry's sequence number.
    async fn revoke_subject(&self, user_id: &str, now: i64, feed_expires_at: i64) -> Result<i64>;
}

/// The revocation feed: numbered entries a follower reads in order, re-reading a window
/// behind its position as [`Follower`] says.
#[async_trait]
pub trait FeedStore: Send + Sync {
    // ---- revocation feed -----------------------------------------------------------------

    /// Appends to the revocation feed; returns the entry's sequence number. Appending the same
    /// (kind, id) twice is harmless and returns the existing sequence number — except for the
    /// kinds that void everything up to a time ([`RevocationKind::voids_until_revoked_at`]),
    /// whose entry is replaced by a new one at the end of the feed.
    async fn append_revocation(&self, revocation: &NewRevocation) -> Result<i64>;
    async fn is_revoked(&self, kind: RevocationKind, id: &str) -> Result<bool>;
    /// Entries with `seq > after`, in sequence order, at most `limit`.
    async fn revocations_since(&self, after: i64, limit: u32) -> Result<Vec<Revocation>>;

    /// The `revoked_at` of the feed's entry for (kind, id), if there is one: for a user or a
    /// client, anything authenticated or issued at or before it is void.
    async fn revoked_at(&self, kind: RevocationKind, id: &str) -> Result<Option<i64>>;
}

/// The browser flow: sessions, completed authorization requests, consent, login attempts.
#[async_trait]
pub trait BrowserStore: Send + Sync {
    // ---- browser sessions ----------------------------------------------------------------

    async fn insert_session(&self, session: &SessionRecord) -> Result<()>;
    async fn get_session(&self, digest: &[u8]) -> Result<Option<SessionRecord>>;
    /// Deletes the session with this public `sid`; `false` when none.
    async fn delete_session(&self, sid: &str) -> Result<bool>;
    /// A user's sessions that have not expired at `now`, newest first.
    async fn list_sessions(&self, user_id: &str, now: i64) -> Result<Vec<SessionRecord>>;

    // ---- completed authorization requests ------------------------------------------------

    /// Records that the authorization request `id` has been completed (its login or consent
    /// form used), until `expires_at`. `false` when it was recorded before: a replay. Atomic:
    /// of two concurrent calls with the same id, exactly one gets `true`. The requests
    /// themselves travel sealed in the forms; nothing is stored before a user acts.
    async fn spend_request(&self, id: &str, expires_at: i64) -> Result<bool>;

    // ---- consent ---------------------------------------------------------------------------

    /// The scopes `user_id` has granted `client_id`, if any consent is recorded.
    async fn get_consent(&self, user_id: &str, client_id: &str) -> Result<Option<Vec<String>>>;
    /// Records (replaces) the scopes `user_id` grants `client_id`.
    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<()>;
    /// Every consent `user_id` has given, by client_id.
    async fn list_consents(&self, user_id: &str) -> Result<Vec<Consent>>;
    /// Withdraws the consent `user_id` gave `client_id` and, in the same transaction, revokes
    /// every grant of that pair (refresh tokens, access tokens, a `Grant` feed entry for each,
    /// kept until `feed_expires_at`): the application must ask again. `false` when there was
    /// no consent.
    async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
        feed_expires_at: i64,
    ) -> Result<bool>;

    // ---- login attempts --------------------------------------------------------------------

    /// Counts a login attempt for `username` — before its password is checked — and returns
    /// the attempts within the current window, this one included (a window starts at the
    /// first attempt and lasts `window` seconds; an older window is reset: one that started at
    /// `now - window` or before is over). Atomic across nodes: of 50 concurrent attempts, each
    /// sees a different count, so a lock after N holds however fast they come. Usernames are
    /// counted as typed, whether or not such a user exists.
    async fn record_login_failure(&self, username: &str, now: i64, window: i64) -> Result<u32>;
    /// The attempts within the current window and the time of the last one.
    async fn login_failures(
        &self,
        username: &str,
        now: i64,
        window: i64,
    ) -> Result<(u32, Option<i64>)>;
    /// Forgets the attempts (after a successful login).
    async fn clear_login_failures(&self, username: &str) -> Result<()>;
}

/// A connection pool's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// Health and housekeeping.
#[async_trait]
pub trait Maintenance: Send + Sync {
    fn backend(&self) -> Backend;

    /// Answers `Ok` when the database is reachable (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    /// The connection pool's use now (for `/metrics`).
    fn pool_stats(&self) -> PoolStats;

    /// Entries in the revocation feed (for `/metrics`).
    async fn feed_length(&self) -> Result<i64>;

    /// Answers `Ok` when the database accepts a write (one row, in a transaction of its own):
    /// a store that answers reads but cannot commit is not ready.
    async fn check_writable(&self, now: i64) -> Result<()>;

    // ---- housekeeping --------------------------------------------------------------------

    /// Deletes what expired before `now` (`expires_at < now`): opaque tokens, assertion jtis,
    /// revocation-feed entries whose token has expired anyway, authorization codes (used or
    /// not), refresh tokens whose family has ended (`expires_at`, not `idle_expires_at`: a used
    /// token is kept until then so that its reuse is recognised), browser sessions and spent
    /// authorization request ids; and failed-login counters whose last failure is more than
    /// [`LOGIN_FAILURE_RETENTION`] seconds before `now` (so a failed-login window longer than
    /// that is cut short by a purge). All in one transaction. Returns how many rows went.
    async fn purge_expired(&self, now: i64) -> Result<u64>;
}

/// Opens the store named by `url` and brings its schema up to date.
///
/// `sqlite://PATH` creates the file (and its parent directory must exist) in WAL mode;
/// `sqlite::memory:` is a private in-memory database; `postgres://…` or `postgresql://…`
/// connects a pool. [`db`] says how.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

pub use candor_proto::secret::redact_url;
