//! `interop-rust`: the `openidconnect` 4 and `oauth2` 5 crates against a running Candor.
//!
//! Environment (set by interop/run.sh): CANDOR_BIN, CANDOR_DATA, CANDOR_ISSUER, RESULTS_DIR.
//! Writes `$RESULTS_DIR/rust.json`; exits non-zero only when it could not run at all (a failed
//! scenario is a result, not a crash). Every protocol step goes through the crates' typed APIs;
//! a cookie-keeping reqwest client stands in for the browser on the login and consent pages and
//! never follows the final redirect to the client.

mod browser;
mod tls_forward;

use std::future::Future;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{env, io::Write};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGrantType, CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreSubjectIdentifierType,
    CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalProviderMetadata, AuthType, AuthorizationCode,
    ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, ErrorResponseType, IntrospectionUrl, IssuerUrl, JsonWebKey, JsonWebKeySet,
    LogoutProviderMetadata, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl, RefreshToken,
    RequestTokenError, RevocationUrl, Scope, StandardErrorResponse, SubjectIdentifier,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const CLIENT: &str = "rust";
const SCENARIOS: [&str; 13] = [
    "discovery",
    "client_credentials",
    "authorization_code_pkce",
    "id_token_validation",
    "userinfo",
    "refresh_rotation",
    "introspection",
    "revocation",
    "rp_logout",
    "key_rotation",
    "error_replayed_code",
    "error_wrong_pkce_verifier",
    "error_wrong_client_secret",
];
const WEB_SCOPES: [&str; 3] = ["profile", "email", "offline_access"]; // openid comes with the flow
const REDIRECT_URI: &str = "http://127.0.0.1:9/rust/callback"; // never contacted
const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/rust/signed-out";
/// The server picks up rotated keys within 10 s.
const KEY_PICKUP: Duration = Duration::from_secs(11);
/// Candor's refresh_reuse_grace (crates/server/src/settings.rs): a reuse by the same client
/// within it is refused without revoking the family (two racing requests).
const REUSE_GRACE: Duration = Duration::from_secs(2);
const LOCKFILE: &str = include_str!("../Cargo.lock");

/// Discovery metadata: Core + RP-Initiated Logout + the two RFC endpoints the crate needs.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct CandorEndpoints {
    introspection_endpoint: IntrospectionUrl,
    revocation_endpoint: RevocationUrl,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
}
impl AdditionalProviderMetadata for CandorEndpoints {}

type Metadata = ProviderMetadata<
    LogoutProviderMetadata<CandorEndpoints>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// auth, device, introspection, revocation, token, userinfo.
type Web = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

type Outcome = Result<String, String>;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

fn short(s: impl AsRef<str>, limit: usize) -> String {
    let s: String = s.as_ref().split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= limit {
        s
    } else {
        format!("{}...", s.chars().take(limit - 3).collect::<String>())
    }
}

/// The error and its causes, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    s
}

fn error_code<T: ErrorResponseType>(t: &T) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{t:?}"))
}

/// Any typed request error, for an unexpected failure.
fn request_error<RE, T>(what: &str, e: &RequestTokenError<RE, StandardErrorResponse<T>>) -> String
where
    RE: std::error::Error + 'static,
    T: ErrorResponseType + std::fmt::Display + 'static,
{
    match e {
        RequestTokenError::ServerResponse(r) => format!(
            "{what}: server said {} ({})",
            error_code(r.error()),
            short(
                r.error_description()
                    .map(String::as_str)
                    .unwrap_or("no description"),
                110
            )
        ),
        RequestTokenError::Parse(err, body) => format!(
            "{what}: unparseable response ({err}): {}",
            short(String::from_utf8_lossy(body), 100)
        ),
        other => format!("{what}: {}", short(chain(other), 140)),
    }
}

