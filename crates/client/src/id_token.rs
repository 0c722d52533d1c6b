//! id_token validation (OpenID Connect Core §3.1.3.7): the signature with the provider's
//! JWKS (refetched once when the `kid` is unknown), then `iss`, `aud`/`azp`, `exp`, `nbf`,
//! `iat` (with a leeway), `nonce` and `at_hash`.
//!
//! [`check_signature`] and [`check_claims`] are pure; [`JwksCache`] adds the fetching.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use candor_proto::Code;
use candor_proto::jose::JwkSet;
use candor_proto::secret::hint;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::error::{ClientError, ErrorKind};
use crate::http::HttpClient;
use crate::response::classify_json_body;

/// Why an id_token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not three base64url parts with JSON header and claims (`detail` says which part).
    Malformed {
        detail: String,
    },
    /// `alg` is `none`.
    AlgNone,
    /// `alg` is not one a client can verify with a JWKS (or unknown).
    UnsupportedAlg {
        alg: String,
    },
    /// No key with this kid (or, without a kid, no key of the right type).
    KidUnknown {
        kid: Option<String>,
        known: Vec<String>,
    },
    /// The signature does not verify.
    Signature {
        kid: Option<String>,
        alg: String,
    },
    MissingClaim {
        claim: &'static str,
    },
    IssMismatch {
        expected: String,
        received: String,
    },
    AudMismatch {
        expected: String,
        received: String,
    },
    Expired {
        exp: i64,
        now: i64,
        leeway: i64,
    },
    NotYetValid {
        nbf: i64,
        now: i64,
        leeway: i64,
    },
    IatFuture {
        iat: i64,
        now: i64,
        leeway: i64,
    },
    NonceMismatch {
        expected: String,
        received: Option<String>,
    },
    AtHashMismatch {
        expected: String,
        received: String,
    },
}

impl IdTokenError {
    pub fn code(&self) -> Code {
        match self {
            IdTokenError::Malformed { .. } => Code::IdTokenMalformed,
            IdTokenError::AlgNone => Code::IdTokenAlgNone,
            IdTokenError::UnsupportedAlg { .. } | IdTokenError::Signature { .. } => {
                Code::IdTokenSignature
            }
            IdTokenError::KidUnknown { .. } => Code::IdTokenKidUnknown,
            IdTokenError::MissingClaim { .. } => Code::IdTokenMissingClaim,
            IdTokenError::IssMismatch { .. } => Code::IdTokenIssMismatch,
            IdTokenError::AudMismatch { .. } => Code::IdTokenAudMismatch,
            IdTokenError::Expired { .. } => Code::IdTokenExpired,
            IdTokenError::NotYetValid { .. } => Code::IdTokenNotYetValid,
            IdTokenError::IatFuture { .. } => Code::IdTokenIatFuture,
            IdTokenError::NonceMismatch { .. } => Code::IdTokenNonceMismatch,
            IdTokenError::AtHashMismatch { .. } => Code::IdTokenAtHashMismatch,
        }
    }

    pub fn expected(&self) -> Option<String> {
        Some(match self {
            IdTokenError::AlgNone => "a signed token (RS256, ES256, EdDSA...)".into(),
            IdTokenError::KidUnknown { known, .. } => {
                if known.is_empty() {
                    "a kid present in the JWKS (which has no keys)".into()
                } else {
                    format!("one of the JWKS kids: {}", quoted(known))
                }
            }
            IdTokenError::MissingClaim { claim } => format!("a '{claim}' claim"),
            IdTokenError::IssMismatch { expected, .. }
            | IdTokenError::AudMismatch { expected, .. } => format!("'{expected}'"),
            IdTokenError::Expired { now, leeway, .. } => {
                format!(
                    "exp after {} (now minus {leeway} s leeway)",
                    time(now - leeway)
                )
            }
            IdTokenError::NotYetValid { now, leeway, .. }
            | IdTokenError::IatFuture { now, leeway, .. } => {
                format!(
                    "a time before {} (now plus {leeway} s leeway)",
                    time(now + leeway)
                )
            }
            IdTokenError::NonceMismatch { expected, .. } => format!("'{expected}'"),
            IdTokenError::AtHashMismatch { expected, .. } => {
                format!("'{expected}' (left half of the access token's hash)")
            }
            _ => return None,
        })
    }

