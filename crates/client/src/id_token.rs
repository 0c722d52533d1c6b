//! id_token validation (OpenID Connect Core §3.1.3.7): the signature with the provider's
//! JWKS (refetched once when the `kid` is unknown), then `iss`, `aud`/`azp`, `exp`, `nbf`,
//! `iat` (with a leeway), `nonce` and `at_hash`.
//!
//! [`check_signature`] and [`check_claims`] are pure; [`JwksCache`] adds the fetching.

use std::fmt;
use std::time::Duration;

use candor_proto::Code;
use candor_proto::jose::{JwkSet, NotNumericDate, after, expired_at, numeric_date, whole_seconds};
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::Jwk;
use serde_json::Value;

use crate::error::{ClientError, ErrorKind};
use crate::jws;
pub use crate::jws::{Decoded, JwsError, key_fits};
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

pub use candor_proto::token_hash::half_hash;

/// Verifies the signature of `token` with the key of `jwks` its `kid` names (or, without a
/// kid, any key that fits its alg).
pub fn check_signature(token: &str, jwks: &JwkSet) -> Result<Decoded, IdTokenError> {
    Ok(jws::verify(token, jwks)?)
}

/// Decodes header and claims without verifying anything.
pub fn decode_unverified(token: &str) -> Result<Decoded, IdTokenError> {
    Ok(jws::decode_unverified(token)?)
}

impl From<JwsError> for IdTokenError {
    fn from(e: JwsError) -> Self {
        match e {
            JwsError::Malformed { detail } => IdTokenError::Malformed { detail },
            JwsError::AlgNone => IdTokenError::AlgNone,
            JwsError::UnsupportedAlg { alg } => IdTokenError::UnsupportedAlg { alg },
            JwsError::KidUnknown { kid, known } => IdTokenError::KidUnknown { kid, known },
            JwsError::Signature { kid, alg } => IdTokenError::Signature { kid, alg },
        }
    }
}

/// A NumericDate claim (RFC 7519 §2), which may be non-integer: compared as the number it is.
/// One that is not a number (a string "2000") is malformed, never ignored.
fn time_claim(claims: &Value, name: &str, out: &mut Vec<IdTokenError>) -> Option<f64> {
    match numeric_date(claims, name) {
        Ok(v) => v,
        Err(NotNumericDate) => {
            out.push(IdTokenError::Malformed {
                detail: format!("the '{name}' claim is not a NumericDate (a number of seconds)"),
            });
            None
        }
    }
}

/// Checks the claims of a decoded token; returns every failure, in the order of OpenID
/// Connect Core §3.1.3.7.
pub fn check_claims(decoded: &Decoded, expect: &Expectations) -> Vec<IdTokenError> {
    let claims = &decoded.claims;
    let mut out = Vec::new();
    let str_claim = |name: &str| claims.get(name).and_then(Value::as_str);
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
    if let Some(exp) = time_claim(claims, "exp", &mut out)
        && expired_at(exp, now, leeway)
    {
        out.push(IdTokenError::Expired {
            exp: whole_seconds(exp),
            now,
            leeway,
        });
    }
    if let Some(nbf) = time_claim(claims, "nbf", &mut out)
        && after(nbf, now, leeway)
    {
        out.push(IdTokenError::NotYetValid {
            nbf: whole_seconds(nbf),
            now,
            leeway,
        });
    }
    if let Some(iat) = time_claim(claims, "iat", &mut out)
        && after(iat, now, leeway)
    {
        out.push(IdTokenError::IatFuture {
            iat: whole_seconds(iat),
            now,
            leeway,
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
        // NumericDate may be non-integer (RFC 7519 §2): compared; a string is malformed.
        let mut c = claims(now, "ES256");
        c["nbf"] = json!(1e12);
        assert_eq!(check(c), vec![Code::IdTokenNotYetValid]);
        let mut c = claims(now, "ES256");
        c["iat"] = json!(9999999999.5);
        assert_eq!(check(c), vec![Code::IdTokenIatFuture]);
        let mut c = claims(now, "ES256");
        c["exp"] = json!("2000");
        assert_eq!(check(c), vec![Code::IdTokenMalformed]);
        let mut c = claims(now, "ES256");
        c["iat"] = json!(now as f64 - 0.5);
        c["exp"] = json!((now - 60) as f64 + 0.9);
        assert!(check(c).is_empty(), "0.9 s left inside the leeway");
        let mut c = claims(now, "ES256");
        c["exp"] = json!((now - 61) as f64 + 0.9);
        assert_eq!(check(c), vec![Code::IdTokenExpired]);
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
