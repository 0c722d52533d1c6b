//! The rows the store keeps. Plain data: validation and meaning live in `candor-proto` and the
//! server; this layer only persists what it is given.

use candor_proto::access_token::Format;
use candor_proto::client_auth::AuthMethod;
use candor_proto::grant_type::GrantType;
use candor_proto::jose::SigningAlg;
use serde::{Deserialize, Serialize};

/// A registered OAuth client. Its enumerated fields are decoded once, when the row is read
/// (an unreadable value is [`crate::StoreError::Corrupt`]), so no caller parses them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the client secret; `None` for public clients and `private_key_jwt` clients.
    pub secret_digest: Option<Vec<u8>>,
    /// The secret sealed with the master key; only for `client_secret_jwt`, whose HMAC needs the
    /// secret itself.
    pub secret_sealed: Option<Vec<u8>>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    /// Audiences (resource indicators) access tokens of this client may carry.
    pub audiences: Vec<String>,
    pub access_token_format: Format,
    /// The client's public keys (a JWK Set as JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Whether PKCE is required for this client's authorization requests.
    pub require_pkce: bool,
    /// Algorithm for this client's id_tokens; `None` means the server default (RS256).
    pub id_token_signed_response_alg: Option<SigningAlg>,
    /// When an administrator disabled the client; `None` while it is enabled.
    pub disabled_at: Option<i64>,
    /// The secret a rotation with an overlap replaced, still accepted until its `until`.
    pub previous_secret: Option<PreviousSecret>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A client's previous secret during a rotation's overlap period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    /// SHA-256 of the previous secret.
    pub digest: Vec<u8>,
    /// The previous secret sealed with the master key (`client_secret_jwt` only).
    pub sealed: Option<Vec<u8>>,
    /// Accepted while the time is before this (Unix seconds).
    pub until: i64,
}

/// An end user who can log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable subject identifier (`sub`); never reused.
    pub id: String,
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Role names (`admin`, `viewer`), sorted, without repeats.
    pub roles: Vec<String>,
    /// When an administrator disabled the account; `None` while it can sign in.
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

/// A signing key. The private half is sealed with the master key by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: SigningAlg,
    /// PKCS#8 DER of the private key, sealed.
    pub private_sealed: Vec<u8>,
    /// The public JWK as JSON (with kid, alg and use).
    pub public_jwk: String,
    pub created_at: i64,
    /// When the key starts signing. A rotation publishes the next key in the JWKS ahead of
    /// this, so that clients caching the JWKS know it before they meet a token it signed.
    pub activates_at: i64,
    /// When the key stops (or stopped) signing; `None` while it is the key of its algorithm.
    pub retired_at: Option<i64>,
    /// Until when a retired key stays in the JWKS (the expiry of the last token it signed).
    pub publish_until: Option<i64>,
}

/// An opaque access token, stored by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRecord {
    /// SHA-256 of the token string.
    pub digest: Vec<u8>,
    pub jti: String,
    pub client_id: String,
    /// The user the token speaks for; `None` for `client_credentials`.
    pub subject: Option<String>,
    /// Space-separated scopes.
    pub scope: String,
    pub audiences: Vec<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// The grant (authorization code or refresh family) it came from, so that a replayed code
    /// or a reused refresh token can revoke it.
    pub grant_id: Option<String>,
    pub revoked_at: Option<i64>,
}

/// What a revocation-feed entry revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationKind {
    /// One access token, by `jti` (JWT or opaque).
    AccessToken,
    /// A refresh-token family and every access token issued from it, by family id.
    RefreshFamily,
    /// Everything issued from one authorization code, by grant id.
    Grant,
    /// Everything issued to one user (`sub`) whose authentication (`auth_time`, else `iat`)
    /// is at or before `revoked_at`: a password change, a deletion, `candor user
    /// revoke-sessions`. Appending it again moves it to the end of the feed with the new time.
    Subject,
    /// Everything issued to one client (`client_id`) at or before `revoked_at`: the client was
    /// deleted. Appended again, it moves like `Subject`.
    Client,
}

