//! The try-it path of `serve --dev`: a demo user, a demo application (a public client using
//! PKCE, as a single-page or native app would) and that application's own two pages under
//! `/demo`, so that a newcomer can watch the authorization code flow end to end in a browser in
//! one minute, the way `hydra perform authorization-code` lets one. Mounted only when
//! [`crate::Settings::demo`] is set; nothing here runs on a production server.
//!
//! The application half is a first-party application ([`crate::first_party`]): it plays by the
//! client's rules, not the server's.

use candor_proto::access_token::Format;
use candor_proto::client_auth::AuthMethod;
use candor_proto::form::Form;
use candor_proto::grant_type::GrantType;
use candor_proto::seal::MasterKey;
use candor_proto::secret::{Secret, random_token};
use candor_store::Store;

use crate::app::App;
use crate::clients::{self, NewClient};
use crate::error::ServerError;
use crate::first_party::{self, Party};
pub use crate::first_party::{Finished, Started};
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
    PARTY.callback_uri(issuer)
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
        // The demo user administers the dev server too: the console at /admin works in the
        // first minute.
        let admin = users::UserChange {
            roles: Some(vec!["admin".to_string()]),
            ..users::UserChange::default()
        };
        users::update(store, USERNAME, admin).await?;
        Some(password)
    };
    Ok(Prepared {
        new_password,
        client_registered,
    })
}

/// The demo application as a first-party application of this server.
pub const PARTY: Party = Party {
    client_id: CLIENT_ID,
    callback_path: "/demo/callback",
    scopes: SCOPES,
    name: "the demo app",
};

/// Starts the demo app's sign-in.
pub fn start(issuer: &str) -> (Started, String) {
    first_party::start(issuer, &PARTY)
}

/// Handles the return to the demo app's callback.
pub async fn finish(app: &App, query: &Form, started: Option<Started>) -> Finished {
    first_party::finish(app, &PARTY, query, started).await
}
