//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the browser session and,
//! when the client is known and the URI registered, sends the browser back.

use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::jose::JoseError;
use candor_proto::{Code, OAuthError, redirect_uri};
use serde_json::Value;

use crate::app::App;
use crate::authorize::callback_url;
use crate::browser::current_session;
use crate::error::ServerError;

/// What the browser sees after a logout request.
#[derive(Debug)]
pub enum LogoutStep {
    /// Ask the user to confirm (no valid id_token_hint for the current session).
    Confirm(ConfirmView),
    /// Logged out; redirect when a registered URI was given, else show a page.
    Done {
        redirect: Option<String>,
    },
    Page(OAuthError),
}

#[derive(Debug, Clone, Default)]
pub struct ConfirmView {
    pub id_token_hint: String,
    pub post_logout_redirect_uri: String,
    pub state: String,
    pub client_id: String,
}

fn page(code: Code, why: impl AsRef<str>) -> LogoutStep {
    LogoutStep::Page(OAuthError::new(code, why))
}

/// Handles `GET|POST /logout`; `confirmed` when the user pressed the button on the
/// confirmation page (with a valid CSRF token, checked by the caller).
pub async fn logout(
    app: &App,
    form: &Form,
    session_cookie: Option<&str>,
    confirmed: bool,
) -> Result<LogoutStep, ServerError> {
    let mut hint_sub = None;
    let mut client_id = form.get("client_id").map(str::to_string);
    if let Some(hint) = form.get("id_token_hint") {
        let keys = app.keys().current();
        let claims: Value = match keys.verify(hint) {
            Ok((_, c)) => c,
            Err(JoseError::Malformed) => {
                return Ok(page(
                    Code::LogoutIdTokenHintInvalid,
                    "id_token_hint is not a JWT",
                ));
            }
            Err(e) => {
                return Ok(page(
                    Code::LogoutIdTokenHintInvalid,
                    format!("id_token_hint does not verify: {e}"),
                ));
            }
        };
        if claims.get("iss").and_then(Value::as_str) != Some(app.issuer()) {
            return Ok(page(
                Code::LogoutIdTokenHintInvalid,
                format!(
                    "id_token_hint was issued by {}",
                    quote(claims.get("iss").and_then(Value::as_str).unwrap_or(""))
                ),
            ));
        }
        let aud = match claims.get("aud").unwrap_or(&Value::Null) {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        if let (Some(given), Some(aud)) = (&client_id, &aud)
            && given != aud
        {
            return Ok(page(
                Code::LogoutIdTokenHintInvalid,
                format!(
                    "client_id differs from the id_token_hint's audience {}",
                    quote(aud)
                ),
            ));
        }
        client_id = client_id.or(aud);
        hint_sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_string);
    }

    let redirect = match form.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let client = match &client_id {
                Some(id) => app.clients().get(app.store(), id).await?,
                None => None,
            };
            let Some(client) = client else {
                return Ok(page(
                    Code::LogoutRedirectNotRegistered,
                    "post_logout_redirect_uri needs id_token_hint or client_id to know the client",
                ));
            };
            if let Err(why) = redirect_uri::check(uri) {
                return Ok(page(
                    Code::RedirectUriUnsafe,
                    format!(
                        "post_logout_redirect_uri {} is refused: {}",
                        quote(uri),
                        why.describe()
                    ),
                ));
            }
            if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Ok(page(
                    Code::LogoutRedirectNotRegistered,
                    format!(
                        "post_logout_redirect_uri {} is not registered for client {}",
                        quote(uri),
                        quote(&client.client_id)
                    ),
                ));
            }
            let mut params = Vec::new();
            if let Some(state) = form.get("state") {
                params.push(("state", state));
            }
            Some(if params.is_empty() {
                uri.to_string()
            } else {
                callback_url(uri, &params)
            })
        }
    };

    let session = current_session(app, session_cookie).await?;
    let hint_matches = match (&session, &hint_sub) {
        (Some(s), Some(sub)) => s.user_id == *sub,
        (None, _) => true,
        (Some(_), None) => false,
    };
    if !confirmed && !hint_matches {
        return Ok(LogoutStep::Confirm(ConfirmView {
            id_token_hint: form.get("id_token_hint").unwrap_or("").to_string(),
            post_logout_redirect_uri: form
                .get("post_logout_redirect_uri")
                .unwrap_or("")
                .to_string(),
            state: form.get("state").unwrap_or("").to_string(),
            client_id: client_id.unwrap_or_default(),
        }));
    }
    if let Some(s) = session {
        app.store().delete_session(&s.sid).await?;
    }
    Ok(LogoutStep::Done { redirect })
}
