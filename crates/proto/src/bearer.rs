//! Bearer tokens (RFC 6750): reading one from a request, and the `WWW-Authenticate` challenge
//! that refuses one. Used by the server's UserInfo endpoint and by the gateway.

use crate::diagnosis::Code;
use crate::error::{OAuthError, quote};

/// The bearer token of a request, from its `Authorization` header values (in order) and, for
/// a form-encoded POST, its `access_token` field. RFC 6750 §2: exactly one method, once. A
/// token in the URL query (§2.3) is refused: URLs end up in logs and `Referer` headers.
pub fn extract<'a>(
    authorization: &[&'a str],
    body_token: Option<&'a str>,
    query: Option<&str>,
) -> Result<&'a str, OAuthError> {
    if query.is_some_and(query_has_token) {
        return Err(OAuthError::new(
            Code::TokenMalformed,
            "the access token was sent in the URL query; send it in the Authorization header (RFC 6750 section 2.3 forbids it here: URLs are logged)",
        ));
    }
    let header = match authorization {
        [] => None,
        [one] => Some(*one),
        _ => {
            return Err(OAuthError::new(
                Code::AuthorizationHeaderInvalid,
                "the Authorization header was sent more than once; send one",
            ));
        }
    };
    match (header, body_token) {
        (Some(_), Some(_)) => Err(OAuthError::new(
            Code::TokenMalformed,
            "the token was sent both in the Authorization header and in the body; use one (RFC 6750 section 2)",
        )),
        (None, Some(t)) if !t.is_empty() => Ok(t),
        (None, _) => Err(OAuthError::new(
            Code::TokenMissing,
            "no access token: send Authorization: Bearer <access_token>",
        )),
        (Some(h), None) => {
            let h = h.trim();
            let (scheme, token) = h.split_once(' ').unwrap_or((h, ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(OAuthError::new(
                    Code::TokenMalformed,
                    format!(
                        "the Authorization header uses scheme {}; expected 'Bearer'",
                        quote(scheme)
                    ),
                ));
            }
            let token = token.trim();
            if token.is_empty() {
                return Err(OAuthError::new(
                    Code::TokenMalformed,
                    "the Authorization: Bearer header has no token",
                ));
            }
            if !token.bytes().all(is_b64token_char) {
                return Err(OAuthError::new(
                    Code::TokenMalformed,
                    "the bearer token has characters RFC 6750 section 2.1 does not allow (b64token: letters, digits, - . _ ~ + / =)",
                ));
            }
            Ok(token)
        }
    }
}

fn is_b64token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

fn query_has_token(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "access_token")
}

/// The `WWW-Authenticate` value refusing `error` (RFC 6750 §3): no error attributes when no
/// token was sent at all (§3.1), the `scope` attribute for `insufficient_scope`.
pub fn challenge(
    realm: &str,
    error: &OAuthError,
    error_uri: Option<&str>,
    scope: Option<&str>,
) -> String {
    let mut out = format!("Bearer realm=\"{}\"", attribute(realm));
    if error.code == Code::TokenMissing {
        return out;
    }
    out.push_str(&format!(
        ", error=\"{}\", error_description=\"{}\"",
        error.error(),
        attribute(&error.description),
    ));
    if let Some(uri) = error_uri {
        out.push_str(&format!(", error_uri=\"{}\"", attribute(uri)));
    }
    if let Some(scope) = scope {
        out.push_str(&format!(", scope=\"{}\"", attribute(scope)));
    }
    out
}

/// A quoted-string attribute value: `"` and `\` cannot appear (RFC 6750 §3 restricts the
/// attributes to %x20-21 / %x23-5B / %x5D-7E), nor anything outside printable ASCII.
fn attribute(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if (' '..='~').contains(&c) => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<&str, OAuthError>) -> Option<Code> {
        r.err().map(|e| e.code)
    }

    #[test]
    fn one_method_once() {
        assert_eq!(
            extract(&["Bearer abc.def"], None, None).ok(),
            Some("abc.def")
        );
        assert_eq!(extract(&["bearer  abc "], None, None).ok(), Some("abc"));
        assert_eq!(extract(&[], Some("t"), None).ok(), Some("t"));
        assert_eq!(code(extract(&[], None, None)), Some(Code::TokenMissing));
        assert_eq!(code(extract(&[], Some(""), None)), Some(Code::TokenMissing));
        assert_eq!(
            code(extract(&["Bearer a", "Bearer b"], None, None)),
            Some(Code::AuthorizationHeaderInvalid)
        );
        assert_eq!(
            code(extract(&["Bearer a"], Some("b"), None)),
            Some(Code::TokenMalformed)
        );
        assert_eq!(
            code(extract(&["Basic eDp5"], None, None)),
            Some(Code::TokenMalformed)
        );
        assert_eq!(
            code(extract(&["Bearer"], None, None)),
            Some(Code::TokenMalformed)
        );
        assert_eq!(
            code(extract(&["Bearer a b"], None, None)),
            Some(Code::TokenMalformed)
        );
        assert_eq!(
            code(extract(&["Bearer a\"b"], None, None)),
            Some(Code::TokenMalformed)
        );
        assert_eq!(
            code(extract(&["Bearer a"], None, Some("x=1&access_token=a"))),
            Some(Code::TokenMalformed)
        );
        assert_eq!(extract(&["Bearer a"], None, Some("x=1")).ok(), Some("a"));
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        let missing = OAuthError::new(Code::TokenMissing, "none");
        assert_eq!(
            challenge("api", &missing, Some("u"), None),
            "Bearer realm=\"api\""
        );
        let scope = OAuthError::new(Code::TokenInsufficientScope, "needs \"orders:write\"");
        assert_eq!(
            challenge("api", &scope, Some("https://x/docs"), Some("orders:write")),
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"needs 'orders:write'\", error_uri=\"https://x/docs\", scope=\"orders:write\""
        );
    }
}
