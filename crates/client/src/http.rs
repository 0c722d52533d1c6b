//! The HTTP layer: bounded timeouts, no redirects followed, bodies read up to a limit, and
//! every transport failure turned into a typed [`ErrorKind`] (DNS, connect, TLS, timeout).
//!
//! DNS goes through a resolver of our own so a resolution failure is recognisable in
//! reqwest's error chain without parsing messages; TLS failures are read from the
//! `rustls::Error` inside the chain.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use url::Url;

use crate::error::{ClientError, ErrorKind, TlsFailure};
use crate::exchange::{Exchange, RequestRecord, ResponseRecord};

/// How a [`HttpClient`] behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Limit for a whole request, connection included.
    pub timeout: Duration,
    /// Limit for DNS + TCP + TLS.
    pub connect_timeout: Duration,
    /// Largest response body read, in bytes.
    pub max_body: usize,
    /// Extra trusted root certificates (DER), beyond the platform's.
    pub extra_roots: Vec<Vec<u8>>,
    /// Allow plain-http URLs off loopback (the doctor does, to report them; clients do not).
    pub allow_insecure_http: bool,
    pub user_agent: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_body: 1024 * 1024,
            extra_roots: Vec::new(),
            allow_insecure_http: false,
            user_agent: concat!("candor-client/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// A response read in full (up to [`Options::max_body`]), with its redacted exchange.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub exchange: Exchange,
    pub elapsed: Duration,
    /// The local time when the response arrived, to compare with its `Date` header.
    pub received_at: SystemTime,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// The `Date` header, parsed.
    pub fn date(&self) -> Option<SystemTime> {
        self.header("date")
            .and_then(|d| httpdate::parse_http_date(d).ok())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A resolution failure, recognised by type in reqwest's error chain.
#[derive(Debug)]
pub struct DnsFailure {
    pub host: String,
    pub detail: String,
}

impl std::fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot resolve '{}': {}", self.host, self.detail)
    }
}

impl StdError for DnsFailure {}

struct TypedResolver;

impl reqwest::dns::Resolve for TypedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let looked_up: std::io::Result<Vec<SocketAddr>> =
                match tokio::net::lookup_host((host.as_str(), 0)).await {
                    Ok(addrs) => Ok(addrs.collect()),
                    Err(e) => Err(e),
                };
            match looked_up {
                Ok(addrs) => {
                    if addrs.is_empty() {
                        Err(Box::new(DnsFailure {
                            host,
                            detail: "no addresses".into(),
                        })
                            as Box<dyn StdError + Send + Sync>)
                    } else {
                        Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
                    }
                }
                Err(e) => Err(Box::new(DnsFailure {
                    host,
                    detail: e.to_string(),
                }) as Box<dyn StdError + Send + Sync>),
            }
        })
    }
}

// The rule is proto's, for the server, the client and the doctor alike.
pub use candor_proto::loopback::{is_insecure_http, is_loopback_host};

/// Parses and checks a URL: absolute, http or https, with a host; plain http only on loopback
/// unless `allow_insecure_http`.
pub fn check_url(raw: &str, allow_insecure_http: bool) -> Result<Url, ErrorKind> {
    let url = Url::parse(raw).map_err(|e| ErrorKind::InvalidUrl {
        url: crate::redact::url(raw),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ErrorKind::InvalidUrl {
            url: crate::redact::url(raw),
            reason: format!("scheme '{}' is not http or https", url.scheme()),
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ErrorKind::InvalidUrl {
            url: crate::redact::url(raw),
            reason: "no host".into(),
        });
    }
    if !allow_insecure_http && is_insecure_http(&url) {
        return Err(ErrorKind::InsecureHttp {
            url: crate::redact::url(raw),
        });
    }
    Ok(url)
}

/// An RFC 9110 date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn fmt_http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// The HTTP client every request of this crate goes through.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    options: Arc<Options>,
}