impl RevocationKind {
    /// Whether the entry voids everything up to its time (a user, a client) rather than one
    /// item: appending it again replaces it, at the end of the feed, with the new time.
    pub fn voids_until_revoked_at(self) -> bool {
        matches!(self, RevocationKind::Subject | RevocationKind::Client)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RevocationKind::AccessToken => "access_token",
            RevocationKind::RefreshFamily => "refresh_family",
            RevocationKind::Grant => "grant",
            RevocationKind::Subject => "subject",
            RevocationKind::Client => "client",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access_token" => Some(RevocationKind::AccessToken),
            "refresh_family" => Some(RevocationKind::RefreshFamily),
            "grant" => Some(RevocationKind::Grant),
            "subject" => Some(RevocationKind::Subject),
            "client" => Some(RevocationKind::Client),
            _ => None,
        }
    }
}

/// A revocation to append to the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevocation {
    pub kind: RevocationKind,
    pub id: String,
    /// When the revoked thing would have expired anyway; the entry may be purged after it.
    pub expires_at: i64,
    pub revoked_at: i64,
}

/// One entry of the revocation feed: append-only, numbered by `seq` in commit order on one
/// node (PostgreSQL sequences may commit out of order across concurrent transactions: a
/// follower re-reads a short window behind its position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revocation {
    pub seq: i64,
    pub kind: RevocationKind,
    pub id: String,
    pub expires_at: i64,
    pub revoked_at: i64,
}

/// An authorization code, stored by digest, single-use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCodeRecord {
    /// SHA-256 of the code.
    pub digest: Vec<u8>,
    pub client_id: String,
    /// The user (`sub`).
    pub user_id: String,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the authorization request carried `redirect_uri` explicitly (then the token
    /// request must repeat it, RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    /// Granted scopes, space-separated.
    pub scope: String,
    pub nonce: Option<String>,
    /// The PKCE challenge (always S256 when present).
    pub code_challenge: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The browser session id (`sid` claim).
    pub sid: Option<String>,
    /// Authentication methods (`amr` claim), e.g. `["pwd"]`.
    pub amr: Vec<String>,
    /// The grant (and refresh-token family) id: everything issued from this code carries it.
    pub grant_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// When it was redeemed; `None` while unused.
    pub used_at: Option<i64>,
}

/// A refresh token, stored by digest. Rotation marks it used and issues the next one of the
/// same family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the token.
    pub digest: Vec<u8>,
    /// The family: every token rotated from one grant; equals the grant id.
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub sid: Option<String>,
    pub amr: Vec<String>,
    pub issued_at: i64,
    /// The absolute end of the family (carried over on rotation).
    pub expires_at: i64,
    /// The end of this token if it is not used before (idle lifetime).
    pub idle_expires_at: i64,
    /// When it was rotated (used); `None` while current.
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What a single-use consumption found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed<T> {
    /// It was unused (and, for refresh tokens, not revoked); it is now marked used.
    Fresh(T),
    /// It exists but was used (or revoked) before; the record shows when.
    Spent(T),
    /// No such item.
    NotFound,
}

/// A logged-in browser session, stored by the digest of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub digest: Vec<u8>,
    /// Public session id (`sid` claim), distinct from the cookie value.
    pub sid: String,
    pub user_id: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A user's consent to a client: the scopes granted, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub granted_at: i64,
}

/// What a redemption (of a code) or a rotation (of a refresh token) issues, stored in the same
/// transaction that consumes the item: either all of it is stored and the item is spent, or
/// nothing is and the item stays usable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issuance {
    /// The next refresh token of the family.
    pub refresh_token: Option<RefreshTokenRecord>,
    /// An opaque access token (JWT access tokens are not stored).
    pub access_token: Option<AccessTokenRecord>,
}

impl Client {
    /// Whether the client is registered for `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}
