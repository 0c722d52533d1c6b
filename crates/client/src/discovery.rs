//! Provider metadata: OpenID Connect Discovery 1.0 §4 and RFC 8414 §3.
//!
//! [`validate_metadata`] is pure and lists every problem of a document (issuer mismatch,
//! missing required members, plain-http endpoints off loopback); [`HttpClient::discover`]
//! fetches a document and refuses it on the first fatal problem, as a client must.

use serde_json::Value;
use url::Url;

use crate::error::{ClientError, ErrorKind};
use crate::http::{HttpClient, RawResponse, is_insecure_http};
use crate::response::{classify_json_body, essence};

/// Members OpenID Connect Discovery §3 requires.
pub const OIDC_REQUIRED: &[&str] = &[
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
];

/// Members RFC 8414 §2 requires (token_endpoint unless only the implicit grant is offered).
pub const RFC8414_REQUIRED: &[&str] = &["issuer", "token_endpoint", "response_types_supported"];

/// Members holding URLs that must be https off loopback.
pub const ENDPOINT_FIELDS: &[&str] = &[
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "registration_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
    "end_session_endpoint",
    "pushed_authorization_request_endpoint",
    "device_authorization_endpoint",
];

/// Which well-known document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataKind {
    /// `/.well-known/openid-configuration`, appended to the issuer.
    OpenId,
    /// `/.well-known/oauth-authorization-server`, inserted before the issuer's path.
    OAuth,
}

/// The discovery URL for `issuer`.
pub fn discovery_url(issuer: &str, kind: MetadataKind) -> String {
    let trimmed = issuer.trim_end_matches('/');
    match kind {
        MetadataKind::OpenId => format!("{trimmed}/.well-known/openid-configuration"),
        MetadataKind::OAuth => match Url::parse(trimmed) {
            Ok(u) => {
                let path = u.path().trim_end_matches('/').to_string();
                let mut base = u.clone();
                base.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
                base.set_query(None);
                base.to_string()
            }
            Err(_) => format!("{trimmed}/.well-known/oauth-authorization-server"),
        },
    }
}

/// The members a client uses, read from a metadata document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    /// The whole document.
    pub raw: Value,
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A metadata document and everything wrong with it.
#[derive(Debug, Clone)]
pub struct MetadataReport {
    pub metadata: ProviderMetadata,
    /// Fatal first: issuer mismatch, then missing members, then insecure endpoints.
    pub problems: Vec<ErrorKind>,
}

/// Validates a parsed document fetched for `expected_issuer`.
pub fn validate_metadata(expected_issuer: &str, doc: &Value, kind: MetadataKind) -> MetadataReport {
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    let mut problems = Vec::new();
    let issuer = text("issuer").unwrap_or_default();
    if !issuer.is_empty() && issuer != expected_issuer {
        problems.push(ErrorKind::DiscoveryIssuerMismatch {
            expected: expected_issuer.to_string(),
            received: issuer.clone(),
        });
    }
    let required = match kind {
        MetadataKind::OpenId => OIDC_REQUIRED,
        MetadataKind::OAuth => RFC8414_REQUIRED,
    };
    for field in required {
        let present = match doc.get(*field) {
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            _ => false,
        };
        if !present {
            problems.push(ErrorKind::DiscoveryMissingField { field });
        }
    }
    for field in ENDPOINT_FIELDS {
        if let Some(url) = text(field)
            && let Ok(u) = Url::parse(&url)
            && is_insecure_http(&u)
        {
            problems.push(ErrorKind::DiscoveryInsecureEndpoint {
                field: (*field).to_string(),
                url,
            });
        }
    }
    MetadataReport {
        metadata: ProviderMetadata {
            issuer,
            authorization_endpoint: text("authorization_endpoint"),
            token_endpoint: text("token_endpoint"),
            userinfo_endpoint: text("userinfo_endpoint"),
            jwks_uri: text("jwks_uri"),
            id_token_signing_alg_values_supported: strings(
                doc,
                "id_token_signing_alg_values_supported",
            ),
            token_endpoint_auth_methods_supported: strings(
                doc,
                "token_endpoint_auth_methods_supported",
            ),
            grant_types_supported: strings(doc, "grant_types_supported"),
            code_challenge_methods_supported: strings(doc, "code_challenge_methods_supported"),
            raw: doc.clone(),
        },
        problems,
    }
}

/// Reads a discovery response: refuses error statuses and bodies that are not a JSON object.
pub fn parse_discovery_response(url: &str, raw: &RawResponse) -> Result<Value, ErrorKind> {
    if raw.status != 200 {
        return Err(ErrorKind::DiscoveryStatus {
            url: url.to_string(),
            status: raw.status,
        });
    }
    classify_json_body(raw.status, raw.content_type(), None, &raw.body).map_err(|_| {
        ErrorKind::DiscoveryNotJson {
            content_type: raw
                .content_type()
                .map(str::to_string)
                .or_else(|| essence(None).or(Some("(none)".into()))),
        }
    })
}

/// A fetched and validated document.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub url: String,
    pub report: MetadataReport,
    pub response: RawResponse,
}

impl HttpClient {
    /// Fetches and validates the document of `issuer` (`kind` chooses which well-known URL).
    /// Transport and format failures are errors; problems with the content are listed in the
    /// report.
    pub async fn fetch_metadata(
        &self,
        issuer: &str,
        kind: MetadataKind,
    ) -> Result<Discovered, ClientError> {
        let url = discovery_url(issuer, kind);
        let raw = self.get_json(&url).await?;
        let doc = parse_discovery_response(&url, &raw)
            .map_err(|k| ClientError::with_exchange(k, raw.exchange.clone()))?;
        Ok(Discovered {
            report: validate_metadata(issuer, &doc, kind),
            url,
            response: raw,
        })
    }

    /// Fetches the OpenID Connect metadata of `issuer` and refuses it on its first problem.
    pub async fn discover(&self, issuer: &str) -> Result<ProviderMetadata, ClientError> {
        let d = self.fetch_metadata(issuer, MetadataKind::OpenId).await?;
        match d.report.problems.into_iter().next() {
            Some(kind) => Err(ClientError::with_exchange(kind, d.response.exchange)),
            None => Ok(d.report.metadata),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_proto::Code;
    use serde_json::json;

    #[test]
    fn urls() {
        assert_eq!(
            discovery_url("https://idp.example/realms/x/", MetadataKind::OpenId),
            "https://idp.example/realms/x/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://idp.example/realms/x", MetadataKind::OAuth),
            "https://idp.example/.well-known/oauth-authorization-server/realms/x"
        );
    }

    #[test]
    fn problems_are_listed() {
        let doc = json!({
            "issuer": "https://idp.example/",
            "authorization_endpoint": "https://idp.example/auth",
            "token_endpoint": "http://idp.example/token",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        });
        let r = validate_metadata("https://idp.example", &doc, MetadataKind::OpenId);
        let codes: Vec<Code> = r.problems.iter().map(|p| p.code()).collect();
        assert_eq!(
            codes,
            vec![
                Code::DiscoveryIssuerMismatch,
                Code::DiscoveryMissingField,
                Code::DiscoveryMissingField,
                Code::TransportInsecureHttp
            ]
        );
        assert_eq!(
            r.metadata.token_endpoint.as_deref(),
            Some("http://idp.example/token")
        );
    }
}
