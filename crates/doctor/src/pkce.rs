//! PKCE (RFC 7636): recomputing a challenge from a verifier, and naming what is wrong with a
//! verifier in a finding's words. The syntax rule itself is proto's
//! ([`candor_proto::pkce::verifier_problem`]), the one the server applies.

use candor_proto::pkce::{VERIFIER_LENGTH, VerifierProblem};
pub use candor_proto::pkce::{VERIFIER_RULE, s256};

/// What is wrong with a verifier's syntax (RFC 7636 §4.1), if anything, in words.
pub fn verifier_problem(verifier: &str) -> Option<String> {
    candor_proto::pkce::verifier_problem(verifier).map(|problem| match problem {
        VerifierProblem::Length { chars, .. } => format!(
            "{chars} characters; RFC 7636 requires {} to {}",
            VERIFIER_LENGTH.start(),
            VERIFIER_LENGTH.end()
        ),
        VerifierProblem::Character { found, .. } => {
            format!("the character {found:?} is outside A-Z a-z 0-9 - . _ ~")
        }
    })
}

/// Whether `verifier` matches `challenge` under `method` (`S256` or `plain`).
pub fn matches(method: &str, verifier: &str, challenge: &str) -> bool {
    if method.eq_ignore_ascii_case("plain") {
        verifier == challenge
    } else {
        s256(verifier) == challenge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(matches(
            "S256",
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(verifier_problem(verifier).is_none());
        assert!(verifier_problem("short").is_some());
        assert!(verifier_problem(&"a".repeat(42)).is_some());
        assert!(verifier_problem(&format!("{}!", "a".repeat(43))).is_some());
    }
}
