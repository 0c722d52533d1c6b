//! `candor doctor response FILE|-`: classify a raw HTTP response from a token endpoint (what
//! `curl -i` prints, or a proxy saved): status line, headers, blank line, body.

use candor_client::ErrorKind;
use candor_client::id_token::Expectations;
use candor_client::response::classify_token_response;

use crate::explain;
use crate::finding::{Group, Report, Source};
use crate::id_token::{Checks, Keys, Unverifiable};
use crate::input::InputError;
use crate::redact;

/// Responses larger than this are refused: a token response is a few kilobytes.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn find_blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    let lf = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn parse_status_line(line: &str) -> Option<(String, u16, String)> {
    let mut parts = line.trim().splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    let status: u16 = parts.next()?.trim().parse().ok()?;
    if !(100..=599).contains(&status) {
        return None;
    }
    Some((
        version.to_string(),
        status,
        parts.next().unwrap_or("").trim().to_string(),
    ))
}

/// Parses a raw response. Informational (1xx) blocks and a proxy's `200 Connection
/// established` before the real response are skipped, as `curl -i` prints them.
pub fn parse(bytes: &[u8]) -> Result<HttpResponse, InputError> {
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(InputError::new(format!(
            "the input is {} MB; a token response is a few kilobytes (limit {} MB)",
            bytes.len() / (1024 * 1024),
            MAX_RESPONSE_BYTES / (1024 * 1024)
        )));
    }
    let mut rest = bytes;
    while rest.first().is_some_and(|b| b.is_ascii_whitespace()) {
        rest = rest.get(1..).unwrap_or(&[]);
    }
    if rest.starts_with(&[0xef, 0xbb, 0xbf]) {
        rest = rest.get(3..).unwrap_or(&[]);
    }
    if rest.is_empty() {
        return Err(InputError::new(
            "the input is empty; expected an HTTP response such as `curl -i` prints (status line, headers, blank line, body)",
        ));
    }
    loop {
        let (head_end, body_start) = find_blank_line(rest).unwrap_or((rest.len(), rest.len()));
        let head = rest.get(..head_end).unwrap_or(&[]);
        let head = std::str::from_utf8(head).map_err(|_| {
            InputError::new(
                "not an HTTP response: the input is binary data, not a status line and headers",
            )
        })?;
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or("");
        let Some((version, status, reason)) = parse_status_line(status_line) else {
            let shown: String = status_line
                .chars()
                .take(60)
                .filter(|c| !c.is_control())
                .collect();
            return Err(InputError::new(format!(
                "not an HTTP response: expected a status line such as 'HTTP/1.1 400 Bad Request', found '{shown}' (save the response with `curl -i`, which prints the status line and headers)"
            )));
        };
        let mut headers = Vec::new();
        for (n, line) in lines.enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some((_, v)) = headers.last_mut() {
                    let v: &mut String = v;
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(InputError::new(format!(
                    "line {} of the headers is not 'Name: value': '{}'",
                    n + 2,
                    line.chars().take(60).collect::<String>()
                )));
            };
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let body = rest.get(body_start..).unwrap_or(&[]);
        let next_is_response = body.starts_with(b"HTTP/");
        if (status < 200
            || (status == 200 && reason.eq_ignore_ascii_case("connection established")))
            && next_is_response
        {
            rest = body;
            continue;
        }
        let mut resp = HttpResponse {
            version,
            status,
            reason,
            headers,
            body: body.to_vec(),
        };
        if resp
            .header("transfer-encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
            && let Some(decoded) = dechunk(&resp.body)
        {
            resp.body = decoded;
        }
        if let Some(enc) = resp.header("content-encoding")
            && !enc.eq_ignore_ascii_case("identity")
            && !resp.body.is_empty()
            && std::str::from_utf8(&resp.body).is_err()
        {
            return Err(InputError::new(format!(
                "the body is compressed (Content-Encoding: {enc}); save it decoded, e.g. with `curl -i --compressed`"
            )));
        }
        return Ok(resp);
    }
}

/// Decodes a chunked body; `None` when it is not chunked after all (curl prints it decoded).
fn dechunk(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(rest.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = rest.get(line_end + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size..)?;
        rest = rest.strip_prefix(b"\r\n")?;
    }
}

/// How `doctor response` behaves.
#[derive(Debug, Clone)]
pub struct ResponseOptions {
    pub leeway: i64,
    /// The time to check token times against when the response has no Date header.
    pub now: i64,
}

