//! Checking a user's password, with the defences a login form needs: the same work and the same
//! answer for an unknown user as for a wrong password, a slowdown after a few failures and a
//! lock after many, counted per account in the store so that every node sees them.
//!
//! An attempt is counted before its password is checked, in one atomic statement: fifty
//! concurrent guesses get fifty different counts, so no more than the allowed number is ever
//! checked, however fast they come. A success clears the count.

use std::sync::OnceLock;
use std::time::Duration;

use candor_calls::Kind;
use candor_proto::Code;
use candor_proto::secret::{Secret, random_token};
use candor_store::User;

use crate::app::App;
use crate::error::ServerError;
use crate::events::{Event, emit};
use crate::users::{hash_password, verify_password};

/// What a login attempt yields.
#[derive(Debug)]
pub enum LoginResult {
    Success(User),
    /// Wrong password or unknown user: the same to the caller, on purpose.
    Failed,
    /// The right password for an account an administrator disabled.
    Disabled,
    /// Too many failures; try again after this many seconds.
    Locked {
        retry_after: i64,
    },
}

/// A hash of a random password, verified against when the user does not exist, so that an
/// unknown username costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// Checks `username` and `password`.
pub async fn attempt(
    app: &App,
    username: &str,
    password: &Secret,
) -> Result<LoginResult, ServerError> {
    let s = app.settings();
    let window = s.login_failure_window.as_secs() as i64;
    let now = app.now();
    let attempts = app
        .store()
        .record_login_failure(username, now, window)
        .await?;
    if attempts > s.login_max_failures {
        // The lock lasts until the window that began with the first failure is over: at most
        // one window from now.
        tracing::info!(attempts, "login refused: the account is locked");
        app.metrics().login_throttled();
        let user = app.store().get_user_by_username(username).await?;
        emit(
            app,
            with_user(
                Event::new(Kind::SigninFailed).cause(Code::LoginLocked),
                user.as_ref(),
            ),
        );
        return Ok(LoginResult::Locked {
            retry_after: window,
        });
    }
    // The attempts before this one that failed.
    let failures = attempts - 1;
    if failures >= s.login_slowdown_after {
        // Doubling delays, 250 ms to 4 s: harmless for a person, ruinous for a guesser.
        let extra = (failures - s.login_slowdown_after).min(4);
        tokio::time::sleep(Duration::from_millis(250 << extra)).await;
    }

    let user = app.store().get_user_by_username(username).await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let password = password.clone();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    match user {
        Some(user) if matches && user.disabled_at.is_some() => {
            crate::calls::subject(&user.id);
            crate::calls::diagnosis(Code::LoginAccountDisabled);
            tracing::info!("login refused: the account is disabled");
            let refused = Event::new(Kind::SigninFailed).cause(Code::LoginAccountDisabled);
            emit(app, with_user(refused, Some(&user)));
            Ok(LoginResult::Disabled)
        }
        Some(user) if matches => {
            crate::calls::subject(&user.id);
            app.store().clear_login_failures(username).await?;
            Ok(LoginResult::Success(user))
        }
        _ => {
            tracing::info!(failures = attempts, "login failed");
            app.metrics().login_failed();
            let cause = match user {
                Some(_) => Code::LoginInvalidPassword,
                None => Code::LoginUnknownUser,
            };
            emit(
                app,
                with_user(Event::new(Kind::SigninFailed).cause(cause), user.as_ref()),
            );
            if attempts == s.login_max_failures {
                let lockout = Event::new(Kind::LockoutStarted).cause(Code::LoginLocked);
                emit(app, with_user(lockout, user.as_ref()));
            }
            if attempts >= s.login_max_failures {
                Ok(LoginResult::Locked {
                    retry_after: window,
                })
            } else {
                Ok(LoginResult::Failed)
            }
        }
    }
}

/// `event` about `user`, when there is such a user (never the username as typed: a person
/// who types a password into the username field must not find it in a log).
fn with_user(event: Event, user: Option<&User>) -> Event {
    match user {
        Some(u) => event.subject(&u.id),
        None => event,
    }
}
