//! Naming a redirect URI near miss, for findings: a view over
//! [`candor_proto::redirect_uri::compare`], the one classifier the server uses too.

use candor_proto::Code;
use candor_proto::redirect_uri::{Comparison, compare};

/// How two redirect URIs differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    pub code: Code,
    /// The kind in words, for messages.
    pub kind: &'static str,
    /// The components that differ (for `redirect_uri.mismatch`).
    pub differing: Vec<&'static str>,
}

/// Names how `received` differs from `expected`; `None` when they are identical.
pub fn classify(expected: &str, received: &str) -> Option<NearMiss> {
    match compare(received, expected) {
        Comparison::Equal => None,
        Comparison::Near(kind) => Some(NearMiss {
            code: kind.code(),
            kind: kind.describe(),
            differing: Vec::new(),
        }),
        Comparison::Different(differing) => Some(NearMiss {
            code: Code::RedirectUriMismatch,
            kind: "they differ",
            differing,
        }),
    }
}
