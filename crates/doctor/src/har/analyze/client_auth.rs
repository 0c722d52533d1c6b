//! The client authentication of a token request: which method it uses (a Basic header, a
//! secret or an assertion in the body, none), whether it uses more than one, and whether a
//! browser sent a secret.

use candor_client::id_token;
use candor_proto::Code;
use candor_proto::secret::hint;

use super::Analysis;
use super::entry::quote;
use super::params::first;
use super::sender::{Sender, sender};
use crate::finding::{Finding, Group, Severity, Source};
use crate::har::load::Entry;
use crate::redact;

impl Analysis<'_> {
    /// Works out and checks the client authentication of a token request; returns its name.
    pub(super) fn client_auth(
        &self,
        e: &Entry,
        params: &[(String, String)],
        src: &Source,
        g: &mut Group,
    ) -> String {
        let basic = e.req_header("authorization").filter(|h| {
            h.trim_start()
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("basic "))
        });
        let other_auth = e.req_header("authorization").filter(|_| basic.is_none());
        let body_secret = first(params, "client_secret");
        let assertion = first(params, "client_assertion");
        let body_id = first(params, "client_id");
        let mut methods = Vec::new();
        let mut name = String::new();
        let mut secret_shown: Option<String> = None;
        // Only the browser leaks what it sends; a back end's token request holds its secret
        // as it should. Decided per request, with the evidence named.
        let sent_by = sender(self.capture, e);
        let by_browser = matches!(sent_by, Sender::Browser(_));
        if let Some(b) = basic {
            match candor_proto::client_auth::parse_basic(candor_proto::authorization::parse(b)) {
                Ok((id, secret)) => {
                    methods.push("an Authorization: Basic header");
                    name = format!("client_secret_basic (client_id {})", quote(&id));
                    secret_shown = Some(format!(
                        "Basic credentials for {} with secret {}",
                        quote(&id),
                        hint(secret.expose())
                    ));
                    if let Some(bid) = body_id
                        && bid != id
                    {
                        g.findings.push(
                            Finding::new(
                                Code::ClientAuthMultipleMethods,
                                Severity::Error,
                                "The Basic header and the body name different clients.",
                            )
                            .expected(format!("client_id {} in both", quote(&id)))
                            .received(format!("body client_id {}", quote(bid)))
                            .source(src.clone()),
                        );
                    }
                }
                Err(err) => {
                    g.findings.push(
                        Finding::new(
                            Code::ClientAuthBasicMalformed,
                            Severity::Error,
                            format!(
                                "The Authorization: Basic header does not decode: {}.",
                                err.description
                            ),
                        )
                        .expected("Basic base64(urlencode(client_id):urlencode(client_secret))")
                        .received(redact::header("authorization", b))
                        .source(src.clone()),
                    );
                    methods.push("an Authorization: Basic header");
                    name = "client_secret_basic (malformed)".into();
                }
            }
        }
        if let Some(s) = body_secret {
            methods.push("client_secret in the body");
            name = format!(
                "client_secret_post (client_id {})",
                body_id.map(quote).unwrap_or_else(|| "missing".into())
            );
            secret_shown = Some(format!("client_secret {}", hint(s)));
        }
        if let Some(a) = assertion {
            methods.push("client_assertion in the body");
            let alg = id_token::decode_unverified(a)
                .ok()
                .and_then(|d| d.alg().map(str::to_string))
                .unwrap_or_else(|| "?".into());
            if alg.starts_with("HS") {
                name = format!("client_secret_jwt ({alg} assertion)");
                secret_shown = Some(format!(
                    "an {alg} client assertion keyed with the client secret"
                ));
            } else {
                name = format!("private_key_jwt ({alg} assertion)");
                if by_browser {
                    secret_shown = Some(format!(
                        "a {alg} client assertion signed with the client's private key"
                    ));
                }
            }
        }
        if methods.len() > 1 {
            g.findings.push(
                Finding::new(
                    Code::ClientAuthMultipleMethods,
                    Severity::Error,
                    format!("The token request authenticates the client in more than one way ({}); RFC 6749 section 2.3 allows exactly one, and strict providers refuse the request.", methods.join(" and ")),
                )
                .expected("one method: the one the client is registered for")
                .received(methods.join(" and "))
                .source(src.clone()),
            );
        }
        if let (Some(shown), Sender::Browser(evidence)) = (secret_shown, &sent_by) {
            g.findings.push(
                Finding::new(
                    Code::ClientSecretInBrowser,
                    Severity::Error,
                    "The browser sent client credentials to the token endpoint: whatever a browser sends, every user can read in its developer tools, so this secret is public.",
                )
                .expected("a public client: client_id and code_verifier only")
                .received(format!("{shown}; sent by the browser: {evidence}"))
                .source(src.clone()),
            );
        }
        if let Some(h) = other_auth {
            return format!(
                "Authorization header {}",
                redact::header("authorization", h)
            );
        }
        if !name.is_empty() {
            return name;
        }
        if self.sanitized {
            return format!(
                "unknown: the capture is sanitized, so an Authorization: Basic header may have been removed (har.sanitized){}",
                body_id
                    .map(|id| format!("; client_id {} in the body", quote(id)))
                    .unwrap_or_default()
            );
        }
        match body_id {
            Some(id) => format!("none (public client {})", quote(id)),
            None => "none (no client_id either)".into(),
        }
    }
}
