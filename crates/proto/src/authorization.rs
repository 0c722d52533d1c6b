//! How a request presents credentials in its `Authorization` header (RFC 9110 §11.6.2),
//! parsed once into a scheme and its credentials for every reader — the token, introspection
//! and revocation endpoints and the revocation feed (`Basic`), UserInfo and the gateway
//! (`Bearer`; `DPoP` is recognised so that it can be named, and will be accepted where DPoP
//! is) — and the challenges (`WWW-Authenticate`) that refuse one.

use http::{HeaderMap, HeaderValue, header};

use crate::diagnosis::Code;
use crate::error::{OAuthError, quote};

/// An authentication scheme, compared case-insensitively (RFC 9110 §11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Basic,
    Bearer,
    DPoP,
    /// Any other scheme, named by [`Presentation::name`].
    Other,
}

impl Scheme {
    fn of(name: &str) -> Scheme {
        if name.eq_ignore_ascii_case("basic") {
            Scheme::Basic
        } else if name.eq_ignore_ascii_case("bearer") {
            Scheme::Bearer
        } else if name.eq_ignore_ascii_case("dpop") {
            Scheme::DPoP
        } else {
            Scheme::Other
        }
    }
}

/// One `Authorization` header, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presentation<'a> {
    pub scheme: Scheme,
    /// The scheme as sent, for messages.
    pub name: &'a str,
    /// What follows the scheme, trimmed.
    pub credentials: &'a str,
}

/// Reads one header value: the scheme, then its credentials.
pub fn parse(value: &str) -> Presentation<'_> {
    let value = value.trim();
    let (name, rest) = value.split_once(' ').unwrap_or((value, ""));
    Presentation {
        scheme: Scheme::of(name),
        name,
        credentials: rest.trim(),
    }
}

/// The presentation of a request whose `Authorization` values are `values`, in order: `None`
/// when there is none; refused when there are two or more (reading the first of two would let a
/// proxy's and a client's credentials be confused).
pub fn presented<'a>(values: &[&'a str]) -> Result<Option<Presentation<'a>>, OAuthError> {
    match values {
        [] => Ok(None),
        [one] => Ok(Some(parse(one))),
        _ => Err(OAuthError::new(
            Code::AuthorizationHeaderInvalid,
            "the Authorization header was sent more than once; send one",
        )),
    }
}

/// The presentation of a request with `headers`; refused when a value is not visible ASCII.
pub fn from_headers(headers: &HeaderMap) -> Result<Option<Presentation<'_>>, OAuthError> {
    let values = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .map(|v| {
            v.to_str().map_err(|_| {
                OAuthError::new(
                    Code::AuthorizationHeaderInvalid,
                    "the Authorization header holds bytes that are not visible ASCII",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    presented(&values)
}

/// The bearer token of a request (RFC 6750 §2), from its `Authorization` presentation and,
/// for a form-encoded POST, its `access_token` field: exactly one method, once. A token in
/// the URL query (§2.3) is refused: URLs end up in logs and `Referer` headers.
pub fn bearer_token<'a>(
    presented: Option<Presentation<'a>>,
    body_token: Option<&'a str>,
    query: Option<&str>,
) -> Result<&'a str, OAuthError> {
    if query.is_some_and(query_has_token) {
        return Err(OAuthError::new(
            Code::TokenMalformed,
            "the access token was sent in the URL query; send it in the Authorization header (RFC 6750 section 2.3 forbids it here: URLs are logged)",
        ));
    }
    match (presented, body_token) {
        (Some(_), Some(_)) => Err(OAuthError::new(
            Code::TokenMalformed,
            "the token was sent both in the Authorization header and in the body; use one (RFC 6750 section 2)",
        )),
        (None, Some(t)) if !t.is_empty() => Ok(t),
        (None, _) => Err(OAuthError::new(
            Code::TokenMissing,
            "no access token: send Authorization: Bearer <access_token>",
        )),
        (Some(p), None) => {
            if p.scheme != Scheme::Bearer {
                return Err(OAuthError::new(
                    Code::TokenMalformed,
                    format!(
                        "the Authorization header uses scheme {}; expected 'Bearer'",
                        quote(p.name)
                    ),
                ));
            }
            let token = p.credentials;
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

/// The `WWW-Authenticate` value refusing a bearer token with `error` (RFC 6750 §3): no error
/// attributes when no token was sent at all (§3.1), the `scope` attribute for
/// `insufficient_scope`.
pub fn bearer_challenge(
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

/// [`bearer_challenge`] as a header value.
pub fn bearer_challenge_header(
    realm: &str,
    error: &OAuthError,
    error_uri: Option<&str>,
    scope: Option<&str>,
) -> Option<HeaderValue> {
    HeaderValue::from_str(&bearer_challenge(realm, error, error_uri, scope)).ok()
}

/// The `WWW-Authenticate` value asking for `Basic` credentials (RFC 7617), for a client that
/// authenticated with a Basic header and was refused as `invalid_client` (RFC 6749 §5.2).
pub fn basic_challenge_header(realm: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("Basic realm=\"{}\"", attribute(realm))).ok()
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

    /// The bearer token of a request with these `Authorization` values.
    fn extract<'a>(
        values: &[&'a str],
        body: Option<&'a str>,
        query: Option<&str>,
    ) -> Result<&'a str, OAuthError> {
        bearer_token(presented(values)?, body, query)
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
            bearer_challenge("api", &missing, Some("u"), None),
            "Bearer realm=\"api\""
        );
        let scope = OAuthError::new(Code::TokenInsufficientScope, "needs \"orders:write\"");
        assert_eq!(
            bearer_challenge("api", &scope, Some("https://x/docs"), Some("orders:write")),
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"needs 'orders:write'\", error_uri=\"https://x/docs\", scope=\"orders:write\""
        );
    }

    #[test]
    fn the_scheme_is_read_once_in_any_case() {
        let p = parse("  dPoP  abc.def ");
        assert_eq!(
            (p.scheme, p.name, p.credentials),
            (Scheme::DPoP, "dPoP", "abc.def")
        );
        assert_eq!(parse("Basic eDp5").scheme, Scheme::Basic);
        assert_eq!(parse("Negotiate x").scheme, Scheme::Other);
        assert_eq!(parse("Bearer").credentials, "");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(
            from_headers(&headers).err().map(|e| e.code),
            Some(Code::AuthorizationHeaderInvalid)
        );
        assert_eq!(from_headers(&HeaderMap::new()).ok(), Some(None));
        assert_eq!(
            basic_challenge_header("https://id.example").unwrap(),
            "Basic realm=\"https://id.example\""
        );
    }
}
