//! Reading a token endpoint's answer (RFC 6749 §5.1 success, §5.2 error), and naming what is
//! wrong with it when it is neither.
//!
//! [`classify_token_response`] is a pure function over status, Content-Type and body: the
//! client uses it on live responses, and the doctor on captured ones.

use std::fmt;

use candor_proto::Code;
use candor_proto::secret::{Secret, hint};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ErrorKind;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    pub access_token: Secret,
    pub token_type: String,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<String>,
    pub scope: Option<String>,
    /// Every other member.
    pub extra: Map<String, Value>,
}

impl TokenResponse {
    /// A one-line summary with the tokens hinted, never shown.
    pub fn summary(&self) -> String {
        let mut parts = vec![
            format!("access_token {}", hint(self.access_token.expose())),
            format!("token_type {}", self.token_type),
        ];
        if let Some(e) = self.expires_in {
            parts.push(format!("expires_in {e}"));
        }
        if let Some(s) = &self.scope {
            parts.push(format!("scope '{s}'"));
        }
        if let Some(r) = &self.refresh_token {
            parts.push(format!("refresh_token {}", hint(r.expose())));
        }
        if let Some(i) = &self.id_token {
            parts.push(format!("id_token {}", hint(i)));
        }
        parts.join(", ")
    }
}

/// An RFC 6749 §5.2 error object, plus Candor's `diagnosis` when the provider sends one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthErrorResponse {
    pub status: u16,
    pub error: String,
    pub description: Option<String>,
    pub uri: Option<String>,
    pub diagnosis: Option<String>,
}

impl OAuthErrorResponse {
    /// The provider's own diagnosis when it names a catalogue code, else
    /// `response.oauth_error`.
    pub fn code(&self) -> Code {
        self.diagnosis
            .as_deref()
            .and_then(Code::parse)
            .unwrap_or(Code::ResponseOAuthError)
    }

    /// What the RFCs say this `error` value means, and what usually fixes it.
    pub fn meaning(&self) -> Option<ErrorMeaning> {
        meaning(&self.error)
    }
}

impl fmt::Display for OAuthErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} error '{}'", self.status, self.error)?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        if let Some(c) = &self.diagnosis {
            write!(f, " (diagnosis {c})")?;
        }
        Ok(())
    }
}

/// What an `error` value means, by the specification that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorMeaning {
    pub error: &'static str,
    /// The defining section, e.g. "RFC 6749 section 5.2".
    pub source: &'static str,
    pub meaning: &'static str,
    pub fix: &'static str,
}

