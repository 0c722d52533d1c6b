//! Verifying a bearer token: which issuer, which key, which claims — each failure one
//! diagnosis code. A token's signature is checked once: verified tokens are remembered by
//! digest until they expire.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use candor_client::jws::{self, JwsError};
use candor_proto::access_token::{self, Expect};
use candor_proto::error::quote;
use candor_proto::{Code, OAuthError};

use crate::identity::Identity;
use crate::issuer::Issuer;
use crate::per_thread::PerThread;

/// Verified tokens by SHA-256 digest, bounded (past the bound it starts over: a flood of
/// distinct tokens costs signature checks, not memory). One table per event-loop thread, each
/// with its share of the bound: a token is verified once per thread, and no request writes
/// a lock another core reads.
#[derive(Debug)]
pub struct Verified {
    max: usize,
    entries: PerThread<RwLock<HashMap<[u8; 32], Arc<Identity>>>>,
}

impl Verified {
    /// At most `max` tokens in all, shared out among `threads` event loops.
    pub fn new(max: usize, threads: usize) -> Verified {
        Verified {
            max: (max / threads.max(1)).max(1),
            entries: PerThread::new(threads, RwLock::default),
        }
    }

    fn get(&self, digest: &[u8; 32], now: i64) -> Option<Arc<Identity>> {
        let entries = self.entries.get().read().ok()?;
        entries.get(digest).filter(|i| i.exp > now).cloned()
    }

    fn put(&self, digest: [u8; 32], identity: Arc<Identity>) {
        if let Ok(mut entries) = self.entries.get().write() {
            if entries.len() >= self.max {
                entries.clear();
            }
            entries.insert(digest, identity);
        }
    }

    pub fn len(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.read().map(|e| e.len()).unwrap_or(0))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a token is refused (or cannot be checked).
#[derive(Debug, Clone)]
pub struct Refused {
    pub error: OAuthError,
}

fn refuse(code: Code, why: impl AsRef<str>) -> Refused {
    Refused {
        error: OAuthError::new(code, why),
    }
}

/// Whether the token was verified now or remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cache,
    Verified,
}

/// Verifies `token` against `issuers`: those the route accepts.
pub async fn verify(
    token: &str,
    issuers: &[Arc<Issuer>],
    cache: &Verified,
    now: i64,
) -> Result<(Arc<Identity>, Source), Refused> {
    let digest = candor_proto::secret::digest(token);
    if let Some(identity) = cache.get(&digest, now) {
        // The cache is the gateway's; the route may accept fewer issuers than it trusts.
        if issuers.iter().any(|i| *i.config.issuer == *identity.issuer) {
            return Ok((identity, Source::Cache));
        }
        return Err(not_accepted(&identity.issuer, issuers));
    }
    if token.len() > 16 * 1024 {
        return Err(refuse(
            Code::TokenMalformed,
            "the token is longer than 16 KiB",
        ));
    }
    let decoded = match jws::decode_unverified(token) {
        Ok(d) => d,
        Err(e) => return opaque(token, digest, e, issuers, cache, now).await,
    };
    let iss = decoded
        .claims
        .get("iss")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let Some(issuer) = issuers.iter().find(|i| i.config.issuer == iss) else {
        return Err(not_accepted(iss, issuers));
    };
    let alg = decoded.alg().unwrap_or("none");
    if !issuer.config.algorithms.iter().any(|a| a == alg) {
        return Err(refuse(
            Code::TokenAlgNotAllowed,
            format!(
                "the token is signed with {}; the gateway accepts {} for this issuer",
                quote(alg),
                issuer.config.algorithms.join(", ")
            ),
        ));
    }
    signature(token, issuer, alg).await?;
    let expect = Expect {
        issuer: &issuer.config.issuer,
        audiences: &issuer.config.audiences,
        token_types: &issuer.config.token_types,
        now,
        leeway: issuer.config.leeway,
    };
    let v = access_token::validate(&decoded.header, &decoded.claims, &expect)
        .map_err(|e| refuse(e.code(), e.describe(&expect)))?;
    let identity = Arc::new(Identity {
        issuer: Arc::from(issuer.config.issuer.as_str()),
        sub: v.sub,
        client_id: v.client_id,
        scopes: v.scopes,
        jti: v.jti,
        grant_id: v.grant_id,
        exp: v.exp,
        iat: v.iat,
        auth_time: v.auth_time,
        claims: decoded.claims,
        forwarded: Default::default(),
        principal: Default::default(),
    });
    cache.put(digest, identity.clone());
    Ok((identity, Source::Verified))
}

