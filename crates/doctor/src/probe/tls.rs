//! Step 3: the TLS handshake, by hand, so that a failure names the certificate problem (its
//! dates, its names, an unknown authority) rather than "error sending request".

use std::sync::Arc;
use std::time::Instant;

use candor_client::error::{ErrorKind, TlsFailure};
use candor_client::http::tls_failure;

use super::{ProbeOptions, finding};
use crate::finding::Group;

pub(super) async fn tls_step(
    stream: tokio::net::TcpStream,
    host: &str,
    opts: &ProbeOptions,
    g: &mut Group,
) -> bool {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = if opts.extra_roots.is_empty() {
        rustls_platform_verifier::Verifier::new(provider.clone())
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(
            opts.extra_roots
                .iter()
                .map(|d| rustls::pki_types::CertificateDer::from(d.clone())),
            provider.clone(),
        )
    };
    let verifier = match verifier {
        Ok(v) => v,
        Err(e) => {
            g.findings.push(finding(
                &ErrorKind::Tls {
                    host: host.into(),
                    failure: TlsFailure::Other(format!(
                        "cannot load the trusted certificates: {e}"
                    )),
                },
                "tls",
            ));
            return false;
        }
    };
    let config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
        Err(e) => {
            g.findings.push(finding(
                &ErrorKind::Tls {
                    host: host.into(),
                    failure: TlsFailure::Other(e.to_string()),
                },
                "tls",
            ));
            return false;
        }
    };
    let Ok(name) = rustls::pki_types::ServerName::try_from(host.to_string()) else {
        g.findings.push(finding(
            &ErrorKind::Tls {
                host: host.into(),
                failure: TlsFailure::Other("the host is not a valid TLS server name".into()),
            },
            "tls",
        ));
        return false;
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let started = Instant::now();
    match tokio::time::timeout(opts.timeout, connector.connect(name, stream)).await {
        Ok(Ok(tls)) => {
            let (_, conn) = tls.get_ref();
            g.lines.push(format!(
                "handshake in {} ms: {}, {}; the certificate chain is trusted and names {host}",
                started.elapsed().as_millis(),
                conn.protocol_version()
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default(),
                conn.negotiated_cipher_suite()
                    .map(|c| format!("{:?}", c.suite()))
                    .unwrap_or_default()
            ));
            true
        }
        Ok(Err(e)) => {
            let failure = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .map(tls_failure)
                .unwrap_or_else(|| TlsFailure::Other(e.to_string()));
            let mut f = finding(
                &ErrorKind::Tls {
                    host: host.into(),
                    failure: failure.clone(),
                },
                "tls",
            );
            f.expected = Some(format!(
                "a certificate for {host}, valid now, from a trusted authority"
            ));
            f.received = Some(failure.to_string());
            if failure == TlsFailure::UnknownIssuer {
                f.fix = "Use a certificate from a public CA (e.g. Let's Encrypt), or, for a private CA, pass --ca-file with its certificate (clients must trust it too).".into();
            }
            g.findings.push(f);
            false
        }
        Err(_) => {
            g.findings.push(finding(
                &ErrorKind::Timeout {
                    after: opts.timeout,
                },
                "tls",
            ));
            false
        }
    }
}
