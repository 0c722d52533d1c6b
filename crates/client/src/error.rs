//! Every failure a client can meet, one variant each, named by a diagnosis code.
//!
//! A [`ClientError`] is an [`ErrorKind`] (what went wrong, with what was expected and what was
//! received) plus the redacted [`Exchange`] it happened in, when a request was made.

use std::fmt;
use std::time::Duration;

use candor_proto::Code;

use crate::exchange::Exchange;
use crate::id_token::IdTokenError;
use crate::response::OAuthErrorResponse;

/// What went wrong with a TLS handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    /// The certificate's notAfter is past (`not_after` in Unix seconds, when known).
    Expired { not_after: Option<u64> },
    /// The certificate's notBefore is in the future.
    NotYetValid { not_before: Option<u64> },
    /// The certificate does not name the host; `presented` lists the names it has.
    WrongHost {
        host: String,
        presented: Vec<String>,
    },
    /// The chain does not lead to a trusted root: self-signed, or a private CA.
    UnknownIssuer,
    /// The certificate was revoked.
    Revoked,
    /// Anything else (protocol version, cipher suites, a plain-http server on the port...).
    Other(String),
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::Expired { not_after: Some(t) } => write!(
                f,
                "the certificate expired at {} (Unix time {t})",
                httpdate_of(*t)
            ),
            TlsFailure::Expired { not_after: None } => f.write_str("the certificate has expired"),
            TlsFailure::NotYetValid {
                not_before: Some(t),
            } => write!(
                f,
                "the certificate is not valid before {} (Unix time {t})",
                httpdate_of(*t)
            ),
            TlsFailure::NotYetValid { not_before: None } => {
                f.write_str("the certificate is not valid yet")
            }
            TlsFailure::WrongHost { host, presented } if presented.is_empty() => {
                write!(f, "the certificate is not valid for '{host}'")
            }
            TlsFailure::WrongHost { host, presented } => write!(
                f,
                "the certificate is not valid for '{host}'; it names {}",
                presented
                    .iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TlsFailure::UnknownIssuer => f.write_str(
                "the certificate is not signed by a trusted authority (self-signed, or a private CA the client does not trust)",
            ),
            TlsFailure::Revoked => f.write_str("the certificate has been revoked"),
            TlsFailure::Other(detail) => write!(f, "the TLS handshake failed: {detail}"),
        }
    }
}

fn httpdate_of(unix: u64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(unix);
    crate::http::fmt_http_date(t)
}

/// One variant per failure; [`ErrorKind::code`] names it in the catalogue.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The URL does not parse, or has no host.
    InvalidUrl { url: String, reason: String },
    /// A plain-http URL off loopback: refused before anything is sent.
    InsecureHttp { url: String },
    /// The host name did not resolve.
    Dns { host: String, detail: String },
    /// Nothing accepted the TCP connection (refused, unreachable, reset).
    Connect { target: String, detail: String },
    /// The TLS handshake failed.
    Tls { host: String, failure: TlsFailure },
    /// No answer within the time limit.
    Timeout { after: Duration },
    /// The response body is larger than the client accepts.
    BodyTooLarge { limit: usize },
    /// An HTML page came back where JSON was expected.
    Html { status: u16, title: Option<String> },
    /// A 2xx response with an empty body.
    Empty { status: u16 },
    /// JSON that does not parse, or JSON that is not an object.
    MalformedJson { status: u16, detail: String },
    /// A 2xx response that is not JSON at all.
    NotJson {
        status: u16,
        content_type: Option<String>,
    },
    /// A 2xx token response without access_token.
    MissingAccessToken { status: u16 },
    /// A 2xx token response without token_type.
    MissingTokenType,
    /// An error status (or a redirect) without an RFC 6749 §5.2 error object.
    ErrorWithoutBody {
        status: u16,
        content_type: Option<String>,
        location: Option<String>,
    },
    /// An RFC 6749 §5.2 error object.
    OAuth(OAuthErrorResponse),
    /// The discovery URL answered with something other than 200.
    DiscoveryStatus { url: String, status: u16 },
    /// The discovery document is not JSON.
    DiscoveryNotJson { content_type: Option<String> },
    /// The discovery document's issuer is not the one it was fetched for.
    DiscoveryIssuerMismatch { expected: String, received: String },
    /// A required member of the discovery document is missing or of the wrong type.
    DiscoveryMissingField { field: &'static str },
    /// An endpoint of the discovery document is plain http off loopback.
    DiscoveryInsecureEndpoint { field: String, url: String },
    /// The JWKS URL answered with something other than 200.
    JwksStatus { url: String, status: u16 },
    /// The JWKS is not a JWK Set, or has no usable key.
    JwksMalformed { detail: String },
    /// The id_token failed validation.
    IdToken(IdTokenError),
}

