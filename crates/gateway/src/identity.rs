//! Who a verified token speaks for.

use std::sync::{Arc, OnceLock};

use http::{HeaderName, HeaderValue};

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
    /// The `X-Candor-*` headers, made on first use: a cached identity forwards many
    /// requests.
    pub forwarded: OnceLock<Vec<(HeaderName, HeaderValue)>>,
    /// Who the call log records, made on first use for the same reason.
    pub principal: OnceLock<Arc<candor_calls::Principal>>,
}

impl Identity {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The identity as the call log records it.
    pub fn principal(&self) -> Arc<candor_calls::Principal> {
        self.principal
            .get_or_init(|| {
                Arc::new(candor_calls::Principal {
                    issuer: Some(self.issuer.clone()),
                    subject: Some(Arc::from(self.sub.as_str())),
                    client_id: self.client_id.as_deref().map(Arc::from),
                    scopes: Some(Arc::from(self.scopes.join(" ").as_str())),
                })
            })
            .clone()
    }

    /// The identity headers sent upstream (a value that cannot be a header is left out).
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        self.forwarded.get_or_init(|| {
            let scope = self.scopes.join(" ");
            [
                (crate::proxy::SUBJECT, Some(self.sub.as_str())),
                (crate::proxy::CLIENT_ID, self.client_id.as_deref()),
                (crate::proxy::SCOPE, Some(scope.as_str())),
                (crate::proxy::ISSUER, Some(&*self.issuer)),
            ]
            .into_iter()
            .filter_map(|(n, v)| Some((n, HeaderValue::from_str(v?).ok()?)))
            .collect()
        })
    }
}
