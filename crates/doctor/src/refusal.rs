//! What a token endpoint's refusal tells when it is not a plain RFC 6749 §5.2 error object:
//! an error object inside a wrapper (a client library's exception, a log line, a Python
//! repr), the provider's words in text, the status code (404, 405, 415, 429, a redirect), a
//! `WWW-Authenticate` header, and the product that answered instead of the provider (nginx,
//! Cloudflare, an AWS load balancer, Akamai) when its page or headers say so.
//!
//! One finding per refusal: the most specific evidence names it, the rest is said in it.

use candor_client::response::error_object;
use candor_client::{ErrorKind, OAuthErrorResponse};
use candor_proto::Code;
use serde_json::Value;

use crate::explain::{self, finding_from_kind, server_code_in};
use crate::finding::{Finding, Severity};
use crate::phrases;
use crate::response::HttpResponse;

/// At most this many `{` are tried as the start of an embedded error object.
const MAX_OBJECT_STARTS: usize = 64;

/// The finding for a refusal that is not a plain error object. `method` is the request's
/// method when it is known (a capture holds it; a saved response does not).
pub fn explain(resp: &HttpResponse, kind: &ErrorKind, method: Option<&str>) -> Finding {
    let text = String::from_utf8_lossy(&resp.body);
    let text = text.trim();
    let what = "The token endpoint refused the request";
    // 1. An error object inside whatever wraps it, or in a WWW-Authenticate header.
    if let Some(err) = embedded_error(resp.status, text) {
        let mut f = explain::oauth_error_finding(&err, what);
        f.message.push_str(
            " (The error object was found inside a body that is not one bare JSON object: a wrapper, a log line or a library's message around the provider's answer.)",
        );
        return f;
    }
    if let Some(err) = www_authenticate_error(resp) {
        let mut f = explain::oauth_error_finding(&err, what);
        f.message.push_str(&format!(
            " (From the WWW-Authenticate header: {}.)",
            resp.header("www-authenticate").unwrap_or("")
        ));
        return f;
    }
    let product = product(resp, text);
    let by = product
        .map(|p| format!(" The answer comes from {p}, in front of the provider."))
        .unwrap_or_default();
    let body_said = if text.is_empty() {
        "no body".to_string()
    } else {
        format!(
            "a body that is not an RFC 6749 error object ({} bytes)",
            text.len()
        )
    };
    let opening = format!("{what}: HTTP {} with {body_said}.{by}", resp.status);
    // 2. The provider's words (or a Candor catalogue code) in the text.
    if !text.is_empty() {
        if let Some(code) = server_code_in(text) {
            return Finding::new(
                code,
                Severity::Error,
                format!(
                    "{opening} The provider names the cause: {code} ({}).",
                    code.entry().title
                ),
            )
            .expected("a successful response")
            .received(format!("HTTP {}", resp.status));
        }
        if let Some(m) = phrases::in_text(text) {
            if m.candidates().is_empty() {
                let mut received = format!("HTTP {}, the words '{}'", resp.status, said(&m));
                if let Some((w, v)) = &m.offending {
                    received.push_str(&format!("; the {w} refused: '{v}'"));
                }
                return Finding::new(
                    m.code,
                    explain::severity_of(m.code),
                    format!("{opening} {}", m.sentence()),
                )
                .expected("a successful response")
                .received(received)
                .provider_docs(
                    Some(m.phrase.source)
                        .filter(|s| s.starts_with("https://"))
                        .map(str::to_string),
                );
            }
            let mut f = Finding::new(
                Code::ResponseOAuthError,
                Severity::Error,
                format!(
                    "{opening} The words '{}' ({}) leave several causes, most likely first: {}.",
                    said(&m),
                    m.phrase.provider,
                    list(m.candidates())
                ),
            )
            .expected("a successful response")
            .received(format!("HTTP {}", resp.status));
            f.candidates = m.candidates().to_vec();
            return f;
        }
    }
    // 3. What answered in front of the provider, when it refused or failed on its own.
    if let Some(f) = page_product(text).and_then(|p| by_product(resp.status, p, &opening)) {
        return f;
    }
    // 4. The status itself.
    if let Some(f) = by_status(resp, method, &opening) {
        return f;
    }
    // 5. What the body is, named generically, with the product and page cause when known.
    let mut f = finding_from_kind(kind, Severity::Error);
    if !by.is_empty() {
        f.message.push_str(&by);
    }
    f
}

