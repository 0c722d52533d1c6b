//! Following Candor's revocation feed: the numbered entries the server appends for every
//! revocation (`GET /revocations?after=SEQ`, the store's `revocations_since`), read in order
//! from a position.
//!
//! Sequence numbers only grow, but on PostgreSQL two concurrent revocations can commit in the
//! other order than their numbers: a reader that has seen 42 may later find a 41 that
//! committed after it. So a follower re-reads a short window behind its position now and
//! then. [`Follower`] is that rule, for every reader of the feed.

use std::time::{Duration, Instant};

/// A reader's position in the feed and when it last re-read the window behind it.
#[derive(Debug, Clone)]
pub struct Follower {
    position: i64,
    last_reread: Instant,
}

impl Follower {
    /// How far behind its position a follower re-reads: far more entries than can commit
    /// out of order in [`Follower::REREAD_EVERY`].
    pub const REREAD_WINDOW: i64 = 100;
    /// How often it re-reads.
    pub const REREAD_EVERY: Duration = Duration::from_secs(1);

    /// A follower that has seen every entry up to `after` (0: none).
    pub fn new(after: i64, now: Instant) -> Follower {
        Follower {
            position: after.max(0),
            last_reread: now,
        }
    }

    /// The `after` of the next read: the last sequence number seen.
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Entries up to `next` have been read (a page's `next`); the position never goes back.
    pub fn advance(&mut self, next: i64) {
        self.position = self.position.max(next);
    }

    /// When a re-read is due, the `after` to re-read from (and the re-read counts as done).
    pub fn reread_due(&mut self, now: Instant) -> Option<i64> {
        if now.saturating_duration_since(self.last_reread) < Self::REREAD_EVERY {
            return None;
        }
        self.last_reread = now;
        Some((self.position - Self::REREAD_WINDOW).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_position_only_grows_and_the_window_is_reread_every_second() {
        let t0 = Instant::now();
        let mut f = Follower::new(-5, t0);
        assert_eq!(f.position(), 0);
        f.advance(250);
        f.advance(240);
        assert_eq!(f.position(), 250);
        assert_eq!(f.reread_due(t0 + Duration::from_millis(500)), None);
        assert_eq!(f.reread_due(t0 + Duration::from_secs(1)), Some(150));
        // Just re-read: not again until another second has passed.
        assert_eq!(f.reread_due(t0 + Duration::from_millis(1500)), None);
        f.advance(30);
        assert_eq!(f.reread_due(t0 + Duration::from_secs(2)), Some(150));
        // Near the start the window stops at 0.
        let mut early = Follower::new(40, t0);
        assert_eq!(early.reread_due(t0 + Duration::from_secs(5)), Some(0));
    }
}
