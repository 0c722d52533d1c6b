//! JWS compact serialization (RFC 7515) checked against a JWK Set (RFC 7517): decoding without
//! trust, and verifying the signature with the key the `kid` names. Shared by id_token
//! validation and the gateway's access-token validation; the claims are theirs to check.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use candor_proto::jose::JwkSet;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// Why a JWS does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwsError {
    /// Not three base64url parts with JSON header and claims (`detail` says which part).
    Malformed { detail: String },
    /// `alg` is `none`.
    AlgNone,
    /// `alg` is not one that verifies with a public JWK (unknown, or HMAC).
    UnsupportedAlg { alg: String },
    /// No key with this kid (or, without a kid, no key of the right type).
    KidUnknown {
        kid: Option<String>,
        known: Vec<String>,
    },
    /// The signature does not verify.
    Signature { kid: Option<String>, alg: String },
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
pub fn decode_unverified(token: &str) -> Result<Decoded, JwsError> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    let malformed = |detail: String| JwsError::Malformed { detail };
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
    let part = |i: usize, name: &str| -> Result<Value, JwsError> {
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

/// The algorithms of `advertised` (a discovery document's
/// `id_token_signing_alg_values_supported`) that no key of `keys` can verify. HMAC algorithms
/// are left out: their key is the client's secret, never in a JWKS. Names that are not JWS
/// algorithms are left out too (discovery checks name those).
pub fn unverifiable_algs<'a>(advertised: &'a [String], keys: &[Jwk]) -> Vec<&'a str> {
    advertised
        .iter()
        .filter(|alg| {
            alg.parse::<Algorithm>().is_ok_and(|a| {
                !matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
                    && !keys.iter().any(|k| key_fits(k, a))
            })
        })
        .map(String::as_str)
        .collect()
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

/// Refuses a header with `crit` (RFC 7515 §4.1.11): this verifier understands no extension,
/// so any name it lists makes the JWS invalid — and so does a `crit` that is not a non-empty
/// array of names of parameters the header carries. Malformed, before any key is looked up
/// (a made-up kid beside a `crit` costs no JWKS refetch) or any signature checked.
fn refuse_critical(header: &Value) -> Result<(), JwsError> {
    let Some(crit) = header.get("crit") else {
        return Ok(());
    };
    let malformed = |detail: String| Err(JwsError::Malformed { detail });
    let Some(names) = crit.as_array() else {
        return malformed(
            "the header's crit is not an array of names (RFC 7515 section 4.1.11)".into(),
        );
    };
    if names.is_empty() {
        return malformed(
            "the header's crit is empty, which RFC 7515 section 4.1.11 forbids".into(),
        );
    }
    let mut listed = Vec::with_capacity(names.len());
    for name in names {
        let Some(name) = name.as_str() else {
            return malformed("the header's crit lists something other than a name".into());
        };
        if header.get(name).is_none() {
            return malformed(format!(
                "the header's crit names '{name}', a parameter the header does not carry"
            ));
        }
        listed.push(name);
    }
    malformed(format!(
        "the header marks {} critical: an extension this verifier does not understand (RFC 7515 section 4.1.11)",
        listed
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Verifies the signature of `token` with the key of `jwks` its `kid` names (or, without a
/// kid, any key that fits its alg). A `crit` header is refused first ([`refuse_critical`]).
pub fn verify(token: &str, jwks: &JwkSet) -> Result<Decoded, JwsError> {
    let decoded = decode_unverified(token)?;
    refuse_critical(&decoded.header)?;
    let alg_name = decoded.alg().unwrap_or("").to_string();
    if alg_name.eq_ignore_ascii_case("none") {
        return Err(JwsError::AlgNone);
    }
    let alg = Algorithm::from_str(&alg_name).map_err(|_| JwsError::UnsupportedAlg {
        alg: alg_name.clone(),
    })?;
    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(JwsError::UnsupportedAlg { alg: alg_name });
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
        return Err(JwsError::KidUnknown {
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
    Err(JwsError::Signature { kid, alg: alg_name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_proto::jose::{SigningAlg, SigningKey};

    /// RFC 7515 §4.1.11: a `crit` this verifier does not understand makes the JWS invalid —
    /// malformed, not a bad signature, and refused before the key is looked up.
    #[test]
    fn a_critical_header_is_malformed_before_the_signature_is_checked() {
        let (key, _) = SigningKey::generate(SigningAlg::Es256).expect("key");
        let jwks = JwkSet {
            keys: vec![key.public_jwk().clone()],
        };
        let claims = serde_json::json!({"sub": "u"});
        let plain = key.sign("JWT", &claims).expect("sign");
        assert!(verify(&plain, &jwks).is_ok());
        let headers = [
            serde_json::json!({"crit": ["exp"], "exp": 1}),
            serde_json::json!({"crit": ["b64"], "b64": false}),
            serde_json::json!({"crit": []}),
            serde_json::json!({"crit": "exp", "exp": 1}),
            serde_json::json!({"crit": [7]}),
            serde_json::json!({"crit": ["absent"]}),
            serde_json::json!({"crit": null}),
        ];
        for header in headers {
            let token = key.sign_with_header(&header, &claims).expect("sign");
            // Correctly signed by a published key, and still refused as malformed.
            let err = verify(&token, &jwks).expect_err("crit refused");
            assert!(
                matches!(err, JwsError::Malformed { .. }),
                "{header}: {err:?}"
            );
            // Refused before the kid is looked up (no refetch for a made-up kid).
            let err = verify(&token, &JwkSet { keys: Vec::new() }).expect_err("crit refused");
            assert!(
                matches!(err, JwsError::Malformed { .. }),
                "{header}: {err:?}"
            );
        }
    }

    #[test]
    fn advertised_algorithms_without_a_fitting_key() {
        let (es, _) = SigningKey::generate(SigningAlg::Es256).expect("key");
        let keys = vec![es.public_jwk().clone()];
        let advertised: Vec<String> = ["ES256", "RS256", "HS256", "none", "EdDSA"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // HMAC has no key in a JWKS to look for; "none" is not an algorithm to verify.
        assert_eq!(
            unverifiable_algs(&advertised, &keys),
            vec!["RS256", "EdDSA"]
        );
        assert_eq!(
            unverifiable_algs(&advertised, &[]),
            vec!["ES256", "RS256", "EdDSA"]
        );
    }
}
