//! What an entry's request and response carry: parameters (of the query, or of a form or
//! JSON body), the client a token request names, the tokens a successful response issued.

use candor_client::id_token;
use candor_client::response::{TokenResponse, classify_token_response};
use candor_proto::form::{BodyKind, body_kind};
use serde_json::Value;

use crate::har::load::Entry;

/// The first non-empty value of a parameter.
pub(super) fn first<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// Whether a parameter is present, even empty.
pub(super) fn has(params: &[(String, String)], name: &str) -> bool {
    params.iter().any(|(n, _)| n == name)
}

/// The pairs of an `application/x-www-form-urlencoded` text.
fn parse_form(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.trim().as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

/// The parameters of a request body and how it was encoded.
pub(super) fn body_params(e: &Entry) -> (BodyKind, Vec<(String, String)>) {
    let kind = body_kind(e.req_content_type.as_deref());
    let Some(text) = e.req_body.text() else {
        return (kind, Vec::new());
    };
    let trimmed = text.trim();
    if kind == BodyKind::Json || trimmed.starts_with('{') {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
            let params = map
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect();
            return (kind, params);
        }
        return (kind, Vec::new());
    }
    (kind, parse_form(trimmed))
}

/// The response body, when it is JSON.
pub(super) fn json_body(e: &Entry) -> Option<Value> {
    e.resp_body
        .text()
        .and_then(|t| serde_json::from_str::<Value>(t.trim()).ok())
}

/// The client a token request names (Basic header, else body, else assertion issuer).
pub(super) fn token_client_id(e: &Entry) -> Option<String> {
    if let Some(h) = e.req_header("authorization")
        && let Ok((id, _)) =
            candor_proto::client_auth::parse_basic(candor_proto::authorization::parse(h))
    {
        return Some(id);
    }
    let (_, p) = body_params(e);
    if let Some(id) = first(&p, "client_id") {
        return Some(id.to_string());
    }
    first(&p, "client_assertion")
        .and_then(|a| id_token::decode_unverified(a).ok())
        .and_then(|d| {
            d.claims
                .get("sub")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

/// A successful token response of an entry, if it has one.
pub(super) fn token_success(e: &Entry) -> Option<TokenResponse> {
    let body = e.resp_body.bytes()?;
    classify_token_response(
        u16::try_from(e.status).unwrap_or(0),
        e.resp_content_type.as_deref(),
        e.resp_header("location"),
        &body,
    )
    .ok()
}
