//! The server's own access tokens as admin credentials: a token this server issued, active,
//! with the `candor:admin` scope (the admin role) or `candor:admin:read` (the viewer role).
//!
//! Only tokens a client obtained for itself (`client_credentials`) count for now: a user's
//! token would let anyone who can sign in and consent to a client that holds the scope
//! administer the server. Users become administrators through roles of the identity model.

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

#[async_trait::async_trait]
impl TokenVerifier for ServerTokens {
    async fn verify(&self, token: &str) -> Option<Principal> {
        let Ok(Lookup::Found(facts, TokenState::Active)) = lookup(&self.0, token).await else {
            return None;
        };
        if matches!(facts.held, Held::Refresh { .. }) || facts.auth_time.is_some() {
            return None;
        }
        let role = role_of(facts.scope.as_deref().unwrap_or(""))?;
        Some(Principal {
            who: format!("client:{}", facts.client_id),
            role,
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
}
