//! Checks of the front channel: the authorization request (response type, PKCE challenge,
//! secrets in the URL, an error page instead of a login) and the callback (its state, an
//! error it carries, its `iss`).

use candor_proto::Code;
use candor_proto::secret::hint;

use super::Analysis;
use super::correlate::{Authz, Callback, StateMiss};
use super::entry::{entry_line, entry_ref, entry_source, no_response, quote};
use crate::explain::page_cause;
use crate::finding::{Finding, Group, Severity, Source};
use crate::prose::capitalise;
use crate::redact;
use candor_client::response::html_title;

impl Analysis<'_> {
    /// Checks an authorization request, and the page it was answered with.
    pub(super) fn check_authorize(&self, z: &Authz, g: &mut Group) {
        let Some(e) = self.capture.entry(z.entry) else {
            return;
        };
        let src = entry_source(e);
        g.lines.push(format!("authorize  {}", entry_line(e)));
        let mut facts = Vec::new();
        for p in ["response_type", "redirect_uri", "scope", "state", "nonce"] {
            if let Some(v) = z.get(p) {
                facts.push(format!("{p} {}", quote(v)));
            }
        }
        match (z.get("code_challenge"), z.get("code_challenge_method")) {
            (Some(_), m) => facts.push(format!("PKCE {}", m.unwrap_or("plain (no method given)"))),
            (None, _) => facts.push("no PKCE".into()),
        }
        g.lines.push(format!("  {}", facts.join(", ")));

        match z.get("response_type") {
            Some("code") | None => {}
            Some(other) => g.findings.push(
                Finding::new(
                    Code::ResponseTypeUnsupported,
                    Severity::Warning,
                    format!("The authorization request uses response_type {}: the implicit and hybrid flows return tokens in the front channel and were removed from OAuth 2.1.", quote(other)),
                )
                .expected("response_type=code (with PKCE)")
                .received(format!("response_type={other}"))
                .source(src.clone()),
            ),
        }
        if z.get("response_type") == Some("code") || z.get("response_type").is_none() {
            match (z.get("code_challenge"), z.get("code_challenge_method")) {
                (None, _) if z.get("request_uri").is_none() => g.findings.push(
                    Finding::new(
                        Code::PkceChallengeMissing,
                        Severity::Warning,
                        "The authorization request has no code_challenge: without PKCE a stolen authorization code can be redeemed by anyone (RFC 9700 section 2.1.1); OAuth 2.1 requires it.",
                    )
                    .expected("code_challenge=BASE64URL(SHA256(code_verifier)) and code_challenge_method=S256")
                    .received("no code_challenge")
                    .source(src.clone()),
                ),
                (Some(_), m) if m.is_none_or(|m| m.eq_ignore_ascii_case("plain")) => g.findings.push(
                    Finding::new(
                        Code::PkcePlainRefused,
                        Severity::Warning,
                        "The authorization request uses the PKCE 'plain' method: the challenge is the verifier itself, which protects nothing against an attacker who sees the request.",
                    )
                    .expected("code_challenge_method=S256")
                    .received(format!("code_challenge_method={}", m.unwrap_or("(absent, which means plain)")))
                    .source(src.clone()),
                ),
                _ => {}
            }
        }
        if let Some(secret) = z.get("client_secret") {
            g.findings.push(
                Finding::new(
                    Code::ClientSecretInBrowser,
                    Severity::Error,
                    "The authorization request carries client_secret in its URL: it is in the browser's history, the provider's logs and every proxy's.",
                )
                .expected("no client_secret in the front channel")
                .received(format!("client_secret {}", hint(secret)))
                .source(src.clone()),
            );
        }
        if e.status >= 400 {
            let body = e.resp_body.text().unwrap_or("");
            // A JSON error body (Authlib answers so) is read as an OAuth error; a page by
            // the code or phrase it holds.
            let json_error = oauth_error_in(body);
            let what = if json_error.is_some() {
                "an error response"
            } else {
                "an error page"
            };
            let cause = json_error
                .and_then(|(error, desc)| {
                    crate::phrases::in_error(&error, desc.as_deref(), None)
                        .map(|m| (m.code, m.sentence()))
                })
                .or_else(|| page_cause(body));
            let title = html_title(body);
            let code = cause
                .as_ref()
                .map(|c| c.0)
                .unwrap_or(Code::AuthorizationErrorPage);
            // The value the request sent for what the provider refuses: its words rarely
            // repeat it, the request always has it.
            let sent = match code {
                Code::RedirectUriNotRegistered | Code::RedirectUriMismatch => z
                    .get("redirect_uri")
                    .map(|v| format!(", for redirect_uri {}", quote(v))),
                Code::ScopeUnknown | Code::ScopeNotAllowed => {
                    z.get("scope").map(|v| format!(", for scope {}", quote(v)))
                }
                Code::ClientUnknown => z
                    .get("client_id")
                    .map(|v| format!(", for client_id {}", quote(v))),
                _ => None,
            };
            g.findings.push(
                Finding::new(
                    code,
                    Severity::Error,
                    format!(
                        "The authorization endpoint answered {} with {what}{}; the user is stuck there and the client never hears of it. {}",
                        e.status,
                        title.map(|t| format!(" ('{t}')")).unwrap_or_default(),
                        cause
                            .map(|c| c.1)
                            .unwrap_or_else(|| "The usual causes are an unknown client_id or a redirect_uri that is not registered.".into())
                    ),
                )
                .expected("a login page, or a redirect to the redirect_uri")
                .received(format!("HTTP {}{}", e.status, sent.unwrap_or_default()))
                .source(src.clone()),
            );
        } else if e.status == 0 {
            g.findings.push(no_response(e, self.capture.from_browser));
        }
    }

    /// Checks a callback: an error it carries, and its `iss` (RFC 9207).
    pub(super) fn check_callback(&self, cb: &Callback, g: &mut Group) {
        let src = cb.source(self.capture);
        g.lines.push(format!(
            "callback   {}{}",
            match &src {
                Source::Entry { index, method, .. } if !cb.via_location =>
                    format!("log.entries[{index}]  {method} "),
                Source::Entry { index, .. } => format!("Location of log.entries[{index}]: "),
                _ => String::new(),
            },
            redact::cut(&redact::url(&cb.url), 120)
        ));
        if let Some(err) = cb.get("error") {
            let desc = cb.get("error_description");
            let phrase = crate::phrases::in_error(err, desc, None);
            let diag = cb
                .get("diagnosis")
                .and_then(Code::parse)
                .or(phrase.as_ref().map(|m| m.code));
            let meaning = candor_client::response::meaning(err);
            let mut message = format!(
                "The authorization server redirected back with error {}",
                quote(err)
            );
            if let Some(d) = desc {
                message.push_str(&format!(" ({})", quote(d)));
            }
            message.push('.');
            if let Some(m) = meaning {
                message.push_str(&format!(" {}: {}.", m.source, m.meaning));
            }
            if let Some(m) = &phrase {
                message.push(' ');
                message.push_str(&m.sentence());
            }
            let mut f = Finding::new(
                diag.unwrap_or(Code::CallbackError),
                Severity::Error,
                message,
            )
            .expected("code and state in the callback")
            .received(format!(
                "error={err}{}",
                desc.map(|d| format!(", error_description={}", quote(d)))
                    .unwrap_or_default()
            ))
            .source(src.clone())
            .provider_docs(cb.get("error_uri").map(str::to_string));
            if diag.is_none()
                && let Some(m) = meaning
            {
                f = f.fix(capitalise(m.fix));
            }
            g.findings.push(f);
        }
        if let Some(iss) = cb.get("iss")
            && !self.known.issuers.is_empty()
            && !self.known.issuers.iter().any(|i| i == iss)
        {
            g.findings.push(
                Finding::new(
                    Code::CallbackIssMismatch,
                    Severity::Error,
                    "The callback's iss (RFC 9207) is not the issuer of the discovery document in this capture.",
                )
                .expected(self.known.issuers.iter().map(|i| quote(i)).collect::<Vec<_>>().join(" or "))
                .received(quote(iss))
                .source(src),
            );
        }
    }

    /// The finding of a callback that does not echo the state its authorization request sent.
    pub(super) fn state_finding(&self, miss: &StateMiss) -> Finding {
        let (cb, sent) = (&miss.callback, miss.sent.as_str());
        let src = cb.source(self.capture);
        let authz_src = self.capture.entry(miss.authz_entry).map(entry_ref);
        let mut finding = match cb.get("state") {
            None => Finding::new(
                Code::StateMissing,
                Severity::Error,
                "The callback came back without the state the authorization request sent, so the client cannot tie it to its request (CSRF protection fails).",
            )
            .expected(quote(sent))
            .received("no state parameter"),
            Some(got) => Finding::new(
                Code::StateMismatch,
                Severity::Error,
                "The callback's state is not the one the authorization request sent.",
            )
            .expected(quote(sent))
            .received(quote(got)),
        }
        .source(src);
        if let Some(s) = authz_src {
            finding = finding.expected_from(s);
        }
        finding
    }
}

/// The `error` and `error_description` of a JSON error body, if it is one.
fn oauth_error_in(body: &str) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    let error = v.get("error")?.as_str()?.to_string();
    let desc = v
        .get("error_description")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    Some((error, desc))
}
