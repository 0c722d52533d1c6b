//! Scopes (RFC 6749 §3.3): space-separated tokens of printable ASCII without `"` and `\`.

use crate::diagnosis::Code;
use crate::error::{OAuthError, quote};

/// The scopes OpenID Connect defines; known to every Candor server.
pub const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// The scopes a Candor server advertises (`scopes_supported`): those of [`OIDC_SCOPES`] whose
/// claims its users can have. `address` and `phone` stay accepted (OpenID Connect lets a
/// server grant them with no claims), but are not promised.
pub const ADVERTISED_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Splits a scope parameter into its tokens, in order, without duplicates.
pub fn parse(scope: &str) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        if let Some(bad) = token
            .chars()
            .find(|c| !matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
        {
            return Err(OAuthError::new(
                Code::ScopeMalformed,
                format!(
                    "scope {} contains the character {} which a scope may not contain (scopes are separated by single spaces)",
                    quote(token),
                    quote(&bad.to_string())
                ),
            ));
        }
        if !out.iter().any(|t| t == token) {
            out.push(token.to_string());
        }
    }
    Ok(out)
}

/// Splits a space-separated scope string this server stored itself (no validation).
pub fn split(stored: &str) -> Vec<String> {
    stored
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Joins scopes with single spaces.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_dedups() {
        assert_eq!(
            parse(" read  write read ").unwrap_or_default(),
            vec!["read".to_string(), "write".to_string()]
        );
        assert_eq!(parse("").unwrap_or_default(), Vec::<String>::new());
    }

    #[test]
    fn refuses_bad_characters() {
        for bad in ["a,b\"", "a\\b", "r\u{e9}ad", "a\tb"] {
            let code = parse(bad).err().map(|e| e.code);
            assert_eq!(code, Some(Code::ScopeMalformed), "{bad}");
        }
    }
}
