//! The error shape every endpoint answers with (docs/server.md, docs/errors.md).
//!
//! An [`OAuthError`] is a diagnosis code plus a description naming what was expected and what
//! was received. Its JSON form adds the RFC `error`, an `error_uri` pointing at the code's docs
//! page, and the code itself as `diagnosis`.

use serde::Serialize;

use crate::diagnosis::Code;

/// A refused request: which rule it broke and, in words, how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: Code,
    /// Printable ASCII without `"` and `\` (RFC 6749 §5.2); see [`describe`].
    pub description: String,
}

/// The JSON body of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    pub error: &'static str,
    pub error_description: String,
    /// The code's docs page; absent where no such page is known (a gateway in front of
    /// another provider, without `docs_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
    pub diagnosis: &'static str,
    /// For `insufficient_scope`: the scope the request needs (RFC 6750 §3.1), as the
    /// challenge says it too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl OAuthError {
    /// A new error; the description is made RFC 6749 §5.2-safe.
    pub fn new(code: Code, description: impl AsRef<str>) -> Self {
        OAuthError {
            code,
            description: describe(description.as_ref()),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The RFC `error` value.
    pub fn error(&self) -> &'static str {
        self.code.error()
    }

    /// The docs page for this error's code under `issuer`.
    pub fn error_uri(&self, issuer: &str) -> String {
        error_uri(issuer, self.code)
    }

    /// The JSON body, with `error_uri` under `issuer`.
    pub fn body(&self, issuer: &str) -> ErrorBody {
        self.body_linked(Some(&docs_base(issuer)))
    }

    /// The JSON body, with `error_uri` under `docs` (a catalogue's base, such as
    /// [`docs_base`]), or none.
    pub fn body_linked(&self, docs: Option<&str>) -> ErrorBody {
        ErrorBody {
            error: self.error(),
            error_description: self.description.clone(),
            error_uri: docs.map(|d| linked(d, self.code)),
            diagnosis: self.code.as_str(),
            scope: None,
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

/// The docs page of `code` on the server at `issuer`.
pub fn error_uri(issuer: &str, code: Code) -> String {
    linked(&docs_base(issuer), code)
}

/// Where a Candor server at `issuer` serves the catalogue's pages.
pub fn docs_base(issuer: &str) -> String {
    format!("{}/docs/errors", issuer.trim_end_matches('/'))
}

/// The page of `code` under the catalogue's base `docs`.
pub fn linked(docs: &str, code: Code) -> String {
    format!("{}/{}", docs.trim_end_matches('/'), code.as_str())
}

/// Makes `text` fit RFC 6749 §5.2's `error_description` charset: printable ASCII without `"`
/// and `\`. Double quotes become single quotes, other characters become `?`, and the result is
/// cut at 500 characters so that hostile input cannot blow up a response or a log line.
pub fn describe(text: &str) -> String {
    const MAX: usize = 500;
    let mut out = String::with_capacity(text.len().min(MAX));
    for c in text.chars() {
        if out.len() >= MAX {
            out.push_str("...");
            break;
        }
        out.push(match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        });
    }
    out
}

/// Quotes a received value for an error description: single quotes, at most 80 characters,
/// non-printable characters replaced. Never use this on a secret; use [`crate::secret::hint`].
pub fn quote(value: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::from("'");
    for (i, c) in value.chars().enumerate() {
        if i >= MAX {
            out.push_str("...");
            break;
        }
        out.push(match c {
            '\'' | '"' | '\\' => '?',
            ' '..='~' => c,
            _ => '?',
        });
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_is_rfc_6749_safe() {
        let d = describe("bad \"value\" with \\ and é and \n newline");
        assert_eq!(d, "bad 'value' with / and ? and ? newline");
        assert!(
            d.chars()
                .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\')
        );
    }

    #[test]
    fn description_is_bounded() {
        let d = describe(&"x".repeat(10_000));
        assert!(d.len() <= 503, "{}", d.len());
        assert!(d.ends_with("..."));
    }

    #[test]
    fn body_carries_code_and_uri() {
        let e = OAuthError::new(
            Code::GrantTypeUnsupported,
            "grant_type 'password' is not supported",
        );
        let b = e.body("http://127.0.0.1:8080/");
        assert_eq!(b.error, "unsupported_grant_type");
        assert_eq!(b.diagnosis, "grant_type.unsupported");
        assert_eq!(
            b.error_uri.as_deref(),
            Some("http://127.0.0.1:8080/docs/errors/grant_type.unsupported")
        );
        let unlinked = serde_json::to_value(e.body_linked(None)).unwrap_or_default();
        assert!(unlinked.get("error_uri").is_none(), "{unlinked}");
        assert_eq!(
            e.body_linked(Some("https://docs.example/errors/"))
                .error_uri
                .as_deref(),
            Some("https://docs.example/errors/grant_type.unsupported")
        );
    }

    #[test]
    fn quote_bounds_and_escapes() {
        assert_eq!(quote("a'b"), "'a?b'");
        assert_eq!(quote(&"y".repeat(100)).len(), 80 + 2 + 3);
    }
}
