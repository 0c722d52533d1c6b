//! Token requests (RFC 6749 §4 and §6, RFC 7636, RFC 8628, RFC 7523) with every client
//! authentication method (RFC 6749 §2.3, OpenID Connect Core §9).
//!
//! [`TokenRequest::encode`] is pure: it yields the headers and form body to send, so what the
//! client sends is testable without a server.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use candor_proto::client_auth::{AuthMethod, JWT_BEARER_ASSERTION};
use candor_proto::jose::SigningKey;
use candor_proto::secret::{Secret, random_token};
use serde_json::json;

use crate::error::{ClientError, ErrorKind};
use crate::http::{HttpClient, RawResponse};
use crate::response::{TokenResponse, classify_token_response};

/// The grant a token request uses.
#[derive(Debug, Clone)]
pub enum Grant {
    /// RFC 6749 §4.1.3, with the PKCE verifier (RFC 7636 §4.5).
    AuthorizationCode {
        code: Secret,
        redirect_uri: Option<String>,
        code_verifier: Option<Secret>,
    },
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §6.
    RefreshToken { refresh_token: Secret },
    /// RFC 6749 §4.3 (removed in OAuth 2.1; other providers still offer it).
    Password { username: String, password: Secret },
    /// RFC 8628 §3.4.
    DeviceCode { device_code: Secret },
    /// RFC 7523 §2.1.
    JwtBearer { assertion: Secret },
}

impl Grant {
    pub fn grant_type(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::ClientCredentials => "client_credentials",
            Grant::RefreshToken { .. } => "refresh_token",
            Grant::Password { .. } => "password",
            Grant::DeviceCode { .. } => "urn:ietf:params:oauth:grant-type:device_code",
            Grant::JwtBearer { .. } => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Clone)]
pub enum ClientAuth {
    /// A public client: `client_id` in the body, nothing else.
    None { client_id: String },
    /// `Authorization: Basic` with the form-encoded id and secret (RFC 6749 §2.3.1).
    SecretBasic { client_id: String, secret: Secret },
    /// `client_id` and `client_secret` in the body.
    SecretPost { client_id: String, secret: Secret },
    /// An HS256 assertion keyed with the secret (OpenID Connect Core §9).
    SecretJwt { client_id: String, secret: Secret },
    /// An assertion signed with the client's private key (RFC 7523).
    PrivateKeyJwt {
        client_id: String,
        key: Arc<SigningKey>,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.method(), self.client_id())
    }
}

impl ClientAuth {
    pub fn client_id(&self) -> &str {
        match self {
            ClientAuth::None { client_id }
            | ClientAuth::SecretBasic { client_id, .. }
            | ClientAuth::SecretPost { client_id, .. }
            | ClientAuth::SecretJwt { client_id, .. }
            | ClientAuth::PrivateKeyJwt { client_id, .. } => client_id,
        }
    }

    pub fn method(&self) -> AuthMethod {
        match self {
            ClientAuth::None { .. } => AuthMethod::None,
            ClientAuth::SecretBasic { .. } => AuthMethod::ClientSecretBasic,
            ClientAuth::SecretPost { .. } => AuthMethod::ClientSecretPost,
            ClientAuth::SecretJwt { .. } => AuthMethod::ClientSecretJwt,
            ClientAuth::PrivateKeyJwt { .. } => AuthMethod::PrivateKeyJwt,
        }
    }

    /// A secret-based authentication with `method`; `None` for the key-based method.
    pub fn with_secret(method: AuthMethod, client_id: String, secret: Secret) -> Option<Self> {
        Some(match method {
            AuthMethod::ClientSecretBasic => ClientAuth::SecretBasic { client_id, secret },
            AuthMethod::ClientSecretPost => ClientAuth::SecretPost { client_id, secret },
            AuthMethod::ClientSecretJwt => ClientAuth::SecretJwt { client_id, secret },
            AuthMethod::None => ClientAuth::None { client_id },
            AuthMethod::PrivateKeyJwt => return None,
        })
    }
}

/// One token request.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub grant: Grant,
    pub auth: ClientAuth,
    pub scope: Option<String>,
    /// RFC 8707 resource indicators.
    pub resources: Vec<String>,
    /// Anything else to add to the form.
    pub extra: Vec<(String, String)>,
}