const MEANINGS: &[ErrorMeaning] = &[
    ErrorMeaning {
        error: "invalid_request",
        source: "RFC 6749 section 5.2",
        meaning: "the request is missing a required parameter, repeats a parameter, has an unsupported parameter value, uses more than one client authentication method, or is otherwise malformed",
        fix: "compare the request's parameters with what the grant requires; the error_description usually names the parameter",
    },
    ErrorMeaning {
        error: "invalid_client",
        source: "RFC 6749 section 5.2",
        meaning: "client authentication failed: the client is unknown, sent no credentials, sent wrong credentials, or used an authentication method it is not registered for",
        fix: "check client_id, client_secret and the token_endpoint_auth_method the client is registered with",
    },
    ErrorMeaning {
        error: "invalid_grant",
        source: "RFC 6749 section 5.2",
        meaning: "the authorization code or refresh token is invalid, expired, already used or revoked, was issued to another client, or the redirect_uri differs from the one in the authorization request (or the PKCE code_verifier does not match)",
        fix: "redeem each code once, immediately, with the same client, redirect_uri and code_verifier as the authorization request",
    },
    ErrorMeaning {
        error: "unauthorized_client",
        source: "RFC 6749 section 5.2",
        meaning: "the client authenticated but is not allowed to use this grant type",
        fix: "enable the grant type for the client at the provider",
    },
    ErrorMeaning {
        error: "unsupported_grant_type",
        source: "RFC 6749 section 5.2",
        meaning: "the provider does not support this grant_type",
        fix: "use a grant listed in grant_types_supported of the discovery document",
    },
    ErrorMeaning {
        error: "invalid_scope",
        source: "RFC 6749 section 5.2",
        meaning: "a requested scope is unknown, malformed, not allowed for the client, or wider than the original grant",
        fix: "request only scopes the client is registered for (scopes_supported lists the provider's)",
    },
    ErrorMeaning {
        error: "access_denied",
        source: "RFC 6749 section 4.1.2.1",
        meaning: "the user (or the provider's policy) denied the request",
        fix: "nothing is broken if the user said no; otherwise check the provider's access policies for this user and client",
    },
    ErrorMeaning {
        error: "unsupported_response_type",
        source: "RFC 6749 section 4.1.2.1",
        meaning: "the provider does not allow this response_type (OAuth 2.1 keeps only 'code')",
        fix: "use response_type=code with PKCE",
    },
    ErrorMeaning {
        error: "server_error",
        source: "RFC 6749 section 4.1.2.1",
        meaning: "the provider failed unexpectedly",
        fix: "retry; if it persists, look in the provider's logs",
    },
    ErrorMeaning {
        error: "temporarily_unavailable",
        source: "RFC 6749 section 4.1.2.1",
        meaning: "the provider is overloaded or under maintenance",
        fix: "retry later",
    },
    ErrorMeaning {
        error: "interaction_required",
        source: "OpenID Connect Core section 3.1.2.6",
        meaning: "prompt=none was sent but the provider needs the user to interact",
        fix: "repeat the request without prompt=none",
    },
    ErrorMeaning {
        error: "login_required",
        source: "OpenID Connect Core section 3.1.2.6",
        meaning: "prompt=none was sent but the user is not logged in at the provider (often: the provider's session cookie is blocked as a third-party cookie)",
        fix: "repeat the request without prompt=none so the user can log in",
    },
    ErrorMeaning {
        error: "account_selection_required",
        source: "OpenID Connect Core section 3.1.2.6",
        meaning: "prompt=none was sent but the user must choose an account",
        fix: "repeat the request without prompt=none",
    },
    ErrorMeaning {
        error: "consent_required",
        source: "OpenID Connect Core section 3.1.2.6",
        meaning: "prompt=none was sent but the user has not consented to this client and scope",
        fix: "repeat the request without prompt=none so the user can consent",
    },
    ErrorMeaning {
        error: "invalid_request_uri",
        source: "OpenID Connect Core section 3.1.2.6",
        meaning: "the request_uri is unreachable or its content is invalid",
        fix: "check the request_uri (for PAR: use it once, before it expires)",
    },
    ErrorMeaning {
        error: "invalid_request_object",
        source: "OpenID Connect Core section 3.1.2.6",
        meaning: "the request object JWT is invalid",
        fix: "check the request object's signature, iss, aud and exp",
    },
    ErrorMeaning {
        error: "request_not_supported",
        source: "OpenID Connect Core section 3.1.2.6",
        meaning: "the provider does not support the request parameter",
        fix: "send the parameters in the query instead",
    },
    ErrorMeaning {
        error: "request_uri_not_supported",
        source: "OpenID Connect Core section 3.1.2.6",
        meaning: "the provider does not support the request_uri parameter",
        fix: "send the parameters in the query instead",
    },
    ErrorMeaning {
        error: "invalid_token",
        source: "RFC 6750 section 3.1",
        meaning: "the access token is expired, revoked, malformed, or not issued by this provider",
        fix: "refresh the token or obtain a new one; check it is sent exactly as received",
    },
    ErrorMeaning {
        error: "insufficient_scope",
        source: "RFC 6750 section 3.1",
        meaning: "the access token lacks a scope the resource requires",
        fix: "request the required scope when obtaining the token",
    },
    ErrorMeaning {
        error: "invalid_target",
        source: "RFC 8707 section 2",
        meaning: "the requested resource (audience) is invalid, unknown or not allowed",
        fix: "request only resources the client is registered for",
    },
    ErrorMeaning {
        error: "authorization_pending",
        source: "RFC 8628 section 3.5",
        meaning: "the user has not finished the device authorization yet",
        fix: "keep polling at the given interval",
    },
    ErrorMeaning {
        error: "slow_down",
        source: "RFC 8628 section 3.5",
        meaning: "the client polls too fast",
        fix: "add 5 seconds to the polling interval",
    },
    ErrorMeaning {
        error: "expired_token",
        source: "RFC 8628 section 3.5",
        meaning: "the device_code has expired",
        fix: "start a new device authorization",
    },
    ErrorMeaning {
        error: "invalid_dpop_proof",
        source: "RFC 9449 section 5",
        meaning: "the DPoP proof is invalid",
        fix: "sign a fresh DPoP proof with htm, htu, iat and jti for each request",
    },
    ErrorMeaning {
        error: "use_dpop_nonce",
        source: "RFC 9449 section 8",
        meaning: "the provider requires a DPoP nonce",
        fix: "retry with the nonce from the DPoP-Nonce header",
    },
];

