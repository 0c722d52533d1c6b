//! Candor's protocol layer: what OAuth 2.1 and OpenID Connect say, as plain functions and data.
//!
//! Nothing here does I/O. The server, the gateway, the client and the doctor all build on it,
//! and the diagnosis catalogue ([`diagnosis`]) is the one table every failure is named from.
//! Each module is one concept of the specifications and names its RFC sections.

pub mod access_token;
pub mod authorization;
pub mod client_assertion;
pub mod client_auth;
pub mod clock;
pub mod diagnosis;
pub mod error;
pub mod feed;
pub mod form;
pub mod forwarded;
pub mod grant_type;
pub mod jose;
pub mod loopback;
pub mod pkce;
pub mod redirect_uri;
pub mod scope;
pub mod seal;
pub mod secret;
pub mod token_hash;

pub use diagnosis::Code;
pub use error::OAuthError;
