//! What the shipping tests (`backup.rs`, `migrate.rs`) share: the binary run as a user runs
//! it, its JSON output, a dev server on a free port.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// `candor --data DATA` with no configuration from the environment.
pub fn candor(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_candor"));
    cmd.arg("--data").arg(data);
    for var in [
        "CANDOR_DATABASE_URL",
        "CANDOR_MASTER_KEY",
        "CANDOR_CONFIG",
        "CANDOR_STORAGE_URL",
        "CANDOR_NO_MIGRATE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub fn run(cmd: &mut Command, stdin: Option<&str>) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn candor");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// The command's stdout as one JSON value; fails the test when the command failed.
pub fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A candor process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `candor serve --dev` on a free port, once it says where it listens; `extra` are more
/// arguments to `serve`.
pub fn serve_dev(data: &Path, extra: &[&str]) -> Server {
    let mut cmd = candor(data);
    cmd.args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stderr(Stdio::null());
    started(cmd)
}

/// Starts `cmd` (a `serve`) and returns once it has said where it listens.
pub fn started(mut cmd: Command) -> Server {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Server { child, base }
}

/// Asserts that the command failed and said `words` on stderr.
pub fn fails_saying(out: &Output, words: &str) {
    let said = stderr(out);
    assert!(!out.status.success(), "succeeded; stderr: {said}");
    assert!(said.contains(words), "{words:?} not in: {said}");
}

/// POSTs `form` to `url` as the client `id` (HTTP Basic) and returns the JSON answer.
pub async fn post_as(
    http: &reqwest::Client,
    url: &str,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> Value {
    http.post(url)
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
