//! The style of every page the server renders, and the Content-Security-Policy that lets
//! exactly it apply.

use axum::http::HeaderValue;

/// Every page's style sheet, inline in base.html (no request of its own before the page
/// shows); the Content-Security-Policy allows exactly this text by its hash, so no other
/// inline style runs.
pub(crate) const STYLE: &str = include_str!("../templates/style.css");

/// The pages' Content-Security-Policy: scripts from this origin only, the one style sheet
/// above, no framing.
pub(crate) fn policy() -> &'static HeaderValue {
    static POLICY: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        let hash = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            candor_proto::secret::digest(STYLE),
        );
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'sha256-{hash}'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
        );
        HeaderValue::from_str(&csp).unwrap_or_else(|_| {
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")
        })
    })
}