impl ErrorKind {
    /// The catalogue code for this failure.
    pub fn code(&self) -> Code {
        match self {
            ErrorKind::InvalidUrl { .. } | ErrorKind::Connect { .. } => Code::TransportConnect,
            ErrorKind::InsecureHttp { .. } | ErrorKind::DiscoveryInsecureEndpoint { .. } => {
                Code::TransportInsecureHttp
            }
            ErrorKind::Dns { .. } => Code::TransportDns,
            ErrorKind::Tls { .. } => Code::TransportTls,
            ErrorKind::Timeout { .. } => Code::TransportTimeout,
            ErrorKind::BodyTooLarge { .. } => Code::ResponseMalformedJson,
            ErrorKind::Html { .. } => Code::ResponseHtml,
            ErrorKind::Empty { .. } => Code::ResponseEmpty,
            ErrorKind::MalformedJson { .. } => Code::ResponseMalformedJson,
            ErrorKind::NotJson { .. } => Code::ResponseNotJson,
            ErrorKind::MissingAccessToken { .. } => Code::ResponseMissingAccessToken,
            ErrorKind::MissingTokenType => Code::ResponseMissingTokenType,
            ErrorKind::ErrorWithoutBody { .. } => Code::ResponseErrorWithoutBody,
            ErrorKind::OAuth(e) => e.code(),
            ErrorKind::DiscoveryStatus { .. } => Code::DiscoveryHttpStatus,
            ErrorKind::DiscoveryNotJson { .. } => Code::DiscoveryNotJson,
            ErrorKind::DiscoveryIssuerMismatch { .. } => Code::DiscoveryIssuerMismatch,
            ErrorKind::DiscoveryMissingField { .. } => Code::DiscoveryMissingField,
            ErrorKind::JwksStatus { .. } => Code::JwksUnavailable,
            ErrorKind::JwksMalformed { .. } => Code::JwksMalformed,
            ErrorKind::IdToken(e) => e.code(),
        }
    }

    /// What was expected, in words, when there is something to say.
    pub fn expected(&self) -> Option<String> {
        match self {
            ErrorKind::Html { .. }
            | ErrorKind::Empty { .. }
            | ErrorKind::MalformedJson { .. }
            | ErrorKind::NotJson { .. } => {
                Some("a JSON object (Content-Type: application/json), RFC 6749 section 5.1".into())
            }
            ErrorKind::MissingAccessToken { .. } => Some("an access_token member".into()),
            ErrorKind::MissingTokenType => {
                Some("a token_type member (normally 'Bearer')".into())
            }
            ErrorKind::ErrorWithoutBody { .. } => Some(
                "a JSON object with 'error' (and usually 'error_description'), RFC 6749 section 5.2"
                    .into(),
            ),
            ErrorKind::DiscoveryIssuerMismatch { expected, .. } => Some(format!("'{expected}'")),
            ErrorKind::DiscoveryMissingField { field } => Some(format!("a '{field}' member")),
            ErrorKind::DiscoveryStatus { .. } => Some("200 with the metadata document".into()),
            ErrorKind::DiscoveryNotJson { .. } => Some("application/json".into()),
            ErrorKind::JwksStatus { .. } => Some("200 with a JWK Set".into()),
            ErrorKind::InsecureHttp { .. } | ErrorKind::DiscoveryInsecureEndpoint { .. } => {
                Some("an https URL".into())
            }
            ErrorKind::IdToken(e) => e.expected(),
            _ => None,
        }
    }

