//! A first-party application of this server signing a user in (the demo app of `serve --dev`,
//! the admin console): the authorization code flow with PKCE played by the client's rules —
//! `state`, verifier and nonce kept in the application's own cookie, `state` checked on the
//! way back — and the code redeemed through the same token-endpoint logic any client reaches
//! over HTTP, without the round trip.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use candor_proto::form::Form;
use candor_proto::pkce;
use candor_proto::secret::random_token;
use candor_proto::{Code, OAuthError};
use serde_json::Value;

use crate::app::App;
use crate::authorize::callback_url;
use crate::grant::mint::TokenResponse;

/// Which application: its client_id, where the browser comes back, what it asks for.
#[derive(Debug, Clone, Copy)]
pub struct Party {
    pub client_id: &'static str,
    /// The callback's path under the issuer (`/demo/callback`).
    pub callback_path: &'static str,
    pub scopes: &'static str,
    /// How the application is named in messages ("the demo app").
    pub name: &'static str,
}

impl Party {
    /// Where the authorization server sends the browser back to.
    pub fn callback_uri(&self, issuer: &str) -> String {
        format!("{issuer}{}", self.callback_path)
    }
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
pub fn start(issuer: &str, party: &Party) -> (Started, String) {
    let started = Started::new();
    let challenge = pkce::s256(&started.verifier);
    let redirect_uri = party.callback_uri(issuer);
    let url = callback_url(
        &format!("{issuer}/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", party.client_id),
            ("redirect_uri", &redirect_uri),
            ("scope", party.scopes),
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

/// The JSON payload of a compact JWS, unverified: the application shows what it was just
/// given by the server itself, in this process.
pub fn claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Handles a return to `party`'s callback as it arrives: the raw query, and the value of the
/// application's cookie holding what [`start`] remembered (if the browser sent one).
pub async fn returned(
    app: &App,
    party: &Party,
    query: Option<&str>,
    cookie: Option<&str>,
) -> Finished {
    let started = cookie.and_then(Started::from_cookie);
    match Form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(form) => finish(app, party, &form, started).await,
        Err(e) => Finished::Refused(e),
    }
}

/// Handles the return to the callback: checks `state`, reads an error, or redeems the code.
pub async fn finish(app: &App, party: &Party, query: &Form, started: Option<Started>) -> Finished {
    let Some(started) = started else {
        return Finished::Unexpected(
            "this browser has no sign-in in progress here (the application's cookie is missing or expired): start again",
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
    let redirect_uri = party.callback_uri(app.issuer());
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("client_id", party.client_id),
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

    const PARTY: Party = Party {
        client_id: "app",
        callback_path: "/app/callback",
        scopes: "openid",
        name: "the app",
    };

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
        let (started, url) = start("http://127.0.0.1:8080", &PARTY);
        assert!(url.starts_with("http://127.0.0.1:8080/authorize?response_type=code"));
        assert!(url.contains("code_challenge_method=S256"));
        assert!(url.contains(&format!("state={}", started.state)));
        assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fapp%2Fcallback"));
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
