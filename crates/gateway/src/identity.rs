//! Who a verified token speaks for.

use std::sync::Arc;

/// A verified access token: what the gateway forwards and checks routes against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: Arc<str>,
    pub sub: String,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    pub jti: Option<String>,
    pub grant_id: Option<String>,
    pub exp: i64,
    pub iat: Option<i64>,
    pub auth_time: Option<i64>,
    /// Every claim, for the routes' claim rules.
    pub claims: serde_json::Value,
}

impl Identity {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