/// What the specifications say `error` means.
pub fn meaning(error: &str) -> Option<ErrorMeaning> {
    MEANINGS.iter().copied().find(|m| m.error == error)
}

/// The essence of a Content-Type (`application/json` from `application/json; charset=utf-8`).
pub fn essence(content_type: Option<&str>) -> Option<String> {
    content_type.map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

fn is_json_type(essence: Option<&str>) -> bool {
    essence.is_some_and(|e| e == "application/json" || e.ends_with("+json") || e == "text/json")
}

/// Whether a body is an HTML page, by its Content-Type or its first characters.
pub fn looks_like_html(content_type: Option<&str>, body: &str) -> bool {
    let e = essence(content_type);
    if matches!(e.as_deref(), Some("text/html" | "application/xhtml+xml")) {
        return true;
    }
    let start: String = body
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(15)
        .collect::<String>()
        .to_ascii_lowercase();
    start.starts_with("<!doctype html")
        || start.starts_with("<html")
        || start.starts_with("<head")
        || start.starts_with("<body")
}

/// The `<title>` of an HTML page, trimmed and cut to 80 characters.
pub fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = lower.get(start..)?.find('>')? + start + 1;
    let close = lower.get(open_end..)?.find("</title")? + open_end;
    let title = body.get(open_end..close)?.trim();
    let title: String = title.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then(|| title.chars().take(80).collect())
}

/// Reads an RFC 6749 §5.2 error object from a JSON value, if it is one.
pub fn error_object(status: u16, value: &Value) -> Option<OAuthErrorResponse> {
    let obj = value.as_object()?;
    let error = obj.get("error")?.as_str()?.to_string();
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    Some(OAuthErrorResponse {
        status,
        error,
        description: text("error_description"),
        uri: text("error_uri"),
        diagnosis: text("diagnosis"),
    })
}

/// Classifies a token endpoint's answer: a [`TokenResponse`], or the failure it shows.
pub fn classify_token_response(
    status: u16,
    content_type: Option<&str>,
    location: Option<&str>,
    body: &[u8],
) -> Result<TokenResponse, ErrorKind> {
    let value = classify_json_body(status, content_type, location, body)?;
    if let Some(err) = error_object(status, &value) {
        return Err(ErrorKind::OAuth(err));
    }
    if status >= 300 {
        return Err(ErrorKind::ErrorWithoutBody {
            status,
            content_type: content_type.map(str::to_string),
            location: location.map(str::to_string),
        });
    }
    token_response_from(status, value)
}

/// The common part of reading any JSON answer (token, discovery, JWKS): refuses HTML,
/// empty, non-JSON and malformed bodies, and returns the parsed value otherwise.
pub fn classify_json_body(
    status: u16,
    content_type: Option<&str>,
    location: Option<&str>,
    body: &[u8],
) -> Result<Value, ErrorKind> {
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(_) => {
            return Err(if status >= 300 {
                ErrorKind::ErrorWithoutBody {
                    status,
                    content_type: content_type.map(str::to_string),
                    location: location.map(str::to_string),
                }
            } else {
                ErrorKind::NotJson {
                    status,
                    content_type: content_type.map(str::to_string),
                }
            });
        }
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(if status >= 300 {
            ErrorKind::ErrorWithoutBody {
                status,
                content_type: content_type.map(str::to_string),
                location: location.map(str::to_string),
            }
        } else {
            ErrorKind::Empty { status }
        });
    }
    if looks_like_html(content_type, trimmed) {
        return Err(ErrorKind::Html {
            status,
            title: html_title(trimmed),
        });
    }
    let e = essence(content_type);
    let json_like = trimmed.starts_with('{') || trimmed.starts_with('[');
    if !is_json_type(e.as_deref()) && !json_like {
        return Err(if status >= 300 {
            ErrorKind::ErrorWithoutBody {
                status,
                content_type: content_type.map(str::to_string),
                location: location.map(str::to_string),
            }
        } else {
            ErrorKind::NotJson {
                status,
                content_type: content_type.map(str::to_string),
            }
        });
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(other) => Err(ErrorKind::MalformedJson {
            status,
            detail: format!("is {}, not an object", json_kind(&other)),
        }),
        Err(err) => Err(ErrorKind::MalformedJson {
            status,
            detail: if err.is_eof() {
                format!("ends early (truncated after {} bytes)", trimmed.len())
            } else {
                format!(
                    "does not parse ({} at line {} column {})",
                    err_reason(&err),
                    err.line(),
                    err.column()
                )
            },
        }),
    }
}

