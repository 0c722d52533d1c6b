//! The server's clock: [`candor_proto::clock`], re-exported where the server's callers find it.

pub use candor_proto::clock::{Clock, ManualClock, SystemClock};