/// Diagnoses a raw token-endpoint response.
pub fn diagnose(bytes: &[u8], opts: &ResponseOptions, subject: &str) -> Result<Report, InputError> {
    let resp = parse(bytes)?;
    let mut report = Report {
        subject: subject.to_string(),
        ..Report::default()
    };
    let ct = resp.header("content-type");
    report.summary.push(format!(
        "{} {} {}, Content-Type {}, body {} bytes",
        resp.version,
        resp.status,
        resp.reason,
        ct.unwrap_or("(none)"),
        resp.body.len()
    ));
    let mut g = Group::new("Token endpoint response");
    let src = Source::Input {
        name: "the response".into(),
    };
    match classify_token_response(resp.status, ct, resp.header("location"), &resp.body) {
        Ok(tokens) => {
            g.lines
                .push(format!("a successful token response: {}", tokens.summary()));
            if !resp
                .header("cache-control")
                .is_some_and(|c| c.to_ascii_lowercase().contains("no-store"))
            {
                g.lines.push("note: no 'Cache-Control: no-store' header (RFC 6749 section 5.1 requires it on token responses)".into());
            }
            if let Some(idt) = &tokens.id_token {
                let now = resp
                    .header("date")
                    .and_then(|d| httpdate::parse_http_date(d).ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs() as i64);
                check_id_token(idt, tokens.access_token.expose(), now, opts, &mut g);
            }
        }
        Err(ErrorKind::OAuth(err)) => {
            let err = crate::refusal::with_body_words(err, &resp.body);
            let f = explain::oauth_error_finding(&err, "The token endpoint refused the request");
            g.findings
                .push(crate::refusal::with_status_evidence(f, &resp, None).source(src));
        }
        Err(kind) => {
            let f = crate::refusal::explain(&resp, &kind, None).source(src);
            g.findings.push(f);
        }
    }
    crate::finding::merge_same_cause(&mut g.findings);
    if !resp.body.is_empty() {
        g.lines.push(format!(
            "body: {}",
            match std::str::from_utf8(&resp.body) {
                Ok(t) => redact::body(t.trim(), 300),
                Err(_) => format!("<{} bytes of binary data>", resp.body.len()),
            }
        ));
    }
    report.groups.push(g);
    Ok(report)
}

fn check_id_token(
    token: &str,
    access_token: &str,
    date: Option<i64>,
    opts: &ResponseOptions,
    g: &mut Group,
) {
    let src = Source::Input {
        name: "id_token".into(),
    };
    let (now, when) = match date {
        Some(d) => (d, "the response's Date header"),
        None => (opts.now, "now"),
    };
    let checks = Checks {
        // A response alone carries no keys: `candor doctor jwt --jwks` checks the signature.
        keys: Keys::None,
        unverifiable: Unverifiable::Fails,
        claims: Some(Expectations {
            access_token: Some(access_token.to_string()),
            now,
            leeway: opts.leeway,
            require_id_token_claims: true,
            ..Expectations::default()
        }),
    };
    let Some(checked) = crate::id_token::check(
        token,
        &checks,
        |_, f| f.source(src.clone()),
        &mut g.findings,
    ) else {
        return;
    };
    let decoded = &checked.decoded;
    g.lines.push(format!(
        "id_token: alg {}, iss {}, aud {}; times checked against {when}; signature, iss, aud and nonce need `candor doctor jwt` with --jwks, --issuer, --audience, --nonce",
        decoded.alg().unwrap_or("?"),
        decoded.claims.get("iss").map(|v| v.to_string()).unwrap_or_else(|| "(none)".into()),
        decoded.claims.get("aud").map(|v| v.to_string()).unwrap_or_else(|| "(none)".into()),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_proto::Code;

    fn codes(raw: &str) -> Vec<Code> {
        diagnose(raw.as_bytes(), &ResponseOptions { leeway: 60, now: 0 }, "t")
            .unwrap()
            .codes()
    }

    #[test]
    fn parses_what_curl_prints() {
        let r = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"{\"a\":1}");
        let r =
            parse(b"HTTP/2 400 \nContent-Type: application/json\n\n{\"error\":\"invalid_grant\"}")
                .unwrap();
        assert_eq!(r.status, 400);
    }

    #[test]
    fn classifies() {
        assert_eq!(
            codes(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><title>Login</title></html>"
            ),
            vec![Code::ResponseHtml]
        );
        assert_eq!(
            codes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"),
            vec![Code::ResponseEmpty]
        );
        assert_eq!(
            codes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"access_token\":"),
            vec![Code::ResponseMalformedJson]
        );
        assert_eq!(
            codes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}"),
            vec![Code::ResponseMissingAccessToken]
        );
        assert_eq!(
            codes("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n\r\nupstream down"),
            vec![Code::ProviderUnavailable]
        );
        assert_eq!(
            codes(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{\"error\":\"invalid_grant\"}"
            ),
            vec![Code::ResponseOAuthError]
        );
        assert!(codes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\r\n{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}").is_empty());
    }

    #[test]
    fn unusable_input() {
        for (input, expected) in [
            (&b""[..], "empty"),
            (&b"{\"error\":\"x\"}"[..], "status line"),
            (&[0x89, b'P', b'N', b'G', 0, 0xff][..], "binary"),
            (
                &b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"[..],
                "not 'Name: value'",
            ),
            (
                &b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n\x1f\x8b\x08\x00\xff\xfe"[..],
                "compressed",
            ),
        ] {
            let err = parse(input).unwrap_err();
            assert!(
                err.message.contains(expected),
                "{expected}: {}",
                err.message
            );
        }
    }
}