impl HttpClient {
    pub fn new(options: Options) -> Result<HttpClient, ClientError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(options.user_agent.clone())
            .dns_resolver(Arc::new(TypedResolver));
        let mut roots = Vec::new();
        for der in &options.extra_roots {
            let cert = reqwest::Certificate::from_der(der).map_err(|e| {
                ClientError::new(ErrorKind::Tls {
                    host: "(configuration)".into(),
                    failure: TlsFailure::Other(format!(
                        "an extra root certificate is invalid: {e}"
                    )),
                })
            })?;
            roots.push(cert);
        }
        if !roots.is_empty() {
            builder = builder.tls_certs_merge(roots);
        }
        let inner = builder.build().map_err(|e| {
            ClientError::new(ErrorKind::Tls {
                host: "(configuration)".into(),
                failure: TlsFailure::Other(format!("cannot build the HTTP client: {e}")),
            })
        })?;
        Ok(HttpClient {
            inner,
            options: Arc::new(options),
        })
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// `GET url` with `Accept: application/json`.
    pub async fn get_json(&self, url: &str) -> Result<RawResponse, ClientError> {
        let headers = vec![("Accept".to_string(), "application/json".to_string())];
        self.send("GET", url, headers, None).await
    }

    /// `GET url` with the given headers.
    pub async fn get(
        &self,
        url: &str,
        headers: Vec<(String, String)>,
    ) -> Result<RawResponse, ClientError> {
        self.send("GET", url, headers, None).await
    }

    /// `POST url` with a form body.
    pub async fn post_form(
        &self,
        url: &str,
        mut headers: Vec<(String, String)>,
        body: String,
    ) -> Result<RawResponse, ClientError> {
        headers.push((
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ));
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
        {
            headers.push(("Accept".to_string(), "application/json".to_string()));
        }
        self.send("POST", url, headers, Some(body)).await
    }

    /// Sends one request; never follows redirects.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) -> Result<RawResponse, ClientError> {
        let record = RequestRecord::new(method, url, &headers, body.as_deref());
        let parsed = check_url(url, self.options.allow_insecure_http).map_err(|kind| {
            ClientError::with_exchange(
                kind,
                Exchange {
                    request: record.clone(),
                    response: None,
                },
            )
        })?;
        let method_value = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| {
            ClientError::new(ErrorKind::InvalidUrl {
                url: record.url.clone(),
                reason: format!("'{method}' is not an HTTP method"),
            })
        })?;
        let mut req = self.inner.request(method_value, parsed.clone());
        for (n, v) in &headers {
            req = req.header(n.as_str(), v.as_str());
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let started = Instant::now();
        let fail = |kind: ErrorKind| {
            ClientError::with_exchange(
                kind,
                Exchange {
                    request: record.clone(),
                    response: None,
                },
            )
        };
        let mut resp = req
            .send()
            .await
            .map_err(|e| fail(classify_transport(&e, &parsed, self.options.timeout)))?;
        let status = resp.status().as_u16();
        let resp_headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.options.max_body {
                        return Err(fail(ErrorKind::BodyTooLarge {
                            limit: self.options.max_body,
                        }));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(fail(classify_transport(&e, &parsed, self.options.timeout)));
                }
            }
        }
        let exchange = Exchange {
            request: record,
            response: Some(ResponseRecord::new(status, &resp_headers, &body)),
        };
        Ok(RawResponse {
            status,
            headers: resp_headers,
            body,
            exchange,
            elapsed: started.elapsed(),
            received_at: SystemTime::now(),
        })
    }
}

/// Names a transport failure from reqwest's error chain.
pub fn classify_transport(err: &reqwest::Error, url: &Url, timeout: Duration) -> ErrorKind {
    let host = url.host_str().unwrap_or("").to_string();
    let target = format!(
        "{}:{}",
        host,
        url.port_or_known_default()
            .map(|p| p.to_string())
            .unwrap_or_default()
    );
    let mut innermost = None;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(d) = e.downcast_ref::<DnsFailure>() {
            return ErrorKind::Dns {
                host: d.host.clone(),
                detail: d.detail.clone(),
            };
        }
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return ErrorKind::Tls {
                host,
                failure: tls_failure(t),
            };
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(t) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return ErrorKind::Tls {
                    host,
                    failure: tls_failure(t),
                };
            }
            if io.kind() == std::io::ErrorKind::TimedOut {
                return ErrorKind::Timeout { after: timeout };
            }
        }
        innermost = Some(e.to_string());
        cur = e.source();
    }
    if err.is_timeout() {
        return ErrorKind::Timeout { after: timeout };
    }
    ErrorKind::Connect {
        target,
        detail: innermost.unwrap_or_else(|| err.to_string()),
    }
}

