//! Writes the capture docs/doctor.md walks through: a Chrome export of a login whose app
//! sends its redirect_uri with a trailing slash at the token endpoint, then retries the
//! exchange with the same code.
//!
//! `cargo run -p candor-doctor --example sample_har > login.har`

use candor_doctor::har::build::{HarBuilder, Req, Resp, Shape};
use serde_json::json;

fn main() {
    let issuer = "https://login.example.com";
    let app = "https://app.example.com";
    let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf";
    let mut b = HarBuilder::new(Shape::Chrome);
    b.entry(
        Req::get(format!("{app}/")),
        Resp::html(200, "<html><title>Acme</title></html>"),
    );
    b.entry(
        Req::get(format!("{issuer}/.well-known/openid-configuration")),
        Resp::json(
            200,
            json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/jwks"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }),
        ),
    );
    b.entry(
        Req::get(format!(
            "{issuer}/authorize?response_type=code&client_id=acme-web&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&scope=openid%20email&state=9f2c6c1e&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        )),
        Resp::html(200, "<html><title>Sign in</title><form><input type=password name=password></form></html>")
            .header("Set-Cookie", "login_session=7d1b0c9e6a; Path=/; HttpOnly; Secure"),
    );
    b.entry(
        Req::post_form(
            format!("{issuer}/login"),
            &[("username", "ada"), ("password", "correct horse")],
        )
        .header("Cookie", "login_session=7d1b0c9e6a"),
        Resp::redirect(format!(
            "{app}/callback?code={code}&state=9f2c6c1e&iss=https%3A%2F%2Flogin.example.com"
        )),
    );
    b.entry(
        Req::get(format!(
            "{app}/callback?code={code}&state=9f2c6c1e&iss=https%3A%2F%2Flogin.example.com"
        )),
        Resp::html(200, "<html><title>Signing in...</title></html>"),
    );
    let token = || {
        Req::post_form(
            format!("{issuer}/token"),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", "https://app.example.com/callback/"),
                (
                    "code_verifier",
                    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                ),
                ("client_id", "acme-web"),
            ],
        )
        .header("Origin", app)
    };
    let refusal = |desc: &str| {
        Resp::json(
            400,
            json!({"error": "invalid_grant", "error_description": desc}),
        )
        .header("Cache-Control", "no-store")
    };
    b.entry(token(), refusal("Invalid redirect_uri"));
    b.entry(token(), refusal("Code not valid"));
    println!("{}", b.to_text());
}
