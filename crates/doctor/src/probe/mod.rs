//! `candor doctor probe --issuer URL`: examine a live provider step by step.
//!
//! DNS, TCP and TLS are checked by hand first, so a failure names its layer (and the
//! certificate problem, with its dates or names); then discovery (issuer, required members,
//! https endpoints), the clock (the Date header), the JWKS (reachable, keys parse, algorithms
//! match), the token endpoint's answer to a deliberately bad request (an RFC 6749 §5.2 JSON
//! error?), client_credentials when credentials are given, and whether the authorization
//! endpoint accepts the redirect URI. Every step has a bounded timeout; a step that cannot
//! run because an earlier one failed says so.

mod authorize;
mod clock;
mod discovery;
mod jwks;
mod tls;
mod token_endpoint;

use std::time::{Duration, Instant};

use candor_client::error::{ClientError, ErrorKind};
use candor_client::http::{HttpClient, Options, is_insecure_http};
use candor_proto::Code;
use candor_proto::client_auth::AuthMethod;
use candor_proto::secret::Secret;
use url::Url;

use self::authorize::authorize_step;
use self::clock::clock_step;
use self::discovery::discovery_step;
use self::jwks::jwks_step;
use self::tls::tls_step;
use self::token_endpoint::{bad_token_request, client_credentials_step};
use crate::explain::finding_from_kind;
use crate::finding::{Finding, Group, Report, Severity};
use crate::input::InputError;

/// What to probe, and how.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub issuer: String,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// The client authentication method for client_credentials; default: from discovery.
    pub auth_method: Option<AuthMethod>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    /// Limit for each step.
    pub timeout: Duration,
    /// Clock difference tolerated, in seconds.
    pub leeway: i64,
    /// Extra trusted CA certificates (DER).
    pub extra_roots: Vec<Vec<u8>>,
}

impl ProbeOptions {
    pub fn new(issuer: impl Into<String>) -> Self {
        ProbeOptions {
            issuer: issuer.into(),
            client_id: None,
            client_secret: None,
            auth_method: None,
            redirect_uri: None,
            scope: None,
            timeout: Duration::from_secs(10),
            leeway: 60,
            extra_roots: Vec::new(),
        }
    }
}

fn step(n: usize, name: &str) -> Group {
    Group::new(format!("{n}. {name}"))
}

fn finding(kind: &ErrorKind, step_name: &str) -> Finding {
    finding_from_kind(kind, Severity::Error).step(step_name)
}

fn client_failure(e: &ClientError, step_name: &str) -> Finding {
    let mut f = finding(&e.kind, step_name);
    if let Some(x) = &e.exchange {
        f.transcript = x.to_string().lines().take(24).map(str::to_string).collect();
    }
    f
}

