//! Step 4: the discovery document (OpenID Connect, else RFC 8414 metadata): issuer, required
//! members, https endpoints.

use std::time::SystemTime;

use candor_client::discovery::{MetadataKind, ProviderMetadata};
use candor_client::error::ErrorKind;
use candor_client::http::HttpClient;

use super::{client_failure, finding};
use crate::finding::Group;

pub(super) async fn discovery_step(
    http: &HttpClient,
    issuer: &str,
    g: &mut Group,
) -> Option<(ProviderMetadata, Option<SystemTime>, SystemTime)> {
    let mut result = http.fetch_metadata(issuer, MetadataKind::OpenId).await;
    if let Err(e) = &result
        && matches!(e.kind, ErrorKind::DiscoveryStatus { status: 404, .. })
    {
        g.lines.push(format!(
            "{} answered 404; trying RFC 8414 metadata",
            candor_client::discovery::discovery_url(issuer, MetadataKind::OpenId)
        ));
        if let Ok(d) = http.fetch_metadata(issuer, MetadataKind::OAuth).await {
            result = Ok(d);
        }
    }
    match result {
        Ok(d) => {
            g.lines.push(format!(
                "{} answered in {} ms",
                d.url,
                d.response.elapsed.as_millis()
            ));
            let m = &d.report.metadata;
            for (name, v) in [
                ("issuer", Some(&m.issuer)),
                ("authorization_endpoint", m.authorization_endpoint.as_ref()),
                ("token_endpoint", m.token_endpoint.as_ref()),
                ("jwks_uri", m.jwks_uri.as_ref()),
            ] {
                if let Some(v) = v {
                    g.lines.push(format!("{name}: {v}"));
                }
            }
            for problem in &d.report.problems {
                let mut f = finding(problem, "discovery");
                let policed = crate::explain::discovery_problem(problem);
                f.severity = policed.severity;
                f.message = policed.message;
                g.findings.push(f);
            }
            let date = d.response.date();
            Some((d.report.metadata.clone(), date, d.response.received_at))
        }
        Err(e) => {
            g.findings.push(client_failure(&e, "discovery"));
            None
        }
    }
}