/// Checks the token's signature with the issuer's keys, fetched again once for a kid they
/// do not hold (a rotation the gateway has not seen yet).
async fn signature(token: &str, issuer: &Issuer, alg: &str) -> Result<(), Refused> {
    let keys = issuer
        .keys()
        .await
        .map_err(|why| refuse(Code::IssuerUnavailable, why))?;
    let snapshot = keys.snapshot().await.map_err(|e| {
        refuse(
            Code::IssuerUnavailable,
            format!(
                "the keys of {} cannot be fetched: {e}",
                quote(&issuer.config.issuer)
            ),
        )
    })?;
    let checked = match jws::verify(token, &snapshot.jwks) {
        Err(JwsError::KidUnknown { .. }) => match keys.refetch_for_unknown_kid(&snapshot).await {
            Ok(Some(fresh)) => jws::verify(token, &fresh.jwks),
            Ok(None) => jws::verify(token, &snapshot.jwks),
            Err(e) => {
                return Err(refuse(
                    Code::IssuerUnavailable,
                    format!(
                        "the keys of {} cannot be fetched again: {e}",
                        quote(&issuer.config.issuer)
                    ),
                ));
            }
        },
        other => other,
    };
    checked.map(|_| ()).map_err(|e| match e {
        JwsError::KidUnknown { kid, known } => refuse(
            Code::TokenKidUnknown,
            format!(
                "the token's kid {} is not among the issuer's keys ({})",
                quote(kid.as_deref().unwrap_or("(none)")),
                known.join(", ")
            ),
        ),
        JwsError::Signature { kid, alg } => refuse(
            Code::TokenSignature,
            format!(
                "the {alg} signature does not verify with the key {}",
                quote(kid.as_deref().unwrap_or("(none)"))
            ),
        ),
        JwsError::AlgNone | JwsError::UnsupportedAlg { .. } => refuse(
            Code::TokenAlgNotAllowed,
            format!(
                "the token's alg {} cannot be verified with a public key",
                quote(alg)
            ),
        ),
        JwsError::Malformed { detail } => refuse(Code::TokenMalformed, detail),
    })
}

fn not_accepted(iss: &str, issuers: &[Arc<Issuer>]) -> Refused {
    refuse(
        Code::TokenIssuer,
        format!(
            "the token's iss {} is not a trusted issuer ({})",
            quote(iss),
            issuers
                .iter()
                .map(|i| quote(&i.config.issuer))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// A token that is not a JWT: asked of each of the route's issuers with introspection, in
/// order (never of an issuer the route does not accept: a token is sent only where it may
/// belong).
async fn opaque(
    token: &str,
    digest: [u8; 32],
    not_jwt: JwsError,
    issuers: &[Arc<Issuer>],
    cache: &Verified,
    now: i64,
) -> Result<(Arc<Identity>, Source), Refused> {
    use crate::introspect::Answer;
    let introspecting: Vec<&Arc<Issuer>> = issuers
        .iter()
        .filter(|i| i.introspector.is_some())
        .collect();
    if introspecting.is_empty() {
        let detail = match not_jwt {
            JwsError::Malformed { detail } => detail,
            other => format!("{other:?}"),
        };
        return Err(refuse(
            Code::TokenMalformed,
            format!(
                "the token is not a JWT ({detail}), and no issuer is configured with introspection for opaque tokens"
            ),
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refuse(
            Code::TokenMalformed,
            "the token has characters no token has",
        ));
    }
    let mut unavailable = Vec::new();
    for issuer in introspecting {
        let Some(introspector) = &issuer.introspector else {
            continue;
        };
        let answer = introspector.check(token, digest, now).await;
        if let Answer::Active(identity) = &answer {
            cache.put(digest, identity.clone());
        }
        match answer {
            Answer::Active(identity) => return Ok((identity, Source::Verified)),
            Answer::Inactive => {}
            Answer::Unavailable(why) => unavailable.push(why),
        }
    }
    if !unavailable.is_empty() {
        return Err(refuse(Code::IssuerUnavailable, unavailable.join("; ")));
    }
    Err(refuse(
        Code::TokenUnknown,
        "the issuer's introspection says the token is not active (unknown, expired or revoked)",
    ))
}
