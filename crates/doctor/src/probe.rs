//! `candor doctor probe --issuer URL`: examine a live provider step by step.
//!
//! DNS, TCP and TLS are checked by hand first, so a failure names its layer (and the
//! certificate problem, with its dates or names); then discovery (issuer, required members,
//! https endpoints), the clock (the Date header), the JWKS (reachable, keys parse, algorithms
//! match), the token endpoint's answer to a deliberately bad request (an RFC 6749 §5.2 JSON
//! error?), client_credentials when credentials are given, and whether the authorization
//! endpoint accepts the redirect URI. Every step has a bounded timeout; a step that cannot
//! run because an earlier one failed says so.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use candor_client::discovery::{MetadataKind, ProviderMetadata};
use candor_client::error::{ClientError, ErrorKind, TlsFailure};
use candor_client::http::{HttpClient, Options, is_insecure_http, tls_failure};
use candor_client::id_token::{self, ParsedJwks};
use candor_client::response::{classify_token_response, html_title};
use candor_client::token::{ClientAuth, Grant, TokenRequest};
use candor_proto::Code;
use candor_proto::client_auth::AuthMethod;
use candor_proto::secret::{Secret, hint, random_token};
use url::Url;

use crate::explain::{self, finding_from_kind, server_code_in};
use crate::finding::{Finding, Group, Report, Severity};
use crate::id_token::{Checks, Keys, Part, Signature, Unverifiable};
use crate::input::InputError;
use crate::prose::sentence;

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
        let shown = x.to_string();
        let lines: Vec<&str> = shown.lines().take(24).collect();
        f.received = Some(match f.received.take() {
            Some(r) => format!("{r}\n{}", lines.join("\n")),
            None => lines.join("\n"),
        });
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
            p.skipped(&LATER[1..], "the TLS handshake failed");
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
        p.skipped(&LATER[2..], "no usable discovery document");
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