fn err_reason(err: &serde_json::Error) -> String {
    let s = err.to_string();
    match s.find(" at line ") {
        Some(i) => s.get(..i).unwrap_or(&s).to_string(),
        None => s,
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn token_response_from(status: u16, value: Value) -> Result<TokenResponse, ErrorKind> {
    let Value::Object(mut map) = value else {
        return Err(ErrorKind::MalformedJson {
            status,
            detail: "is not an object".into(),
        });
    };
    let access_token = match map.remove("access_token") {
        Some(Value::String(s)) if !s.is_empty() => Secret::new(s),
        _ => return Err(ErrorKind::MissingAccessToken { status }),
    };
    let token_type = match map.remove("token_type") {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => return Err(ErrorKind::MissingTokenType),
    };
    let expires_in = match map.remove("expires_in") {
        Some(Value::Number(n)) => n.as_i64(),
        // Some providers send it as a string; accept it, as most clients do.
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let take_string = |map: &mut Map<String, Value>, k: &str| match map.remove(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let refresh_token = take_string(&mut map, "refresh_token").map(Secret::new);
    let id_token = take_string(&mut map, "id_token");
    let scope = take_string(&mut map, "scope");
    Ok(TokenResponse {
        access_token,
        token_type,
        expires_in,
        refresh_token,
        id_token,
        scope,
        extra: map,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, ct: Option<&str>, body: &str) -> Result<TokenResponse, ErrorKind> {
        classify_token_response(status, ct, None, body.as_bytes())
    }

    #[test]
    fn success() {
        let r = classify(
            200,
            Some("application/json;charset=UTF-8"),
            r#"{"access_token":"abc","token_type":"Bearer","expires_in":3600,"scope":"a b"}"#,
        )
        .unwrap();
        assert_eq!(r.access_token.expose(), "abc");
        assert_eq!(r.expires_in, Some(3600));
        assert!(!r.summary().contains("abc\""));
    }

    #[test]
    fn each_failure_has_its_kind() {
        let html = classify(
            200,
            Some("text/html"),
            "<!DOCTYPE html><html><head><title> Sign in </title></head></html>",
        );
        assert_eq!(
            html.err(),
            Some(ErrorKind::Html {
                status: 200,
                title: Some("Sign in".into())
            })
        );
        assert!(matches!(
            classify(502, None, "<html><body>Bad gateway</body></html>"),
            Err(ErrorKind::Html { status: 502, .. })
        ));
        assert_eq!(
            classify(200, Some("application/json"), "").err(),
            Some(ErrorKind::Empty { status: 200 })
        );
        assert!(matches!(
            classify(200, Some("application/json"), r#"{"access_token":"#),
            Err(ErrorKind::MalformedJson { .. })
        ));
        assert!(matches!(
            classify(200, Some("application/json"), "[1,2]"),
            Err(ErrorKind::MalformedJson { .. })
        ));
        assert!(matches!(
            classify(
                200,
                Some("application/x-www-form-urlencoded"),
                "access_token=abc&token_type=bearer"
            ),
            Err(ErrorKind::NotJson { .. })
        ));
        assert_eq!(
            classify(200, Some("application/json"), "{}").err(),
            Some(ErrorKind::MissingAccessToken { status: 200 })
        );
        assert_eq!(
            classify(200, Some("application/json"), r#"{"access_token":"a"}"#).err(),
            Some(ErrorKind::MissingTokenType)
        );
        assert!(matches!(
            classify(401, Some("text/plain"), "Unauthorized"),
            Err(ErrorKind::ErrorWithoutBody { status: 401, .. })
        ));
        assert!(matches!(
            classify(500, None, ""),
            Err(ErrorKind::ErrorWithoutBody { status: 500, .. })
        ));
        assert!(matches!(
            classify(400, Some("application/json"), r#"{"message":"bad"}"#),
            Err(ErrorKind::ErrorWithoutBody { status: 400, .. })
        ));
    }

    #[test]
    fn error_objects_are_explained() {
        let Err(ErrorKind::OAuth(e)) = classify(
            400,
            Some("application/json"),
            r#"{"error":"invalid_grant","error_description":"code reused","diagnosis":"code.reused"}"#,
        ) else {
            panic!("expected an OAuth error");
        };
        assert_eq!(e.code(), Code::CodeReused);
        assert_eq!(e.meaning().map(|m| m.source), Some("RFC 6749 section 5.2"));
        let Err(ErrorKind::OAuth(e)) = classify(
            400,
            Some("application/json"),
            r#"{"error":"invalid_client"}"#,
        ) else {
            panic!("expected an OAuth error");
        };
        assert_eq!(e.code(), Code::ResponseOAuthError);
    }
}