/// Names a rustls failure.
/// A certificate refusal in words a reader can act on — never the verifier's internal names.
fn certificate_refusal(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    // webpki's reasons travel inside `Other`; only their names tell them apart.
    let inner = format!("{c:?}");
    if inner.contains("CaUsedAsEndEntity") {
        return "the server presents a CA certificate (basicConstraints CA:TRUE) as its own; TLS clients refuse that. Make a CA, sign a certificate for the server's name with it (mkcert does both: `mkcert -install && mkcert 127.0.0.1 localhost`), serve that, and pass the CA's certificate with --ca-file".into();
    }
    if inner.contains("EndEntityUsedAsCa") {
        return "a certificate in the chain acts as a CA without being one (no basicConstraints CA:TRUE); the chain must be issued by a real CA".into();
    }
    match c {
        C::BadSignature => "a signature in the certificate chain does not verify".into(),
        C::BadEncoding => "the server's certificate is not a well-formed X.509 certificate".into(),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not meant for TLS servers (its extended key usage lacks serverAuth)".into()
        }
        C::UnhandledCriticalExtension => {
            "the certificate carries a critical extension TLS clients do not understand".into()
        }
        C::UnsupportedSignatureAlgorithmContext { .. } => {
            "the certificate is signed with an algorithm TLS clients do not accept".into()
        }
        _ => "the TLS client refused the server's certificate".into(),
    }
}

pub fn tls_failure(err: &rustls::Error) -> TlsFailure {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired => TlsFailure::Expired { not_after: None },
            C::ExpiredContext { not_after, .. } => TlsFailure::Expired {
                not_after: Some(not_after.as_secs()),
            },
            C::NotValidYet => TlsFailure::NotYetValid { not_before: None },
            C::NotValidYetContext { not_before, .. } => TlsFailure::NotYetValid {
                not_before: Some(not_before.as_secs()),
            },
            C::NotValidForName => TlsFailure::WrongHost {
                host: String::new(),
                presented: Vec::new(),
            },
            C::NotValidForNameContext {
                expected,
                presented,
            } => TlsFailure::WrongHost {
                host: expected.to_str().into_owned(),
                presented: presented.clone(),
            },
            C::UnknownIssuer => TlsFailure::UnknownIssuer,
            C::Revoked => TlsFailure::Revoked,
            other => TlsFailure::Other(certificate_refusal(other)),
        },
        rustls::Error::InvalidMessage(_) => TlsFailure::Other(
            "the server did not answer with TLS (is it plain http on this port?)".into(),
        ),
        rustls::Error::AlertReceived(alert) => {
            TlsFailure::Other(format!("the server sent the TLS alert {alert:?}"))
        }
        other => TlsFailure::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_insecure() {
        for h in [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "app.localhost",
            "127.5.0.1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        assert!(!is_loopback_host("example.com"));
        assert!(check_url("http://127.0.0.1:8080/x", false).is_ok());
        assert!(matches!(
            check_url("http://idp.example/x", false),
            Err(ErrorKind::InsecureHttp { .. })
        ));
        assert!(check_url("http://idp.example/x", true).is_ok());
        assert!(matches!(
            check_url("ftp://idp.example/x", false),
            Err(ErrorKind::InvalidUrl { .. })
        ));
        assert!(matches!(
            check_url("not a url", false),
            Err(ErrorKind::InvalidUrl { .. })
        ));
    }

    #[tokio::test]
    async fn transport_failures_are_typed() {
        let client = HttpClient::new(Options {
            timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(2),
            ..Options::default()
        })
        .unwrap();
        // A port that nothing listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = client
            .get_json(&format!("http://127.0.0.1:{port}/x"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), candor_proto::Code::TransportConnect, "{err}");
        assert!(err.exchange.is_some());

        let err = client
            .get_json("https://no-such-host.invalid/x")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.code(),
                candor_proto::Code::TransportDns | candor_proto::Code::TransportTimeout
            ),
            "{err}"
        );
    }
}
