//! The deny set: what an issuer's revocation feed says is revoked, in memory, each entry kept
//! until the tokens it denies would have expired anyway.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::Deserialize;

use crate::identity::Identity;

/// One entry of a revocation feed, as Candor's `/revocations` serves it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FeedEntry {
    pub seq: i64,
    pub kind: String,
    pub id: String,
    pub expires_at: i64,
    pub revoked_at: i64,
}

#[derive(Debug, Default)]
struct Sets {
    /// jti → expiry.
    tokens: HashMap<String, i64>,
    /// grant id (a code's grant, or a refresh family) → expiry.
    grants: HashMap<String, i64>,
    /// sub → (revoked_at, expiry): void what was authenticated at or before revoked_at.
    subjects: HashMap<String, (i64, i64)>,
    /// client_id → (revoked_at, expiry): void what was issued at or before revoked_at.
    clients: HashMap<String, (i64, i64)>,
}

/// The revoked tokens, grants, users and clients of one issuer.
#[derive(Debug, Default)]
pub struct DenySet {
    sets: RwLock<Sets>,
}

impl DenySet {
    /// Adds feed entries; unknown kinds are ignored (a newer server may add some).
    pub fn apply(&self, entries: &[FeedEntry]) {
        let Ok(mut sets) = self.sets.write() else {
            return;
        };
        for e in entries {
            match e.kind.as_str() {
                "access_token" => {
                    sets.tokens.insert(e.id.clone(), e.expires_at);
                }
                "refresh_family" | "grant" => {
                    sets.grants.insert(e.id.clone(), e.expires_at);
                }
                "subject" => {
                    sets.subjects
                        .insert(e.id.clone(), (e.revoked_at, e.expires_at));
                }
                "client" => {
                    sets.clients
                        .insert(e.id.clone(), (e.revoked_at, e.expires_at));
                }
                _ => {}
            }
        }
    }

    /// Whether `identity` is revoked.
    pub fn denies(&self, identity: &Identity) -> bool {
        let Ok(sets) = self.sets.read() else {
            // A poisoned lock means a panic elsewhere: refuse rather than guess.
            return true;
        };
        if identity
            .jti
            .as_ref()
            .is_some_and(|j| sets.tokens.contains_key(j))
            || identity
                .grant_id
                .as_ref()
                .is_some_and(|g| sets.grants.contains_key(g))
        {
            return true;
        }
        let issued = identity.iat.unwrap_or(i64::MIN);
        if let Some(client) = &identity.client_id
            && let Some((at, _)) = sets.clients.get(client)
            && issued <= *at
        {
            return true;
        }
        if let Some((at, _)) = sets.subjects.get(&identity.sub) {
            let authenticated = identity.auth_time.or(identity.iat).unwrap_or(i64::MIN);
            // A client_credentials token's subject is its client, never a user.
            let is_client = identity.client_id.as_deref() == Some(identity.sub.as_str())
                && identity.auth_time.is_none();
            if !is_client && authenticated <= *at {
                return true;
            }
        }
        false
    }

    /// Drops entries whose tokens have all expired.
    pub fn purge(&self, now: i64) {
        if let Ok(mut sets) = self.sets.write() {
            sets.tokens.retain(|_, exp| *exp >= now);
            sets.grants.retain(|_, exp| *exp >= now);
            sets.subjects.retain(|_, (_, exp)| *exp >= now);
            sets.clients.retain(|_, (_, exp)| *exp >= now);
        }
    }

    /// Entries held, for metrics.
    pub fn len(&self) -> usize {
        self.sets
            .read()
            .map(|s| s.tokens.len() + s.grants.len() + s.subjects.len() + s.clients.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            issuer: "https://as.example".into(),
            sub: "u1".into(),
            client_id: Some("app".into()),
            scopes: vec![],
            jti: Some("j1".into()),
            grant_id: Some("g1".into()),
            exp: 2000,
            iat: Some(1000),
            auth_time: Some(900),
            claims: serde_json::Value::Null,
            forwarded: Default::default(),
            principal: Default::default(),
        }
    }

    fn entry(kind: &str, id: &str, revoked_at: i64) -> FeedEntry {
        FeedEntry {
            seq: 1,
            kind: kind.into(),
            id: id.into(),
            expires_at: 5000,
            revoked_at,
        }
    }

    #[test]
    fn each_kind_denies_what_it_names() {
        let cases = [
            (entry("access_token", "j1", 0), true),
            (entry("access_token", "j2", 0), false),
            (entry("refresh_family", "g1", 0), true),
            (entry("grant", "g1", 0), true),
            (entry("subject", "u1", 900), true),
            (entry("subject", "u1", 899), false),
            (entry("client", "app", 1000), true),
            (entry("client", "app", 999), false),
            (entry("something_new", "j1", 0), false),
        ];
        for (e, denied) in cases {
            let set = DenySet::default();
            set.apply(std::slice::from_ref(&e));
            assert_eq!(set.denies(&identity()), denied, "{e:?}");
        }
        let set = DenySet::default();
        set.apply(&[entry("access_token", "j1", 0)]);
        set.purge(5001);
        assert!(!set.denies(&identity()));
        assert!(set.is_empty());
    }
}
