//! A real capture: headless Chromium logging in to a real `candor serve`, recorded over the
//! DevTools protocol by the interop suite (`interop/clients/node/chromium.mjs`, Playwright's
//! HAR recorder) and kept in `interop/captures/`. Every interop run records a fresh one and
//! runs `candor doctor har` on it too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use candor_doctor::har::{self, Options};
use candor_doctor::render;

#[test]
fn a_real_chromium_login_to_candor_reads_as_one_healthy_flow() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/captures/candor-login.har");
    let capture = har::load_path(&path).unwrap();
    let report = har::analyze(&capture, &Options::default(), "candor-login.har");
    let text = render::text(&report, false);
    assert!(text.contains("1 OAuth flow found"), "{text}");
    assert!(text.contains("Flow 1: authorization code"), "{text}");
    assert!(text.contains("PKCE S256"), "{text}");
    assert!(
        text.contains("callback"),
        "the callback is correlated: {text}"
    );
    assert_eq!(
        report.findings().filter(|f| f.is_problem()).count(),
        0,
        "{text}"
    );
    assert_eq!(report.exit_code(), 0);
}
