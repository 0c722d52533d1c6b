//! What `candor --version` prints: the version, the git commit and the build date, stamped by
//! `build.rs`.

/// `0.1.0 (commit 6b00784a1b2c, built 2026-12-07)`.
pub(crate) const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CANDOR_GIT_COMMIT"),
    ", built ",
    env!("CANDOR_BUILD_DATE"),
    ")"
);
