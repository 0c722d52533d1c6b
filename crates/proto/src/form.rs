//! `application/x-www-form-urlencoded` request bodies (RFC 6749 §3.2, Appendix B).
//!
//! Stricter than a general form parser: a parameter sent twice is an error (RFC 6749 §3.2),
//! bytes that are not UTF-8 after percent-decoding are an error, and an empty value counts as
//! absent (RFC 6749 §3.1: "parameters sent without a value MUST be treated as if they were
//! omitted").

use std::collections::HashMap;

use crate::diagnosis::Code;
use crate::error::{OAuthError, quote};

/// A decoded form with each parameter at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    params: HashMap<String, String>,
    /// Parameters a specification allows more than once (RFC 8707 `resource`).
    repeated: HashMap<String, Vec<String>>,
}

/// Parameters that may legitimately appear more than once.
const REPEATABLE: &[&str] = &["resource"];

impl Form {
    /// Decodes `body`; refuses duplicates and invalid UTF-8.
    pub fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        let mut params = HashMap::new();
        let mut repeated: HashMap<String, Vec<String>> = HashMap::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let mut halves = pair.splitn(2, |b| *b == b'=');
            let name = halves.next().unwrap_or_default();
            let value = halves.next().unwrap_or_default();
            let name = decode(name)?;
            let value = decode(value)?;
            if name.is_empty() {
                continue;
            }
            if REPEATABLE.contains(&name.as_str()) {
                if !value.is_empty() {
                    repeated.entry(name).or_default().push(value);
                }
                continue;
            }
            if params.contains_key(&name) {
                return Err(OAuthError::new(
                    Code::TokenRequestDuplicateParameter,
                    format!("parameter {} was sent more than once", quote(&name)),
                ));
            }
            params.insert(name, value);
        }
        Ok(Form { params, repeated })
    }

    /// Every value of a repeatable parameter (`resource`), in order.
    pub fn get_all(&self, name: &str) -> &[String] {
        self.repeated.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The value of `name`, or `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`, or `token_request.missing_parameter` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            let how = if self.params.contains_key(name) {
                "is empty"
            } else {
                "is missing"
            };
            OAuthError::new(
                Code::TokenRequestMissingParameter,
                format!("required parameter '{name}' {how}"),
            )
        })
    }

    /// Whether `name` was sent at all (even empty).
    pub fn contains(&self, name: &str) -> bool {
        self.params.contains_key(name) || self.repeated.contains_key(name)
    }
}

/// Percent-decodes one name or value (`+` is a space) and insists on UTF-8.
fn decode(raw: &[u8]) -> Result<String, OAuthError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| {
        OAuthError::new(
            Code::TokenRequestMalformedBody,
            "the form body is not valid UTF-8 once percent-decoded",
        )
    })
}

/// What the `Content-Type` of a back-channel request says about its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Form,
    Json,
    Missing,
    Other,
}

/// Classifies a `Content-Type` header value (parameters such as `charset` are ignored).
pub fn body_kind(content_type: Option<&str>) -> BodyKind {
    let Some(ct) = content_type else {
        return BodyKind::Missing;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => BodyKind::Form,
        "application/json" => BodyKind::Json,
        e if e.ends_with("+json") => BodyKind::Json,
        _ => BodyKind::Other,
    }
}

/// Checks the `Content-Type` of a back-channel POST and parses its form.
pub fn parse_request(content_type: Option<&str>, body: &[u8]) -> Result<Form, OAuthError> {
    match body_kind(content_type) {
        BodyKind::Form => Form::parse(body),
        BodyKind::Json => Err(OAuthError::new(
            Code::TokenRequestJsonBody,
            format!(
                "expected Content-Type 'application/x-www-form-urlencoded', received {} (send the parameters as a form, not JSON)",
                quote(content_type.unwrap_or(""))
            ),
        )),
        BodyKind::Missing if body.is_empty() => Ok(Form::default()),
        BodyKind::Missing => Err(OAuthError::new(
            Code::TokenRequestUnsupportedContentType,
            "expected Content-Type 'application/x-www-form-urlencoded', received no Content-Type header",
        )),
        BodyKind::Other => Err(OAuthError::new(
            Code::TokenRequestUnsupportedContentType,
            format!(
                "expected Content-Type 'application/x-www-form-urlencoded', received {}",
                quote(content_type.unwrap_or(""))
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let f = Form::parse(b"grant_type=client_credentials&scope=a+b%20c&x=").unwrap_or_default();
        assert_eq!(f.get("grant_type"), Some("client_credentials"));
        assert_eq!(f.get("scope"), Some("a b c"));
        assert_eq!(f.get("x"), None);
        assert!(f.contains("x"));
    }

    #[test]
    fn duplicate_is_refused() {
        let e = Form::parse(b"scope=a&scope=b").err().map(|e| e.code);
        assert_eq!(e, Some(Code::TokenRequestDuplicateParameter));
    }

    #[test]
    fn resource_may_repeat() {
        let f =
            Form::parse(b"resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb").unwrap_or_default();
        assert_eq!(
            f.get_all("resource"),
            ["https://a".to_string(), "https://b".to_string()]
        );
        assert!(f.get_all("scope").is_empty());
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let e = Form::parse(b"client_id=%FF%FE").err().map(|e| e.code);
        assert_eq!(e, Some(Code::TokenRequestMalformedBody));
        let raw = Form::parse(&[b'a', b'=', 0xff]).err().map(|e| e.code);
        assert_eq!(raw, Some(Code::TokenRequestMalformedBody));
        // A literal, encoded U+FFFD is legitimate UTF-8.
        assert!(Form::parse(b"a=%EF%BF%BD").is_ok());
    }

    #[test]
    fn missing_names_the_parameter() {
        let f = Form::parse(b"a=1&b=").unwrap_or_default();
        let e = f.require("grant_type").err().map(|e| e.description);
        assert_eq!(
            e.as_deref(),
            Some("required parameter 'grant_type' is missing")
        );
        let e = f.require("b").err().map(|e| e.description);
        assert_eq!(e.as_deref(), Some("required parameter 'b' is empty"));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            body_kind(Some("application/x-www-form-urlencoded; charset=UTF-8")),
            BodyKind::Form
        );
        assert_eq!(body_kind(Some("Application/JSON")), BodyKind::Json);
        assert_eq!(body_kind(Some("text/plain")), BodyKind::Other);
        assert_eq!(body_kind(None), BodyKind::Missing);
        let e = parse_request(Some("application/json"), b"{}")
            .err()
            .map(|e| e.code);
        assert_eq!(e, Some(Code::TokenRequestJsonBody));
        let e = parse_request(Some("multipart/form-data"), b"x")
            .err()
            .map(|e| e.code);
        assert_eq!(e, Some(Code::TokenRequestUnsupportedContentType));
    }
}
