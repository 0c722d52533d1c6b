//! The try-it path of `serve --dev`: a demo user, a demo application (a public client using
//! PKCE, as a single-page or native app would) and that application's own two pages under
//! `/demo`, so that a newcomer can watch the authorization code flow end to end in a browser in
//! one minute, the way `hydra perform authorization-code` lets one. Mounted only when
//! [`crate::Settings::demo`] is set; nothing here runs on a production server.
//!
//! The application half plays by the client's rules, not the server's: it keeps its `state`,
//! PKCE verifier and nonce in its own cookie, checks `state` on the way back, and redeems the
//! code through the same token-endpoint logic any client reaches over HTTP.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use candor_proto::access_token::Format;
use candor_proto::client_auth::AuthMethod;
use candor_proto::form::Form;
use candor_proto::grant_type::GrantType;
use candor_proto::pkce;
use candor_proto::seal::MasterKey;
use candor_proto::secret::{Secret, random_token};
use candor_proto::{Code, OAuthError};
use candor_store::Store;
use serde_json::Value;

use crate::app::App;
use crate::authorize::callback_url;
use crate::clients::{self, NewClient};
use crate::error::ServerError;
use crate::grant::mint::TokenResponse;
use crate::settings::Settings;
use crate::users;

/// The demo application's client_id.
pub const CLIENT_ID: &str = "candor-demo";
/// The demo user's username.
pub const USERNAME: &str = "demo";
/// What the demo application asks for: everything a user has, and a refresh token.
pub const SCOPES: &str = "openid profile email offline_access";

/// Where the authorization server sends the browser back to.
pub fn callback_uri(issuer: &str) -> String {
    format!("{issuer}/demo/callback")
}

/// The demo application's start page.
pub fn home_uri(issuer: &str) -> String {
    format!("{issuer}/demo")
}

/// What [`ensure`] found or made.
#[derive(Debug)]
pub struct Prepared {
    /// The demo user's password when the user was created just now: shown once, like a
    /// client secret, and never stored in the clear.
    pub new_password: Option<Secret>,
    /// The demo client was (re)registered because it was missing or its callback moved (a
    /// new port).
    pub client_registered: bool,
}

/// Registers the demo client and creates the demo user unless they exist. The client is
/// registered again when its callback no longer matches the issuer (a dev server started on
/// another port), which voids the old registration's tokens as any client deletion does.
pub async fn ensure(
    store: &dyn Store,
    master: &MasterKey,
    settings: &Settings,
    now: i64,
) -> Result<Prepared, ServerError> {
    let issuer = settings.issuer.as_str();
    let callback = callback_uri(issuer);
    let existing = store.get_client(CLIENT_ID).await?;
    let client_registered = match existing {
        Some(c) if c.redirect_uris == [callback.clone()] => false,
        found => {
            if found.is_some() {
                clients::delete(store, settings, CLIENT_ID, now).await?;
            }
            let mut new = NewClient::new("Candor demo app");
            new.client_id = Some(CLIENT_ID.to_string());
            new.redirect_uris = vec![callback];
            new.post_logout_redirect_uris = vec![home_uri(issuer)];
            new.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            new.scopes = SCOPES.split(' ').map(str::to_string).collect();
            new.auth_method = AuthMethod::None;
            new.access_token_format = Format::Jwt;
            clients::create(store, master, new, now).await?;
            true
        }
    };
    let new_password = if store.get_user_by_username(USERNAME).await?.is_some() {
        None
    } else {
        // 20 characters of a 256-bit random token: short enough to type, far past guessing
        // under the sign-in throttle.
        let password = Secret::new(&random_token().expose()[..20]);
        users::create(
            store,
            USERNAME,
            &password,
            Some("demo@example.com".to_string()),
            Some("Demo User".to_string()),
            now,
        )
        .await?;
        Some(password)
    };
    Ok(Prepared {
        new_password,
        client_registered,
    })
}

/// What the demo application remembers between sending the browser away and its return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub state: String,
    pub verifier: String,
    pub nonce: String,
}

impl Started {
    fn new() -> Started {
        Started {
            state: random_token().expose().to_string(),
            verifier: random_token().expose().to_string(),
            nonce: random_token().expose().to_string(),
        }
    }

    /// The value of the application's cookie (three URL-safe tokens, `.`-separated).
    pub fn cookie_value(&self) -> String {
        format!("{}.{}.{}", self.state, self.verifier, self.nonce)
    }