    pub fn received(&self) -> Option<String> {
        Some(match self {
            IdTokenError::KidUnknown { kid: Some(k), .. } => format!("kid '{k}'"),
            IdTokenError::KidUnknown { kid: None, .. } => "no kid".into(),
            IdTokenError::IssMismatch { received, .. } => format!("'{received}'"),
            IdTokenError::AudMismatch { received, .. } => received.clone(),
            IdTokenError::Expired { exp, .. } => format!("exp {}", time(*exp)),
            IdTokenError::NotYetValid { nbf, .. } => format!("nbf {}", time(*nbf)),
            IdTokenError::IatFuture { iat, .. } => format!("iat {}", time(*iat)),
            IdTokenError::NonceMismatch { received, .. } => match received {
                Some(r) => format!("'{r}'"),
                None => "no nonce claim".into(),
            },
            IdTokenError::AtHashMismatch { received, .. } => format!("'{received}'"),
            IdTokenError::UnsupportedAlg { alg } => format!("alg '{alg}'"),
            _ => return None,
        })
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Unix time as an RFC 9110 date with the number, for messages.
pub fn time(unix: i64) -> String {
    let t = if unix >= 0 {
        std::time::UNIX_EPOCH + Duration::from_secs(unix as u64)
    } else {
        std::time::UNIX_EPOCH
    };
    format!("{} ({unix})", crate::http::fmt_http_date(t))
}

impl fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdTokenError::Malformed { detail } => {
                write!(f, "the token is not a well-formed JWT: {detail}")
            }
            IdTokenError::AlgNone => f.write_str("the token is unsigned (alg 'none')"),
            IdTokenError::UnsupportedAlg { alg } => write!(
                f,
                "alg '{alg}' cannot be verified with a JWKS (HS256 needs the client secret; others are unknown)"
            ),
            IdTokenError::KidUnknown { kid: Some(k), .. } => {
                write!(f, "no key in the JWKS has kid '{k}'")
            }
            IdTokenError::KidUnknown { kid: None, .. } => {
                f.write_str("the token has no kid and no key in the JWKS fits its alg")
            }
            IdTokenError::Signature { kid, alg } => write!(
                f,
                "the {alg} signature does not verify with key {}",
                kid.as_deref()
                    .map(|k| format!("'{k}'"))
                    .unwrap_or_else(|| "(no kid)".into())
            ),
            IdTokenError::MissingClaim { claim } => write!(f, "the '{claim}' claim is missing"),
            IdTokenError::IssMismatch { expected, received } => {
                write!(f, "the token's iss is '{received}', expected '{expected}'")
            }
            IdTokenError::AudMismatch { expected, received } => {
                write!(
                    f,
                    "the token's aud is {received}, which does not contain '{expected}'"
                )
            }
            IdTokenError::Expired { exp, now, .. } => write!(
                f,
                "the token expired {} s before the check time ({})",
                now - exp,
                time(*exp)
            ),
            IdTokenError::NotYetValid { nbf, now, .. } => {
                write!(f, "the token's nbf is {} s after the check time", nbf - now)
            }
            IdTokenError::IatFuture { iat, now, .. } => {
                write!(f, "the token's iat is {} s after the check time", iat - now)
            }
            IdTokenError::NonceMismatch { expected, received } => match received {
                Some(r) => write!(f, "the token's nonce is '{r}', expected '{expected}'"),
                None => write!(f, "the nonce claim is missing, expected '{expected}'"),
            },
            IdTokenError::AtHashMismatch { expected, received } => write!(
                f,
                "the token's at_hash is '{received}' but the access token hashes to '{expected}'"
            ),
        }
    }
}

impl From<IdTokenError> for ClientError {
    fn from(e: IdTokenError) -> Self {
        ClientError::new(ErrorKind::IdToken(e))
    }
}

/// What a token must match. `None` skips that check (the doctor's `jwt` command checks what
/// it is told to).
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub issuer: Option<String>,
    /// The client_id (`aud` must contain it; `azp`, when present, must equal it).
    pub audience: Option<String>,
    pub nonce: Option<String>,
    /// The access token issued with the id_token, for `at_hash`.
    pub access_token: Option<String>,
    /// Unix time to check against.
    pub now: i64,
    /// Seconds of clock difference tolerated.
    pub leeway: i64,
    /// Whether iss, sub, aud, exp and iat must all be present (true for id_tokens).
    pub require_id_token_claims: bool,
}