/// Form-encodes one component of a Basic credential (RFC 6749 §2.3.1).
fn form_component(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl TokenRequest {
    pub fn new(grant: Grant, auth: ClientAuth) -> Self {
        TokenRequest {
            grant,
            auth,
            scope: None,
            resources: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The headers (besides Content-Type) and form body to POST to `token_endpoint`, at
    /// Unix time `now` (for assertion lifetimes).
    pub fn encode(
        &self,
        token_endpoint: &str,
        now: i64,
    ) -> Result<(Vec<(String, String)>, String), ClientError> {
        let mut headers = Vec::new();
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", self.grant.grant_type());
        match &self.grant {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                form.append_pair("code", code.expose());
                if let Some(r) = redirect_uri {
                    form.append_pair("redirect_uri", r);
                }
                if let Some(v) = code_verifier {
                    form.append_pair("code_verifier", v.expose());
                }
            }
            Grant::ClientCredentials => {}
            Grant::RefreshToken { refresh_token } => {
                form.append_pair("refresh_token", refresh_token.expose());
            }
            Grant::Password { username, password } => {
                form.append_pair("username", username);
                form.append_pair("password", password.expose());
            }
            Grant::DeviceCode { device_code } => {
                form.append_pair("device_code", device_code.expose());
            }
            Grant::JwtBearer { assertion } => {
                form.append_pair("assertion", assertion.expose());
            }
        }
        if let Some(s) = &self.scope {
            form.append_pair("scope", s);
        }
        for r in &self.resources {
            form.append_pair("resource", r);
        }
        match &self.auth {
            ClientAuth::None { client_id } => {
                form.append_pair("client_id", client_id);
            }
            ClientAuth::SecretBasic { client_id, secret } => {
                let raw = format!(
                    "{}:{}",
                    form_component(client_id),
                    form_component(secret.expose())
                );
                headers.push((
                    "Authorization".to_string(),
                    format!("Basic {}", STANDARD.encode(raw)),
                ));
            }
            ClientAuth::SecretPost { client_id, secret } => {
                form.append_pair("client_id", client_id);
                form.append_pair("client_secret", secret.expose());
            }
            ClientAuth::SecretJwt { client_id, secret } => {
                let assertion = secret_jwt(client_id, secret, token_endpoint, now)?;
                form.append_pair("client_id", client_id);
                form.append_pair("client_assertion_type", JWT_BEARER_ASSERTION);
                form.append_pair("client_assertion", &assertion);
            }
            ClientAuth::PrivateKeyJwt { client_id, key } => {
                let claims = assertion_claims(client_id, token_endpoint, now);
                let assertion = key.sign("JWT", &claims).map_err(|e| {
                    ClientError::new(ErrorKind::InvalidUrl {
                        url: token_endpoint.to_string(),
                        reason: format!("cannot sign the client assertion: {e}"),
                    })
                })?;
                form.append_pair("client_id", client_id);
                form.append_pair("client_assertion_type", JWT_BEARER_ASSERTION);
                form.append_pair("client_assertion", &assertion);
            }
        }
        for (n, v) in &self.extra {
            form.append_pair(n, v);
        }
        Ok((headers, form.finish()))
    }
}

fn assertion_claims(client_id: &str, token_endpoint: &str, now: i64) -> serde_json::Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "iat": now,
        "exp": now + 60,
        "jti": random_token().expose(),
    })
}