/// A request that must fail with `expected`: the typed error must be
/// RequestTokenError::ServerResponse carrying Candor's error and error_description.
fn expect_server_error<X, RE, T>(
    result: Result<X, RequestTokenError<RE, StandardErrorResponse<T>>>,
    expected: &str,
    diagnosis: &str,
) -> Outcome
where
    RE: std::error::Error + 'static,
    T: ErrorResponseType + std::fmt::Display + 'static,
{
    match result {
        Ok(_) => Err(format!(
            "expected ServerResponse {expected:?}, got a success response"
        )),
        Err(RequestTokenError::ServerResponse(r)) => {
            let code = error_code(r.error());
            let description = r.error_description().cloned().unwrap_or_default();
            ensure!(
                code == expected,
                "expected error {expected:?}, got {code:?}: {}",
                short(&description, 100)
            );
            ensure!(
                !description.is_empty(),
                "error {code:?} without error_description"
            );
            // Candor's error_uri is <issuer>/docs/errors/<diagnosis>.
            let got = r
                .error_uri()
                .map(|u| u.rsplit('/').next().unwrap_or(u).to_string());
            ensure!(
                got.as_deref() == Some(diagnosis),
                "{code}: expected diagnosis {diagnosis:?} (error_uri), got {got:?}: {}",
                short(&description, 80)
            );
            Ok(format!(
                "ServerResponse {code} [{diagnosis}]: {}",
                short(&description, 100)
            ))
        }
        Err(other) => Err(format!(
            "expected ServerResponse {expected:?}, got {}",
            request_error("error", &other)
        )),
    }
}