/// Validates the issuer argument: an absolute http(s) URL without query or fragment.
pub fn parse_issuer(issuer: &str) -> Result<Url, InputError> {
    let url = Url::parse(issuer.trim()).map_err(|e| {
        InputError::new(format!(
            "--issuer '{issuer}' is not a URL ({e}); expected e.g. https://idp.example or https://idp.example/realms/main"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(InputError::new(format!(
            "--issuer '{issuer}' has scheme '{}'; an issuer is an https URL",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(InputError::new(format!("--issuer '{issuer}' has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(InputError::new(format!(
            "--issuer '{issuer}' has a query or fragment; an issuer has neither (OpenID Connect Discovery section 3)"
        )));
    }
    Ok(url)
}

struct Probe {
    report: Report,
    n: usize,
}

impl Probe {
    fn push(&mut self, g: Group) {
        self.report.groups.push(g);
    }

    fn next(&mut self, name: &str) -> Group {
        self.n += 1;
        step(self.n, name)
    }

    fn skipped(&mut self, names: &[&str], why: &str) {
        for name in names {
            let mut g = self.next(name);
            g.informational = true;
            g.lines.push(format!("skipped: {why}"));
            self.push(g);
        }
    }
}

/// Runs the probe. Unusable arguments are an [`InputError`]; everything the provider does
/// wrong is a finding.
pub async fn probe(opts: &ProbeOptions) -> Result<Report, InputError> {
    let url = parse_issuer(&opts.issuer)?;
    let issuer = opts.issuer.trim().to_string();
    let mut p = Probe {
        report: Report {
            subject: format!("probe of {issuer}"),
            ..Report::default()
        },
        n: 0,
    };
    p.report.summary.push(format!(
        "each step times out after {} s; clock leeway {} s",
        opts.timeout.as_secs_f32(),
        opts.leeway
    ));
    let host = url.host_str().unwrap_or("").to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    const LATER: &[&str] = &[
        "TLS",
        "discovery",
        "clock",
        "JWKS",
        "token endpoint",
        "client_credentials",
        "authorization endpoint",
    ];

    // 1. DNS.
    let mut g = p.next("DNS");
    if is_insecure_http(&url) {
        g.findings.push(
            Finding::new(
                Code::TransportInsecureHttp,
                Severity::Error,
                "The issuer is plain http on a host that is not loopback: every token and code would cross the network unencrypted.",
            )
            .expected("https")
            .received(issuer.clone())
            .step("dns"),
        );
    }
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<std::net::SocketAddr> = if let Ok(ip) = bare_host.parse::<std::net::IpAddr>() {
        g.lines
            .push(format!("{host} is an IP address: nothing to resolve"));
        vec![std::net::SocketAddr::new(ip, port)]
    } else {
        let started = Instant::now();
        let looked_up = tokio::time::timeout(
            opts.timeout,
            tokio::net::lookup_host((bare_host.clone(), port)),
        )
        .await;
        match looked_up {
            Ok(Ok(a)) => {
                let a: Vec<_> = a.collect();
                g.lines.push(format!(
                    "{host} resolves to {} in {} ms",
                    a.iter()
                        .map(|x| x.ip().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    started.elapsed().as_millis()
                ));
                a
            }
            Ok(Err(e)) => {
                g.findings.push(finding(
                    &ErrorKind::Dns {
                        host: host.clone(),
                        detail: e.to_string(),
                    },
                    "dns",
                ));
                Vec::new()
            }
            Err(_) => {
                g.findings.push(finding(
                    &ErrorKind::Timeout {
                        after: opts.timeout,
                    },
                    "dns",
                ));
                Vec::new()
            }
        }
    };
    p.push(g);
    if addrs.is_empty() {
        p.skipped(&["TCP"], "the host did not resolve");
        p.skipped(LATER, "the host did not resolve");
        return Ok(p.report);
    }

    // 2. TCP.
    let mut g = p.next("TCP");
    let mut stream = None;
    let mut failures = Vec::new();
    let mut timed_out = false;
    for addr in &addrs {
        let started = Instant::now();
        match tokio::time::timeout(opts.timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                g.lines.push(format!(
                    "connected to {addr} in {} ms",
                    started.elapsed().as_millis()
                ));
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => failures.push(format!("{addr}: {e}")),
            Err(_) => {
                timed_out = true;
                failures.push(format!(
                    "{addr}: no answer within {} s",
                    opts.timeout.as_secs()
                ));
            }
        }
    }
    if stream.is_none() {
        let kind = if timed_out && failures.len() == 1 {
            ErrorKind::Timeout {
                after: opts.timeout,
            }
        } else {
            ErrorKind::Connect {
                target: format!("{host}:{port}"),
                detail: failures.join("; "),
            }
        };
        g.findings.push(finding(&kind, "tcp"));
    }
    p.push(g);
    let Some(stream) = stream else {
        p.skipped(LATER, "nothing accepted the TCP connection");
        return Ok(p.report);
    };

    // 3. TLS.
    if url.scheme() == "https" {
        let mut g = p.next("TLS");
        let ok = tls_step(stream, &bare_host, opts, &mut g).await;
        p.push(g);
        if !ok {
            p.skipped(
                LATER.get(1..).unwrap_or_default(),
                "the TLS handshake failed",
            );
            return Ok(p.report);
        }
    } else {
        drop(stream);
        let mut g = p.next("TLS");
        g.informational = true;
        g.lines.push("not used: the issuer is http".into());
        p.push(g);
    }

    let http = HttpClient::new(Options {
        timeout: opts.timeout,
        connect_timeout: opts.timeout.min(Duration::from_secs(5)),
        allow_insecure_http: true,
        extra_roots: opts.extra_roots.clone(),
        ..Options::default()
    })
    .map_err(|e| InputError::new(format!("cannot set up the HTTP client: {e}")))?;

    // 4. Discovery.
    let mut g = p.next("discovery");
    let discovered = discovery_step(&http, &issuer, &mut g).await;
    p.push(g);
    let Some((metadata, date, received_at)) = discovered else {
        p.skipped(
            LATER.get(2..).unwrap_or_default(),
            "no usable discovery document",
        );
        return Ok(p.report);
    };

    // 5. Clock.
    let mut g = p.next("clock");
    clock_step(date, received_at, opts.leeway, &mut g);
    p.push(g);

    // 6. JWKS.
    let mut g = p.next("JWKS");
    let jwks = jwks_step(&http, &metadata, &mut g).await;
    p.push(g);

    // 7. Token endpoint with a bad request.
    let mut g = p.next("token endpoint");
    match &metadata.token_endpoint {
        Some(te) => bad_token_request(&http, te, &mut g).await,
        None => {
            g.informational = true;
            g.lines
                .push("skipped: the discovery document names no token_endpoint".into());
        }
    }
    p.push(g);

    // 8. client_credentials.
    let mut g = p.next("client_credentials");
    match (
        &opts.client_id,
        &opts.client_secret,
        &metadata.token_endpoint,
    ) {
        (Some(id), Some(secret), Some(te)) => {
            client_credentials_step(
                &http,
                te,
                id,
                secret,
                &metadata,
                jwks.as_ref(),
                opts,
                &mut g,
            )
            .await;
        }
        (None, _, _) | (_, None, _) => {
            g.informational = true;
            g.lines.push(
                "skipped: pass --client-id and --client-secret-env VAR to request a token".into(),
            );
        }
        (_, _, None) => {
            g.informational = true;
            g.lines.push("skipped: no token_endpoint".into());
        }
    }
    p.push(g);

    // 9. Authorization endpoint.
    let mut g = p.next("authorization endpoint");
    match (
        &opts.client_id,
        &opts.redirect_uri,
        &metadata.authorization_endpoint,
    ) {
        (Some(id), Some(redirect), Some(ae)) => {
            authorize_step(&http, ae, id, redirect, opts, &mut g).await
        }
        (_, _, None) => {
            g.informational = true;
            g.lines
                .push("skipped: the discovery document names no authorization_endpoint".into());
        }
        _ => {
            g.informational = true;
            g.lines.push("skipped: pass --client-id and --redirect-uri to check that the redirect URI is accepted".into());
        }
    }
    p.push(g);
    Ok(p.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_arguments() {
        assert!(parse_issuer("https://idp.example").is_ok());
        assert!(parse_issuer("idp.example").is_err());
        assert!(parse_issuer("ftp://idp.example").is_err());
        assert!(parse_issuer("https://idp.example/?x=1").is_err());
    }
}