    /// What was received, in words, when there is something to say.
    pub fn received(&self) -> Option<String> {
        match self {
            ErrorKind::Html { status, title } => Some(match title {
                Some(t) => format!("HTTP {status}, an HTML page titled '{t}'"),
                None => format!("HTTP {status}, an HTML page"),
            }),
            ErrorKind::Empty { status } => Some(format!("HTTP {status} with an empty body")),
            ErrorKind::MalformedJson { status, detail } => {
                Some(format!("HTTP {status}, JSON that {detail}"))
            }
            ErrorKind::NotJson {
                status,
                content_type,
            } => Some(format!(
                "HTTP {status}, Content-Type {}",
                content_type.as_deref().unwrap_or("(none)")
            )),
            ErrorKind::MissingAccessToken { status } => {
                Some(format!("HTTP {status}, a JSON object without access_token"))
            }
            ErrorKind::MissingTokenType => Some("no token_type".into()),
            ErrorKind::ErrorWithoutBody {
                status,
                content_type,
                location,
            } => Some(match location {
                Some(l) => format!("HTTP {status}, a redirect to {l}"),
                None => format!(
                    "HTTP {status}, Content-Type {}, no 'error' member",
                    content_type.as_deref().unwrap_or("(none)")
                ),
            }),
            ErrorKind::DiscoveryIssuerMismatch { received, .. } => Some(format!("'{received}'")),
            ErrorKind::DiscoveryStatus { status, .. } | ErrorKind::JwksStatus { status, .. } => {
                Some(format!("HTTP {status}"))
            }
            ErrorKind::DiscoveryNotJson { content_type } => Some(format!(
                "Content-Type {}",
                content_type.as_deref().unwrap_or("(none)")
            )),
            ErrorKind::InsecureHttp { url } | ErrorKind::DiscoveryInsecureEndpoint { url, .. } => {
                Some(url.clone())
            }
            ErrorKind::OAuth(e) => Some(e.to_string()),
            ErrorKind::IdToken(e) => e.received(),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::InvalidUrl { url, reason } => {
                write!(f, "'{url}' is not a usable URL: {reason}")
            }
            ErrorKind::InsecureHttp { url } => write!(
                f,
                "refusing plain http off loopback: {url} (tokens and codes would travel in clear text)"
            ),
            ErrorKind::Dns { host, detail } => {
                write!(f, "the host '{host}' does not resolve: {detail}")
            }
            ErrorKind::Connect { target, detail } => {
                write!(f, "cannot connect to {target}: {detail}")
            }
            ErrorKind::Tls { host, failure } => write!(f, "TLS with {host} failed: {failure}"),
            ErrorKind::Timeout { after } => {
                write!(f, "no answer within {} s", after.as_secs_f32())
            }
            ErrorKind::BodyTooLarge { limit } => {
                write!(f, "the response body is larger than {limit} bytes")
            }
            ErrorKind::Html { status, title } => match title {
                Some(t) => write!(
                    f,
                    "HTTP {status}: an HTML page ('{t}') came back where JSON was expected"
                ),
                None => write!(
                    f,
                    "HTTP {status}: an HTML page came back where JSON was expected"
                ),
            },
            ErrorKind::Empty { status } => write!(f, "HTTP {status} with an empty body"),
            ErrorKind::MalformedJson { status, detail } => {
                write!(f, "HTTP {status}: the body is JSON that {detail}")
            }
            ErrorKind::NotJson {
                status,
                content_type,
            } => write!(
                f,
                "HTTP {status}: the body is not JSON (Content-Type {})",
                content_type.as_deref().unwrap_or("missing")
            ),
            ErrorKind::MissingAccessToken { status } => {
                write!(f, "HTTP {status}: the token response has no access_token")
            }
            ErrorKind::MissingTokenType => f.write_str("the token response has no token_type"),
            ErrorKind::ErrorWithoutBody {
                status,
                content_type,
                location,
            } => match location {
                Some(l) => write!(
                    f,
                    "HTTP {status}: a redirect to {l} instead of an RFC 6749 answer"
                ),
                None => write!(
                    f,
                    "HTTP {status} without an RFC 6749 error object (Content-Type {})",
                    content_type.as_deref().unwrap_or("missing")
                ),
            },
            ErrorKind::OAuth(e) => write!(f, "the provider refused the request: {e}"),
            ErrorKind::DiscoveryStatus { url, status } => {
                write!(f, "the discovery document at {url} answered HTTP {status}")
            }
            ErrorKind::DiscoveryNotJson { content_type } => write!(
                f,
                "the discovery document is not JSON (Content-Type {})",
                content_type.as_deref().unwrap_or("missing")
            ),
            ErrorKind::DiscoveryIssuerMismatch { expected, received } => write!(
                f,
                "the discovery document's issuer is '{received}', expected '{expected}'"
            ),
            ErrorKind::DiscoveryMissingField { field } => {
                write!(f, "the discovery document has no '{field}'")
            }
            ErrorKind::DiscoveryInsecureEndpoint { field, url } => {
                write!(f, "the discovery document's {field} is plain http: {url}")
            }
            ErrorKind::JwksStatus { url, status } => {
                write!(f, "the JWKS at {url} answered HTTP {status}")
            }
            ErrorKind::JwksMalformed { detail } => write!(f, "the JWKS is not usable: {detail}"),
            ErrorKind::IdToken(e) => write!(f, "{e}"),
        }
    }
}

/// A failure with the exchange it happened in.
#[derive(Debug, Clone)]
pub struct ClientError {
    pub kind: ErrorKind,
    pub exchange: Option<Box<Exchange>>,
}

impl ClientError {
    pub fn new(kind: ErrorKind) -> Self {
        ClientError {
            kind,
            exchange: None,
        }
    }

    pub fn with_exchange(kind: ErrorKind, exchange: Exchange) -> Self {
        ClientError {
            kind,
            exchange: Some(Box::new(exchange)),
        }
    }

    /// The catalogue code.
    pub fn code(&self) -> Code {
        self.kind.code()
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.kind)
    }
}

impl std::error::Error for ClientError {}

impl From<ErrorKind> for ClientError {
    fn from(kind: ErrorKind) -> Self {
        ClientError::new(kind)
    }
}
