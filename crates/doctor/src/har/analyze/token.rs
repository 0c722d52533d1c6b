//! Checks of the token exchange: how the request was sent (POST, a form, each parameter
//! once, a grant_type), the grant (a code redeemed once, with the authorization request's
//! redirect_uri, client and PKCE verifier; a refresh token used once) and the response.

use std::collections::{BTreeMap, HashMap};

use candor_client::error::ErrorKind;
use candor_client::response::classify_token_response;
use candor_proto::Code;
use candor_proto::form::BodyKind;
use candor_proto::secret::hint;

use super::Analysis;
use super::correlate::{Flow, Issued};
use super::entry::{body_missing, entry_line, entry_ref, entry_source, no_response, quote};
use super::params::{body_params, first, token_client_id};
use crate::explain;
use crate::finding::{Finding, Group, Severity, Source};
use crate::har::load::{Body, Entry};
use crate::refusal;
use crate::response::HttpResponse;

/// What the capture has redeemed so far, in time order: each code and refresh token with the
/// entry that first used it.
#[derive(Debug, Default)]
pub(super) struct Redeemed {
    pub(super) codes: HashMap<String, usize>,
    pub(super) refresh: HashMap<String, usize>,
}

/// The grant types RFC 6749 names; any other is an absolute URI (section 4.5), so a bare word
/// outside this list is a mistake whatever the provider supports.
const DEFINED_GRANTS: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
];

/// Whether `got` is `want` with one or two characters changed (authorisation_code).
fn nearly(want: &str, got: &str) -> bool {
    want.len() == got.len()
        && want
            .chars()
            .zip(got.chars())
            .filter(|(a, b)| !a.eq_ignore_ascii_case(b))
            .count()
            <= 2
}

/// What to do about a refused refresh (invalid_grant at the refresh_token grant).
const REFRESH_INVALID_GRANT_FIX: &str = "Send the latest refresh token: rotation replaces it on every use, and presenting an older one is a reuse that careful providers answer by revoking the whole family. Send it with the client it was issued to, and never wider scopes than it was granted; if it expired or was revoked, the user signs in again.";

/// What a token request sent that explains its answer: its grant_type and the client
/// authentication it used (as [`Analysis::client_auth`] names it).
struct Sent<'a> {
    grant: Option<&'a str>,
    auth: &'a str,
}

