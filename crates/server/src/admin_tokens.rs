//! The server's own access tokens as admin credentials: a token this server issued, active,
//! with the `candor:admin` scope (the admin role) or `candor:admin:read` (the viewer role).
//!
//! A token a client obtained for itself (`client_credentials`) acts as `client:<id>` with the
//! role its scope grants. A user's token acts as `user:<username>` with the lesser of what its
//! scope grants and what the user's roles (`admin`, `viewer`) allow: holding the scope is not
//! enough, or anyone who can sign in to a client registered with it would administer.

use candor_admin::{Principal, Role, SCOPE_ADMIN, SCOPE_VIEWER, TokenVerifier};

use crate::app::App;
use crate::token_lookup::{Held, Lookup, TokenState, lookup};

/// Verifies admin tokens against `App`'s store and keys.
pub(crate) struct ServerTokens(pub(crate) App);

/// The role `scope` (space-separated) grants, if any.
pub(crate) fn role_of(scope: &str) -> Option<Role> {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if scopes.contains(&SCOPE_ADMIN) {
        Some(Role::Admin)
    } else if scopes.contains(&SCOPE_VIEWER) {
        Some(Role::Viewer)
    } else {
        None
    }
}

/// The most a user's roles allow.
pub(crate) fn user_role(roles: &[String]) -> Option<Role> {
    if roles.iter().any(|r| r == "admin") {
        Some(Role::Admin)
    } else if roles.iter().any(|r| r == "viewer") {
        Some(Role::Viewer)
    } else {
        None
    }
}

#[async_trait::async_trait]
impl TokenVerifier for ServerTokens {
    async fn verify(&self, token: &str) -> Option<Principal> {
        let Ok(Lookup::Found(facts, TokenState::Active)) = lookup(&self.0, token).await else {
            return None;
        };
        if matches!(facts.held, Held::Refresh { .. }) {
            return None;
        }
        let granted = role_of(facts.scope.as_deref().unwrap_or(""))?;
        if facts.auth_time.is_none() {
            return Some(Principal {
                who: format!("client:{}", facts.client_id),
                role: granted,
            });
        }
        let user = self
            .0
            .store()
            .get_user(facts.subject.as_deref()?)
            .await
            .ok()??;
        let allowed = user_role(&user.roles)?;
        Some(Principal {
            who: format!("user:{}", user.username),
            role: granted.min(allowed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_whole_scopes() {
        assert_eq!(role_of("candor:admin"), Some(Role::Admin));
        assert_eq!(role_of("read candor:admin:read"), Some(Role::Viewer));
        assert_eq!(role_of("candor:admin:read candor:admin"), Some(Role::Admin));
        assert_eq!(role_of("candor:administrator candor"), None);
        assert_eq!(role_of(""), None);
    }

    #[test]
    fn a_users_roles_bound_what_their_token_may_do() {
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(user_role(&roles(&["viewer", "admin"])), Some(Role::Admin));
        assert_eq!(user_role(&roles(&["viewer"])), Some(Role::Viewer));
        assert_eq!(user_role(&roles(&["billing"])), None);
        // A viewer's token with the admin scope may only read.
        assert_eq!(Role::Admin.min(Role::Viewer), Role::Viewer);
    }
}