fn secret_jwt(
    client_id: &str,
    secret: &Secret,
    token_endpoint: &str,
    now: i64,
) -> Result<String, ClientError> {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key = jsonwebtoken::EncodingKey::from_secret(secret.expose().as_bytes());
    jsonwebtoken::encode(
        &header,
        &assertion_claims(client_id, token_endpoint, now),
        &key,
    )
    .map_err(|e| {
        ClientError::new(ErrorKind::InvalidUrl {
            url: token_endpoint.to_string(),
            reason: format!("cannot sign the client assertion: {e}"),
        })
    })
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl HttpClient {
    /// Sends `request` to `token_endpoint` and reads the answer; the raw response comes back
    /// with the result so callers can look at headers (Date, Cache-Control).
    pub async fn token_raw(
        &self,
        token_endpoint: &str,
        request: &TokenRequest,
    ) -> Result<(Result<TokenResponse, ClientError>, RawResponse), ClientError> {
        let (headers, body) = request.encode(token_endpoint, unix_now())?;
        let raw = self.post_form(token_endpoint, headers, body).await?;
        let result =
            classify_token_response(raw.status, raw.content_type(), raw.location(), &raw.body)
                .map_err(|kind| ClientError::with_exchange(kind, raw.exchange.clone()));
        Ok((result, raw))
    }

    /// Sends `request` to `token_endpoint`: a token response, or a typed error.
    pub async fn token(
        &self,
        token_endpoint: &str,
        request: &TokenRequest,
    ) -> Result<TokenResponse, ClientError> {
        self.token_raw(token_endpoint, request).await?.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_proto::client_auth::parse_basic;
    use candor_proto::form::Form;
    use candor_proto::jose::SigningAlg;

    fn form_of(body: &str) -> Form {
        Form::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn every_grant_and_method_encodes() {
        let code = Grant::AuthorizationCode {
            code: Secret::new("the-code"),
            redirect_uri: Some("https://app.example/cb".into()),
            code_verifier: Some(Secret::new("v".repeat(43))),
        };
        let auth = ClientAuth::SecretBasic {
            client_id: "web app".into(),
            secret: Secret::new("s3cr:t"),
        };
        let (headers, body) = TokenRequest::new(code, auth)
            .encode("https://idp.example/token", 1000)
            .unwrap();
        let f = form_of(&body);
        assert_eq!(f.get("grant_type"), Some("authorization_code"));
        assert_eq!(f.get("code"), Some("the-code"));
        assert_eq!(f.get("redirect_uri"), Some("https://app.example/cb"));
        assert!(
            f.get("client_id").is_none(),
            "Basic sends no body credentials"
        );
        let (id, secret) = parse_basic(candor_proto::authorization::parse(&headers[0].1)).unwrap();
        assert_eq!(id, "web app");
        assert_eq!(secret.expose(), "s3cr:t");

        for (grant, param) in [
            (Grant::ClientCredentials, None),
            (
                Grant::RefreshToken {
                    refresh_token: Secret::new("rt"),
                },
                Some("refresh_token"),
            ),
            (
                Grant::Password {
                    username: "u".into(),
                    password: Secret::new("p"),
                },
                Some("password"),
            ),
            (
                Grant::DeviceCode {
                    device_code: Secret::new("d"),
                },
                Some("device_code"),
            ),
            (
                Grant::JwtBearer {
                    assertion: Secret::new("a.b.c"),
                },
                Some("assertion"),
            ),
        ] {
            let gt = grant.grant_type();
            let (h, body) = TokenRequest::new(
                grant,
                ClientAuth::SecretPost {
                    client_id: "c".into(),
                    secret: Secret::new("s"),
                },
            )
            .encode("https://idp.example/token", 1000)
            .unwrap();
            assert!(h.is_empty());
            let f = form_of(&body);
            assert_eq!(f.get("grant_type"), Some(gt));
            assert_eq!(f.get("client_secret"), Some("s"));
            if let Some(p) = param {
                assert!(f.get(p).is_some(), "{gt} sends {p}");
            }
        }

        let (_, body) = TokenRequest::new(
            Grant::ClientCredentials,
            ClientAuth::None {
                client_id: "pub".into(),
            },
        )
        .encode("https://idp.example/token", 1000)
        .unwrap();
        assert_eq!(form_of(&body).get("client_id"), Some("pub"));
    }

    #[test]
    fn assertions_verify_with_candor_proto() {
        let secret = Secret::new("x".repeat(43));
        let (_, body) = TokenRequest::new(
            Grant::ClientCredentials,
            ClientAuth::SecretJwt {
                client_id: "c".into(),
                secret: secret.clone(),
            },
        )
        .encode("https://idp.example/token", candor_now())
        .unwrap();
        let f = form_of(&body);
        assert_eq!(f.get("client_assertion_type"), Some(JWT_BEARER_ASSERTION));
        let assertion = f.get("client_assertion").unwrap();
        candor_proto::client_assertion::verify(
            assertion,
            candor_proto::client_assertion::AssertionKey::Secret(secret.expose().as_bytes()),
            "c",
            &["https://idp.example/token"],
            candor_now(),
            0,
        )
        .unwrap();

        let (key, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
        let jwks = candor_proto::jose::JwkSet {
            keys: vec![key.public_jwk().clone()],
        };
        let (_, body) = TokenRequest::new(
            Grant::ClientCredentials,
            ClientAuth::PrivateKeyJwt {
                client_id: "c".into(),
                key: Arc::new(key),
            },
        )
        .encode("https://idp.example/token", candor_now())
        .unwrap();
        let f = form_of(&body);
        candor_proto::client_assertion::verify(
            f.get("client_assertion").unwrap(),
            candor_proto::client_assertion::AssertionKey::PublicKeys(&jwks),
            "c",
            &["https://idp.example/token"],
            candor_now(),
            0,
        )
        .unwrap();
    }

    fn candor_now() -> i64 {
        unix_now()
    }
}
