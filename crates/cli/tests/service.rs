//! What a package or a service manager relies on: `--version`, completions and man pages
//! from the command definitions, and READY=1 on systemd's notify socket.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::Stdio;

use common::{Server, candor, run, started};

#[test]
fn version_names_the_commit_and_the_build_date() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(candor(dir.path()).arg("--version"), None);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // candor 0.1.0 (commit 6b007846290a, built 2026-12-07)
    let rest = text
        .strip_prefix(&format!("candor {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{text}"));
    let (commit, date) = rest.trim_end().split_once(", built ").unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    let date = date.strip_suffix(')').unwrap();
    let parts: Vec<&str> = date.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [4, 2, 2],
        "{date}"
    );
}

#[test]
fn completions_and_man_pages_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef candor"),
        ("fish", "complete -c candor"),
    ] {
        let out = run(candor(dir.path()).args(["completions", shell]), None);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for command in ["backup", "restore", "migrate", "serve", "client"] {
            assert!(script.contains(command), "{shell}: no {command}");
        }
    }
    let man = dir.path().join("man");
    assert!(
        run(candor(dir.path()).args(["man", "--dir"]).arg(&man), None)
            .status
            .success()
    );
    for page in [
        "candor.1",
        "candor-backup.1",
        "candor-migrate-status.1",
        "candor-client-create.1",
    ] {
        let text =
            std::fs::read_to_string(man.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page} is not a man page"
        );
    }
    let backup = std::fs::read_to_string(man.join("candor-backup.1")).unwrap();
    assert!(
        backup.contains("include\\-master\\-key"),
        "the flag's page lacks it"
    );
}

/// `candor serve --dev` with `NOTIFY_SOCKET` at a socket of the test's (and its stderr piped),
/// once it listens, and that socket; the socket waits at most two minutes for a message (a
/// bound on a hang, not a timing assertion).
#[cfg(unix)]
fn serve_notifying(dir: &std::path::Path) -> (Server, std::os::unix::net::UnixDatagram) {
    let socket_path = dir.join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    let mut cmd = candor(&dir.join("data"));
    cmd.args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .env("NOTIFY_SOCKET", &socket_path)
        .stderr(Stdio::piped());
    (started(cmd), socket)
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_without_a_gateway_is_said_and_the_server_goes_on() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_notifying(dir.path());
    // READY=1 comes once the SIGHUP handler is in place: systemd reloads only after it.
    let mut buf = [0u8; 64];
    socket.recv(&mut buf).unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let said = BufReader::new(server.child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("SIGHUP"));
    assert!(said.is_some_and(|l| l.contains("nothing to reload")));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "SIGHUP ended the server"
    );
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap()
        .status();
    assert_eq!(health, 200);
}

#[cfg(unix)]
#[test]
fn serve_tells_systemd_it_is_ready_once_listening() {
    let dir = tempfile::tempdir().unwrap();
    // It listens: `started` has read its line.
    let (_server, socket) = serve_notifying(dir.path());
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1\n");
}