/// A decoded, not yet verified, JWT.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub header: Value,
    pub claims: Value,
}

impl Decoded {
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }
}

/// Decodes header and claims without verifying anything.
pub fn decode_unverified(token: &str) -> Result<Decoded, IdTokenError> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    let malformed = |detail: String| IdTokenError::Malformed { detail };
    match parts.len() {
        3 => {}
        5 => {
            return Err(malformed(
                "it has five parts: an encrypted JWT (JWE), which needs the client's private key"
                    .into(),
            ));
        }
        n => {
            return Err(malformed(format!(
                "it has {n} dot-separated part{}, a JWS has 3",
                if n == 1 { "" } else { "s" }
            )));
        }
    }
    let part = |i: usize, name: &str| -> Result<Value, IdTokenError> {
        let raw = parts.get(i).copied().unwrap_or("");
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| malformed(format!("the {name} is not base64url")))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| malformed(format!("the {name} is not JSON")))?;
        if !value.is_object() {
            return Err(malformed(format!("the {name} is not a JSON object")));
        }
        Ok(value)
    };
    let header = part(0, "header")?;
    let claims = part(1, "claims part")?;
    Ok(Decoded { header, claims })
}

/// The `at_hash` / `c_hash` of `value` for `alg`: the left half of its hash, base64url
/// (OpenID Connect Core §3.1.3.6). EdDSA (Ed25519) uses SHA-512.
pub fn half_hash(alg: &str, value: &str) -> Option<String> {
    let algorithm = match alg {
        "RS256" | "PS256" | "ES256" | "HS256" | "ES256K" => &digest::SHA256,
        "RS384" | "PS384" | "ES384" | "HS384" => &digest::SHA384,
        "RS512" | "PS512" | "ES512" | "HS512" | "EdDSA" | "Ed25519" => &digest::SHA512,
        _ => return None,
    };
    let d = digest::digest(algorithm, value.as_bytes());
    let bytes = d.as_ref();
    let half = bytes.get(..bytes.len() / 2)?;
    Some(URL_SAFE_NO_PAD.encode(half))
}

/// Whether `jwk` can verify `alg`.
pub fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    if let Some(ka) = jwk.common.key_algorithm
        && ka != KeyAlgorithm::UNKNOWN_ALGORITHM
        && KeyAlgorithm::from_str(&format!("{alg:?}")).ok() != Some(ka)
    {
        return false;
    }
    match (&jwk.algorithm, alg) {
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => true,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES384) => p.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            p.curve == EllipticCurve::Ed25519
        }
        _ => false,
    }
}

/// Verifies the signature of `token` with the key of `jwks` its `kid` names (or, without a
/// kid, any key that fits its alg).
pub fn check_signature(token: &str, jwks: &JwkSet) -> Result<Decoded, IdTokenError> {
    let decoded = decode_unverified(token)?;
    let alg_name = decoded.alg().unwrap_or("").to_string();
    if alg_name.eq_ignore_ascii_case("none") {
        return Err(IdTokenError::AlgNone);
    }
    let alg = Algorithm::from_str(&alg_name).map_err(|_| IdTokenError::UnsupportedAlg {
        alg: alg_name.clone(),
    })?;
    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(IdTokenError::UnsupportedAlg { alg: alg_name });
    }
    let kid = decoded.kid().map(str::to_string);
    let candidates: Vec<&Jwk> = match &kid {
        Some(k) => jwks
            .keys
            .iter()
            .filter(|j| j.common.key_id.as_deref() == Some(k.as_str()))
            .collect(),
        None => jwks.keys.iter().filter(|j| key_fits(j, alg)).collect(),
    };
    if candidates.is_empty() {
        return Err(IdTokenError::KidUnknown {
            kid,
            known: jwks
                .keys
                .iter()
                .filter_map(|j| j.common.key_id.clone())
                .collect(),
        });
    }
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        if candor_proto::jose::verify_signature::<Value>(token, &key, alg).is_ok() {
            return Ok(decoded);
        }
    }
    Err(IdTokenError::Signature { kid, alg: alg_name })
}

