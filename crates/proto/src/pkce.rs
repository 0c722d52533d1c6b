//! Proof Key for Code Exchange (RFC 7636), S256 only (OAuth 2.1, RFC 9700 §2.1.1).

use std::ops::RangeInclusive;

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

/// RFC 7636 section 4.1: the verifier's length, in characters.
pub const VERIFIER_LENGTH: RangeInclusive<usize> = 43..=128;

/// The rule of RFC 7636 section 4.1 in words, for messages.
pub const VERIFIER_RULE: &str = "43 to 128 characters from A-Z a-z 0-9 - . _ ~";

/// RFC 3986's unreserved characters, the alphabet of a code_verifier.
fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

fn unreserved(s: &str) -> bool {
    s.chars().all(is_unreserved)
}

/// What breaks RFC 7636 section 4.1 in a code_verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifierProblem {
    /// Not 43 to 128 characters long; `outside` is the first character outside the
    /// unreserved set, if there is one too.
    Length { chars: usize, outside: Option<char> },
    /// The length is right, but `found` is outside the unreserved set (the first such).
    Character { chars: usize, found: char },
}

impl VerifierProblem {
    /// The verifier's length in characters.
    pub fn chars(self) -> usize {
        match self {
            VerifierProblem::Length { chars, .. } | VerifierProblem::Character { chars, .. } => {
                chars
            }
        }
    }

    /// The first character outside the unreserved set, if any.
    pub fn outside(self) -> Option<char> {
        match self {
            VerifierProblem::Length { outside, .. } => outside,
            VerifierProblem::Character { found, .. } => Some(found),
        }
    }
}

/// What is wrong with a verifier's syntax, if anything: the length first, then the
/// characters.
pub fn verifier_problem(verifier: &str) -> Option<VerifierProblem> {
    let chars = verifier.chars().count();
    let outside = verifier.chars().find(|c| !is_unreserved(*c));
    if !VERIFIER_LENGTH.contains(&chars) {
        return Some(VerifierProblem::Length { chars, outside });
    }
    outside.map(|found| VerifierProblem::Character { chars, found })
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
    if let Some(problem) = verifier_problem(verifier) {
        return Err(OAuthError::new(
            Code::PkceVerifierMalformed,
            format!(
                "code_verifier must be {VERIFIER_RULE}; received {} characters{}",
                problem.chars(),
                if problem.outside().is_some() {
                    " including others"
                } else {
                    ""
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

    #[test]
    fn verifier_length_bounds() {
        assert_eq!(
            verifier_problem(&"a".repeat(42)),
            Some(VerifierProblem::Length {
                chars: 42,
                outside: None
            })
        );
        assert_eq!(verifier_problem(&"a".repeat(43)), None);
        assert_eq!(verifier_problem(&"a".repeat(128)), None);
        assert_eq!(
            verifier_problem(&"a".repeat(129)),
            Some(VerifierProblem::Length {
                chars: 129,
                outside: None
            })
        );
        assert_eq!(
            verifier_problem(""),
            Some(VerifierProblem::Length {
                chars: 0,
                outside: None
            })
        );
        assert_eq!(verifier_problem(VERIFIER), None);
    }

    #[test]
    fn verifier_alphabet() {
        assert_eq!(verifier_problem(&format!("{}-._~", "a".repeat(39))), None);
        assert_eq!(
            verifier_problem(&format!("{}+", &VERIFIER[..42])),
            Some(VerifierProblem::Character {
                chars: 43,
                found: '+'
            })
        );
        // Counted in characters, not bytes: 43 characters, one of them two bytes long.
        let accented = format!("{}é", "a".repeat(42));
        assert_eq!(
            verifier_problem(&accented),
            Some(VerifierProblem::Character {
                chars: 43,
                found: 'é'
            })
        );
        // Too short and a stranger in it: the length is the problem named, the character
        // is kept for the message.
        assert_eq!(
            verifier_problem("ab cd"),
            Some(VerifierProblem::Length {
                chars: 5,
                outside: Some(' ')
            })
        );
        let err = verify("ab cd", CHALLENGE).err().map(|e| e.description);
        assert_eq!(
            err.as_deref(),
            Some(
                "code_verifier must be 43 to 128 characters from A-Z a-z 0-9 - . _ ~; received 5 characters including others"
            )
        );
    }
}
