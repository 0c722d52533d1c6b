//! `candor doctor` as a user runs it: exit statuses 0/1/2, text and JSON, bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use candor_doctor::har::build::{HarBuilder, Req, Resp, Shape};
use serde_json::json;

fn candor(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn capture(redirect_at_token: &str) -> String {
    let mut b = HarBuilder::new(Shape::Chrome);
    b.entry(
        Req::get("https://idp.example/authorize?response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"),
        Resp::redirect("https://app.example/cb?code=the-authorization-code-123&state=s1").header("Set-Cookie", "sid=1"),
    );
    b.entry(
        Req::post_form(
            "https://idp.example/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", "the-authorization-code-123"),
                ("redirect_uri", redirect_at_token),
                ("client_id", "web"),
                (
                    "code_verifier",
                    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                ),
            ],
        ),
        Resp::json(
            200,
            json!({"access_token": "access-token-value-xyz", "token_type": "Bearer"}),
        ),
    );
    b.to_text()
}

fn file(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

#[test]
fn har_exit_statuses_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let good = file(
        &dir,
        "good.har",
        capture("https://app.example/cb").as_bytes(),
    );
    let out = candor(&["doctor", "har", &good], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let bad = file(
        &dir,
        "bad.har",
        capture("https://app.example/cb/").as_bytes(),
    );
    let out = candor(&["doctor", "har", &bad], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("redirect_uri.trailing_slash"), "{text}");
    assert!(
        !text.contains("the-authorization-code-123"),
        "codes are never printed in full"
    );
    assert!(!text.contains('\x1b'), "no colour off a terminal");

    let out = candor(&["doctor", "har", &bad, "--format", "json"], None);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["code"], "redirect_uri.trailing_slash");
    for k in ["severity", "message", "fix"] {
        assert!(v["findings"][0][k].is_string(), "{k}");
    }

    // Standard input works too.
    let out = candor(
        &["doctor", "har", "-"],
        Some(capture("https://app.example/cb/").as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unusable_input_exits_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let good = capture("https://app.example/cb");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not-json.har",
            b"<html>hello</html>".to_vec(),
            "not a HAR file",
        ),
        (
            "truncated.har",
            good.as_bytes()[..good.len() / 2].to_vec(),
            "truncated",
        ),
        (
            "version.har",
            good.replace("\"version\": \"1.2\"", "\"version\": \"3.0\"")
                .into_bytes(),
            "HAR version '3.0'",
        ),
        (
            "fields.har",
            good.replacen("\"method\": \"GET\",", "", 1).into_bytes(),
            "request.method is missing",
        ),
        (
            "url.har",
            good.replacen(
                "https://idp.example/authorize",
                "https://[broken/authorize",
                1,
            )
            .into_bytes(),
            "is not a URL",
        ),
        ("binary.har", vec![0u8, 159, 146, 150, 0xff, 0xfe], "binary"),
        ("empty.har", Vec::new(), "empty"),
    ];
    for (name, content, expected) in cases {
        let path = file(&dir, name, &content);
        let out = candor(&["doctor", "har", &path], None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {expected:?} not in {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let out = candor(&["doctor", "har", "/no/such/file.har"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = candor(
        &[
            "doctor",
            "har",
            &file(&dir, "x.har", b"nope"),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error"].is_string());
}

#[test]
fn huge_files_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.har");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(300 * 1024 * 1024)
        .unwrap();
    let out = candor(&["doctor", "har", &path.display().to_string()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("200 MB"));
}

#[test]
fn response_and_jwt() {
    let html = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><head><title>Login</title></head></html>";
    let out = candor(&["doctor", "response", "-"], Some(html));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("response.html"));
    let ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\r\n{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}";
    assert_eq!(
        candor(&["doctor", "response", "-"], Some(ok)).status.code(),
        Some(0)
    );
    assert_eq!(
        candor(&["doctor", "response", "-"], Some(b"\x89PNG\r\n\x1a\n\0\0"))
            .status
            .code(),
        Some(2)
    );

    let (key, _) =
        candor_proto::jose::SigningKey::generate(candor_proto::jose::SigningAlg::Rs256).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = key
        .sign("JWT", &json!({"iss": "https://idp.example", "sub": "u", "aud": "web", "exp": now + 300, "iat": now}))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jwks = file(
        &dir,
        "jwks.json",
        json!({"keys": [key.public_jwk()]}).to_string().as_bytes(),
    );
    let out = candor(
        &[
            "doctor",
            "jwt",
            "-",
            "--jwks",
            &jwks,
            "--issuer",
            "https://idp.example",
            "--audience",
            "web",
        ],
        Some(token.as_bytes()),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("signature: verified"), "{text}");
    assert!(!text.contains(&token));
    let out = candor(&["doctor", "jwt", &token, "--audience", "mobile"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        candor(&["doctor", "jwt", "not-a-jwt"], None).status.code(),
        Some(2)
    );
}

/// What a hostile capture, response or token can carry for the terminal of whoever reads the
/// report: a clipboard write (OSC 52), a clear screen, a planted link (OSC 8), a right-to-left
/// override (issue 18, finding 12).
const HOSTILE: &str = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ \u{202e}gnp.exe";

/// The output holds the hostile text, escaped, and no character a terminal would obey.
#[track_caller]
fn assert_escaped(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{200e}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(bad.is_empty(), "{what}: {bad:?} in {text}");
    assert!(
        text.contains("\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J\\x1b]8;;https://evil.example")
            || text
                .contains("\\u001b]52;c;ZXZpbA==\\u0007\\u001b[2J\\u001b]8;;https://evil.example"),
        "{what}: the hostile text is not shown, escaped: {text}"
    );
    assert!(
        text.contains("\\u{202e}gnp.exe") || text.contains("\\u202egnp.exe"),
        "{what}: {text}"
    );
}

#[test]
fn hostile_input_cannot_drive_the_readers_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = HarBuilder::new(Shape::Chrome);
    b.entry(
        Req::get("https://idp.example/authorize?response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"),
        Resp::redirect("https://app.example/cb?code=the-authorization-code-123&state=s1"),
    );
    b.entry(
        Req::post_form(
            "https://idp.example/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", "the-authorization-code-123"),
                ("redirect_uri", "https://app.example/cb"),
                ("client_id", "web"),
                ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            ],
        ),
        Resp::json(
            400,
            json!({"error": "invalid_grant", "error_description": HOSTILE, "error_uri": format!("https://idp.example/{HOSTILE}")}),
        )
        .header("WWW-Authenticate", &format!("Bearer error_description=\"{HOSTILE}\"")),
    );
    let har = file(&dir, "hostile.har", b.to_text().as_bytes());
    let out = candor(&["doctor", "har", &har], None);
    assert_eq!(out.status.code(), Some(1));
    assert_escaped("har", &out.stdout);
    let out = candor(&["doctor", "har", &har, "--format", "json"], None);
    assert_escaped("har --format json", &out.stdout);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.to_string().contains("\\u001b]52;"),
        "the JSON keeps the value"
    );

    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{}",
        json!({"error": "invalid_grant", "error_description": HOSTILE})
    );
    let out = candor(&["doctor", "response", "-"], Some(response.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    assert_escaped("response", &out.stdout);
    let out = candor(
        &["doctor", "response", "-", "--format", "json"],
        Some(response.as_bytes()),
    );
    assert_escaped("response --format json", &out.stdout);

    let (key, _) =
        candor_proto::jose::SigningKey::generate(candor_proto::jose::SigningAlg::Rs256).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = key
        .sign(
            "JWT",
            &json!({"iss": HOSTILE, "sub": HOSTILE, "aud": "web", "exp": now + 300, "iat": now, "name": HOSTILE}),
        )
        .unwrap();
    let out = candor(
        &["doctor", "jwt", "-", "--issuer", "https://idp.example"],
        Some(token.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_escaped("jwt", &out.stdout);
    let out = candor(
        &["doctor", "jwt", "-", "--format", "json"],
        Some(token.as_bytes()),
    );
    assert_escaped("jwt --format json", &out.stdout);

    // Unusable input quotes the input on stderr (and in JSON on stdout).
    let out = candor(&["doctor", "probe", "--issuer", HOSTILE], None);
    assert_eq!(out.status.code(), Some(2));
    assert_escaped("probe stderr", &out.stderr);
    let out = candor(
        &["doctor", "probe", "--issuer", HOSTILE, "--format", "json"],
        None,
    );
    assert_escaped("probe stderr (json)", &out.stderr);
    assert_escaped("probe stdout (json)", &out.stdout);
}