/// Checks the claims of a decoded token; returns every failure, in the order of OpenID
/// Connect Core §3.1.3.7.
pub fn check_claims(decoded: &Decoded, expect: &Expectations) -> Vec<IdTokenError> {
    let claims = &decoded.claims;
    let mut out = Vec::new();
    let str_claim = |name: &str| claims.get(name).and_then(Value::as_str);
    let num_claim = |name: &str| claims.get(name).and_then(Value::as_i64);
    if expect.require_id_token_claims {
        for claim in ["iss", "sub", "aud", "exp", "iat"] {
            if claims.get(claim).is_none() {
                out.push(IdTokenError::MissingClaim { claim });
            }
        }
    }
    if let Some(iss) = &expect.issuer
        && let Some(received) = str_claim("iss")
        && received != iss
    {
        out.push(IdTokenError::IssMismatch {
            expected: iss.clone(),
            received: received.to_string(),
        });
    }
    if let Some(aud) = &expect.audience {
        let auds: Vec<String> = match claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        if claims.get("aud").is_some() && !auds.iter().any(|a| a == aud) {
            out.push(IdTokenError::AudMismatch {
                expected: aud.clone(),
                received: quoted(&auds),
            });
        } else if let Some(azp) = str_claim("azp")
            && auds.len() > 1
            && azp != aud
        {
            out.push(IdTokenError::AudMismatch {
                expected: aud.clone(),
                received: format!("azp '{azp}'"),
            });
        }
    }
    let (now, leeway) = (expect.now, expect.leeway);
    if let Some(exp) = num_claim("exp")
        && exp.saturating_add(leeway) <= now
    {
        out.push(IdTokenError::Expired { exp, now, leeway });
    }
    if let Some(nbf) = num_claim("nbf")
        && nbf.saturating_sub(leeway) > now
    {
        out.push(IdTokenError::NotYetValid { nbf, now, leeway });
    }
    if let Some(iat) = num_claim("iat")
        && iat.saturating_sub(leeway) > now
    {
        out.push(IdTokenError::IatFuture { iat, now, leeway });
    }
    if let Some(nonce) = &expect.nonce {
        let received = str_claim("nonce");
        if received != Some(nonce.as_str()) {
            out.push(IdTokenError::NonceMismatch {
                expected: nonce.clone(),
                received: received.map(str::to_string),
            });
        }
    }
    if let (Some(at), Some(received)) = (&expect.access_token, str_claim("at_hash"))
        && let Some(expected) = decoded.alg().and_then(|alg| half_hash(alg, at))
        && expected != received
    {
        out.push(IdTokenError::AtHashMismatch {
            expected,
            received: received.to_string(),
        });
    }
    out
}

/// Verifies signature and claims; the first failure, or the claims.
pub fn validate(token: &str, jwks: &JwkSet, expect: &Expectations) -> Result<Value, IdTokenError> {
    let decoded = check_signature(token, jwks)?;
    match check_claims(&decoded, expect).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(decoded.claims),
    }
}

/// A JWK Set read leniently: keys that do not parse are skipped and reported.
#[derive(Debug, Clone, Default)]
pub struct ParsedJwks {
    pub jwks: JwkSet,
    /// One line per key that was skipped, saying why.
    pub skipped: Vec<String>,
}

/// Parses a JWKS response body.
pub fn parse_jwks(
    url: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<ParsedJwks, ErrorKind> {
    if status != 200 {
        return Err(ErrorKind::JwksStatus {
            url: url.to_string(),
            status,
        });
    }
    let value = classify_json_body(status, content_type, None, body).map_err(|k| {
        ErrorKind::JwksMalformed {
            detail: k.to_string(),
        }
    })?;
    parse_jwks_value(&value)
}

/// Reads a JWK Set from JSON.
pub fn parse_jwks_value(value: &Value) -> Result<ParsedJwks, ErrorKind> {
    let keys =
        value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| ErrorKind::JwksMalformed {
                detail: "there is no 'keys' array".into(),
            })?;
    let mut out = ParsedJwks::default();
    for (i, k) in keys.iter().enumerate() {
        let kid = k.get("kid").and_then(Value::as_str).unwrap_or("(no kid)");
        match serde_json::from_value::<Jwk>(k.clone()) {
            Ok(jwk) => match DecodingKey::from_jwk(&jwk) {
                Ok(_) => out.jwks.keys.push(jwk),
                Err(e) => out
                    .skipped
                    .push(format!("key {i} ({kid}) has unusable parameters: {e}")),
            },
            Err(e) => out
                .skipped
                .push(format!("key {i} ({kid}) does not parse: {e}")),
        }
    }
    if out.jwks.keys.is_empty() && !out.skipped.is_empty() {
        return Err(ErrorKind::JwksMalformed {
            detail: out.skipped.join("; "),
        });
    }
    Ok(out)
}

