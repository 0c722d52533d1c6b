//! Signing keys, the JWKS, and JWT signing and verification (RFC 7515, 7517, 7518, 7638).
//!
//! Keys are generated with aws-lc-rs and used through `jsonwebtoken`; Candor implements no
//! primitive of its own. One algorithm per key. The kid is the key's RFC 7638 thumbprint.
//!
//! Verification here checks the signature only: times (`exp`, `nbf`, `iat`) are checked by
//! [`check_times`] against the caller's clock, so that expiry is testable without sleeping and
//! the leeway is the caller's to choose.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An algorithm Candor signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    Rs256,
    Es256,
    EdDsa,
}

impl SigningAlg {
    pub const ALL: &'static [SigningAlg] =
        &[SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
            SigningAlg::EdDsa => "EdDSA",
        }
    }

    pub fn jwt(self) -> Algorithm {
        match self {
            SigningAlg::Rs256 => Algorithm::RS256,
            SigningAlg::Es256 => Algorithm::ES256,
            SigningAlg::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlg {
    type Err = JoseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SigningAlg::ALL
            .iter()
            .copied()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| JoseError::UnsupportedAlg(s.to_string()))
    }
}

/// Failures of key handling and JWT verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("unsupported algorithm '{0}': expected RS256, ES256 or EdDSA")]
    UnsupportedAlg(String),
    #[error("key generation failed")]
    KeyGeneration,
    #[error("the key is not a valid {0} private key")]
    InvalidKey(&'static str),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("the token is not a well-formed JWS compact serialization")]
    Malformed,
    #[error("the token header has no kid")]
    MissingKid,
    #[error("no key with kid '{0}'")]
    UnknownKid(String),
    #[error("the token's alg '{token}' does not match its key's alg '{key}'")]
    AlgMismatch { token: String, key: String },
    #[error("the signature does not verify")]
    Signature,
    /// RFC 7515 §4.1.11: a JWS whose `crit` names an extension the recipient does not
    /// understand must be rejected. Candor understands none.
    #[error(
        "the token header marks extensions as critical ({0}), which Candor does not understand"
    )]
    CriticalExtension(String),
}

/// A parsed private key, kept for the life of the key.
///
/// `jsonwebtoken::encode` parses the PKCS#8 key again on every call (for RSA that parse costs
/// more than the signature itself: measured, it capped RS256 issuance near 1,200 tokens/s on
/// this project's machine). Candor therefore signs with aws-lc key pairs parsed once and
/// assembles the JWS compact serialization (RFC 7515 §7.1) itself; verification, JWK export and
/// thumbprints stay with `jsonwebtoken`, and the tests verify every algorithm's output with it.
enum PrivateKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key with its public JWK.
pub struct SigningKey {
    kid: String,
    alg: SigningAlg,
    private: PrivateKey,
    decoding: DecodingKey,
    public_jwk: Jwk,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a key; returns it with its PKCS#8 DER, to be sealed and stored.
    pub fn generate(alg: SigningAlg) -> Result<(SigningKey, Vec<u8>), JoseError> {
        let der = match alg {
            SigningAlg::Rs256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| JoseError::KeyGeneration)?;
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> =
                    pair.as_der().map_err(|_| JoseError::KeyGeneration)?;
                der.as_ref().to_vec()
            }
            SigningAlg::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map_err(|_| JoseError::KeyGeneration)?
                .as_ref()
                .to_vec(),
            SigningAlg::EdDsa => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map_err(|_| JoseError::KeyGeneration)?
                .as_ref()
                .to_vec(),
        };
        let key = SigningKey::from_pkcs8(alg, &der)?;
        Ok((key, der))
    }

    /// Loads a key from its PKCS#8 DER.
    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<SigningKey, JoseError> {
        let invalid = || JoseError::InvalidKey(alg.as_str());
        // `encoding` only serves the JWK export below.
        let (encoding, private) = match alg {
            // jsonwebtoken's RSA key wants PKCS#1; its PEM reader unwraps PKCS#8.
            SigningAlg::Rs256 => {
                let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()));
                (
                    EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| invalid())?,
                    PrivateKey::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|_| invalid())?),
                )
            }
            SigningAlg::Es256 => (
                EncodingKey::from_ec_der(der),
                PrivateKey::Ec(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                        .map_err(|_| invalid())?,
                ),
            ),
            SigningAlg::EdDsa => (
                EncodingKey::from_ed_der(der),
                PrivateKey::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(|_| invalid())?),
            ),
        };
        let mut jwk = Jwk::from_encoding_key(&encoding, alg.jwt())
            .map_err(|_| JoseError::InvalidKey(alg.as_str()))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| JoseError::InvalidKey(alg.as_str()))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding =
            DecodingKey::from_jwk(&jwk).map_err(|_| JoseError::InvalidKey(alg.as_str()))?;
        Ok(SigningKey {
            kid,
            alg,
            private,
            decoding,
            public_jwk: jwk,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The public half as a JWK (kid, alg, use=sig); never the private key.
    pub fn public_jwk(&self) -> &Jwk {
        &self.public_jwk
    }

    /// Signs `claims` as a JWS with this key's kid and the given `typ` (e.g. `at+jwt`).
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, JoseError> {
        self.sign_with_header(&serde_json::json!({"typ": typ}), claims)
    }

    /// Signs `claims` with the header parameters of `extra` (a JSON object) besides this key's
    /// `alg` and `kid`, which win: for tests of what verifiers make of unusual headers (`crit`).
    pub fn sign_with_header<T: Serialize>(
        &self,
        extra: &serde_json::Value,
        claims: &T,
    ) -> Result<String, JoseError> {
        let failed = |e: &dyn fmt::Display| JoseError::Signing(e.to_string());
        let mut header = match extra {
            serde_json::Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        header.insert("alg".into(), self.alg.as_str().into());
        header.insert("kid".into(), self.kid.clone().into());
        let header = serde_json::to_vec(&header).map_err(|e| failed(&e))?;
        let claims = serde_json::to_vec(claims).map_err(|e| failed(&e))?;
        let mut jws = URL_SAFE_NO_PAD.encode(header);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut jws);
        let rng = SystemRandom::new();
        let signature = match &self.private {
            PrivateKey::Rsa(key) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, jws.as_bytes(), &mut sig)
                    .map_err(|e| failed(&e))?;
                sig
            }
            PrivateKey::Ec(key) => key
                .sign(&rng, jws.as_bytes())
                .map_err(|e| failed(&e))?
                .as_ref()
                .to_vec(),
            PrivateKey::Ed(key) => key.sign(jws.as_bytes()).as_ref().to_vec(),
        };
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jws);
        Ok(jws)
    }
}