    /// Reads a cookie written by [`Started::cookie_value`].
    pub fn from_cookie(value: &str) -> Option<Started> {
        let mut parts = value.split('.');
        let (state, verifier, nonce) = (parts.next()?, parts.next()?, parts.next()?);
        let token = |s: &str| s.len() == 43 && URL_SAFE_NO_PAD.decode(s).is_ok();
        (parts.next().is_none() && token(state) && token(verifier) && token(nonce)).then(|| {
            Started {
                state: state.to_string(),
                verifier: verifier.to_string(),
                nonce: nonce.to_string(),
            }
        })
    }
}

/// Starts a sign-in: what to remember, and the authorization request URL to send the browser to.
pub fn start(issuer: &str) -> (Started, String) {
    let started = Started::new();
    let challenge = pkce::s256(&started.verifier);
    let redirect_uri = callback_uri(issuer);
    let url = callback_url(
        &format!("{issuer}/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", &redirect_uri),
            ("scope", SCOPES),
            ("state", &started.state),
            ("nonce", &started.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    (started, url)
}

/// How the round trip ended, for the callback page.
#[derive(Debug)]
pub enum Finished {
    /// The token response, and the claims of the tokens that are JWTs.
    Tokens {
        response: TokenResponse,
        id_token: Option<Value>,
        access_token: Option<Value>,
    },
    /// The authorization server (or the token endpoint) refused, with its diagnosis.
    Refused(OAuthError),
    /// The callback does not belong to a sign-in this browser started here.
    Unexpected(&'static str),
}

/// The JSON payload of a compact JWS, unverified: the demo shows what it was just given by the
/// server it trusts; a real client verifies the signature first.
fn claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Handles the return to the callback: checks `state`, reads an error, or redeems the code.
pub async fn finish(app: &App, query: &Form, started: Option<Started>) -> Finished {
    let Some(started) = started else {
        return Finished::Unexpected(
            "this browser has no sign-in in progress with the demo app (its cookie is missing or expired): start again",
        );
    };
    if query.get("state") != Some(started.state.as_str()) {
        return Finished::Unexpected(
            "the state parameter does not match the one this browser sent: the response belongs to another sign-in",
        );
    }
    if let Some(error) = query.get("error") {
        let description = query.get("error_description").unwrap_or(error);
        let code = query
            .get("diagnosis")
            .or_else(|| query.get("error_uri").and_then(|u| u.rsplit('/').next()))
            .and_then(Code::parse)
            .unwrap_or(Code::ConsentDenied);
        return Finished::Refused(OAuthError::new(code, description));
    }
    let Some(code) = query.get("code") else {
        return Finished::Unexpected("the callback carries neither a code nor an error");
    };
    let redirect_uri = callback_uri(app.issuer());
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("client_id", CLIENT_ID),
            ("code_verifier", &started.verifier),
        ])
        .finish();
    let form = match Form::parse(body.as_bytes()) {
        Ok(f) => f,
        Err(e) => return Finished::Refused(e),
    };
    // The same token-endpoint logic a client reaches over HTTP, without the round trip.
    let (method, headers) = (axum::http::Method::POST, axum::http::HeaderMap::new());
    let uri = axum::http::Uri::from_static("/token");
    let request = crate::grant::TokenRequest {
        method: &method,
        uri: &uri,
        headers: &headers,
        authorization: None,
        form: &form,
    };
    match crate::grant::exchange(app, &request).await {
        Ok(response) => {
            let id_token = response.id_token.as_deref().and_then(claims);
            let access_token = claims(&response.access_token);
            Finished::Tokens {
                response,
                id_token,
                access_token,
            }
        }
        Err(refusal) => Finished::Refused(refusal.public()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_round_trips_through_its_cookie() {
        let s = Started::new();
        assert_eq!(Started::from_cookie(&s.cookie_value()), Some(s));
    }

    #[test]
    fn a_forged_cookie_is_not_a_sign_in() {
        for bad in [
            "",
            "a.b.c",
            "x",
            &format!("{0}.{0}.{0}.{0}", "A".repeat(43)),
        ] {
            assert_eq!(Started::from_cookie(bad), None, "{bad}");
        }
    }

    #[test]
    fn start_asks_for_pkce_and_the_callback() {
        let (started, url) = start("http://127.0.0.1:8080");
        assert!(url.starts_with("http://127.0.0.1:8080/authorize?response_type=code"));
        assert!(url.contains("code_challenge_method=S256"));
        assert!(url.contains(&format!("state={}", started.state)));
        assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fdemo%2Fcallback"));
        assert!(
            !url.contains(&started.verifier),
            "the verifier never leaves the app"
        );
    }

    #[test]
    fn claims_reads_a_jws_payload_and_nothing_else() {
        let jwt = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(br#"{"sub":"u1"}"#));
        assert_eq!(claims(&jwt).unwrap()["sub"], "u1");
        assert_eq!(claims("opaque-token"), None);
    }
}
