//! The server's own failures (not the client's): the store, keys, sealing. Each becomes a
//! `server.internal` response at the HTTP edge, logged with its cause.

use candor_proto::jose::JoseError;
use candor_proto::seal::SealError;
use candor_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("key error: {0}")]
    Jose(#[from] JoseError),
    #[error(
        "signing key '{kid}' cannot be unsealed: the master key differs from the one that sealed it, or the row is corrupt"
    )]
    Unseal { kid: String, source: SealError },
    #[error("sealing failed: {0}")]
    Seal(#[from] SealError),
    #[error("invalid client registration: {0}")]
    InvalidRegistration(String),
    /// A user account that cannot be created or changed as asked (a short password, a
    /// taken username…).
    #[error("invalid user: {0}")]
    InvalidUser(String),
    #[error("no such {0}")]
    NotFound(String),
    /// A client_id, client name or username that another client or user holds.
    #[error("{0}")]
    Taken(String),
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("cannot encode {0}")]
    Encode(String),
    #[error("rate limiter: {0}")]
    Limiter(String),
}
