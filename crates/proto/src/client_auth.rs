//! Client authentication at back-channel endpoints (RFC 6749 §2.3, RFC 7523, OIDC Core §9).
//!
//! This module only reads what a request *presents*: a Basic header, body credentials, or a
//! client assertion. Checking it against the registered client is the server's job, because it
//! needs the store.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::authorization::{Presentation, Scheme};
use crate::diagnosis::Code;
use crate::error::{OAuthError, quote};
use crate::form::Form;
use crate::secret::Secret;

/// `client_assertion_type` for JWT client authentication (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's registered `token_endpoint_auth_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    ClientSecretJwt,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub const ALL: &'static [AuthMethod] = &[
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::ClientSecretJwt,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    /// Whether the server issues (and keeps a digest of) a client secret for this method.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic
                | AuthMethod::ClientSecretPost
                | AuthMethod::ClientSecretJwt
        )
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuthMethod::ALL
            .iter()
            .copied()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown auth method '{s}': expected one of client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none"
                )
            })
    }
}

/// The credentials a request presented, before they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// `Authorization: Basic` (client_secret_basic).
    Basic { client_id: String, secret: Secret },
    /// `client_id` and `client_secret` in the body (client_secret_post).
    Post { client_id: String, secret: Secret },
    /// A signed JWT (private_key_jwt or client_secret_jwt). `client_id` is the body parameter,
    /// when sent; the assertion's `iss`/`sub` name the client otherwise.
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
    /// Only a `client_id` (a public client, method `none`).
    ClientIdOnly { client_id: String },
    /// Nothing that names a client.
    Nothing,
}

impl Presented {
    /// The method these credentials correspond to, if any.
    pub fn method(&self) -> Option<AuthMethod> {
        match self {
            Presented::Basic { .. } => Some(AuthMethod::ClientSecretBasic),
            Presented::Post { .. } => Some(AuthMethod::ClientSecretPost),
            Presented::Assertion { .. } => None,
            Presented::ClientIdOnly { .. } => Some(AuthMethod::None),
            Presented::Nothing => None,
        }
    }

    /// A name for the way the credentials were presented, for error descriptions.
    pub fn describe(&self) -> &'static str {
        match self {
            Presented::Basic { .. } => "client_secret_basic (Authorization: Basic header)",
            Presented::Post { .. } => "client_secret_post (client_secret in the body)",
            Presented::Assertion { .. } => {
                "a client assertion (private_key_jwt or client_secret_jwt)"
            }
            Presented::ClientIdOnly { .. } => "no credentials (client_id only, method none)",
            Presented::Nothing => "no credentials",
        }
    }
}

/// Decodes an `Authorization: Basic` header value into client_id and secret.
///
/// RFC 6749 §2.3.1: both parts are form-urlencoded before being joined with `:` and base64ed.
pub fn parse_basic(header: Presentation<'_>) -> Result<(String, Secret), OAuthError> {
    let malformed = |why: &str| OAuthError::new(Code::ClientAuthBasicMalformed, why);
    if header.scheme != Scheme::Basic {
        return Err(malformed(&format!(
            "the Authorization header uses the scheme {}; client authentication expects 'Basic'",
            quote(header.name)
        )));
    }
    let decoded = STANDARD
        .decode(header.credentials)
        .map_err(|_| malformed("the Authorization: Basic value is not valid base64"))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| malformed("the Authorization: Basic value does not decode to UTF-8"))?;
    let (id, secret) = decoded.split_once(':').ok_or_else(|| {
        malformed("the decoded Authorization: Basic value has no ':' between client_id and secret")
    })?;
    let id = form_decode(id).ok_or_else(|| {
        malformed("the client_id in the Basic header is not valid form-urlencoded UTF-8")
    })?;
    let secret = form_decode(secret).ok_or_else(|| {
        malformed("the secret in the Basic header is not valid form-urlencoded UTF-8")
    })?;
    if id.is_empty() {
        return Err(malformed("the client_id in the Basic header is empty"));
    }
    Ok((id, Secret::new(secret)))
}