/// The server's keys: one active key per algorithm, plus retired keys that still verify.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<SigningKey>>,
    active: HashMap<SigningAlg, Arc<SigningKey>>,
    /// Publication order for the JWKS: active keys first, newest first.
    order: Vec<String>,
}

impl KeySet {
    /// Builds a key set from `(key, active)` pairs, newest first.
    pub fn new(keys: impl IntoIterator<Item = (SigningKey, bool)>) -> KeySet {
        let mut set = KeySet::default();
        let mut retired = Vec::new();
        for (key, is_active) in keys {
            let key = Arc::new(key);
            if is_active && !set.active.contains_key(&key.alg) {
                set.active.insert(key.alg, key.clone());
                set.order.push(key.kid.clone());
            } else {
                retired.push(key.kid.clone());
            }
            set.keys.insert(key.kid.clone(), key);
        }
        set.order.extend(retired);
        set
    }

    /// The key that signs new tokens with `alg`.
    pub fn active(&self, alg: SigningAlg) -> Option<&SigningKey> {
        self.active.get(&alg).map(|k| k.as_ref())
    }

    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.get(kid).map(|k| k.as_ref())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public JWK Set, active keys first.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .order
                .iter()
                .filter_map(|kid| self.keys.get(kid))
                .map(|k| k.public_jwk.clone())
                .collect(),
        }
    }

    /// Verifies the signature of `token` with the key its `kid` names; returns the header and
    /// the claims. Times are not checked: see [`check_times`].
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<(Header, T), JoseError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JoseError::Malformed)?;
        let kid = header.kid.clone().ok_or(JoseError::MissingKid)?;
        let key = self
            .keys
            .get(&kid)
            .ok_or_else(|| JoseError::UnknownKid(kid.clone()))?;
        if header.alg != key.alg.jwt() {
            return Err(JoseError::AlgMismatch {
                token: format!("{:?}", header.alg),
                key: key.alg.to_string(),
            });
        }
        let claims = verify_signature(token, &key.decoding, header.alg)?;
        Ok((header, claims))
    }
}

