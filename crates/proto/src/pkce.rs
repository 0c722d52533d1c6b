//! Proof Key for Code Exchange (RFC 7636), S256 only (OAuth 2.1, RFC 9700 §2.1.1).

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::diagnosis::Code;
use crate::error::{OAuthError, quote};

/// `base64url(sha256(verifier))`.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks the challenge of an authorization request: method S256 and a 43-character
/// base64url value.
pub fn check_challenge(challenge: &str, method: Option<&str>) -> Result<(), OAuthError> {
    match method {
        Some("S256") => {}
        Some("plain") => {
            return Err(OAuthError::new(
                Code::PkcePlainRefused,
                "code_challenge_method 'plain' is refused; use 'S256'",
            ));
        }
        None => {
            return Err(OAuthError::new(
                Code::PkcePlainRefused,
                "code_challenge_method is missing, which means 'plain' (RFC 7636 section 4.3); send code_challenge_method=S256",
            ));
        }
        Some(other) => {
            return Err(OAuthError::new(
                Code::PkceMethodUnsupported,
                format!(
                    "code_challenge_method {} is not supported; use 'S256'",
                    quote(other)
                ),
            ));
        }
    }
    if challenge.len() != 43 || !unreserved(challenge) || challenge.contains(['.', '~']) {
        return Err(OAuthError::new(
            Code::PkceChallengeMalformed,
            format!(
                "code_challenge {} is not a base64url SHA-256 (43 characters, received {})",
                quote(challenge),
                challenge.chars().count()
            ),
        ));
    }
    Ok(())
}

/// Checks a token request's verifier against the stored challenge.
pub fn verify(verifier: &str, challenge: &str) -> Result<(), OAuthError> {
    let len = verifier.chars().count();
    if !(43..=128).contains(&len) || !unreserved(verifier) {
        return Err(OAuthError::new(
            Code::PkceVerifierMalformed,
            format!(
                "code_verifier must be 43 to 128 characters from A-Z a-z 0-9 - . _ ~; received {len} characters{}",
                if unreserved(verifier) {
                    ""
                } else {
                    " including others"
                }
            ),
        ));
    }
    let computed = s256(verifier);
    if computed.as_bytes().ct_eq(challenge.as_bytes()).into() {
        Ok(())
    } else {
        Err(OAuthError::new(
            Code::PkceVerifierMismatch,
            format!(
                "BASE64URL(SHA256(code_verifier)) is {}, but the authorization request's code_challenge was {}",
                quote(&computed),
                quote(challenge)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_example() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
        assert_eq!(verify(VERIFIER, CHALLENGE), Ok(()));
        assert_eq!(check_challenge(CHALLENGE, Some("S256")), Ok(()));
    }

    #[test]
    fn failures_are_named() {
        let code = |r: Result<(), OAuthError>| r.err().map(|e| e.code);
        assert_eq!(
            code(check_challenge(CHALLENGE, Some("plain"))),
            Some(Code::PkcePlainRefused)
        );
        assert_eq!(
            code(check_challenge(CHALLENGE, None)),
            Some(Code::PkcePlainRefused)
        );
        assert_eq!(
            code(check_challenge(CHALLENGE, Some("S512"))),
            Some(Code::PkceMethodUnsupported)
        );
        assert_eq!(
            code(check_challenge("short", Some("S256"))),
            Some(Code::PkceChallengeMalformed)
        );
        assert_eq!(
            code(verify("short", CHALLENGE)),
            Some(Code::PkceVerifierMalformed)
        );
        assert_eq!(
            code(verify(&"a".repeat(129), CHALLENGE)),
            Some(Code::PkceVerifierMalformed)
        );
        assert_eq!(
            code(verify(&format!("{VERIFIER}+"), CHALLENGE)),
            Some(Code::PkceVerifierMalformed)
        );
        assert_eq!(
            code(verify(&"a".repeat(43), CHALLENGE)),
            Some(Code::PkceVerifierMismatch)
        );
    }
}
