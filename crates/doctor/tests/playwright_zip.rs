//! The .zip Playwright's recordHar writes (its default for a path ending in .zip): the HAR and
//! the bodies it attached as files, read from the archive; archives that would exhaust memory
//! or name paths outside themselves refused with a message.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};

use candor_doctor::har::load::{Body, load_path, parse_reader};
use candor_doctor::har::{Options, analyze};
use zip::write::SimpleFileOptions;

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name)
}

/// Writes a zip of (name, bytes) members, deflated.
fn zip_of(dir: &Path, members: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.join("capture.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
    path
}

const HAR: &str = r#"{"log":{"version":"1.2","creator":{"name":"Playwright","version":"1.65.1"},
  "browser":{"name":"chromium","version":"156"},"entries":[
  {"startedDateTime":"2024-05-01T10:00:00.000Z","time":3,
   "request":{"method":"POST","url":"https://idp.example/token","headers":[{"name":"Content-Type","value":"application/x-www-form-urlencoded"}],
     "postData":{"mimeType":"application/x-www-form-urlencoded","text":"","params":[],"_file":"req.dat"}},
   "response":{"status":400,"headers":[{"name":"Content-Type","value":"application/json"}],
     "content":{"size":25,"mimeType":"application/json","_file":"resp.json"}}}]}}"#;

#[test]
fn a_real_playwright_zip_is_read_with_its_attached_bodies() {
    // Made by corpus/make/browser.mjs: Chromium, oauth4webapi, node oidc-provider, a clean login.
    let c = load_path(&corpus("seen/op-browser-zip-clean.zip")).unwrap();
    assert!(c.creator.starts_with("Playwright"), "{}", c.creator);
    let token = c
        .entries
        .iter()
        .find(|e| e.method == "POST" && e.url.path() == "/token")
        .expect("the token request");
    // Playwright moved both bodies into the archive: the request's form and the tokens.
    assert!(
        token
            .req_body
            .text()
            .is_some_and(|t| t.contains("grant_type=authorization_code")),
        "{:?}",
        token.req_body
    );
    assert!(
        token
            .resp_body
            .text()
            .is_some_and(|t| t.contains("access_token")),
        "{:?}",
        token.resp_body
    );
    let r = analyze(&c, &Options::default(), "capture.zip");
    assert_eq!(
        r.exit_code(),
        0,
        "{}",
        candor_doctor::render::text(&r, false)
    );
}

#[test]
fn attached_bodies_are_read_from_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_of(
        dir.path(),
        &[
            ("har.har", HAR.as_bytes()),
            (
                "req.dat",
                b"grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp%2Fcb",
            ),
            ("resp.json", br#"{"error":"invalid_grant"}"#),
        ],
    );
    let c = load_path(&path).unwrap();
    let e = &c.entries[0];
    assert_eq!(
        e.resp_body,
        Body::Text(r#"{"error":"invalid_grant"}"#.into())
    );
    assert!(
        e.req_body
            .text()
            .unwrap()
            .starts_with("grant_type=authorization_code")
    );
    // A member the HAR names but the archive lacks leaves the body unknown, not empty; the
    // refused token request is still an error, with the reason said to be unknown.
    let path = zip_of(
        dir.path(),
        &[
            ("har.har", HAR.as_bytes()),
            ("req.dat", b"grant_type=authorization_code&code=abc"),
        ],
    );
    let c = load_path(&path).unwrap();
    assert_eq!(c.entries[0].resp_body, Body::Missing);
    let r = analyze(&c, &Options::default(), "capture.zip");
    let f = r
        .findings()
        .find(|f| f.code == candor_proto::Code::HarBodyMissing)
        .expect("the missing body is said");
    assert_eq!(f.severity, candor_doctor::Severity::Error, "{}", f.message);
    assert!(
        f.message.contains("refused the request (HTTP 400)"),
        "{}",
        f.message
    );
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn archives_that_would_exhaust_memory_or_escape_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let refused =
        |members: &[(&str, &[u8])]| load_path(&zip_of(dir.path(), members)).unwrap_err().message;
    // A member that inflates past 16 MB (17 MB of zeros deflate to a few KB: a zip bomb).
    let zeros = vec![0u8; 17 * 1024 * 1024];
    let m = refused(&[("har.har", HAR.as_bytes()), ("big.dat", &zeros)]);
    assert!(m.contains("'big.dat' inflates to more than 16 MB"), "{m}");
    // Members under 16 MB each that together pass 64 MB.
    let fifteen = vec![0u8; 15 * 1024 * 1024];
    let many: Vec<(String, &[u8])> = (0..5)
        .map(|i| (format!("part{i}.dat"), fifteen.as_slice()))
        .collect();
    let mut members: Vec<(&str, &[u8])> = vec![("har.har", HAR.as_bytes())];
    members.extend(many.iter().map(|(n, b)| (n.as_str(), *b)));
    let m = refused(&members);
    assert!(m.contains("inflates to more than 64 MB"), "{m}");
    // A member whose name climbs out of the archive.
    let m = refused(&[("har.har", HAR.as_bytes()), ("../evil.json", b"{}")]);
    assert!(m.contains("is a path outside the archive"), "{m}");
    // No HAR, or two.
    let m = refused(&[("resp.json", b"{}")]);
    assert!(m.contains("without a .har file"), "{m}");
    let m = refused(&[("a.har", HAR.as_bytes()), ("b.har", HAR.as_bytes())]);
    assert!(m.contains("holds 2 .har files"), "{m}");
    // Not a zip after all.
    let bad = dir.path().join("bad.zip");
    std::fs::write(&bad, b"PK\x03\x04 this is not an archive").unwrap();
    let m = load_path(&bad).unwrap_err().message;
    assert!(m.contains("cannot be read as one"), "{m}");
    // Piped in, there is no file to read members from.
    let m = parse_reader(
        std::fs::File::open(zip_of(dir.path(), &[("har.har", HAR.as_bytes())])).unwrap(),
    )
    .unwrap_err()
    .message;
    assert!(m.contains("give its path"), "{m}");
}