impl Analysis<'_> {
    /// Checks a token request and its response.
    pub(super) fn check_token(
        &self,
        e: &Entry,
        flow: &Flow,
        issued: &HashMap<usize, Issued>,
        redeemed: &mut Redeemed,
        g: &mut Group,
    ) {
        let src = entry_source(e);
        g.lines.push(format!("token      {}", entry_line(e)));
        let (kind, body) = body_params(e);
        let mut params = body.clone();
        params.extend(e.query());

        // Where it was sent: the token endpoint discovery names, when the capture has one.
        if !self.known.token.is_empty() && !self.known.token.contains(&e.endpoint()) {
            let mut named: Vec<&String> = self.known.token.iter().collect();
            named.sort();
            let named = named
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let refused = matches!(e.status, 404 | 405);
            g.findings.push(
                Finding::new(
                    Code::DiscoveryEndpointMismatch,
                    if refused {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    format!(
                        "The token request went to {}, but the discovery document names {named} as the token endpoint{}.",
                        e.endpoint(),
                        if refused {
                            format!(": the HTTP {} is what a wrong URL gets", e.status)
                        } else {
                            String::new()
                        }
                    ),
                )
                .expected(named.clone())
                .received(e.endpoint())
                .source(src.clone()),
            );
        }

        // How the request was sent.
        if e.method != "POST" {
            g.findings.push(
                Finding::new(
                    Code::TokenRequestNotPost,
                    Severity::Error,
                    format!("The token request is a {}; the token endpoint accepts only POST with a form body (RFC 6749 section 3.2).", e.method),
                )
                .expected("POST")
                .received(e.method.clone())
                .source(src.clone()),
            );
        }
        if e.method == "POST" {
            match (kind, &e.req_body) {
                (_, Body::None) | (_, Body::Empty) => g.findings.push(
                    Finding::new(
                        Code::TokenRequestMissingParameter,
                        Severity::Error,
                        "The token request has no body, so grant_type and the other parameters are missing.",
                    )
                    .expected("a form body with grant_type")
                    .received("no body")
                    .source(src.clone()),
                ),
                (BodyKind::Form, _) => {}
                (BodyKind::Json, _) => g.findings.push(
                    Finding::new(
                        Code::TokenRequestJsonBody,
                        Severity::Error,
                        "The token request body is JSON; OAuth token requests are forms (RFC 6749 section 3.2), and most providers refuse JSON.",
                    )
                    .expected("Content-Type: application/x-www-form-urlencoded")
                    .received(format!("Content-Type: {}", e.req_content_type.as_deref().unwrap_or("")))
                    .source(src.clone()),
                ),
                (BodyKind::Missing, _) => g.findings.push(
                    Finding::new(
                        Code::TokenRequestUnsupportedContentType,
                        Severity::Error,
                        "The token request has a body but no Content-Type header.",
                    )
                    .expected("Content-Type: application/x-www-form-urlencoded")
                    .received("no Content-Type")
                    .source(src.clone()),
                ),
                (BodyKind::Other, _) => g.findings.push(
                    Finding::new(
                        Code::TokenRequestUnsupportedContentType,
                        Severity::Error,
                        "The token request body is not a form.",
                    )
                    .expected("Content-Type: application/x-www-form-urlencoded")
                    .received(format!("Content-Type: {}", e.req_content_type.as_deref().unwrap_or("")))
                    .source(src.clone()),
                ),
            }
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (n, _) in &body {
            *counts.entry(n.as_str()).or_default() += 1;
        }
        let dups: Vec<&str> = counts
            .iter()
            .filter(|(n, c)| **c > 1 && **n != "resource")
            .map(|(n, _)| *n)
            .collect();
        if !dups.is_empty() {
            g.findings.push(
                Finding::new(
                    Code::TokenRequestDuplicateParameter,
                    Severity::Error,
                    format!("The token request sends {} more than once (RFC 6749 section 3.2 forbids it; often a library adds a parameter the caller also added).", dups.join(", ")),
                )
                .expected("each parameter once")
                .received(dups.iter().map(|d| format!("{d} x{}", counts.get(d).copied().unwrap_or(0))).collect::<Vec<_>>().join(", "))
                .source(src.clone()),
            );
        }
        let grant = first(&params, "grant_type");
        if grant.is_none() && !matches!(e.req_body, Body::None | Body::Empty) {
            g.findings.push(
                Finding::new(
                    Code::TokenRequestMissingParameter,
                    Severity::Error,
                    "The token request has no grant_type.",
                )
                .expected("grant_type=authorization_code, refresh_token or client_credentials")
                .received("no grant_type")
                .source(src.clone()),
            );
        }

        if let Some(value) = grant
            && !DEFINED_GRANTS.contains(&value)
            && !value.contains(':')
        {
            let near = DEFINED_GRANTS
                .iter()
                .find(|d| nearly(d, value))
                .map(|d| format!(" It is nearly '{d}': a typo?"))
                .unwrap_or_default();
            g.findings.push(
                Finding::new(
                    Code::GrantTypeUnsupported,
                    Severity::Error,
                    format!(
                        "The token request's grant_type {} is not a grant type: RFC 6749 names authorization_code, refresh_token, client_credentials and password, and every other grant type is an absolute URI (section 4.5).{near}",
                        quote(value)
                    ),
                )
                .expected("grant_type=authorization_code, refresh_token, client_credentials, or an absolute URI")
                .received(format!("grant_type={value}"))
                .source(src.clone()),
            );
        }

        // Client authentication.
        let auth = self.client_auth(e, &params, &src, g);
        g.lines.push(format!(
            "  grant_type {}, client authentication: {auth}",
            grant.unwrap_or("(none)")
        ));

        // Grant-specific checks.
        if grant == Some("authorization_code") {
            self.check_code_grant(e, flow, &params, &src, &mut redeemed.codes, g);
        }
        if grant == Some("refresh_token")
            && let Some(rt) = first(&params, "refresh_token")
        {
            match redeemed.refresh.get(rt) {
                Some(prev) => g.findings.push(
                    Finding::new(
                        Code::RefreshTokenReused,
                        Severity::Warning,
                        format!("The same refresh token {} was used again; it was first used at log.entries[{prev}]. With rotating refresh tokens (OAuth 2.1) the second use fails and revokes the whole family.", hint(rt)),
                    )
                    .expected("the new refresh_token from the previous refresh response")
                    .received(format!("refresh_token {}, already used at log.entries[{prev}]", hint(rt)))
                    .source(src.clone()),
                ),
                None => {
                    redeemed.refresh.insert(rt.to_string(), e.index);
                }
            }
        }

        // The response.
        let sent = Sent { grant, auth: &auth };
        self.check_token_response(e, flow, &sent, issued, &src, g);
    }

    /// How long after its callback a code was redeemed. Providers expire codes in 30–60 s (some
    /// in 10, RFC 6749 §4.1.2 says at most 10 minutes): a refused redemption that late is most
    /// likely an expired code; one that worked is a note, since a stricter provider would not
    /// have taken it.
    fn check_code_age(
        &self,
        e: &Entry,
        callback_entry: usize,
        gap_ms: i64,
        src: &Source,
        g: &mut Group,
    ) {
        /// A late redemption, by this machine's clock in the capture.
        const LATE_REFUSED_MS: i64 = 10_000;
        const LATE_ACCEPTED_MS: i64 = 30_000;
        let seconds = gap_ms / 1000;
        if (400..500).contains(&e.status) && gap_ms >= LATE_REFUSED_MS {
            g.findings.push(
                Finding::new(
                    Code::CodeExpired,
                    Severity::Error,
                    format!(
                        "The code was redeemed {seconds} s after the callback delivered it (log.entries[{callback_entry}]); many providers expire codes in 30 to 60 seconds, some in 10, so the refusal most likely means the code had expired."
                    ),
                )
                .expected("the code redeemed within a few seconds of the callback")
                .received(format!("redeemed {seconds} s after the callback (HTTP {})", e.status))
                .source(src.clone()),
            );
        } else if (200..300).contains(&e.status) && gap_ms >= LATE_ACCEPTED_MS {
            g.lines.push(format!(
                "  note: the code was redeemed {seconds} s after the callback; this provider took it, one that expires codes sooner would answer invalid_grant"
            ));
        }
    }

    /// Checks an authorization_code grant against its callback and authorization request.
    fn check_code_grant(
        &self,
        e: &Entry,
        flow: &Flow,
        params: &[(String, String)],
        src: &Source,
        seen_codes: &mut HashMap<String, usize>,
        g: &mut Group,
    ) {
        let code = first(params, "code");
        match code {
            None => g.findings.push(
                Finding::new(
                    Code::TokenRequestMissingParameter,
                    Severity::Error,
                    "The authorization_code token request has no code.",
                )
                .expected("the code from the callback")
                .received("no code")
                .source(src.clone()),
            ),
            Some(c) => {
                if let Some(prev) = seen_codes.get(c) {
                    let outcome = if (200..300).contains(&e.status) {
                        " The provider accepted it again, which it must not (RFC 6749 section 4.1.2): report this to the provider."
                    } else {
                        ""
                    };
                    g.findings.push(
                        Finding::new(
                            Code::CodeReused,
                            Severity::Error,
                            format!("The authorization code {} was posted to the token endpoint twice: first at log.entries[{prev}], again here. Codes are single-use; the second redemption fails and a careful provider also revokes the tokens from the first.{outcome}", hint(c)),
                        )
                        .expected("each code redeemed once")
                        .received(format!("code {} redeemed again (HTTP {})", hint(c), e.status))
                        .source(src.clone()),
                    );
                } else {
                    seen_codes.insert(c.to_string(), e.index);
                }
                if !flow.callbacks.is_empty()
                    && !flow.callbacks.iter().any(|cb| cb.get("code") == Some(c))
                {
                    let got: Vec<String> = flow
                        .callbacks
                        .iter()
                        .filter_map(|cb| cb.get("code"))
                        .map(hint)
                        .collect();
                    g.lines.push(format!(
                        "  note: code {} is not the one the callback received ({})",
                        hint(c),
                        got.join(", ")
                    ));
                }
                if let Some(cb) = flow.callbacks.iter().find(|cb| cb.get("code") == Some(c)) {
                    self.check_code_age(e, cb.entry, e.started_ms - cb.started_ms, src, g);
                }
            }
        }
        let Some(z) = &flow.authz else {
            g.lines.push("  the authorization request of this code is not in the capture: redirect_uri, PKCE and client_id are not compared".into());
            return;
        };
        let authz_src = self.capture.entry(z.entry).map(entry_ref);
        let with_from = |f: Finding| match &authz_src {
            Some(s) => f.expected_from(s.clone()),
            None => f,
        };
        // redirect_uri.
        match (z.get("redirect_uri"), first(params, "redirect_uri")) {
            (Some(sent), None) => g.findings.push(with_from(
                Finding::new(
                    Code::RedirectUriMissing,
                    Severity::Error,
                    "The authorization request sent a redirect_uri, so the token request must repeat it (RFC 6749 section 4.1.3), and it has none.",
                )
                .expected(quote(sent))
                .received("no redirect_uri")
                .source(src.clone()),
            )),
            (Some(sent), Some(got)) => {
                if let Some(miss) = crate::redirect_uri::classify(sent, got) {
                    let detail = if miss.code == Code::RedirectUriMismatch {
                        format!("they differ in {}", miss.differing.join(", "))
                    } else {
                        format!("a near miss: {}", miss.kind)
                    };
                    g.findings.push(with_from(
                        Finding::new(
                            miss.code,
                            Severity::Error,
                            format!("The redirect_uri of the token request differs from the one of the authorization request ({detail}); providers compare them as exact strings and answer invalid_grant."),
                        )
                        .expected(quote(sent))
                        .received(quote(got))
                        .source(src.clone()),
                    ));
                }
            }
            _ => {}
        }
        // client_id.
        if let (Some(authz_client), Some(token_client)) = (z.get("client_id"), token_client_id(e))
            && authz_client != token_client
        {
            g.findings.push(with_from(
                Finding::new(
                    Code::CodeClientMismatch,
                    Severity::Error,
                    "The token request is made by another client than the authorization request; the code belongs to the client it was issued to.",
                )
                .expected(format!("client_id {}", quote(authz_client)))
                .received(format!("client_id {}", quote(&token_client)))
                .source(src.clone()),
            ));
        }
        // PKCE.
        let challenge = z.get("code_challenge");
        let method = z.get("code_challenge_method").unwrap_or("plain");
        let verifier = first(params, "code_verifier");
        match (challenge, verifier) {
            (Some(ch), None) => g.findings.push(with_from(
                Finding::new(
                    Code::PkceVerifierMissing,
                    Severity::Error,
                    "The authorization request sent a code_challenge, but the token request has no code_verifier.",
                )
                .expected(format!("a code_verifier whose {method} is {}", quote(ch)))
                .received("no code_verifier")
                .source(src.clone()),
            )),
            (None, Some(v)) => g.findings.push(with_from(
                Finding::new(
                    Code::PkceVerifierUnexpected,
                    Severity::Error,
                    "The token request sends a code_verifier, but the authorization request had no code_challenge; providers refuse this as a PKCE downgrade (RFC 9700 section 2.1.1).",
                )
                .expected("a code_challenge in the authorization request")
                .received(format!("code_verifier {}", hint(v)))
                .source(src.clone()),
            )),
            (Some(ch), Some(v)) => {
                if let Some(problem) = crate::pkce::verifier_problem(v) {
                    g.findings.push(
                        Finding::new(
                            Code::PkceVerifierMalformed,
                            Severity::Error,
                            format!("The code_verifier is malformed: {problem}."),
                        )
                        .expected(crate::pkce::VERIFIER_RULE)
                        .received(format!("code_verifier {}", hint(v)))
                        .source(src.clone()),
                    );
                }
                if !crate::pkce::matches(method, v, ch) {
                    let computed = if method.eq_ignore_ascii_case("plain") {
                        hint(v)
                    } else {
                        crate::pkce::s256(v)
                    };
                    g.findings.push(with_from(
                        Finding::new(
                            Code::PkceVerifierMismatch,
                            Severity::Error,
                            format!("The code_verifier does not match the code_challenge: {method}(code_verifier) is not the challenge the authorization request sent. The verifier usually belongs to another login (a second tab overwrote it)."),
                        )
                        .expected(format!("code_challenge {}", quote(ch)))
                        .received(format!("{method}(code_verifier {}) = {}", hint(v), quote(&computed)))
                        .source(src.clone()),
                    ));
                } else {
                    g.lines.push(format!("  PKCE: the code_verifier matches the code_challenge ({method})"));
                }
            }
            (None, None) => {}
        }
    }

    /// Checks a token response: the tokens it issued, or why it refused.
    fn check_token_response(
        &self,
        e: &Entry,
        flow: &Flow,
        sent: &Sent<'_>,
        issued: &HashMap<usize, Issued>,
        src: &Source,
        g: &mut Group,
    ) {
        let grant = sent.grant;
        if e.status == 0 {
            g.findings.push(no_response(e, self.capture.from_browser));
            return;
        }
        let Some(body) = e.resp_body.bytes() else {
            // Without the body the reason is unknown, but the status says the request failed:
            // that is an error, not a note.
            if let Some(f) = (300..600)
                .contains(&e.status)
                .then(|| {
                    refusal::explain_without_body(&http_response(e, Vec::new()), Some(&e.method))
                })
                .flatten()
            {
                // The status and headers say more than "refused": a wrong URL, a method, a
                // content type, throttling, a challenge.
                g.findings.push(f.source(src.clone()));
            } else if (400..600).contains(&e.status) {
                let mut f = body_missing(e, "the token response");
                f.severity = Severity::Error;
                f.message = format!(
                    "The token endpoint refused the request (HTTP {}); the capture does not include the body of its answer, so the reason it gave is unknown.",
                    e.status
                );
                g.findings.push(
                    f.expected("a successful token response")
                        .received(format!("HTTP {}, body not in the capture", e.status)),
                );
            } else {
                g.findings.push(body_missing(e, "the token response"));
            }
            return;
        };
        if let Some(i) = issued.get(&e.index) {
            g.lines
                .push(format!("  token response: {}", i.response.summary()));
            if let Some(idt) = &i.response.id_token {
                self.check_id_token(e, flow, idt, i.response.access_token.expose(), src, g);
            }
            return;
        }
        match classify_token_response(
            u16::try_from(e.status).unwrap_or(0),
            e.resp_content_type.as_deref(),
            e.resp_header("location"),
            &body,
        ) {
            Ok(_) => {}
            Err(ErrorKind::OAuth(err)) => {
                let err = refusal::with_body_words(err, &body);
                let mut f = explain::oauth_error_finding_at(
                    &err,
                    "The token endpoint refused the request",
                    grant,
                )
                .source(src.clone());
                // The RFC's advice for invalid_grant is about codes; a refresh fails for its
                // own reasons.
                if f.code == Code::ResponseOAuthError
                    && err.error == "invalid_grant"
                    && grant == Some("refresh_token")
                {
                    f = f.fix(REFRESH_INVALID_GRANT_FIX);
                }
                if !f.candidates.is_empty() {
                    f = self.client_auth_evidence(f, sent.auth);
                }
                let f = refusal::with_status_evidence(
                    f,
                    &http_response(e, Vec::new()),
                    Some(&e.method),
                );
                g.findings.push(f);
            }
            // Not an error object: the same evidence as `candor doctor response` (the words
            // in a wrapper or page, the product in front, the status), with the request's
            // method, which a saved response lacks.
            Err(kind) => g.findings.push(
                refusal::explain(&http_response(e, body), &kind, Some(&e.method))
                    .source(src.clone()),
            ),
        }
    }

    /// An `invalid_client` whose words leave several causes, narrowed by what the capture
    /// shows: the method the request authenticated with, against the methods discovery
    /// advertises. A secret sent by a method the provider does not advertise is a method
    /// mismatch, whatever the secret; a secret is named wrong only when it was sent by an
    /// advertised method and the provider's words exclude an unknown client.
    fn client_auth_evidence(&self, mut f: Finding, auth: &str) -> Finding {
        let method = auth.split_whitespace().next().unwrap_or("");
        let advertised = &self.known.auth_methods;
        let listed = if advertised.is_empty() {
            "the capture holds no token_endpoint_auth_methods_supported".to_string()
        } else {
            format!(
                "discovery advertises token_endpoint_auth_methods_supported {}",
                advertised.join(", ")
            )
        };
        let client_auth_family = f.candidates.contains(&Code::ClientAuthSecretMismatch)
            || f.candidates.contains(&Code::ClientAuthMethodMismatch);
        if !client_auth_family {
            return f;
        }
        let sent_secret = matches!(
            method,
            "client_secret_basic" | "client_secret_post" | "client_secret_jwt"
        );
        let evidence = format!("the request authenticated with {method}; {listed}");
        let named = if method == "none" || method.is_empty() {
            (!advertised.is_empty() && !advertised.iter().any(|m| m == "none"))
                .then_some(Code::ClientAuthMissing)
        } else if !advertised.is_empty() && !advertised.iter().any(|m| m == method) {
            Some(Code::ClientAuthMethodMismatch)
        } else if sent_secret
            && !advertised.is_empty()
            && !f.candidates.contains(&Code::ClientUnknown)
            && f.candidates.first() == Some(&Code::ClientAuthSecretMismatch)
        {
            Some(Code::ClientAuthSecretMismatch)
        } else {
            None
        };
        match named {
            Some(code) => {
                let others: Vec<String> = f
                    .candidates
                    .iter()
                    .filter(|c| **c != code)
                    .map(|c| c.to_string())
                    .collect();
                f.message.push_str(&format!(
                    " The capture narrows them: {evidence}, so the cause is {code} ({})",
                    code.entry().title.trim_end_matches('.')
                ));
                if code == Code::ClientAuthSecretMismatch && !others.is_empty() {
                    f.message.push_str(&format!(
                        "; still possible: {} (a client registered for another of the advertised methods)",
                        others.join(", ")
                    ));
                }
                f.message.push('.');
                f.code = code;
                f.fix = code.entry().fix.to_string();
                f.candidates.clear();
            }
            None => f
                .message
                .push_str(&format!(" In this capture: {evidence}.")),
        }
        f
    }
}

/// The response of a capture's entry in the shape `candor doctor response` reads, so that
/// both read a refusal by the same evidence ([`refusal`]).
fn http_response(e: &Entry, body: Vec<u8>) -> HttpResponse {
    HttpResponse {
        version: "HTTP/1.1".into(),
        status: u16::try_from(e.status).unwrap_or(0),
        reason: String::new(),
        headers: e.resp_headers.clone(),
        body,
    }
}