fn form_decode(part: &str) -> Option<String> {
    let plus_as_space = part.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Works out which credentials a request presents, refusing more than one method
/// (RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request").
///
/// A `client_id` body parameter next to a Basic header or an assertion is allowed when it
/// names the same client (many libraries send it), refused otherwise.
pub fn presented(
    authorization: Option<Presentation<'_>>,
    form: &Form,
) -> Result<Presented, OAuthError> {
    let basic = authorization.map(parse_basic).transpose()?;
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let assertion = form.get("client_assertion");
    let assertion_type = form.get("client_assertion_type");

    let mut methods = Vec::new();
    if basic.is_some() {
        methods.push("an Authorization: Basic header");
    }
    if body_secret.is_some() {
        methods.push("client_secret in the body");
    }
    if assertion.is_some() {
        methods.push("client_assertion in the body");
    }
    if methods.len() > 1 {
        return Err(OAuthError::new(
            Code::ClientAuthMultipleMethods,
            format!(
                "the request authenticates the client in more than one way ({}); use exactly one",
                methods.join(" and ")
            ),
        ));
    }

    if let Some((client_id, secret)) = basic {
        if let Some(other) = body_id.filter(|b| *b != client_id) {
            return Err(OAuthError::new(
                Code::ClientAuthMultipleMethods,
                format!(
                    "the Basic header names client {} but the body's client_id is {}",
                    quote(&client_id),
                    quote(other)
                ),
            ));
        }
        return Ok(Presented::Basic { client_id, secret });
    }
    if let Some(secret) = body_secret {
        let client_id = body_id.ok_or_else(|| {
            OAuthError::new(
                Code::TokenRequestMissingParameter,
                "client_secret was sent without client_id",
            )
        })?;
        return Ok(Presented::Post {
            client_id: client_id.to_string(),
            secret: Secret::new(secret),
        });
    }
    if let Some(assertion) = assertion {
        match assertion_type {
            Some(JWT_BEARER_ASSERTION) => {}
            Some(other) => {
                return Err(OAuthError::new(
                    Code::ClientAuthAssertionInvalid,
                    format!(
                        "client_assertion_type is {}; expected '{JWT_BEARER_ASSERTION}'",
                        quote(other)
                    ),
                ));
            }
            None => {
                return Err(OAuthError::new(
                    Code::TokenRequestMissingParameter,
                    format!(
                        "client_assertion was sent without client_assertion_type (expected '{JWT_BEARER_ASSERTION}')"
                    ),
                ));
            }
        }
        return Ok(Presented::Assertion {
            client_id: body_id.map(str::to_string),
            assertion: assertion.to_string(),
        });
    }
    Ok(match body_id {
        Some(client_id) => Presented::ClientIdOnly {
            client_id: client_id.to_string(),
        },
        None => Presented::Nothing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorization::parse;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn basic_is_form_decoded() {
        let (id, secret) = parse_basic(parse(&basic("my%20app:p%3Ass+word"))).unwrap();
        assert_eq!(id, "my app");
        assert_eq!(secret.expose(), "p:ss word");
    }

    #[test]
    fn basic_errors_are_named() {
        for bad in [
            "Bearer abc".to_string(),
            "Basic !!!".to_string(),
            basic("no-colon"),
            basic(":secret"),
            format!("Basic {}", STANDARD.encode([0xff, b':', b'x'])),
            basic("id:%ZZ%FF"),
        ] {
            let code = parse_basic(parse(&bad)).err().map(|e| e.code);
            assert_eq!(code, Some(Code::ClientAuthBasicMalformed), "{bad}");
        }
    }

    #[test]
    fn one_method_only() {
        let e = presented(
            Some(parse(&basic("a:b"))),
            &form("client_secret=x&client_id=a"),
        )
        .err()
        .map(|e| e.code);
        assert_eq!(e, Some(Code::ClientAuthMultipleMethods));
        let e = presented(
            None,
            &form("client_id=a&client_secret=x&client_assertion=y&client_assertion_type=z"),
        )
        .err()
        .map(|e| e.code);
        assert_eq!(e, Some(Code::ClientAuthMultipleMethods));
        let e = presented(Some(parse(&basic("a:b"))), &form("client_id=other"))
            .err()
            .map(|e| e.code);
        assert_eq!(e, Some(Code::ClientAuthMultipleMethods));
    }

    #[test]
    fn recognises_each_method() {
        let p = presented(Some(parse(&basic("a:b"))), &form("client_id=a"));
        assert!(matches!(p, Ok(Presented::Basic { ref client_id, .. }) if client_id == "a"));
        let p = presented(None, &form("client_id=a&client_secret=s"));
        assert!(matches!(p, Ok(Presented::Post { .. })));
        let p = presented(
            None,
            &form(&format!(
                "client_assertion=x.y.z&client_assertion_type={}",
                JWT_BEARER_ASSERTION
            )),
        );
        assert!(matches!(
            p,
            Ok(Presented::Assertion {
                client_id: None,
                ..
            })
        ));
        let p = presented(None, &form("client_id=pub"));
        assert!(matches!(p, Ok(Presented::ClientIdOnly { .. })));
        assert_eq!(presented(None, &form("")), Ok(Presented::Nothing));
        let e = presented(
            None,
            &form("client_assertion=x&client_assertion_type=bogus"),
        )
        .err()
        .map(|e| e.code);
        assert_eq!(e, Some(Code::ClientAuthAssertionInvalid));
    }
}