/// Verifies a JWS signature with `key` and `alg` and decodes its claims; no claim is checked.
pub fn verify_signature<T: DeserializeOwned>(
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<T, JoseError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JoseError::Malformed)?;
    refuse_critical(&header)?;
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<T>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => JoseError::Signature,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => JoseError::AlgMismatch {
                token: format!("{alg:?}"),
                key: "another algorithm".into(),
            },
            _ => JoseError::Malformed,
        })
}

/// Refuses a header with `crit` (RFC 7515 §4.1.11); an empty list is malformed (§4.1.11: it
/// must not be empty).
fn refuse_critical(header: &Header) -> Result<(), JoseError> {
    match &header.crit {
        None => Ok(()),
        Some(names) if names.is_empty() => Err(JoseError::Malformed),
        Some(names) => Err(JoseError::CriticalExtension(names.join(", "))),
    }
}

/// A NumericDate claim (RFC 7519 §2): seconds since the epoch, "non-integer values can be
/// represented". `Ok(None)` when absent; [`NotNumericDate`] when present but not a JSON number
/// (a string "2000", null, an object): such a claim is malformed, never ignored.
pub fn numeric_date(claims: &serde_json::Value, name: &str) -> Result<Option<f64>, NotNumericDate> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or(NotNumericDate),
    }
}

/// A time claim that is not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotNumericDate;

/// Whether a token whose `exp` is `exp` has expired at `now`, with `leeway` seconds.
pub fn expired_at(exp: f64, now: i64, leeway: i64) -> bool {
    exp + leeway as f64 <= now as f64
}

/// Whether a time claim (`nbf`, `iat`) is after `now`, beyond `leeway` seconds.
pub fn after(at: f64, now: i64, leeway: i64) -> bool {
    at - leeway as f64 > now as f64
}

/// A NumericDate in whole seconds, rounded down (for messages and records); saturates.
pub fn whole_seconds(at: f64) -> i64 {
    at.floor() as i64
}

/// What is wrong with a token's times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// `exp` is absent.
    MissingExp,
    /// This claim (`exp`, `nbf` or `iat`) is not a number.
    NotNumericDate(&'static str),
    /// `exp` (plus leeway) is before now; the value is `exp`.
    Expired(i64),
    /// `nbf` (minus leeway) is after now.
    NotYetValid(i64),
    /// `iat` (minus leeway) is after now.
    IssuedInFuture(i64),
}

/// Checks `exp` (required), `nbf` and `iat` (when present) against `now` with `leeway` seconds.
/// Each is a NumericDate, compared as the number it is (`1700000000.9` included).
pub fn check_times(claims: &serde_json::Value, now: i64, leeway: i64) -> Result<(), TimeError> {
    let date = |name: &'static str| {
        numeric_date(claims, name).map_err(|NotNumericDate| TimeError::NotNumericDate(name))
    };
    let exp = date("exp")?.ok_or(TimeError::MissingExp)?;
    if expired_at(exp, now, leeway) {
        return Err(TimeError::Expired(whole_seconds(exp)));
    }
    if let Some(nbf) = date("nbf")?
        && after(nbf, now, leeway)
    {
        return Err(TimeError::NotYetValid(whole_seconds(nbf)));
    }
    if let Some(iat) = date("iat")?
        && after(iat, now, leeway)
    {
        return Err(TimeError::IssuedInFuture(whole_seconds(iat)));
    }
    Ok(())
}

