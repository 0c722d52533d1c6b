//! Step 6: the JWKS: reachable, its keys parse, and it has a key for each algorithm
//! discovery advertises.

use candor_client::discovery::ProviderMetadata;
use candor_client::error::ClientError;
use candor_client::http::HttpClient;
use candor_client::id_token::{self, ParsedJwks};
use candor_proto::Code;

use super::client_failure;
use crate::finding::{Finding, Group, Severity};

pub(super) async fn jwks_step(
    http: &HttpClient,
    m: &ProviderMetadata,
    g: &mut Group,
) -> Option<ParsedJwks> {
    let Some(uri) = &m.jwks_uri else {
        g.informational = true;
        g.lines
            .push("skipped: the discovery document names no jwks_uri".into());
        return None;
    };
    let raw = match http.get_json(uri).await {
        Ok(r) => r,
        Err(e) => {
            g.findings.push(client_failure(&e, "jwks"));
            return None;
        }
    };
    match id_token::parse_jwks(uri, raw.status, raw.content_type(), &raw.body) {
        Ok(parsed) => {
            let keys: Vec<String> = parsed
                .jwks
                .keys
                .iter()
                .map(|k| {
                    format!(
                        "{} ({})",
                        k.common.key_id.as_deref().unwrap_or("no kid"),
                        k.common
                            .key_algorithm
                            .map(|a| format!("{a:?}"))
                            .unwrap_or_else(|| "no alg".into())
                    )
                })
                .collect();
            g.lines.push(format!(
                "{uri}: {} key{}: {}",
                keys.len(),
                if keys.len() == 1 { "" } else { "s" },
                keys.join(", ")
            ));
            if parsed.jwks.keys.is_empty() {
                g.findings.push(
                    Finding::new(
                        Code::JwksMalformed,
                        Severity::Error,
                        "The JWKS has no keys: no signature can be verified.",
                    )
                    .expected("at least one signing key")
                    .received("\"keys\": []")
                    .step("jwks"),
                );
            }
            for s in &parsed.skipped {
                g.findings.push(
                    Finding::new(
                        Code::JwksMalformed,
                        Severity::Warning,
                        format!("A key of the JWKS is unusable: {s}."),
                    )
                    .step("jwks"),
                );
            }
            // An empty JWKS has its own finding above.
            let unverifiable = if parsed.jwks.keys.is_empty() {
                Vec::new()
            } else {
                candor_client::jws::unverifiable_algs(
                    &m.id_token_signing_alg_values_supported,
                    &parsed.jwks.keys,
                )
            };
            for alg in unverifiable {
                g.findings.push(
                    Finding::new(
                        Code::JwksAlgMismatch,
                        Severity::Warning,
                        format!("id_token_signing_alg_values_supported lists {alg}, but no key in the JWKS can verify {alg}."),
                    )
                    .expected(format!("a key for {alg}"))
                    .received(keys.join(", "))
                    .step("jwks"),
                );
            }
            Some(parsed)
        }
        Err(kind) => {
            g.findings.push(client_failure(
                &ClientError::with_exchange(kind, raw.exchange),
                "jwks",
            ));
            None
        }
    }
}