fn lock_version(name: &str) -> String {
    let needle = format!("name = \"{name}\"\nversion = \"");
    LOCKFILE
        .find(&needle)
        .map(|i| {
            let rest = &LOCKFILE[i + needle.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_string()
        })
        .unwrap_or_else(|| "?".into())
}

fn random_token() -> String {
    CsrfToken::new_random().secret().clone()
}

/// What an authorization round trip left behind.
struct Auth {
    code: String,
    verifier: String,
    nonce: Nonce,
    pages: Vec<&'static str>,
}

/// The main login, shared by the scenarios after authorization_code_pkce.
struct Login {
    token: CoreTokenResponse,
    nonce: Nonce,
    sub: Option<SubjectIdentifier>,
}

struct Run {
    bin: String,
    data: String,
    issuer: String,
    http: reqwest::Client,
    browser: reqwest::Client,
    forwarder: Option<tls_forward::Forwarder>,
    suffix: String,
    user: String,
    password: String,
    web_id: String,
    web_secret: String,
    cc_id: String,
    cc_secret: String,
    meta: Option<Metadata>,
    client: Option<Web>,
    login: Option<Login>,
}

impl Run {
    fn candor(&self, args: &[&str], stdin: Option<&str>) -> Result<Value, String> {
        let mut child = Command::new(&self.bin)
            .arg("--data")
            .arg(&self.data)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.bin))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())
                .map_err(|e| e.to_string())?;
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        ensure!(
            out.status.success(),
            "candor {} exited {}: {}",
            args[..2.min(args.len())].join(" "),
            out.status,
            short(String::from_utf8_lossy(&out.stderr), 140)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("candor {}: not JSON: {e}", args.join(" ")))
    }

    fn register(&mut self) -> Result<(), String> {
        let web = format!("rust-web-{}", self.suffix);
        let reg = self.candor(
            &[
                "client",
                "create",
                "--name",
                &web,
                "--client-id",
                &web,
                "--redirect-uri",
                REDIRECT_URI,
                "--post-logout-redirect-uri",
                POST_LOGOUT_URI,
                "--scope",
                "openid profile email offline_access",
                "--auth-method",
                "client_secret_basic",
            ],
            None,
        )?;
        self.web_id = web;
        self.web_secret = reg["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let cc = format!("rust-cc-{}", self.suffix);
        let reg = self.candor(
            &[
                "client",
                "create",
                "--name",
                &cc,
                "--client-id",
                &cc,
                "--scope",
                "rust:read rust:write",
                "--auth-method",
                "client_secret_post",
            ],
            None,
        )?;
        self.cc_id = cc;
        self.cc_secret = reg["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let email = format!("{}@example.com", self.user);
        self.candor(
            &[
                "user",
                "create",
                "--username",
                &self.user,
                "--password-stdin",
                "--email",
                &email,
                "--name",
                "Rust Alice",
            ],
            Some(&format!("{}\n", self.password)),
        )?;
        Ok(())
    }

    fn meta(&self) -> &Metadata {
        self.meta.as_ref().expect("discovery ran")
    }

    fn client(&self) -> &Web {
        self.client.as_ref().expect("discovery ran")
    }

    async fn discover(&self) -> Result<Metadata, String> {
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|e| e.to_string())?;
        Metadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| format!("discover_async: {}", short(chain(&e), 160)))
    }

    fn web_client(&self, meta: &Metadata, secret: &str) -> Result<Web, String> {
        let endpoints = &meta.additional_metadata().additional_metadata;
        // The revocation endpoint goes through the HTTPS forwarder (see tls_forward.rs).
        let revocation = match &self.forwarder {
            Some(f) => {
                let path = endpoints.revocation_endpoint.url().path();
                RevocationUrl::new(format!("{}{path}", f.base)).map_err(|e| e.to_string())?
            }
            None => endpoints.revocation_endpoint.clone(),
        };
        Ok(CoreClient::from_provider_metadata(
            meta.clone(),
            ClientId::new(self.web_id.clone()),
            Some(ClientSecret::new(secret.to_string())),
        )
        .set_auth_type(AuthType::BasicAuth)
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).map_err(|e| e.to_string())?)
        .set_introspection_url(endpoints.introspection_endpoint.clone())
        .set_revocation_url(revocation))
    }

    fn cc_client(
        &self,
        secret: &str,
    ) -> Result<
        oauth2::basic::BasicClient<
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        String,
    > {
        let token_url = self
            .meta()
            .token_endpoint()
            .ok_or("metadata has no token_endpoint")?;
        Ok(
            oauth2::basic::BasicClient::new(oauth2::ClientId::new(self.cc_id.clone()))
                .set_client_secret(oauth2::ClientSecret::new(secret.to_string()))
                .set_auth_type(oauth2::AuthType::RequestBody)
                .set_token_uri(TokenUrl::new(token_url.to_string()).map_err(|e| e.to_string())?),
        )
    }

    /// authorize_url with PKCE (S256), state and nonce; the browser walks login and consent;
    /// the redirect's state and iss (RFC 9207) are checked.
    async fn authorize(&self, client: &Web) -> Result<Auth, String> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for s in WEB_SCOPES {
            request = request.add_scope(Scope::new(s.into()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let (location, pages) = browser::drive(
            &self.browser,
            url.as_str(),
            REDIRECT_URI,
            &self.user,
            &self.password,
        )
        .await?;
        let location = url::Url::parse(&location).map_err(|e| e.to_string())?;
        let query = |k: &str| {
            location
                .query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string())
        };
        if let Some(error) = query("error") {
            return Err(format!(
                "authorization refused: {error}: {}",
                short(query("error_description").unwrap_or_default(), 100)
            ));
        }
        ensure!(
            query("state").as_deref() == Some(state.secret().as_str()),
            "redirect state: expected {:?}, got {:?}",
            state.secret(),
            query("state")
        );
        ensure!(
            query("iss").as_deref() == Some(self.issuer.as_str()),
            "redirect iss (RFC 9207): expected {:?}, got {:?}",
            self.issuer,
            query("iss")
        );
        let code = query("code").ok_or_else(|| format!("redirect without code: {location}"))?;
        Ok(Auth {
            code,
            verifier: verifier.secret().clone(),
            nonce,
            pages,
        })
    }

    async fn exchange(
        &self,
        client: &Web,
        code: &str,
        verifier: &str,
    ) -> Result<
        CoreTokenResponse,
        RequestTokenError<
            openidconnect::HttpClientError<reqwest::Error>,
            StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
        >,
    > {
        client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| RequestTokenError::Other(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(&self.http)
            .await
    }

    async fn login(&self, client: &Web) -> Result<(CoreTokenResponse, Auth), String> {
        let auth = self.authorize(client).await?;
        let token = self
            .exchange(client, &auth.code, &auth.verifier)
            .await
            .map_err(|e| request_error("exchange_code", &e))?;
        Ok((token, auth))
    }

    async fn refresh(
        &self,
        client: &Web,
        token: &RefreshToken,
    ) -> Result<
        CoreTokenResponse,
        RequestTokenError<
            openidconnect::HttpClientError<reqwest::Error>,
            StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
        >,
    > {
        client
            .exchange_refresh_token(token)
            .map_err(|e| RequestTokenError::Other(e.to_string()))?
            .request_async(&self.http)
            .await
    }

    /// The crate's id_token verifier (signature with the client's JWKS, iss, aud, exp, iat,
    /// nonce), then at_hash as the crate's docs show. Returns the claims and the key id.
    fn verify_id_token(
        verifier: &CoreIdTokenVerifier<'_>,
        id_token: &CoreIdToken,
        access_token: &AccessToken,
        nonce: Option<&Nonce>,
    ) -> Result<(CoreIdTokenClaims, String), String> {
        let claims = match nonce {
            Some(n) => id_token.claims(verifier, n),
            None => id_token.claims(verifier, |_: Option<&Nonce>| Ok(())),
        }
        .map_err(|e| format!("id_token rejected: {}", short(chain(&e), 150)))?
        .clone();
        let alg = id_token.signing_alg().map_err(|e| e.to_string())?;
        let key = id_token.signing_key(verifier).map_err(|e| e.to_string())?;
        if let Some(expected) = claims.access_token_hash() {
            let actual = AccessTokenHash::from_token(access_token, alg, key)
                .map_err(|e| format!("at_hash: {e}"))?;
            ensure!(
                actual == *expected,
                "at_hash: expected {:?}, id_token says {:?}",
                actual.as_str(),
                expected.as_str()
            );
        }
        let kid = key
            .key_id()
            .map(|k| k.as_str().to_string())
            .unwrap_or_default();
        Ok((claims, kid))
    }

    fn id_token_of(token: &CoreTokenResponse) -> Result<&CoreIdToken, String> {
        token
            .id_token()
            .ok_or_else(|| "token response has no id_token".to_string())
    }

    // --- scenarios ----------------------------------------------------------------------------

    async fn s_discovery(&mut self) -> Outcome {
        let meta = self.discover().await?;
        ensure!(
            meta.issuer().as_str() == self.issuer,
            "issuer: expected {:?}, got {:?}",
            self.issuer,
            meta.issuer().as_str()
        );
        ensure!(
            meta.additional_metadata().end_session_endpoint.is_some(),
            "metadata lacks end_session_endpoint"
        );
        ensure!(
            meta.userinfo_endpoint().is_some(),
            "metadata lacks userinfo_endpoint"
        );
        let pkce = &meta
            .additional_metadata()
            .additional_metadata
            .code_challenge_methods_supported;
        ensure!(
            pkce.iter().any(|m| m == "S256"),
            "S256 not in code_challenge_methods_supported: {pkce:?}"
        );
        let keys = meta.jwks().keys().len();
        self.client = Some(self.web_client(&meta, &self.web_secret.clone())?);
        self.meta = Some(meta);
        Ok(format!(
            "ProviderMetadata (+logout, introspection, revocation) parsed; JWKS has {keys} keys"
        ))
    }

    async fn s_client_credentials(&mut self) -> Outcome {
        let token = self
            .cc_client(&self.cc_secret)?
            .exchange_client_credentials()
            .add_scope(oauth2::Scope::new("rust:read".into()))
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("exchange_client_credentials", &e))?;
        ensure!(
            *token.token_type() == oauth2::basic::BasicTokenType::Bearer,
            "token_type: expected Bearer, got {:?}",
            token.token_type()
        );
        let scopes: Vec<String> = token
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        ensure!(
            scopes == ["rust:read"],
            "scope: expected [rust:read], got {scopes:?}"
        );
        ensure!(
            token.refresh_token().is_none(),
            "client_credentials answered with a refresh_token"
        );
        Ok(format!(
            "BasicClient, client_secret_post; Bearer, expires_in {}, scope rust:read",
            token
                .expires_in()
                .map(|d| d.as_secs().to_string())
                .unwrap_or_else(|| "absent".into())
        ))
    }

    async fn s_authorization_code_pkce(&mut self) -> Outcome {
        let (token, auth) = self.login(self.client()).await?;
        ensure!(token.id_token().is_some(), "token response has no id_token");
        ensure!(
            token.refresh_token().is_some(),
            "token response has no refresh_token (offline_access)"
        );
        let pages = auth.pages.join("+");
        self.login = Some(Login {
            token,
            nonce: auth.nonce,
            sub: None,
        });
        Ok(format!(
            "pages {pages}; state and iss checked; exchange_code with PKCE verifier ok"
        ))
    }

    async fn s_id_token_validation(&mut self) -> Outcome {
        let login = self.login.as_ref().ok_or("needs authorization_code_pkce")?;
        let id_token = Self::id_token_of(&login.token)?;
        let (claims, kid) = Self::verify_id_token(
            &self.client().id_token_verifier(),
            id_token,
            login.token.access_token(),
            Some(&login.nonce),
        )?;
        let at_hash = if claims.access_token_hash().is_some() {
            "at_hash checked"
        } else {
            "no at_hash"
        };
        let alg = id_token
            .signing_alg()
            .map(|a| format!("{a:?}"))
            .unwrap_or_default();
        let sub = claims.subject().clone();
        if let Some(l) = self.login.as_mut() {
            l.sub = Some(sub);
        }
        Ok(format!(
            "IdTokenVerifier ok: {alg} kid {}..., iss, aud, nonce; {at_hash}",
            &kid[..kid.len().min(8)]
        ))
    }

    async fn s_userinfo(&mut self) -> Outcome {
        let login = self.login.as_ref().ok_or("needs authorization_code_pkce")?;
        let info: CoreUserInfoClaims = self
            .client()
            .user_info(login.token.access_token().clone(), login.sub.clone())
            .map_err(|e| e.to_string())?
            .request_async(&self.http)
            .await
            .map_err(|e| format!("user_info: {}", short(chain(&e), 160)))?;
        let email = info.email().map(|e| e.as_str().to_string());
        let expected = format!("{}@example.com", self.user);
        ensure!(
            email.as_deref() == Some(expected.as_str()),
            "email: expected {expected:?}, got {email:?}"
        );
        let name = info
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string());
        ensure!(
            name.as_deref() == Some("Rust Alice"),
            "name: expected \"Rust Alice\", got {name:?}"
        );
        Ok("UserInfoClaims ok: sub matches the id_token, email and name".into())
    }

    async fn s_refresh_rotation(&mut self) -> Outcome {
        let client = self.client();
        let (token, _) = self.login(client).await?;
        let rt1 = token.refresh_token().ok_or("no refresh_token")?.clone();
        let new = self
            .refresh(client, &rt1)
            .await
            .map_err(|e| request_error("exchange_refresh_token", &e))?;
        let rt2 = new
            .refresh_token()
            .ok_or("refresh response has no refresh_token")?
            .clone();
        ensure!(
            rt2.secret() != rt1.secret(),
            "expected a new refresh_token (rotation), got the same one back"
        );
        ensure!(
            new.access_token().secret() != token.access_token().secret(),
            "refresh gave the same access_token"
        );
        let mut note = "";
        if let Some(id_token) = new.id_token() {
            Self::verify_id_token(
                &client.id_token_verifier(),
                id_token,
                new.access_token(),
                None,
            )?;
            note = "; refreshed id_token valid";
        }
        expect_server_error(
            self.refresh(client, &rt1).await,
            "invalid_grant",
            "refresh_token.reused",
        )?;
        // RFC 9700 §4.14: a reuse revokes the family. Within REUSE_GRACE Candor keeps it (a race
        // between two requests of one client), so the reuse that must revoke comes later.
        tokio::time::sleep(REUSE_GRACE + Duration::from_millis(1200)).await;
        expect_server_error(
            self.refresh(client, &rt1).await,
            "invalid_grant",
            "refresh_token.reused",
        )?;
        expect_server_error(
            self.refresh(client, &rt2).await,
            "invalid_grant",
            "refresh_token.revoked",
        )
        .map_err(|e| format!("old token refused, but the family was not revoked: rt2 {e}"))?;
        Ok(format!(
            "rotated{note}; old token refused (invalid_grant); family revoked"
        ))
    }

    async fn s_introspection(&mut self) -> Outcome {
        let login = self.login.as_ref().ok_or("needs authorization_code_pkce")?;
        let client = self.client();
        let r = client
            .introspect(login.token.access_token())
            .set_token_type_hint("access_token")
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("introspect", &e))?;
        ensure!(r.active(), "access_token: expected active, got inactive");
        ensure!(
            r.client_id().map(|c| c.as_str()) == Some(self.web_id.as_str()),
            "client_id: expected {:?}, got {:?}",
            self.web_id,
            r.client_id()
        );
        if let Some(sub) = &login.sub {
            ensure!(
                r.sub() == Some(sub.as_str()),
                "sub: expected {:?}, got {:?}",
                sub.as_str(),
                r.sub()
            );
        }
        let scopes = r
            .scopes()
            .map(|s| {
                s.iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let rt = AccessToken::new(
            login
                .token
                .refresh_token()
                .ok_or("no refresh_token")?
                .secret()
                .clone(),
        );
        let r = client
            .introspect(&rt)
            .set_token_type_hint("refresh_token")
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("introspect refresh_token", &e))?;
        ensure!(r.active(), "refresh_token: expected active, got inactive");
        let junk = AccessToken::new("not-a-token".into());
        let r = client
            .introspect(&junk)
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("introspect junk", &e))?;
        ensure!(!r.active(), "junk token: expected inactive, got active");
        Ok(format!(
            "access and refresh tokens active (scope {scopes:?}); junk inactive"
        ))
    }

    async fn s_revocation(&mut self) -> Outcome {
        ensure!(
            self.forwarder.is_some(),
            "no HTTPS forwarder for the revocation endpoint"
        );
        let client = self.client();
        let (token, _) = self.login(client).await?;
        let rt = token.refresh_token().ok_or("no refresh_token")?.clone();
        client
            .revoke_token(CoreRevocableToken::from(rt.clone()))
            .map_err(|e| format!("revoke_token: {e}"))?
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("revoke refresh_token", &e))?;
        let r = client
            .introspect(&AccessToken::new(rt.secret().clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("introspect", &e))?;
        ensure!(
            !r.active(),
            "revoked refresh_token: expected inactive, got active"
        );
        expect_server_error(
            self.refresh(client, &rt).await,
            "invalid_grant",
            "refresh_token.revoked",
        )
        .map_err(|e| format!("refresh with the revoked token: {e}"))?;
        client
            .revoke_token(CoreRevocableToken::from(token.access_token().clone()))
            .map_err(|e| format!("revoke_token: {e}"))?
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("revoke access_token", &e))?;
        let r = client
            .introspect(token.access_token())
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("introspect", &e))?;
        ensure!(
            !r.active(),
            "revoked access_token: expected inactive, got active"
        );
        client
            .revoke_token(CoreRevocableToken::from(AccessToken::new(
                "never-issued".into(),
            )))
            .map_err(|e| format!("revoke_token: {e}"))?
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("revoke unknown token (RFC 7009: 200)", &e))?;
        Ok("revoke_token (via local https front) ok for refresh and access tokens; both inactive; unknown token ok".into())
    }

    async fn s_rp_logout(&mut self) -> Outcome {
        let login = self.login.as_ref().ok_or("needs authorization_code_pkce")?;
        let end_session: EndSessionUrl = self
            .meta()
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .ok_or("metadata lacks end_session_endpoint")?;
        let state = CsrfToken::new_random();
        let url = LogoutRequest::from(end_session)
            .set_id_token_hint(Self::id_token_of(&login.token)?)
            .set_post_logout_redirect_uri(
                PostLogoutRedirectUrl::new(POST_LOGOUT_URI.into()).map_err(|e| e.to_string())?,
            )
            .set_state(state.clone())
            .http_get_url();
        let resp = self.browser.get(url).send().await.map_err(|e| chain(&e))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        ensure!(
            status == 303,
            "expected 303, got {status}: {}",
            short(resp.text().await.unwrap_or_default(), 100)
        );
        let expected = format!("{POST_LOGOUT_URI}?state={}", state.secret());
        ensure!(
            location == expected,
            "Location: expected {expected:?}, got {location:?}"
        );
        // The browser session is gone: the next authorization shows the login page again.
        let (_, auth) = self.login(self.client()).await?;
        ensure!(
            auth.pages.contains(&"login"),
            "after logout, expected the login page, saw {:?}",
            auth.pages
        );
        Ok("LogoutRequest url: 303 to post_logout_redirect_uri with state; session ended".into())
    }

    async fn s_key_rotation(&mut self) -> Outcome {
        // One client instance throughout: it logs in and refreshes before and after the
        // rotation. The crate's verifier holds the JWKS the client was built with, so after the
        // rotation the key set is fetched again (JsonWebKeySet::fetch_async) into a new verifier.
        let client = self.client();
        let cached = client.id_token_verifier();
        let (old, old_auth) = self.login(client).await?;
        let old_id = Self::id_token_of(&old)?;
        let (_, old_kid) =
            Self::verify_id_token(&cached, old_id, old.access_token(), Some(&old_auth.nonce))?;
        // At once, so that the new kid meets the cached key set.
        self.candor(&["keys", "rotate", "--immediately"], None)?;
        let listed = self.candor(&["keys", "list"], None)?;
        let active: Vec<String> = listed
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter(|k| k["status"] == "active" && k["alg"] == "RS256")
                    .filter_map(|k| k["kid"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        ensure!(
            !active.is_empty() && !active.contains(&old_kid),
            "after keys rotate, expected a new active RS256 key, got {active:?}"
        );
        tokio::time::sleep(KEY_PICKUP).await;
        let (new, auth) = self.login(client).await?;
        let new_id = Self::id_token_of(&new)?;
        ensure!(
            Self::verify_id_token(&cached, new_id, new.access_token(), Some(&auth.nonce)).is_err(),
            "the pre-rotation JWKS verified an id_token signed after the rotation (same key?)"
        );
        let jwks: JsonWebKeySet<CoreJsonWebKey> =
            JsonWebKeySet::fetch_async(self.meta().jwks_uri(), &self.http)
                .await
                .map_err(|e| format!("JsonWebKeySet::fetch_async: {}", short(chain(&e), 120)))?;
        let fresh = CoreIdTokenVerifier::new_confidential_client(
            client.client_id().clone(),
            ClientSecret::new(self.web_secret.clone()),
            self.meta().issuer().clone(),
            jwks,
        );
        let (_, new_kid) =
            Self::verify_id_token(&fresh, new_id, new.access_token(), Some(&auth.nonce))
                .map_err(|e| format!("post-rotation id_token against the re-fetched JWKS: {e}"))?;
        ensure!(
            active.contains(&new_kid),
            "new id_token kid: expected one of {active:?}, got {new_kid:?}"
        );
        Self::verify_id_token(&fresh, old_id, old.access_token(), Some(&old_auth.nonce))
            .map_err(|e| format!("pre-rotation id_token against the re-fetched JWKS: {e}"))?;
        let rt = old.refresh_token().ok_or("no refresh_token")?;
        let refreshed = self
            .refresh(client, rt)
            .await
            .map_err(|e| request_error("refresh of the pre-rotation session", &e))?;
        let mut note = String::new();
        if let Some(id_token) = refreshed.id_token() {
            let (_, kid) = Self::verify_id_token(&fresh, id_token, refreshed.access_token(), None)?;
            note = format!(
                "; refreshed id_token kid {}",
                if active.contains(&kid) { "new" } else { "old" }
            );
        }
        Ok(format!(
            "same client: new kid {}... verified after JWKS refetch; old id_token still valid; old session refreshed{note}",
            &new_kid[..new_kid.len().min(8)]
        ))
    }

    async fn s_error_replayed_code(&mut self) -> Outcome {
        let client = self.client();
        let auth = self.authorize(client).await?;
        let first = self
            .exchange(client, &auth.code, &auth.verifier)
            .await
            .map_err(|e| request_error("first exchange_code", &e))?;
        let detail = expect_server_error(
            self.exchange(client, &auth.code, &auth.verifier).await,
            "invalid_grant",
            "code.reused",
        )?;
        // RFC 6749 §4.1.2: the tokens issued from the reused code are revoked.
        let r = client
            .introspect(first.access_token())
            .request_async(&self.http)
            .await
            .map_err(|e| request_error("introspect", &e))?;
        ensure!(
            !r.active(),
            "{detail}; but the first exchange's access_token is still active"
        );
        Ok(detail)
    }

    async fn s_error_wrong_pkce_verifier(&mut self) -> Outcome {
        let client = self.client();
        let auth = self.authorize(client).await?;
        let (_, wrong) = PkceCodeChallenge::new_random_sha256();
        expect_server_error(
            self.exchange(client, &auth.code, wrong.secret()).await,
            "invalid_grant",
            "pkce.verifier_mismatch",
        )
    }

    async fn s_error_wrong_client_secret(&mut self) -> Outcome {
        let result = self
            .cc_client(&format!("wrong-{}", random_token()))?
            .exchange_client_credentials()
            .add_scope(oauth2::Scope::new("rust:read".into()))
            .request_async(&self.http)
            .await;
        expect_server_error(result, "invalid_client", "client_auth.secret_mismatch")
    }

    async fn scenario(&mut self, id: &str) -> Outcome {
        if id != "discovery" && self.meta.is_none() {
            return Err("needs discovery".into());
        }
        match id {
            "discovery" => self.s_discovery().await,
            "client_credentials" => self.s_client_credentials().await,
            "authorization_code_pkce" => self.s_authorization_code_pkce().await,
            "id_token_validation" => self.s_id_token_validation().await,
            "userinfo" => self.s_userinfo().await,
            "refresh_rotation" => self.s_refresh_rotation().await,
            "introspection" => self.s_introspection().await,
            "revocation" => self.s_revocation().await,
            "rp_logout" => self.s_rp_logout().await,
            "key_rotation" => self.s_key_rotation().await,
            "error_replayed_code" => self.s_error_replayed_code().await,
            "error_wrong_pkce_verifier" => self.s_error_wrong_pkce_verifier().await,
            "error_wrong_client_secret" => self.s_error_wrong_client_secret().await,
            other => Err(format!("unknown scenario {other}")),
        }
    }
}

async fn timed<F: Future<Output = Outcome>>(f: F) -> (Outcome, Duration) {
    let t = Instant::now();
    let r = f.await;
    (r, t.elapsed())
}

fn env_var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    // Exactly one rustls provider is linked (ring, through reqwest 0.12); installing it as the
    // process default anyway keeps rustls from panicking should another one ever be linked in.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("[rust] crashed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let issuer = env_var("CANDOR_ISSUER")?.trim_end_matches('/').to_string();
    let results_dir = env_var("RESULTS_DIR")?;
    let forwarder = match tls_forward::start(issuer.clone()).await {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("[rust] no HTTPS forwarder for revocation: {e}");
            None
        }
    };
    let mut http = reqwest::Client::builder()
        // The crates' advice: no redirects for the OAuth HTTP client (SSRF).
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20));
    if let Some(f) = &forwarder {
        let cert = reqwest::Certificate::from_der(&f.certificate).map_err(|e| e.to_string())?;
        http = http.add_root_certificate(cert);
    }
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| e.to_string())?;
    let suffix: String = random_token()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(6)
        .collect();
    let mut run = Run {
        bin: env_var("CANDOR_BIN")?,
        data: env_var("CANDOR_DATA")?,
        issuer,
        http: http.build().map_err(|e| e.to_string())?,
        browser,
        forwarder,
        user: format!("rust-alice-{suffix}"),
        suffix,
        password: random_token(),
        web_id: String::new(),
        web_secret: String::new(),
        cc_id: String::new(),
        cc_secret: String::new(),
        meta: None,
        client: None,
        login: None,
    };

    let label = format!(
        "rust openidconnect {} + oauth2 {}",
        lock_version("openidconnect"),
        lock_version("oauth2")
    );
    let path = std::path::Path::new(&results_dir).join(format!("{CLIENT}.json"));
    let mut results = Vec::new();
    let setup = run.register();
    for id in SCENARIOS {
        let (outcome, took) = match &setup {
            Err(e) => (Err(format!("setup: {e}")), Duration::ZERO),
            Ok(()) => timed(run.scenario(id)).await,
        };
        let (status, detail) = match outcome {
            Ok(d) => ("pass", d),
            Err(d) => ("fail", d),
        };
        let detail = short(detail, 200);
        eprintln!(
            "[rust] {id}: {status} ({:.1}s) {detail}",
            took.as_secs_f64()
        );
        results.push(json!({"scenario": id, "status": status, "detail": detail}));
        // Rewritten after every scenario, so a crash still leaves what ran.
        let doc = json!({"client": label, "results": results});
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n";
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