/// A provider's JWKS, fetched on first use and refetched when a token names an unknown kid
/// (at most once per `min_refetch`, so a flood of bad tokens cannot make us hammer the
/// provider).
#[derive(Debug)]
pub struct JwksCache {
    http: HttpClient,
    uri: String,
    min_refetch: Duration,
    state: tokio::sync::Mutex<Option<(JwkSet, Instant)>>,
}

impl JwksCache {
    pub fn new(http: HttpClient, uri: impl Into<String>) -> Self {
        JwksCache {
            http,
            uri: uri.into(),
            min_refetch: Duration::from_secs(10),
            state: tokio::sync::Mutex::new(None),
        }
    }

    pub fn with_min_refetch(mut self, d: Duration) -> Self {
        self.min_refetch = d;
        self
    }

    async fn fetch(&self) -> Result<JwkSet, ClientError> {
        let raw = self.http.get_json(&self.uri).await?;
        let parsed = parse_jwks(&self.uri, raw.status, raw.content_type(), &raw.body)
            .map_err(|k| ClientError::with_exchange(k, raw.exchange.clone()))?;
        Ok(parsed.jwks)
    }

    /// The cached key set, fetching it the first time.
    pub async fn keys(&self) -> Result<JwkSet, ClientError> {
        let mut state = self.state.lock().await;
        if let Some((jwks, _)) = state.as_ref() {
            return Ok(jwks.clone());
        }
        let jwks = self.fetch().await?;
        *state = Some((jwks.clone(), Instant::now()));
        Ok(jwks)
    }

    /// Refetches unless the last fetch is more recent than `min_refetch`; returns whether it
    /// did.
    async fn refetch(&self) -> Result<Option<JwkSet>, ClientError> {
        let mut state = self.state.lock().await;
        if let Some((_, at)) = state.as_ref()
            && at.elapsed() < self.min_refetch
        {
            return Ok(None);
        }
        let jwks = self.fetch().await?;
        *state = Some((jwks.clone(), Instant::now()));
        Ok(Some(jwks))
    }

    /// Validates an id_token; on an unknown kid, refetches the JWKS once and tries again.
    pub async fn validate(&self, token: &str, expect: &Expectations) -> Result<Value, ClientError> {
        let jwks = self.keys().await?;
        match validate(token, &jwks, expect) {
            Err(IdTokenError::KidUnknown { .. }) => match self.refetch().await? {
                Some(fresh) => Ok(validate(token, &fresh, expect)?),
                None => Ok(validate(token, &jwks, expect)?),
            },
            other => Ok(other?),
        }
    }
}