/// Whether `token` has the shape of a JWS compact serialization (three base64url parts).
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts.iter().take(2).all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(alg: SigningAlg) -> (SigningKey, Vec<u8>) {
        SigningKey::generate(alg).unwrap()
    }

    #[test]
    fn every_alg_signs_and_verifies_after_reload() {
        for alg in SigningAlg::ALL {
            let (k, der) = key(*alg);
            let reloaded = SigningKey::from_pkcs8(*alg, &der).unwrap();
            assert_eq!(k.kid(), reloaded.kid(), "{alg}: kid is the thumbprint");
            let token = k
                .sign("at+jwt", &json!({"sub": "x", "exp": 1}))
                .unwrap_or_default();
            let set = KeySet::new([(reloaded, true)]);
            let (header, claims): (Header, serde_json::Value) =
                set.verify(&token).unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
            assert_eq!(claims["sub"], "x");
        }
    }

    #[test]
    fn jwks_has_no_private_material() {
        let (rsa, _) = key(SigningAlg::Rs256);
        let (ec, _) = key(SigningAlg::Es256);
        let (ed, _) = key(SigningAlg::EdDsa);
        let set = KeySet::new([(rsa, true), (ec, true), (ed, false)]);
        let jwks = serde_json::to_value(set.jwks()).unwrap_or_default();
        let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
        assert_eq!(keys.len(), 3);
        for k in &keys {
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(k.get(private).is_none(), "{private} leaked in {k}");
            }
            assert_eq!(k["use"], "sig");
            assert!(k["kid"].is_string());
        }
        assert!(
            set.active(SigningAlg::EdDsa).is_none(),
            "a retired key is not active"
        );
    }

    #[test]
    fn critical_extensions_are_refused() {
        let (k, der) = key(SigningAlg::Es256);
        let kid = k.kid().to_string();
        let set = KeySet::new([(k, true)]);
        let sign = |crit: Option<Vec<String>>| {
            let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
            header.kid = Some(kid.clone());
            header.crit = crit;
            jsonwebtoken::encode(
                &header,
                &json!({"sub": "a"}),
                &jsonwebtoken::EncodingKey::from_ec_der(&der),
            )
            .unwrap_or_default()
        };
        assert!(set.verify::<serde_json::Value>(&sign(None)).is_ok());
        assert_eq!(
            set.verify::<serde_json::Value>(&sign(Some(vec!["b64".into()])))
                .err(),
            Some(JoseError::CriticalExtension("b64".into()))
        );
        assert_eq!(
            set.verify::<serde_json::Value>(&sign(Some(vec![]))).err(),
            Some(JoseError::Malformed)
        );
    }

    #[test]
    fn tampering_and_unknown_kids_are_refused() {
        let (k, _) = key(SigningAlg::Es256);
        let token = k.sign("JWT", &json!({"sub": "a"})).unwrap_or_default();
        let set = KeySet::new([(k, true)]);
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"sub":"b"}"#,
        );
        let forged = parts.join(".");
        assert_eq!(
            set.verify::<serde_json::Value>(&forged).err(),
            Some(JoseError::Signature)
        );
        let (other, _) = key(SigningAlg::Es256);
        let foreign = other.sign("JWT", &json!({})).unwrap_or_default();
        assert!(matches!(
            set.verify::<serde_json::Value>(&foreign),
            Err(JoseError::UnknownKid(_))
        ));
        assert_eq!(
            set.verify::<serde_json::Value>("not a jwt").err(),
            Some(JoseError::Malformed)
        );
    }

    #[test]
    fn times() {
        let c = json!({"exp": 100, "iat": 50, "nbf": 50});
        assert_eq!(check_times(&c, 60, 0), Ok(()));
        assert_eq!(check_times(&c, 100, 0), Err(TimeError::Expired(100)));
        assert_eq!(check_times(&c, 104, 5), Ok(()));
        assert_eq!(check_times(&c, 40, 5), Err(TimeError::NotYetValid(50)));
        assert_eq!(
            check_times(&json!({"exp": 100, "iat": 90}), 80, 5),
            Err(TimeError::IssuedInFuture(90))
        );
        assert_eq!(check_times(&json!({}), 1, 0), Err(TimeError::MissingExp));
        // NumericDate may be non-integer (RFC 7519 §2); a string is not one.
        assert_eq!(
            check_times(&json!({"exp": 1700000000.9}), 1700000000, 0),
            Ok(())
        );
        assert_eq!(
            check_times(&json!({"exp": 1700000000.9}), 1700000001, 0),
            Err(TimeError::Expired(1700000000))
        );
        assert_eq!(
            check_times(&json!({"exp": 2e12, "nbf": 1e12}), 1700000000, 60),
            Err(TimeError::NotYetValid(1_000_000_000_000))
        );
        assert_eq!(
            check_times(&json!({"exp": 2e12, "iat": 9999999999.5}), 1700000000, 60),
            Err(TimeError::IssuedInFuture(9999999999))
        );
        assert_eq!(
            check_times(&json!({"exp": "2000"}), 1, 0),
            Err(TimeError::NotNumericDate("exp"))
        );
        assert_eq!(
            check_times(&json!({"exp": 100, "nbf": "50"}), 1, 0),
            Err(TimeError::NotNumericDate("nbf"))
        );
    }

    #[test]
    fn jwt_shape() {
        assert!(looks_like_jwt("eyJh.eyJz.sig"));
        assert!(!looks_like_jwt("opaque-token"));
        assert!(!looks_like_jwt("a..c"));
    }
}
