//! Candor's OAuth 2.1 / OpenID Connect client.
//!
//! Its errors are the point: every failure a client can meet — a name that does not resolve,
//! a refused connection, a bad certificate, a timeout, an HTML page where JSON was expected,
//! an empty or malformed body, a token response without a token, an error status without an
//! RFC 6749 §5.2 body, an id_token that fails a check — is one [`ErrorKind`] variant, named by
//! a diagnosis code of the catalogue, and carries the [`Exchange`] it happened in with every
//! secret redacted.
//!
//! - [`http`]: the transport, with bounded timeouts and typed transport failures.
//! - [`discovery`]: fetching and validating provider metadata.
//! - [`token`]: token requests for every grant and client authentication method.
//! - [`response`]: reading token responses (pure; the doctor uses it on captures).
//! - [`jws`]: a JWS checked against a JWK Set; [`jwks`]: a provider's JWK Set, kept fresh.
//! - [`id_token`]: id_token validation.

pub mod discovery;
pub mod error;
pub mod exchange;
pub mod http;
pub mod id_token;
pub mod jwks;
pub mod jws;
pub mod redact;
pub mod response;
pub mod token;

pub use discovery::{MetadataKind, ProviderMetadata};
pub use error::{ClientError, ErrorKind, TlsFailure};
pub use exchange::Exchange;
pub use http::{HttpClient, Options, RawResponse};
pub use id_token::{Expectations, IdTokenError};
pub use jwks::JwksCache;
pub use response::{OAuthErrorResponse, TokenResponse};
pub use token::{ClientAuth, Grant, TokenRequest};