/// What a refusal whose body the capture lacks still tells: its `WWW-Authenticate` challenge,
/// the product its headers name, and its status (404, 405, 415, 429, 5xx, a redirect, a 401).
/// `None` when neither says more than "refused" (a bare 400): the caller reports the missing
/// body then.
pub fn explain_without_body(resp: &HttpResponse, method: Option<&str>) -> Option<Finding> {
    let what = "The token endpoint refused the request";
    if let Some(err) = www_authenticate_error(resp) {
        let mut f = explain::oauth_error_finding(&err, what);
        f.message.push_str(&format!(
            " (From the WWW-Authenticate header: {}; the capture does not include the body.)",
            resp.header("www-authenticate").unwrap_or("")
        ));
        return Some(f);
    }
    let by = product(resp, "")
        .map(|p| format!(" The answer comes from {p}, in front of the provider."))
        .unwrap_or_default();
    let opening = format!(
        "{what}: HTTP {}; the capture does not include the body of its answer.{by}",
        resp.status
    );
    by_status(resp, method, &opening)
}

/// An error object whose words name no cause and leave no candidates (a framework's
/// `{"error":"Method Not Allowed"}`, a bare `invalid_request`), corrected by a status that
/// names one by itself: 404 or 405 (the URL or the method), 415 (the content type), 429
/// (throttling), 502-504 (the provider down). Other findings are returned as they are.
pub fn with_status_evidence(f: Finding, resp: &HttpResponse, method: Option<&str>) -> Finding {
    if f.code != Code::ResponseOAuthError || !f.candidates.is_empty() {
        return f;
    }
    if !matches!(resp.status, 404 | 405 | 415 | 429 | 502..=504) {
        return f;
    }
    let Some(by) = by_status(resp, method, "") else {
        return f;
    };
    // A status that leaves candidates (a 404 without the method) keeps the generic code.
    if !by.candidates.is_empty() {
        return f;
    }
    let mut f = f;
    f.message.push_str(&format!(
        " The words name no cause, the status does:{}",
        by.message
    ));
    f.code = by.code;
    f.fix = by.code.entry().fix.to_string();
    f
}

/// Members in which providers and frameworks put their words when they send no
/// `error_description`: Hydra's `error_hint`, league/oauth2-server's `hint` and `message`, Spring
/// Boot's `message`, Slack's `response_metadata.messages`, others' `detail`.
const WORD_MEMBERS: &[&str] = &[
    "error_hint",
    "hint",
    "message",
    "messages",
    "detail",
    "error_message",
];

/// At most this deep into a body's JSON for [`WORD_MEMBERS`].
const MAX_WORD_DEPTH: usize = 4;

/// An error object without `error_description`, given the words its body holds in other
/// members ([`WORD_MEMBERS`]) as its description, so that the phrase table reads them. An
/// object with a description, or a body without such words, is returned as it is.
pub fn with_body_words(mut err: OAuthErrorResponse, body: &[u8]) -> OAuthErrorResponse {
    if err.description.is_some() {
        return err;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return err;
    };
    let mut words = Vec::new();
    collect_words(&v, 0, &mut words);
    if !words.is_empty() {
        err.description = Some(words.join(" "));
    }
    err
}

fn collect_words(v: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_WORD_DEPTH {
        return;
    }
    let Value::Object(map) = v else { return };
    for (k, member) in map {
        if WORD_MEMBERS.contains(&k.as_str()) {
            match member {
                Value::String(t) => out.push(t.clone()),
                Value::Array(items) => {
                    out.extend(items.iter().filter_map(Value::as_str).map(str::to_string))
                }
                _ => {}
            }
        } else if member.is_object() {
            collect_words(member, depth + 1, out);
        }
    }
}

