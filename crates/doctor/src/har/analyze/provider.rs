//! Checks of the provider's metadata in the capture: each discovery document (issuer,
//! required members, endpoints, which it teaches the classification) and each JWKS (keys that
//! parse, keys for the algorithms discovery advertises).

use candor_client::discovery::{MetadataKind, validate_metadata};
use candor_client::error::ErrorKind;
use candor_client::id_token;
use candor_client::response::classify_json_body;
use candor_proto::Code;
use serde_json::Value;

use super::Analysis;
use super::classify::{Role, is_discovery, norm_endpoint};
use super::entry::{body_missing, entry_line, entry_source, no_response, quote, short_url};
use crate::explain::finding_from_kind;
use crate::finding::{Finding, Group, Severity};

impl Analysis<'_> {
    /// Checks each discovery document, and learns the issuer, endpoints and algorithms it
    /// names.
    pub(super) fn discovery(&mut self, group: &mut Group) {
        for e in self.capture.entries.iter().filter(|e| is_discovery(e)) {
            group.lines.push(format!("discovery  {}", entry_line(e)));
            let src = entry_source(e);
            let path = e.url.path();
            let (kind, expected_issuer) =
                if let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") {
                    let mut u = e.url.clone();
                    u.set_path(prefix);
                    u.set_query(None);
                    (
                        MetadataKind::OpenId,
                        u.as_str().trim_end_matches('/').to_string(),
                    )
                } else {
                    let rest = path
                        .split("/.well-known/oauth-authorization-server")
                        .nth(1)
                        .unwrap_or("");
                    let mut u = e.url.clone();
                    u.set_path(rest);
                    u.set_query(None);
                    (
                        MetadataKind::OAuth,
                        u.as_str().trim_end_matches('/').to_string(),
                    )
                };
            if e.status == 0 {
                group
                    .findings
                    .push(no_response(e, self.capture.from_browser));
                continue;
            }
            if e.status != 200 {
                group.findings.push(
                    finding_from_kind(
                        &ErrorKind::DiscoveryStatus {
                            url: short_url(e),
                            status: u16::try_from(e.status).unwrap_or(0),
                        },
                        Severity::Error,
                    )
                    .source(src),
                );
                continue;
            }
            let Some(body) = e.resp_body.bytes() else {
                group
                    .findings
                    .push(body_missing(e, "the discovery document"));
                continue;
            };
            let doc = match classify_json_body(200, e.resp_content_type.as_deref(), None, &body) {
                Ok(v) => v,
                Err(k) => {
                    group.findings.push(
                        Finding::new(
                            Code::DiscoveryNotJson,
                            Severity::Error,
                            format!("The discovery document is not a JSON object: {k}"),
                        )
                        .expected("a JSON object (application/json)")
                        .maybe_received(k.received())
                        .source(src),
                    );
                    continue;
                }
            };
            // The issuer may legitimately carry a trailing slash; compare with the URL form
            // the document claims when the two differ only by it.
            let stated = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
            let expected = if stated.trim_end_matches('/') == expected_issuer {
                stated.to_string()
            } else {
                expected_issuer.clone()
            };
            let report = validate_metadata(&expected, &doc, kind);
            // The document's plain-http endpoints are one fact: one finding names them all.
            let insecure: Vec<String> = report
                .problems
                .iter()
                .filter_map(|p| match p {
                    ErrorKind::DiscoveryInsecureEndpoint { field, url } => {
                        Some(format!("{field} {url}"))
                    }
                    _ => None,
                })
                .collect();
            for p in &report.problems {
                if matches!(p, ErrorKind::DiscoveryInsecureEndpoint { .. }) && insecure.len() > 1 {
                    continue;
                }
                group
                    .findings
                    .push(crate::explain::discovery_problem(p).source(src.clone()));
            }
            if insecure.len() > 1 {
                group.findings.push(
                    Finding::new(
                        Code::TransportInsecureHttp,
                        Severity::Error,
                        format!(
                            "The discovery document names {} plain-http endpoints: {}.",
                            insecure.len(),
                            insecure.join(", ")
                        ),
                    )
                    .expected("https URLs")
                    .received(insecure.join(", "))
                    .source(src.clone()),
                );
            }
            let m = report.metadata;
            if !m.issuer.is_empty() {
                self.known.issuers.push(m.issuer.clone());
            }
            for (set, v) in [
                (&mut self.known.authorization, &m.authorization_endpoint),
                (&mut self.known.token, &m.token_endpoint),
                (&mut self.known.userinfo, &m.userinfo_endpoint),
                (&mut self.known.jwks, &m.jwks_uri),
            ] {
                if let Some(ep) = v.as_deref().and_then(norm_endpoint) {
                    set.insert(ep);
                }
            }
            self.known
                .algs
                .extend(m.id_token_signing_alg_values_supported.iter().cloned());
            self.known
                .auth_methods
                .extend(m.token_endpoint_auth_methods_supported.iter().cloned());
            group.lines.push(format!(
                "  issuer {}, token_endpoint {}",
                quote(&m.issuer),
                m.token_endpoint
                    .as_deref()
                    .map(quote)
                    .unwrap_or_else(|| "(none)".into())
            ));
        }
    }

    /// Checks each JWKS response, and keeps its keys for the id_token signatures.
    pub(super) fn jwks_entries(&mut self, roles: &[(usize, Role)], group: &mut Group) {
        for (pos, r) in roles {
            if *r != Role::Jwks {
                continue;
            }
            let Some(e) = self.capture.entries.get(*pos) else {
                continue;
            };
            group.lines.push(format!("JWKS       {}", entry_line(e)));
            let src = entry_source(e);
            if e.status == 0 {
                group
                    .findings
                    .push(no_response(e, self.capture.from_browser));
                continue;
            }
            let Some(body) = e.resp_body.bytes() else {
                group.findings.push(body_missing(e, "the JWKS"));
                continue;
            };
            match id_token::parse_jwks(
                &short_url(e),
                u16::try_from(e.status).unwrap_or(0),
                e.resp_content_type.as_deref(),
                &body,
            ) {
                Ok(parsed) => {
                    for s in &parsed.skipped {
                        group.findings.push(
                            Finding::new(
                                Code::JwksMalformed,
                                Severity::Warning,
                                format!("A key of the JWKS is unusable and was skipped: {s}"),
                            )
                            .source(src.clone()),
                        );
                    }
                    let kids: Vec<String> = parsed
                        .jwks
                        .keys
                        .iter()
                        .map(|k| k.common.key_id.clone().unwrap_or_else(|| "(no kid)".into()))
                        .collect();
                    group.lines.push(format!(
                        "  {} key{}: {}",
                        kids.len(),
                        if kids.len() == 1 { "" } else { "s" },
                        kids.join(", ")
                    ));
                    for alg in
                        candor_client::jws::unverifiable_algs(&self.known.algs, &parsed.jwks.keys)
                    {
                        group.findings.push(
                            Finding::new(
                                Code::JwksAlgMismatch,
                                Severity::Warning,
                                format!(
                                    "The discovery document advertises {alg} for id_tokens, but no key in the JWKS can verify {alg}."
                                ),
                            )
                            .expected(format!("a key that fits {alg}"))
                            .received(format!("keys: {}", kids.join(", ")))
                            .source(src.clone()),
                        );
                    }
                    self.jwks.push((e.index, parsed));
                }
                Err(k) => group
                    .findings
                    .push(finding_from_kind(&k, Severity::Error).source(src)),
            }
        }
    }
}
