//! PKCE (RFC 7636): recomputing a challenge from a verifier.

pub use candor_proto::pkce::s256;

/// What is wrong with a verifier's syntax (RFC 7636 §4.1: 43 to 128 characters from
/// `A-Z a-z 0-9 - . _ ~`), if anything.
pub fn verifier_problem(verifier: &str) -> Option<String> {
    let len = verifier.chars().count();
    if !(43..=128).contains(&len) {
        return Some(format!("{len} characters; RFC 7636 requires 43 to 128"));
    }
    verifier
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')))
        .map(|c| format!("the character {c:?} is outside A-Z a-z 0-9 - . _ ~"))
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
