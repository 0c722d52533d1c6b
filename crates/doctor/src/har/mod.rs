//! `candor doctor har FILE`: HAR 1.2 captures as Chrome, Firefox and Safari export them.

mod analyze;
pub mod build;
pub mod load;
pub mod model;

pub use analyze::{Options, analyze};
pub use load::{Capture, MAX_HAR_BYTES, load_path, parse_reader};