/// The words of a phrase as the row has them.
fn said(m: &phrases::Match) -> String {
    match m.phrase.matcher {
        phrases::Matcher::Error(e) => e.to_string(),
        phrases::Matcher::Aadsts(n) => format!("AADSTS{n}"),
        phrases::Matcher::Description { contains, .. } | phrases::Matcher::Page(contains) => {
            contains.trim().to_string()
        }
        phrases::Matcher::Exact { description, .. } => description.to_string(),
        phrases::Matcher::Structure { object, condition } => format!("the {object}: {condition}"),
    }
}

fn list(codes: &[Code]) -> String {
    codes
        .iter()
        .map(|c| format!("{c} ({})", c.entry().title.trim_end_matches('.')))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A refusal or failure of the product in front of the provider (its own page, or its
/// headers): a 403 (or a challenge) is its firewall's block, a 5xx its upstream failing. The
/// provider itself never saw a blocked request, so its words are not there to read.
fn by_product(status: u16, product: &str, opening: &str) -> Option<Finding> {
    let (code, sentence) = match status {
        401 | 403 | 406 | 429 | 451 => (
            Code::ProxyBlocked,
            "A firewall, bot rule or access list in front of the provider refused the request before it reached the token endpoint.",
        ),
        502..=504 => (
            Code::ProviderUnavailable,
            "The product in front of the provider could not get an answer from it (down, overloaded or timed out).",
        ),
        _ => return None,
    };
    Some(
        Finding::new(code, Severity::Error, format!("{opening} {sentence}"))
            .expected("a successful response")
            .received(format!("HTTP {status}, a page of {product}")),
    )
}

/// What the status says when the body does not: a wrong URL, a refused method, a refused
/// content type, throttling, a redirect, a 401's challenge.
fn by_status(resp: &HttpResponse, method: Option<&str>, opening: &str) -> Option<Finding> {
    let status = resp.status;
    let received = format!("HTTP {status}");
    let one = |code: Code, sentence: String| {
        Finding::new(code, Severity::Error, format!("{opening} {sentence}"))
            .expected("a successful response")
            .received(received.clone())
    };
    let several = |codes: &[Code], sentence: String| {
        let mut f = Finding::new(
            Code::ResponseErrorWithoutBody,
            Severity::Error,
            format!("{opening} {sentence} Most likely first: {}.", list(codes)),
        )
        .expected("a successful response")
        .received(received.clone());
        f.candidates = codes.to_vec();
        f
    };
    let post = method.map(|m| m.eq_ignore_ascii_case("POST"));
    Some(match status {
        404 => match post {
            Some(true) => one(
                Code::TokenEndpointNotFound,
                "HTTP 404 to a POST: this URL is not the token endpoint (a typo in the path, a missing tenant or realm segment, a trailing slash, another host). Take token_endpoint from the discovery document.".into(),
            ),
            Some(false) => one(
                Code::TokenRequestNotPost,
                "HTTP 404 to a request that is not a POST: many frameworks route the token endpoint for POST only and answer anything else with 404.".into(),
            ),
            None => several(
                &[Code::TokenEndpointNotFound, Code::TokenRequestNotPost],
                "HTTP 404 at a token URL: the URL is not the token endpoint, or the request was not a POST (many frameworks route the token endpoint for POST only). The request's method and URL against discovery's token_endpoint tell which.".into(),
            ),
        },
        405 => match post {
            Some(true) => one(
                Code::TokenEndpointNotFound,
                "HTTP 405 to a POST: what answered does not take POST at this URL, so it is not the token endpoint (a static page, a web server in front, a wrong path).".into(),
            ),
            _ => one(
                Code::TokenRequestNotPost,
                "HTTP 405 Method Not Allowed: the token endpoint takes only POST with a form body (RFC 6749 section 3.2); if the request was a POST, this URL is not the token endpoint.".into(),
            ),
        },
        502..=504 => one(
            Code::ProviderUnavailable,
            format!("HTTP {status}: the provider (or a gateway before it) is down, overloaded or timed out; the request was not judged. Retry with backoff."),
        ),
        415 => one(
            Code::TokenRequestUnsupportedContentType,
            "HTTP 415 Unsupported Media Type: the token endpoint takes only application/x-www-form-urlencoded bodies (RFC 6749 section 3.2).".into(),
        ),
        429 => one(
            Code::RateLimitExceeded,
            format!(
                "HTTP 429 Too Many Requests: the provider throttles this client{}.",
                resp.header("retry-after")
                    .map(|r| format!("; Retry-After: {r}"))
                    .unwrap_or_default()
            ),
        ),
        300..=399 => {
            let to = resp.header("location").unwrap_or("(no Location)");
            let mut f = Finding::new(
                Code::ResponseErrorWithoutBody,
                Severity::Error,
                format!("{opening} A redirect at the token endpoint, to {to}: clients do not follow a redirect for a token POST (the body would be lost). A proxy sends plain http to https, a login page intercepts the call, or the path lacks what the server expects (/token against /token/, a tenant segment). Call the URL the redirect names, or the token_endpoint of the discovery document."),
            )
            .expected("a JSON token response")
            .received(format!("HTTP {status}, Location: {to}"));
            f.candidates = vec![Code::TokenEndpointNotFound, Code::TransportInsecureHttp];
            f
        }
        401 => {
            let challenge = resp.header("www-authenticate");
            let mut f = several(
                explain::INVALID_CLIENT_CANDIDATES,
                match challenge {
                    Some(c) => format!("HTTP 401 with WWW-Authenticate: {c}: the endpoint wants client credentials and refused or did not receive them."),
                    None => "HTTP 401: the endpoint refused the client's credentials, or received none.".into(),
                },
            );
            f.code = Code::ResponseErrorWithoutBody;
            f
        }
        _ => return None,
    })
}

/// The product whose own page the body is. Headers alone do not say it: a provider's own
/// refusal passes through Cloudflare or nginx with their headers on it.
fn page_product(text: &str) -> Option<&'static str> {
    let bare = HttpResponse {
        version: String::new(),
        status: 0,
        reason: String::new(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    product(&bare, text)
}

/// The product that answered in front of the provider, when its page or headers say so.
pub fn product(resp: &HttpResponse, text: &str) -> Option<&'static str> {
    let server = resp.header("server").unwrap_or("").to_ascii_lowercase();
    let t = text.to_ascii_lowercase();
    if server.contains("cloudflare")
        || resp.header("cf-ray").is_some()
        || t.contains("cdn-cgi/")
        || t.contains("cloudflare ray id")
        || t.contains("cf-challenge")
        || t.contains("attention required! | cloudflare")
    {
        return Some(if t.contains("just a moment") || t.contains("challenge") {
            "Cloudflare (a bot challenge page: an HTTP client cannot pass it; the provider must exempt its token endpoint)"
        } else {
            "Cloudflare"
        });
    }
    if server.contains("awselb") || t.contains("awselb") {
        return Some("an AWS Application Load Balancer");
    }
    if server.contains("cloudfront") || t.contains("generated by cloudfront") {
        return Some("Amazon CloudFront (a WAF rule or the distribution's error page)");
    }
    if server.contains("akamaighost")
        || (t.contains("access denied") && t.contains("reference #"))
        || t.contains("akamai")
    {
        return Some("Akamai (its WAF's Access Denied page)");
    }
    if server.starts_with("nginx") || t.contains("<center>nginx") {
        return Some("nginx");
    }
    if server.contains("microsoft-azure-application-gateway")
        || t.contains("microsoft-azure-application-gateway")
    {
        return Some("Azure Application Gateway");
    }
    None
}

/// An RFC 6749 error object inside a body that is not one: JSON after a library's message, an
/// escaped JSON string, a Python dict, a query string with `error=`.
pub fn embedded_error(status: u16, text: &str) -> Option<OAuthErrorResponse> {
    let candidates = [
        text.to_string(),
        text.replace("\\\"", "\""),
        python_to_json(text),
        node_inspect_to_json(text),
    ];
    for t in &candidates {
        for (i, _) in t.match_indices('{').take(MAX_OBJECT_STARTS) {
            let Some(rest) = t.get(i..) else { continue };
            let mut it = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
            if let Some(Ok(v)) = it.next()
                && let Some(e) = error_object(status, &v)
                && !e.error.is_empty()
            {
                return Some(e);
            }
        }
    }
    // error="...", error_description="..." (a challenge or a library's summary of one).
    if text.contains("error=\"")
        && let Some(e) = auth_params(text, status)
    {
        return Some(e);
    }
    // error=...&error_description=... (a redirect's query, a form-encoded answer).
    let query = text
        .split(['?', ' ', '\n'])
        .find(|part| part.starts_with("error=") || part.contains("&error="))?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.trim().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Some(OAuthErrorResponse {
        status,
        error: get("error")?,
        description: get("error_description"),
        uri: get("error_uri"),
        diagnosis: None,
    })
}

/// A Python dict repr as JSON, roughly: quotes, True/False/None.
fn python_to_json(text: &str) -> String {
    text.replace('\'', "\"")
        .replace(": False", ": false")
        .replace(": True", ": true")
        .replace(": None", ": null")
}

/// Node's `util.inspect` of an error object (what `console.log(err.data)` prints, and what
/// issue threads about Node clients quote) as JSON, roughly: its single quotes, and its bare
/// keys for the members an error object has.
fn node_inspect_to_json(text: &str) -> String {
    let mut out = python_to_json(text);
    for key in ["error_description", "error_uri", "error"] {
        let bare = format!("{key}:");
        let mut quoted = String::with_capacity(out.len() + 8);
        let mut rest = out.as_str();
        while let Some(at) = rest.find(&bare) {
            let (before, after) = rest.split_at(at);
            quoted.push_str(before);
            // A key only where a member starts: after `{` or `,` (and spaces or line breaks),
            // not inside a word (`invalid_error:`) or a quoted value.
            let starts_member = before
                .trim_end()
                .chars()
                .next_back()
                .is_some_and(|c| c == '{' || c == ',');
            if starts_member {
                quoted.push_str(&format!("\"{key}\":"));
            } else {
                quoted.push_str(&bare);
            }
            rest = after.get(bare.len()..).unwrap_or("");
        }
        quoted.push_str(rest);
        out = quoted;
    }
    out
}

/// RFC 6750 section 3: `WWW-Authenticate: Bearer error="...", error_description="..."`.
fn www_authenticate_error(resp: &HttpResponse) -> Option<OAuthErrorResponse> {
    auth_params(resp.header("www-authenticate")?, resp.status)
}

/// An error object written as quoted auth-params, `error="…", error_description="…"`: a
/// `WWW-Authenticate` challenge, or the same summary a library prints (Spring Security OAuth's
/// `OAuth Error error="invalid_grant", error_description="…"`).
fn auth_params(h: &str, status: u16) -> Option<OAuthErrorResponse> {
    let param = |name: &str| -> Option<String> {
        let lower = h.to_ascii_lowercase();
        let at = lower.find(&format!("{name}="))? + name.len() + 1;
        let rest = h.get(at..)?;
        let v = if let Some(q) = rest.strip_prefix('"') {
            q.split('"').next()?
        } else {
            rest.split([',', ' ']).next()?
        };
        Some(v.to_string())
    };
    Some(OAuthErrorResponse {
        status,
        error: param("error")?,
        description: param("error_description"),
        uri: param("error_uri"),
        diagnosis: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            version: "HTTP/1.1".into(),
            status,
            reason: String::new(),
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn error_objects_inside_wrappers() {
        for t in [
            "Client error: `POST https://x/token` resulted in a `400 Bad Request` response:\n{\"error\":\"invalid_grant\"}",
            "RefreshError('invalid_client: x', {'error': 'invalid_client', 'error_description': 'x'})",
            "{\\\"error\\\":\\\"invalid_client\\\"}",
            "Location: https://app/cb?error=invalid_scope&error_description=bad",
            // Node's console.log of the provider's answer.
            "{ error: 'server_error',\n  error_description:\n   'could not retrieve user profile' }",
        ] {
            assert!(embedded_error(400, t).is_some(), "{t}");
        }
        assert!(embedded_error(400, "{\"a\":1} plain text").is_none());
        let e = embedded_error(
            500,
            "{ error: 'invalid_grant', error_description: 'Bad Request' }",
        )
        .unwrap();
        assert_eq!(
            (e.error.as_str(), e.description.as_deref()),
            ("invalid_grant", Some("Bad Request"))
        );
        // Quoted auth-params, as Spring Security OAuth prints its OAuth2Exception.
        let e = embedded_error(
            400,
            "OAuth Error error=\"invalid_grant\", error_description=\"Invalid redirect: x does not match one of the registered values.\"",
        )
        .unwrap();
        assert_eq!(e.error, "invalid_grant");
        assert!(e.description.unwrap().starts_with("Invalid redirect"));
        // A key-like word inside a value is left alone.
        assert_eq!(
            node_inspect_to_json("{ error: 'x', note: 'the error: y' }"),
            "{ \"error\": \"x\", note: \"the error: y\" }"
        );
    }

    #[test]
    fn words_outside_error_description_are_read() {
        let err = OAuthErrorResponse {
            status: 400,
            error: "bad_redirect_uri".into(),
            description: None,
            uri: None,
            diagnosis: None,
        };
        let body = br#"{"ok":false,"error":"bad_redirect_uri","response_metadata":{"messages":["[WARN] redirect url must use https"]}}"#;
        let err = with_body_words(err, body);
        assert_eq!(
            err.description.as_deref(),
            Some("[WARN] redirect url must use https")
        );
        // Not JSON, or a description already: unchanged.
        let same = with_body_words(err.clone(), b"not json");
        assert_eq!(same, err);
    }

    #[test]
    fn a_status_names_what_empty_words_do_not() {
        let err = OAuthErrorResponse {
            status: 405,
            error: "Method Not Allowed".into(),
            description: None,
            uri: None,
            diagnosis: None,
        };
        let f = explain::oauth_error_finding(&err, "x");
        let f = with_status_evidence(f, &resp(405, &[], "{}"), None);
        assert_eq!(f.code, Code::TokenRequestNotPost);
        // Candidates stay candidates: a status does not pick one of them.
        let err = OAuthErrorResponse {
            status: 404,
            error: "invalid_client".into(),
            description: None,
            uri: None,
            diagnosis: None,
        };
        let f = explain::oauth_error_finding(&err, "x");
        let f = with_status_evidence(f, &resp(404, &[], "{}"), Some("POST"));
        assert_eq!(f.code, Code::ResponseOAuthError);
        // A WAF's page at 403 and a gateway's 503.
        let page = "<html><title>Attention Required! | Cloudflare</title></html>";
        let kind = ErrorKind::ErrorWithoutBody {
            status: 403,
            content_type: None,
            location: None,
        };
        assert_eq!(
            explain(&resp(403, &[], page), &kind, None).code,
            Code::ProxyBlocked
        );
        assert_eq!(
            explain(&resp(503, &[], ""), &kind, None).code,
            Code::ProviderUnavailable
        );
        // Cloudflare's headers on the provider's own empty 401 do not make it a block.
        assert_ne!(
            explain(&resp(401, &[("CF-Ray", "1")], ""), &kind, None).code,
            Code::ProxyBlocked
        );
    }

    #[test]
    fn status_and_products() {
        let kind = ErrorKind::ErrorWithoutBody {
            status: 404,
            content_type: None,
            location: None,
        };
        let f = explain(&resp(404, &[], ""), &kind, Some("POST"));
        assert_eq!(f.code, Code::TokenEndpointNotFound);
        let f = explain(&resp(404, &[], ""), &kind, None);
        assert_eq!(f.code, Code::ResponseErrorWithoutBody);
        assert_eq!(f.candidates[0], Code::TokenEndpointNotFound);
        let page = "<html><head><title>405 Not Allowed</title></head><body><center>nginx/1.4.1</center></body></html>";
        assert_eq!(product(&resp(405, &[], page), page), Some("nginx"));
        let f = explain(
            &resp(
                401,
                &[(
                    "WWW-Authenticate",
                    "Bearer error=\"invalid_token\", error_description=\"expired\"",
                )],
                "",
            ),
            &kind,
            None,
        );
        assert!(f.message.contains("WWW-Authenticate"), "{}", f.message);
    }
}
