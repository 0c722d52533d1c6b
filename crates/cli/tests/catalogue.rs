//! Every code in the diagnosis catalogue is produced somewhere: by the server, the gateway,
//! the client or proto (outside the catalogue itself), or — marked in `Code::DOCTOR_ONLY` —
//! by the doctor alone. A code nothing produces is dead weight in the public contract; a
//! code marked doctor-only that something else produces is a stale mark.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use candor_proto::Code;

fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("proto/src/diagnosis.rs")
        {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
            out.push('\n');
        }
    }
}

fn crates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether `text` names `Code::Variant` (not a longer variant that starts the same).
fn names(text: &str, code: Code) -> bool {
    let needle = format!("Code::{code:?}");
    text.match_indices(&needle).any(|(at, _)| {
        !text[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn every_code_is_produced_somewhere_and_doctor_only_marks_are_true() {
    let mut producers = String::new();
    for c in [
        "proto", "client", "server", "gateway", "store", "serve", "cli", "calls", "limit", "admin",
        "metrics",
    ] {
        sources(&crates().join(c).join("src"), &mut producers);
    }
    let mut doctor = String::new();
    sources(&crates().join("doctor").join("src"), &mut doctor);

    let mut unproduced = Vec::new();
    let mut stale = Vec::new();
    for &code in Code::ALL {
        let outside = names(&producers, code);
        let marked = Code::DOCTOR_ONLY.contains(&code);
        match (outside, marked) {
            (true, true) => stale.push(code.as_str()),
            (false, true) if !names(&doctor, code) => unproduced.push(code.as_str()),
            (false, false) => unproduced.push(code.as_str()),
            _ => {}
        }
    }
    assert!(
        unproduced.is_empty(),
        "codes nothing produces (produce them, or mark doctor-only ones in Code::DOCTOR_ONLY): {unproduced:?}"
    );
    assert!(
        stale.is_empty(),
        "codes marked doctor-only that the server, gateway or client produce: {stale:?}"
    );
}
