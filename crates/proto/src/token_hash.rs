//! `at_hash` and `c_hash` (OpenID Connect Core §3.1.3.6, §3.3.2.11): the left half of the hash
//! of the access token (or code), base64url, with the hash of the id_token's JWS algorithm —
//! computed by the server when it signs an id_token and by the client and the doctor when they
//! check one.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::jose::SigningAlg;

/// The hash paired with a JWS algorithm; EdDSA (Ed25519) uses SHA-512, as the OpenID
/// Foundation's certified clients expect. `None` for an algorithm with no such pairing.
fn hash_of(alg: &str) -> Option<&'static digest::Algorithm> {
    match alg {
        "RS256" | "PS256" | "ES256" | "HS256" | "ES256K" => Some(&digest::SHA256),
        "RS384" | "PS384" | "ES384" | "HS384" => Some(&digest::SHA384),
        "RS512" | "PS512" | "ES512" | "HS512" | "EdDSA" | "Ed25519" => Some(&digest::SHA512),
        _ => None,
    }
}

/// The `at_hash` / `c_hash` of `value` for the JWS algorithm `alg`.
pub fn half_hash(alg: &str, value: &str) -> Option<String> {
    let d = digest::digest(hash_of(alg)?, value.as_bytes());
    let bytes = d.as_ref();
    Some(URL_SAFE_NO_PAD.encode(bytes.get(..bytes.len() / 2)?))
}

/// The `at_hash` of an id_token Candor signs with `alg` (every algorithm it signs with has its
/// hash: tested below).
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    half_hash(alg.as_str(), access_token).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_and_every_signing_algorithm() {
        // OpenID Connect Core, Appendix A.3 (RS256).
        assert_eq!(
            half_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
        for alg in SigningAlg::ALL {
            assert!(half_hash(alg.as_str(), "t").is_some(), "{alg}");
        }
        // SHA-512 halves are 32 bytes: 43 characters; SHA-256 halves 22.
        assert_eq!(at_hash(SigningAlg::EdDsa, "t").len(), 43);
        assert_eq!(at_hash(SigningAlg::Es256, "t").len(), 22);
        assert_eq!(half_hash("none", "t"), None);
        assert_eq!(
            half_hash("rs256", "t"),
            None,
            "JWS names are case-sensitive"
        );
    }
}
