//! The raw exchange behind a result: what was sent and what came back, secrets redacted.
//!
//! Every [`ClientError`](crate::ClientError) that involved a request carries one, so the person
//! reading the error sees the request line, the headers and the body as they were, minus the
//! credentials ([`crate::redact`]).

use std::fmt;

use serde::Serialize;

use crate::redact;

/// How much of a body an exchange keeps, in characters.
pub const BODY_LIMIT: usize = 4096;

/// A request as sent, redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// A response as received, redacted; `body` is cut to [`BODY_LIMIT`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The length of the whole body in bytes.
    pub body_len: usize,
}

/// One request and, when one arrived, its response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    pub request: RequestRecord,
    pub response: Option<ResponseRecord>,
}

impl RequestRecord {
    /// Records a request; the URL, headers and body are redacted here.
    pub fn new(method: &str, url: &str, headers: &[(String, String)], body: Option<&str>) -> Self {
        RequestRecord {
            method: method.to_string(),
            url: redact::url(url),
            headers: headers
                .iter()
                .map(|(n, v)| (n.clone(), redact::header(n, v)))
                .collect(),
            body: body.map(|b| redact::body(b, BODY_LIMIT)),
        }
    }
}

impl ResponseRecord {
    /// Records a response; headers and body are redacted here.
    pub fn new(status: u16, headers: &[(String, String)], body: &[u8]) -> Self {
        let text = match std::str::from_utf8(body) {
            Ok(t) => redact::body(t, BODY_LIMIT),
            Err(_) => format!("<{} bytes of binary data>", body.len()),
        };
        ResponseRecord {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.clone(), redact::header(n, v)))
                .collect(),
            body: text,
            body_len: body.len(),
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.request;
        writeln!(f, "> {} {}", r.method, r.url)?;
        for (n, v) in &r.headers {
            writeln!(f, "> {n}: {v}")?;
        }
        if let Some(b) = &r.body {
            writeln!(f, ">")?;
            writeln!(f, "> {b}")?;
        }
        match &self.response {
            Some(resp) => {
                writeln!(f, "< {}", resp.status)?;
                for (n, v) in &resp.headers {
                    writeln!(f, "< {n}: {v}")?;
                }
                if !resp.body.is_empty() {
                    writeln!(f, "<")?;
                    for line in resp.body.lines().take(40) {
                        writeln!(f, "< {line}")?;
                    }
                }
                Ok(())
            }
            None => writeln!(f, "< (no response)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_redacted() {
        let req = RequestRecord::new(
            "POST",
            "https://idp.example/token",
            &[("Authorization".into(), "Basic d2ViOnNlY3JldA==".into())],
            Some("grant_type=authorization_code&code=abcdefghijkl"),
        );
        let resp = ResponseRecord::new(
            200,
            &[("Content-Type".into(), "application/json".into())],
            br#"{"access_token":"secret-token-value","token_type":"Bearer"}"#,
        );
        let text = Exchange {
            request: req,
            response: Some(resp),
        }
        .to_string();
        assert!(!text.contains("abcdefghijkl"));
        assert!(!text.contains("secret-token-value"));
        assert!(!text.contains("d2ViOnNlY3JldA=="));
        assert!(text.contains("< 200"));
    }
}