/// Shows a token as a hint only.
pub fn token_hint(token: &str) -> String {
    hint(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_proto::jose::{SigningAlg, SigningKey};
    use serde_json::json;

    fn key(alg: SigningAlg) -> SigningKey {
        SigningKey::generate(alg).unwrap().0
    }

    fn expect(now: i64) -> Expectations {
        Expectations {
            issuer: Some("https://idp.example".into()),
            audience: Some("web".into()),
            nonce: Some("n-1".into()),
            access_token: Some("the-access-token".into()),
            now,
            leeway: 60,
            require_id_token_claims: true,
        }
    }

    fn claims(now: i64, alg: &str) -> Value {
        json!({"iss": "https://idp.example", "sub": "u1", "aud": "web", "exp": now + 300,
               "iat": now, "nonce": "n-1", "at_hash": half_hash(alg, "the-access-token")})
    }

    #[test]
    fn a_good_token_validates_with_every_alg() {
        let now = 1_700_000_000;
        for alg in SigningAlg::ALL {
            let k = key(*alg);
            let token = k.sign("JWT", &claims(now, alg.as_str())).unwrap();
            let jwks = JwkSet {
                keys: vec![k.public_jwk().clone()],
            };
            validate(&token, &jwks, &expect(now)).unwrap_or_else(|e| panic!("{alg}: {e}"));
        }
    }

    #[test]
    fn each_failure_is_named() {
        let now = 1_700_000_000;
        let k = key(SigningAlg::Es256);
        let jwks = JwkSet {
            keys: vec![k.public_jwk().clone()],
        };
        let check = |c: Value| -> Vec<Code> {
            let token = k.sign("JWT", &c).unwrap();
            let d = check_signature(&token, &jwks).unwrap();
            check_claims(&d, &expect(now))
                .iter()
                .map(|e| e.code())
                .collect()
        };
        let mut c = claims(now, "ES256");
        c["iss"] = json!("https://idp.example/");
        assert_eq!(check(c), vec![Code::IdTokenIssMismatch]);
        let mut c = claims(now, "ES256");
        c["aud"] = json!(["other", "another"]);
        assert_eq!(check(c), vec![Code::IdTokenAudMismatch]);
        let mut c = claims(now, "ES256");
        c["exp"] = json!(now - 61);
        assert_eq!(check(c), vec![Code::IdTokenExpired]);
        let mut c = claims(now, "ES256");
        c["exp"] = json!(now - 30);
        assert!(check(c).is_empty(), "inside the leeway");
        let mut c = claims(now, "ES256");
        c["iat"] = json!(now + 600);
        assert_eq!(check(c), vec![Code::IdTokenIatFuture]);
        let mut c = claims(now, "ES256");
        c["nbf"] = json!(now + 600);
        assert_eq!(check(c), vec![Code::IdTokenNotYetValid]);
        let mut c = claims(now, "ES256");
        c["nonce"] = json!("other");
        assert_eq!(check(c), vec![Code::IdTokenNonceMismatch]);
        let mut c = claims(now, "ES256");
        c["at_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(check(c), vec![Code::IdTokenAtHashMismatch]);
        let mut c = claims(now, "ES256");
        c.as_object_mut().unwrap().remove("sub");
        assert_eq!(check(c), vec![Code::IdTokenMissingClaim]);
    }

    #[test]
    fn signature_failures() {
        let now = 1_700_000_000;
        let k = key(SigningAlg::Rs256);
        let other = key(SigningAlg::Rs256);
        let jwks = JwkSet {
            keys: vec![k.public_jwk().clone()],
        };
        let foreign = other.sign("JWT", &claims(now, "RS256")).unwrap();
        assert!(matches!(
            check_signature(&foreign, &jwks),
            Err(IdTokenError::KidUnknown { .. })
        ));
        // Same kid, other key: the signature fails.
        let mut forged_jwks = jwks.clone();
        let mut jwk = other.public_jwk().clone();
        jwk.common.key_id = Some(k.kid().to_string());
        forged_jwks.keys = vec![jwk];
        let token = k.sign("JWT", &claims(now, "RS256")).unwrap();
        assert!(matches!(
            check_signature(&token, &forged_jwks),
            Err(IdTokenError::Signature { .. })
        ));
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#)
        );
        assert_eq!(
            check_signature(&none, &jwks).err(),
            Some(IdTokenError::AlgNone)
        );
        assert!(matches!(
            decode_unverified("a.b"),
            Err(IdTokenError::Malformed { .. })
        ));
        assert!(matches!(
            decode_unverified("a.b.c.d.e"),
            Err(IdTokenError::Malformed { .. })
        ));
    }

    #[test]
    fn at_hash_matches_the_spec_example() {
        // OpenID Connect Core, Appendix A.3 (RS256).
        assert_eq!(
            half_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
    }

    #[test]
    fn lenient_jwks() {
        let k = key(SigningAlg::EdDsa);
        let good = serde_json::to_value(k.public_jwk()).unwrap();
        let parsed =
            parse_jwks_value(&json!({"keys": [good, {"kty": "RSA", "kid": "broken"}]})).unwrap();
        assert_eq!(parsed.jwks.keys.len(), 1);
        assert_eq!(parsed.skipped.len(), 1);
        assert!(parse_jwks_value(&json!({"nokeys": []})).is_err());
        assert!(parse_jwks_value(&json!({"keys": [{"kty": "RSA"}]})).is_err());
    }
}
