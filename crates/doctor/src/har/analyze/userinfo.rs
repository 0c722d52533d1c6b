//! Checks of a userinfo call: a bearer token sent, and the endpoint's refusal explained (its
//! `WWW-Authenticate` error, or its body).

use std::collections::HashMap;

use candor_client::error::ErrorKind;
use candor_client::response::{classify_json_body, error_object};
use candor_proto::Code;

use super::Analysis;
use super::entry::{entry_line, entry_source, no_response};
use super::params::has;
use crate::explain::{self, finding_from_kind};
use crate::finding::{Finding, Group, Severity};
use crate::har::load::Entry;

impl Analysis<'_> {
    /// Checks a userinfo call.
    pub(super) fn check_userinfo(&self, e: &Entry, g: &mut Group) {
        let src = entry_source(e);
        g.lines.push(format!("userinfo   {}", entry_line(e)));
        if e.status == 0 {
            g.findings.push(no_response(e, self.capture.from_browser));
            return;
        }
        if e.req_header("authorization").is_none() && !has(&e.query(), "access_token") {
            if self.sanitized {
                g.lines.push(
                    "  bearer token: unknown (the capture is sanitized: har.sanitized)".into(),
                );
            } else if e.status == 401 {
                g.findings.push(
                    Finding::new(
                        Code::TokenMissing,
                        Severity::Error,
                        "The userinfo request carries no access token.",
                    )
                    .expected("Authorization: Bearer <access_token>")
                    .received("no Authorization header")
                    .source(src.clone()),
                );
            }
        }
        if (200..300).contains(&e.status) {
            return;
        }
        if let Some(www) = e.resp_header("www-authenticate") {
            let params = parse_auth_params(www);
            if let Some(err) = params.get("error") {
                let resp = candor_client::OAuthErrorResponse {
                    status: u16::try_from(e.status).unwrap_or(0),
                    error: err.clone(),
                    description: params.get("error_description").cloned(),
                    uri: params.get("error_uri").cloned(),
                    diagnosis: params.get("diagnosis").cloned(),
                };
                g.findings.push(
                    explain::oauth_error_finding(
                        &resp,
                        "The userinfo endpoint refused the access token",
                    )
                    .source(src),
                );
                return;
            }
        }
        if let Some(body) = e.resp_body.bytes() {
            match classify_json_body(
                u16::try_from(e.status).unwrap_or(0),
                e.resp_content_type.as_deref(),
                None,
                &body,
            ) {
                Ok(v) => match error_object(u16::try_from(e.status).unwrap_or(0), &v) {
                    Some(err) => g.findings.push(
                        explain::oauth_error_finding(
                            &err,
                            "The userinfo endpoint refused the request",
                        )
                        .source(src),
                    ),
                    None => g.findings.push(
                        finding_from_kind(
                            &ErrorKind::ErrorWithoutBody {
                                status: u16::try_from(e.status).unwrap_or(0),
                                content_type: e.resp_content_type.clone(),
                                location: None,
                            },
                            Severity::Error,
                        )
                        .source(src),
                    ),
                },
                Err(k) => g
                    .findings
                    .push(finding_from_kind(&k, Severity::Error).source(src)),
            }
        }
    }
}

/// Parameters of a `WWW-Authenticate: Bearer k="v", ...` header.
fn parse_auth_params(header: &str) -> HashMap<String, String> {
    let rest = header.trim().split_once(' ').map(|(_, r)| r).unwrap_or("");
    let mut out = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        let value: String = if chars.peek() == Some(&'"') {
            chars.next();
            let mut v = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            chars
                .by_ref()
                .take_while(|c| *c != ',')
                .collect::<String>()
                .trim()
                .to_string()
        };
        out.insert(name.trim().to_ascii_lowercase(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn www_authenticate_params() {
        let p = parse_auth_params(
            r#"Bearer realm="api", error="invalid_token", error_description="The token \"x\" expired""#,
        );
        assert_eq!(p.get("error").map(String::as_str), Some("invalid_token"));
        assert_eq!(
            p.get("error_description").map(String::as_str),
            Some("The token \"x\" expired")
        );
        assert_eq!(p.get("realm").map(String::as_str), Some("api"));
    }
}
