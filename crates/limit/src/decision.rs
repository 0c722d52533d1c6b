//! The answer to one request.

use std::time::Duration;

/// Whether one request may pass, and what the caller has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let it through. `remaining` more requests would pass right now; after `reset` of
    /// quiet the caller's whole burst is back.
    Allowed { remaining: u32, reset: Duration },
    /// Refuse it (429). One request will pass after `retry_after`; the whole burst is back
    /// after `reset`.
    Limited {
        retry_after: Duration,
        reset: Duration,
    },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }

    /// Requests that would pass right now (0 when refused).
    pub fn remaining(&self) -> u32 {
        match self {
            Decision::Allowed { remaining, .. } => *remaining,
            Decision::Limited { .. } => 0,
        }
    }

    /// Quiet time until the whole burst is back.
    pub fn reset(&self) -> Duration {
        match self {
            Decision::Allowed { reset, .. } | Decision::Limited { reset, .. } => *reset,
        }
    }
}
