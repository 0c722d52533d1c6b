//! JWT client assertions: `private_key_jwt` and `client_secret_jwt` (RFC 7523 §3, OIDC Core §9).
//!
//! The checks, in order, each failing with `client_auth.assertion_invalid` and a description
//! that names the claim: signature and algorithm, `iss` and `sub` equal to the client_id, `aud`
//! naming this server (the token endpoint URL or the issuer), `exp` present and in the future,
//! `iat`/`nbf` not in the future, a lifetime of at most [`MAX_LIFETIME`], and a `jti` present.
//! Replay of the `jti` is checked by the caller against the store.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::diagnosis::Code;
use crate::error::{OAuthError, quote};
use crate::jose::{JoseError, TimeError, check_times, verify_signature};

/// Assertions valid for longer than this are refused: an assertion is made per request.
pub const MAX_LIFETIME: i64 = 600;

/// What a verified assertion yields for replay protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub jti: String,
    pub exp: i64,
}

/// How the assertion's signature is checked.
pub enum AssertionKey<'a> {
    /// `private_key_jwt`: the client's registered public keys.
    PublicKeys(&'a JwkSet),
    /// `client_secret_jwt`: HMAC with the client secret.
    Secret(&'a [u8]),
}

fn invalid(why: impl AsRef<str>) -> OAuthError {
    OAuthError::new(Code::ClientAuthAssertionInvalid, why)
}

/// Reads the client_id an assertion claims (its `sub`, else `iss`) without verifying anything,
/// to find which client's keys to verify it with.
pub fn claimed_client_id(assertion: &str) -> Result<String, OAuthError> {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(assertion)
        .map(|d| d.claims)
        .map_err(|_| invalid("client_assertion is not a well-formed JWT"))?;
    claims
        .get("sub")
        .or_else(|| claims.get("iss"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| invalid("client_assertion has no 'sub' claim naming the client"))
}

/// Verifies `assertion` for `client_id`. `audiences` are the values `aud` may contain.
pub fn verify(
    assertion: &str,
    key: AssertionKey<'_>,
    client_id: &str,
    audiences: &[&str],
    now: i64,
    leeway: i64,
) -> Result<Verified, OAuthError> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid("client_assertion is not a well-formed JWT"))?;
    let claims: Value = match key {
        AssertionKey::PublicKeys(jwks) => {
            if !matches!(
                header.alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
                    | Algorithm::ES256
                    | Algorithm::ES384
                    | Algorithm::EdDSA
            ) {
                return Err(invalid(format!(
                    "client_assertion alg '{:?}' is not an asymmetric algorithm; private_key_jwt needs RS256, PS256, ES256 or EdDSA",
                    header.alg
                )));
            }
            let candidates: Vec<_> = match &header.kid {
                Some(kid) => jwks.find(kid).into_iter().collect(),
                None => jwks.keys.iter().collect(),
            };
            if candidates.is_empty() {
                return Err(invalid(match &header.kid {
                    Some(kid) => format!(
                        "client_assertion kid {} is not among the client's registered keys",
                        quote(kid)
                    ),
                    None => "the client has no registered public keys".to_string(),
                }));
            }
            let mut result = Err(JoseError::Signature);
            for jwk in candidates {
                if let Ok(dk) = DecodingKey::from_jwk(jwk) {
                    result = verify_signature(assertion, &dk, header.alg);
                    if result.is_ok() {
                        break;
                    }
                }
            }
            result.map_err(|e| signature_error(e, header.alg))?
        }
        AssertionKey::Secret(secret) => {
            if !matches!(
                header.alg,
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
            ) {
                return Err(invalid(format!(
                    "client_assertion alg '{:?}' is not HMAC; client_secret_jwt needs HS256",
                    header.alg
                )));
            }
            verify_signature(assertion, &DecodingKey::from_secret(secret), header.alg)
                .map_err(|e| signature_error(e, header.alg))?
        }
    };

    for claim in ["iss", "sub"] {
        match claims.get(claim).and_then(Value::as_str) {
            Some(v) if v == client_id => {}
            Some(v) => {
                return Err(invalid(format!(
                    "client_assertion '{claim}' is {}; expected the client_id {}",
                    quote(v),
                    quote(client_id)
                )));
            }
            None => {
                return Err(invalid(format!(
                    "client_assertion has no '{claim}' claim; expected the client_id {}",
                    quote(client_id)
                )));
            }
        }
    }

    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !aud.iter().any(|a| audiences.contains(a)) {
        return Err(invalid(format!(
            "client_assertion 'aud' is {}; expected {}",
            if aud.is_empty() {
                "missing".to_string()
            } else {
                quote(&aud.join(" "))
            },
            audiences
                .iter()
                .map(|a| quote(a))
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }

    check_times(&claims, now, leeway).map_err(|e| match e {
        TimeError::MissingExp => invalid("client_assertion has no 'exp' claim"),
        TimeError::NotNumericDate(claim) => invalid(format!(
            "client_assertion '{claim}' is not a NumericDate (a number of seconds)"
        )),
        TimeError::Expired(exp) => invalid(format!(
            "client_assertion expired: 'exp' is {exp}, now is {now} (leeway {leeway}s)"
        )),
        TimeError::NotYetValid(nbf) => invalid(format!(
            "client_assertion is not valid yet: 'nbf' is {nbf}, now is {now}"
        )),
        TimeError::IssuedInFuture(iat) => invalid(format!(
            "client_assertion 'iat' is {iat}, in the future (now is {now}): check the client's clock"
        )),
    })?;
    let exp = crate::jose::numeric_date(&claims, "exp")
        .ok()
        .flatten()
        .map_or(now, |e| crate::jose::whole_seconds(e.ceil()));
    if exp - now > MAX_LIFETIME {
        return Err(invalid(format!(
            "client_assertion 'exp' is {}s ahead; assertions may live at most {MAX_LIFETIME}s",
            exp - now
        )));
    }

    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid("client_assertion has no 'jti' claim (needed to refuse replays)"))?;
    Ok(Verified {
        jti: jti.to_string(),
        exp,
    })
}

fn signature_error(e: JoseError, alg: Algorithm) -> OAuthError {
    match e {
        JoseError::Signature => invalid(format!(
            "client_assertion signature ({alg:?}) does not verify with the client's registered key"
        )),
        JoseError::AlgMismatch { .. } => invalid(format!(
            "client_assertion alg '{alg:?}' does not match the client's registered key"
        )),
        _ => invalid("client_assertion is not a well-formed JWT"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{SigningAlg, SigningKey};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const AUD: &str = "https://as.example/token";

    fn claims() -> Value {
        json!({"iss": "c1", "sub": "c1", "aud": AUD, "exp": NOW + 60, "iat": NOW, "jti": "j1"})
    }

    fn hmac(claims: &Value, secret: &[u8]) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap_or_default()
    }

    fn check_secret(token: &str) -> Result<Verified, OAuthError> {
        verify(
            token,
            AssertionKey::Secret(b"s3cret"),
            "c1",
            &[AUD, "https://as.example"],
            NOW,
            5,
        )
    }

    #[test]
    fn hmac_assertion_passes() {
        let v = check_secret(&hmac(&claims(), b"s3cret"));
        assert_eq!(
            v,
            Ok(Verified {
                jti: "j1".into(),
                exp: NOW + 60
            })
        );
        assert_eq!(
            claimed_client_id(&hmac(&claims(), b"x")).ok().as_deref(),
            Some("c1")
        );
    }

    #[test]
    fn each_claim_failure_is_named() {
        let cases: Vec<(Value, &[u8], &str)> = vec![
            (claims(), b"wrong", "signature"),
            (
                json!({"iss": "c1", "sub": "c2", "aud": AUD, "exp": NOW + 60, "jti": "j"}),
                b"s3cret",
                "'sub' is 'c2'",
            ),
            (
                json!({"sub": "c1", "aud": AUD, "exp": NOW + 60, "jti": "j"}),
                b"s3cret",
                "no 'iss'",
            ),
            (
                json!({"iss": "c1", "sub": "c1", "aud": "https://other", "exp": NOW + 60, "jti": "j"}),
                b"s3cret",
                "'aud' is 'https://other'",
            ),
            (
                json!({"iss": "c1", "sub": "c1", "aud": AUD, "jti": "j"}),
                b"s3cret",
                "no 'exp'",
            ),
            (
                json!({"iss": "c1", "sub": "c1", "aud": AUD, "exp": NOW - 60, "jti": "j"}),
                b"s3cret",
                "expired",
            ),
            (
                json!({"iss": "c1", "sub": "c1", "aud": AUD, "exp": NOW + 6000, "jti": "j"}),
                b"s3cret",
                "at most",
            ),
            (
                json!({"iss": "c1", "sub": "c1", "aud": AUD, "exp": NOW + 60}),
                b"s3cret",
                "no 'jti'",
            ),
            (
                json!({"iss": "c1", "sub": "c1", "aud": AUD, "exp": NOW + 60, "iat": NOW + 300, "jti": "j"}),
                b"s3cret",
                "in the future",
            ),
        ];
        for (c, secret, needle) in cases {
            let err = check_secret(&hmac(&c, secret)).err();
            let err = err.unwrap_or_else(|| panic!("{c} passed"));
            assert_eq!(err.code, Code::ClientAuthAssertionInvalid);
            assert!(
                err.description.contains(needle),
                "{} lacks {needle}",
                err.description
            );
        }
    }

    #[test]
    fn private_key_jwt_and_alg_confusion() {
        let (key, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
        let jwks = JwkSet {
            keys: vec![key.public_jwk().clone()],
        };
        let token = key.sign("JWT", &claims()).unwrap_or_default();
        let ok = verify(
            &token,
            AssertionKey::PublicKeys(&jwks),
            "c1",
            &[AUD],
            NOW,
            0,
        );
        assert!(ok.is_ok(), "{ok:?}");
        // An HMAC token must not verify against public keys (alg confusion).
        let hs = hmac(&claims(), b"anything");
        let err = verify(&hs, AssertionKey::PublicKeys(&jwks), "c1", &[AUD], NOW, 0).err();
        assert!(err.is_some_and(|e| e.description.contains("not an asymmetric")));
        let empty = JwkSet { keys: vec![] };
        let err = verify(
            &token,
            AssertionKey::PublicKeys(&empty),
            "c1",
            &[AUD],
            NOW,
            0,
        )
        .err();
        assert!(err.is_some_and(|e| e.description.contains("not among")));
    }
}