async fn tls_step(
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

async fn discovery_step(
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
                g.findings.push(finding(problem, "discovery"));
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

fn clock_step(date: Option<SystemTime>, received_at: SystemTime, leeway: i64, g: &mut Group) {
    let Some(date) = date else {
        g.informational = true;
        g.lines.push(
            "the discovery response has no Date header: the provider's clock is unknown".into(),
        );
        return;
    };
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    };
    // The Date header has one-second resolution: allow for it.
    let skew = secs(date) - secs(received_at);
    let skew = if skew.abs() <= 1 { 0 } else { skew };
    if skew.abs() <= leeway {
        g.lines.push(format!(
            "the provider's Date header is within {} s of this machine's clock (leeway {leeway} s)",
            skew.abs().max(1)
        ));
        return;
    }
    let dir = if skew > 0 { "ahead of" } else { "behind" };
    g.findings.push(
        Finding::new(
            Code::ClockSkew,
            if skew.abs() > 300 { Severity::Error } else { Severity::Warning },
            format!(
                "The provider's clock is {} s {dir} this machine's: tokens will look {} to clients that check exp, iat and nbf with a leeway under that.",
                skew.abs(),
                if skew > 0 { "issued in the future" } else { "expired early" }
            ),
        )
        .expected(format!("a Date within {leeway} s of {}", httpdate::fmt_http_date(received_at)))
        .received(format!("Date: {}", httpdate::fmt_http_date(date)))
        .step("clock"),
    );
}

async fn jwks_step(http: &HttpClient, m: &ProviderMetadata, g: &mut Group) -> Option<ParsedJwks> {
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
            for alg in &m.id_token_signing_alg_values_supported {
                if let Ok(a) = alg.parse::<jsonwebtoken::Algorithm>()
                    && !matches!(
                        a,
                        jsonwebtoken::Algorithm::HS256
                            | jsonwebtoken::Algorithm::HS384
                            | jsonwebtoken::Algorithm::HS512
                    )
                    && !parsed.jwks.keys.is_empty()
                    && !parsed.jwks.keys.iter().any(|k| id_token::key_fits(k, a))
                {
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

async fn bad_token_request(http: &HttpClient, endpoint: &str, g: &mut Group) {
    let body = "grant_type=authorization_code&code=candor-doctor-probe-invalid-code&redirect_uri=https%3A%2F%2Fcandor-doctor.invalid%2Fcb&client_id=candor-doctor-probe";
    g.lines.push(format!(
        "POST {endpoint} with an invalid code for an unknown client (it must be refused)"
    ));
    let raw = match http.post_form(endpoint, Vec::new(), body.to_string()).await {
        Ok(r) => r,
        Err(e) => {
            g.findings.push(client_failure(&e, "token_endpoint"));
            return;
        }
    };
    match classify_token_response(raw.status, raw.content_type(), raw.location(), &raw.body) {
        Err(ErrorKind::OAuth(err)) => {
            g.lines.push(format!(
                "answered HTTP {} with an RFC 6749 section 5.2 error: '{}'{} -- as it should",
                err.status,
                err.error,
                err.description
                    .as_deref()
                    .map(|d| format!(" ('{d}')"))
                    .unwrap_or_default()
            ));
            if !raw
                .content_type()
                .is_some_and(|c| c.to_ascii_lowercase().contains("json"))
            {
                g.lines.push(format!(
                    "note: Content-Type is {}, not application/json",
                    raw.content_type().unwrap_or("missing")
                ));
            }
        }
        Ok(resp) => {
            g.findings.push(
                Finding::new(
                    Code::ResponseOAuthError,
                    Severity::Error,
                    "The token endpoint issued a token for an invalid code of an unknown client: it does not check what it is sent.",
                )
                .expected("HTTP 400 or 401 with an RFC 6749 error")
                .received(format!("HTTP {}: {}", raw.status, resp.summary()))
                .fix("Report this to the provider: its token endpoint must refuse invalid grants.")
                .step("token_endpoint"),
            );
        }
        Err(kind) => {
            let mut f = client_failure(
                &ClientError::with_exchange(kind.clone(), raw.exchange.clone()),
                "token_endpoint",
            );
            f.message = format!(
                "The token endpoint's answer to an invalid request is not an RFC 6749 section 5.2 error, so clients cannot say what went wrong: {}",
                f.message
            );
            if let ErrorKind::Html { .. } = kind
                && let Some(c) = server_code_in(&raw.text())
            {
                f.message.push_str(&format!(" The page names {c}."));
            }
            g.findings.push(f);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn client_credentials_step(
    http: &HttpClient,
    endpoint: &str,
    client_id: &str,
    secret: &Secret,
    m: &ProviderMetadata,
    jwks: Option<&ParsedJwks>,
    opts: &ProbeOptions,
    g: &mut Group,
) {
    let supported = &m.token_endpoint_auth_methods_supported;
    let method = opts.auth_method.unwrap_or_else(|| {
        if supported.is_empty() || supported.iter().any(|s| s == "client_secret_basic") {
            AuthMethod::ClientSecretBasic
        } else if supported.iter().any(|s| s == "client_secret_post") {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::ClientSecretBasic
        }
    });
    let Some(auth) = ClientAuth::with_secret(method, client_id.to_string(), secret.clone()) else {
        g.informational = true;
        g.lines
            .push("skipped: private_key_jwt needs a key, not a secret".into());
        return;
    };
    let mut req = TokenRequest::new(Grant::ClientCredentials, auth);
    req.scope = opts.scope.clone();
    g.lines.push(format!(
        "client_credentials for '{client_id}' with {method}, secret {}",
        hint(secret.expose())
    ));
    match http.token_raw(endpoint, &req).await {
        Err(e) => g.findings.push(client_failure(&e, "client_credentials")),
        Ok((Err(e), _)) => {
            let f = match &e.kind {
                ErrorKind::OAuth(err) => explain::oauth_error_finding(
                    err,
                    "The token endpoint refused the client_credentials request",
                )
                .step("client_credentials"),
                _ => client_failure(&e, "client_credentials"),
            };
            g.findings.push(f);
        }
        Ok((Ok(tokens), _)) => {
            g.lines.push(format!("token issued: {}", tokens.summary()));
            let at = tokens.access_token.expose();
            if candor_proto::jose::looks_like_jwt(at)
                && let Ok(d) = id_token::decode_unverified(at)
            {
                let mut line = format!(
                    "the access token is a JWT: alg {}, iss {}, aud {}",
                    d.alg().unwrap_or("?"),
                    d.claims
                        .get("iss")
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "(none)".into()),
                    d.claims
                        .get("aud")
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "(none)".into()),
                );
                if let Some(j) = jwks {
                    let sets = [&j.jwks];
                    let checks = Checks {
                        keys: Keys::Sets(&sets),
                        unverifiable: Unverifiable::Fails,
                        // An access token's claims are the resource server's to check.
                        claims: None,
                    };
                    let place = |_: Part<'_>, f: Finding| {
                        f.step("client_credentials")
                            .fix("Tokens must verify with the keys the provider publishes: check the JWKS and the signing key.")
                    };
                    let checked = crate::id_token::check(at, &checks, place, &mut g.findings);
                    if checked.is_some_and(|c| matches!(c.signature, Signature::Verified { .. })) {
                        line.push_str("; its signature verifies with the JWKS");
                    }
                }
                g.lines.push(line);
            }
        }
    }
}

async fn authorize_step(
    http: &HttpClient,
    endpoint: &str,
    client_id: &str,
    redirect: &str,
    opts: &ProbeOptions,
    g: &mut Group,
) {
    let verifier = random_token();
    let Ok(mut url) = Url::parse(endpoint) else {
        g.findings.push(finding(
            &ErrorKind::InvalidUrl {
                url: endpoint.into(),
                reason: "does not parse".into(),
            },
            "authorize",
        ));
        return;
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", opts.scope.as_deref().unwrap_or("openid"))
        .append_pair("state", "candor-doctor-probe")
        .append_pair("code_challenge", &crate::pkce::s256(verifier.expose()))
        .append_pair("code_challenge_method", "S256");
    g.lines.push(format!(
        "GET {endpoint} with client_id '{client_id}' and redirect_uri '{redirect}'"
    ));
    let raw = match http
        .get(url.as_str(), vec![("Accept".into(), "text/html".into())])
        .await
    {
        Ok(r) => r,
        Err(e) => {
            g.findings.push(client_failure(&e, "authorize"));
            return;
        }
    };
    let text = raw.text();
    if (300..400).contains(&raw.status) {
        let loc = raw.location().unwrap_or("");
        let target = url
            .join(loc)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| loc.to_string());
        if target.starts_with(redirect) {
            let params: Vec<(String, String)> = Url::parse(&target)
                .map(|u| {
                    u.query_pairs()
                        .map(|(a, b)| (a.into_owned(), b.into_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            match get("error") {
                Some(err) => {
                    let resp = candor_client::OAuthErrorResponse {
                        status: raw.status,
                        error: err,
                        description: get("error_description"),
                        uri: get("error_uri"),
                        diagnosis: get("diagnosis"),
                    };
                    g.lines.push("the redirect URI is accepted (the provider redirects to it)".into());
                    let mut f = explain::oauth_error_finding(&resp, "The authorization endpoint redirected back with an error").step("authorize");
                    if f.code == Code::ResponseOAuthError {
                        f.code = Code::CallbackError;
                    }
                    g.findings.push(f);
                }
                None => g.lines.push("the provider redirected straight back to the redirect URI (an existing session): it is accepted".into()),
            }
        } else {
            g.lines.push(format!(
                "HTTP {}: redirects to {} (a login page): the client_id and redirect URI are accepted",
                raw.status,
                candor_client::redact::url(&target)
            ));
        }
        return;
    }
    if (200..300).contains(&raw.status) {
        let lower = text.to_ascii_lowercase();
        if lower.contains("type=\"password\"")
            || lower.contains("type=password")
            || lower.contains("name=\"password\"")
        {
            g.lines.push(format!(
                "HTTP {}: a login page{}: the client_id and redirect URI are accepted",
                raw.status,
                html_title(&text)
                    .map(|t| format!(" ('{t}')"))
                    .unwrap_or_default()
            ));
        } else {
            g.lines.push(format!(
                "HTTP {}: a page{} without a password field; cannot tell whether it is a login or an error",
                raw.status,
                html_title(&text).map(|t| format!(" ('{t}')")).unwrap_or_default()
            ));
        }
        return;
    }
    let named = server_code_in(&text);
    let title = html_title(&text);
    g.findings.push(
        Finding::new(
            named.unwrap_or(Code::AuthorizationErrorPage),
            Severity::Error,
            sentence(&format!(
                "the authorization endpoint answered HTTP {} with an error page{} instead of a login: users following this client's login link are stuck there{}",
                raw.status,
                title.map(|t| format!(" ('{t}')")).unwrap_or_default(),
                named.map(|c| format!(". The page names {c}: {}", c.entry().title)).unwrap_or_default()
            )),
        )
        .expected(format!("a login page, or a redirect to '{redirect}'"))
        .received(format!("HTTP {}", raw.status))
        .fix(named.map(|c| c.entry().fix.to_string()).unwrap_or_else(|| {
            "Register this redirect URI for the client exactly as sent (scheme, host, port, path, trailing slash), and check the client_id.".into()
        }))
        .step("authorize"),
    );
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
