//! Minting access tokens: RFC 9068 JWTs (nothing to store) or opaque tokens (a record to store
//! by digest). Minting writes nothing: the grant stores what it issued in the same transaction
//! that consumes what it redeemed.

use candor_proto::access_token::{self, Audience, Claims, Format};
use candor_proto::secret::{Secret, random_token};
use candor_store::{AccessTokenRecord, Client};

use crate::app::App;
use crate::error::ServerError;
use crate::refusal::Refusal;

/// What a new access token is for.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    pub client: &'a Client,
    /// The user; `None` for `client_credentials`, where `sub` is the client_id.
    pub subject: Option<&'a str>,
    pub scopes: &'a [String],
    pub audiences: Vec<String>,
    pub auth_time: Option<i64>,
    pub grant_id: Option<&'a str>,
}

/// A minted access token.
#[derive(Debug)]
pub struct Issued {
    pub token: Secret,
    pub expires_in: i64,
    pub jti: String,
    /// For an opaque token, the record to store before the token is handed out.
    pub record: Option<AccessTokenRecord>,
}

/// A random identifier for `jti` and grant ids.
pub fn new_id() -> String {
    let mut id = random_token().expose().to_string();
    id.truncate(22);
    id
}

/// Mints an access token in the client's format.
pub fn access_token(app: &App, grant: Grant<'_>) -> Result<Issued, Refusal> {
    let now = app.now();
    let ttl = app.settings().access_token_ttl.as_secs() as i64;
    let jti = new_id();
    let format: Format = grant
        .client
        .access_token_format
        .parse()
        .unwrap_or(Format::Jwt);
    let scope = (!grant.scopes.is_empty()).then(|| grant.scopes.join(" "));
    match format {
        Format::Jwt => {
            let claims = Claims {
                iss: app.issuer().to_string(),
                sub: grant
                    .subject
                    .unwrap_or(grant.client.client_id.as_str())
                    .to_string(),
                aud: Audience::from_list(grant.audiences),
                exp: now + ttl,
                iat: now,
                jti: jti.clone(),
                client_id: grant.client.client_id.clone(),
                scope,
                auth_time: grant.auth_time,
                grant_id: grant.grant_id.map(str::to_string),
            };
            let keys = app.keys().current();
            let alg = app.settings().access_token_alg;
            let key = keys.active(alg).ok_or_else(|| {
                Refusal::Internal(ServerError::NotFound(format!("active {alg} signing key")))
            })?;
            let token = key.sign(access_token::JWT_TYP, &claims)?;
            Ok(Issued {
                token: Secret::new(token),
                expires_in: ttl,
                jti,
                record: None,
            })
        }
        Format::Opaque => {
            let token = random_token();
            let record = AccessTokenRecord {
                digest: token.digest().to_vec(),
                jti: jti.clone(),
                client_id: grant.client.client_id.clone(),
                subject: grant.subject.map(str::to_string),
                scope: scope.unwrap_or_default(),
                audiences: grant.audiences,
                issued_at: now,
                expires_at: now + ttl,
                grant_id: grant.grant_id.map(str::to_string),
                revoked_at: None,
            };
            Ok(Issued {
                token,
                expires_in: ttl,
                jti,
                record: Some(record),
            })
        }
    }
}
