//! The `candor` binary, run as a user would: commands, their JSON output, their errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Server, candor, json, run, serve_dev, stderr};
use serde_json::Value;

#[tokio::test]
async fn dev_server_issues_tokens_to_a_cli_registered_client() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve_dev(&data, &[]);
    assert!(data.join("candor.db").exists() && data.join("master.key").exists());

    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let client = json(&run(
        candor(&data).args(["client", "create", "--name", "svc", "--scope", "read write"]),
        None,
    ));
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    assert_eq!(
        client["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");

    let token: Value = http
        .post(format!("{}/token", server.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "Bearer", "{token}");

    // By default the next key is published first and signs two minutes later; the old one
    // signs until then.
    let pending = json(&run(
        candor(&data).args(["keys", "rotate", "--alg", "RS256"]),
        None,
    ));
    let listed = json(&run(candor(&data).args(["keys", "list"]), None));
    let status_of = |kid: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .map(|k| k["status"].clone())
    };
    assert_eq!(
        status_of(pending[0]["new_kid"].as_str().unwrap()),
        Some(Value::from("pending"))
    );
    assert_eq!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["status"] == "retiring")
            .count(),
        1,
        "{listed}"
    );
    // --immediately switches at once (after a compromise).
    let rotated = json(&run(
        candor(&data).args(["keys", "rotate", "--alg", "ES256", "--immediately"]),
        None,
    ));
    let new_kid = rotated[0]["new_kid"].as_str().unwrap().to_string();
    let keys = json(&run(candor(&data).args(["keys", "list"]), None));
    let statuses: Vec<(String, String)> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().into(),
                k["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(new_kid, "active".into())),
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|(_, s)| s == "retired").count(), 1);
    assert!(
        keys.to_string().find("\"d\"").is_none(),
        "private key material listed"
    );
}

#[test]
fn client_commands_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let created = json(&run(
        candor(data).args([
            "client",
            "create",
            "--name",
            "web",
            "--client-id",
            "web-app",
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "openid profile",
        ]),
        None,
    ));
    assert_eq!(created["client_id"], "web-app");
    assert_eq!(
        created["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    let secret = created["client_secret"].as_str().unwrap().to_string();

    let shown = json(&run(candor(data).args(["client", "show", "web-app"]), None));
    assert!(
        shown.get("client_secret").is_none(),
        "show never prints the secret"
    );
    assert_eq!(
        shown["redirect_uris"],
        serde_json::json!(["https://app.example/cb"])
    );

    let rotated = json(&run(
        candor(data).args(["client", "rotate-secret", "web-app"]),
        None,
    ));
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);

    let list = json(&run(candor(data).args(["client", "list"]), None));
    assert_eq!(list.as_array().unwrap().len(), 1);

    let dup = run(
        candor(data).args(["client", "create", "--name", "x", "--client-id", "web-app"]),
        None,
    );
    assert!(!dup.status.success());
    assert!(stderr(&dup).contains("taken"), "{}", stderr(&dup));
    // A second client under a name already in use is refused unless asked for.
    let twin = run(
        candor(data).args(["client", "create", "--name", "web"]),
        None,
    );
    assert!(!twin.status.success());
    assert!(
        stderr(&twin).contains("registered already") && stderr(&twin).contains("web-app"),
        "{}",
        stderr(&twin)
    );
    json(&run(
        candor(data).args([
            "client",
            "create",
            "--name",
            "web",
            "--allow-duplicate-name",
        ]),
        None,
    ));

    json(&run(
        candor(data).args(["client", "delete", "web-app"]),
        None,
    ));
    let gone = run(candor(data).args(["client", "show", "web-app"]), None);
    assert!(!gone.status.success());
    assert!(stderr(&gone).contains("no client 'web-app'"));
}

#[test]
fn client_create_refuses_bad_registrations() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            vec!["--redirect-uri", "http://app.example/cb"],
            "plain http",
        ),
        (
            vec!["--redirect-uri", "https://app.example/cb#frag"],
            "fragment",
        ),
        (vec!["--redirect-uri", "not a uri"], "contains whitespace"),
        (vec!["--redirect-uri", "notauri"], "not an absolute URI"),
        (
            vec!["--redirect-uri", "http://evil.example\\@127.0.0.1/cb"],
            "backslash",
        ),
        (
            vec!["--redirect-uri", "HTTPS://App.example/cb"],
            "register it as 'https://app.example/cb'",
        ),
        (
            vec!["--public", "--grant-type", "client_credentials"],
            "public client",
        ),
        (vec!["--grant-type", "password"], "not supported"),
        (vec!["--auth-method", "private_key_jwt"], "--jwks"),
        (vec!["--scope", "bad\"scope"], "--scope"),
        (vec!["--client-id", "has space"], "client_id"),
        (vec!["--audience", "api"], "audience"),
    ] {
        let out = run(
            candor(dir.path())
                .args(["client", "create", "--name", "x"])
                .args(&args),
            None,
        );
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
}

#[test]
fn only_registering_commands_create_state_and_never_a_second_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nowhere");
    // Read-only commands (and deletions) where no database is: refused, nothing made.
    for args in [
        &["client", "list"][..],
        &["client", "show", "web"],
        &["client", "delete", "web"],
        &["user", "list"],
        &["keys", "list"],
    ] {
        let out = run(candor(&data).args(args), None);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr(&out).contains("no Candor database at"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!data.exists(), "{args:?} created {}", data.display());
    }
    // Registering a client makes the store, and says where.
    let out = run(
        candor(&data).args(["client", "create", "--name", "svc", "--scope", "read"]),
        None,
    );
    json(&out);
    assert!(
        stderr(&out).contains("created a new Candor database at"),
        "{}",
        stderr(&out)
    );
    assert!(data.join("master.key").exists());
    let out = run(candor(&data).args(["client", "list"]), None);
    assert_eq!(json(&out).as_array().map(Vec::len), Some(1));
    assert!(!stderr(&out).contains("created"), "{}", stderr(&out));
    // Once the store holds keys sealed with it, a lost master key is not replaced.
    json(&run(
        candor(&data).args(["keys", "rotate", "--alg", "ES256"]),
        None,
    ));
    std::fs::remove_file(data.join("master.key")).unwrap();
    let out = run(
        candor(&data).args(["client", "create", "--name", "other", "--scope", "read"]),
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already holds signing keys"),
        "{}",
        stderr(&out)
    );
    assert!(
        !data.join("master.key").exists(),
        "a stray master key was made"
    );
}

/// At a terminal, `user create` asks for the password twice without echo. The terminal is a
/// pseudo-terminal made by util-linux `script`, which types what the test sends. (Whether it
/// echoes cannot be seen here: the test types before the prompt turns echo off.)
#[test]
fn user_create_asks_for_the_password_at_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        println!("SKIPPED: no `script` (util-linux) to make a terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let line = |username: &str| {
        format!(
            "{} --data {} user create --username {username}",
            env!("CARGO_BIN_EXE_candor"),
            data.display()
        )
    };
    let asked = run(
        Command::new("script").args(["-qec", &line("dana"), "/dev/null"]),
        Some("correct horse battery\ncorrect horse battery\n"),
    );
    let shown = String::from_utf8_lossy(&asked.stdout).into_owned();
    assert!(asked.status.success(), "{shown}");
    assert!(
        shown.contains("Password for 'dana': ") && shown.contains("Again: "),
        "{shown}"
    );
    assert!(shown.contains("\"username\": \"dana\""), "{shown}");
    let differ = run(
        Command::new("script").args(["-qec", &line("erin"), "/dev/null"]),
        Some("correct horse battery\nsomething else\n"),
    );
    let shown = String::from_utf8_lossy(&differ.stdout).into_owned();
    assert!(shown.contains("the two passwords differ"), "{shown}");
}

#[test]
fn user_commands_read_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let user = json(&run(
        candor(data).args([
            "user",
            "create",
            "--username",
            "alice",
            "--password-stdin",
            "--email",
            "alice@example.com",
        ]),
        Some("correct horse battery\n"),
    ));
    assert_eq!(user["username"], "alice");
    assert!(user["sub"].as_str().unwrap().len() >= 16);
    assert!(user.to_string().find("argon2").is_none(), "hash printed");

    let short = run(
        candor(data).args(["user", "create", "--username", "bob", "--password-stdin"]),
        Some("short\n"),
    );
    assert!(stderr(&short).contains("at least 8"), "{}", stderr(&short));
    assert!(
        stderr(&short).contains("invalid user:") && !stderr(&short).contains("registration"),
        "{}",
        stderr(&short)
    );
    let empty = run(
        candor(data).args(["user", "create", "--username", "bob", "--password-stdin"]),
        Some(""),
    );
    assert!(stderr(&empty).contains("no password"), "{}", stderr(&empty));
    let dup = run(
        candor(data).args(["user", "create", "--username", "alice", "--password-stdin"]),
        Some("another password\n"),
    );
    assert!(stderr(&dup).contains("taken"));
    // No terminal to ask on, no --password-stdin: refused before anything is created.
    let fresh = tempfile::tempdir().unwrap();
    let no_flag = run(
        candor(&fresh.path().join("data")).args(["user", "create", "--username", "carol"]),
        None,
    );
    assert!(!no_flag.status.success());
    assert!(
        stderr(&no_flag).contains("no terminal") && stderr(&no_flag).contains("--password-stdin"),
        "{}",
        stderr(&no_flag)
    );
    assert!(!fresh.path().join("data").exists(), "state created");

    let changed = json(&run(
        candor(data).args(["user", "set-password", "alice", "--password-stdin"]),
        Some("a new password\n"),
    ));
    assert_eq!(changed["sessions_revoked"], true);
    let revoked = json(&run(
        candor(data).args(["user", "revoke-sessions", "alice"]),
        None,
    ));
    assert_eq!(revoked["revoked"], "alice");
    assert!(revoked["revocation_seq"].as_i64().unwrap() > 0, "{revoked}");
    let nobody = run(
        candor(data).args(["user", "revoke-sessions", "nobody"]),
        None,
    );
    assert!(!nobody.status.success());
    assert!(
        stderr(&nobody).contains("no such user"),
        "{}",
        stderr(&nobody)
    );
    let missing = run(
        candor(data).args(["user", "set-password", "nobody", "--password-stdin"]),
        Some("whatever123\n"),
    );
    assert!(
        stderr(&missing).contains("no such user"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(
        json(&run(candor(data).args(["user", "list"]), None))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    json(&run(candor(data).args(["user", "delete", "alice"]), None));
    assert_eq!(
        json(&run(candor(data).args(["user", "list"]), None))
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn serve_needs_a_config_or_dev_and_checks_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(candor(dir.path()).args(["serve"]), None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--dev"), "{}", stderr(&out));
    // Configuration from the environment alone is a configuration: the issuer it names is
    // read (and here refused for being plain http off loopback), not "no configuration".
    let out = run(
        candor(dir.path())
            .env("CANDOR_SERVER_ISSUER", "http://id.example.com")
            .args(["serve"]),
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("plain http off loopback")
            && !stderr(&out).contains("no configuration"),
        "{}",
        stderr(&out)
    );

    let config = dir.path().join("candor.toml");
    std::fs::write(&config, "[server]\nisuer = \"http://127.0.0.1:1\"\n").unwrap();
    let out = run(
        candor(dir.path()).args(["serve", "--config"]).arg(&config),
        None,
    );
    assert!(
        stderr(&out).contains("isuer"),
        "an unknown key is named: {}",
        stderr(&out)
    );

    std::fs::write(
        &config,
        "[server]\nissuer = \"http://id.example.com\"\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let out = run(
        candor(dir.path()).args(["serve", "--config"]).arg(&config),
        None,
    );
    assert!(
        stderr(&out).contains("plain http off loopback"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&config, "[server]\nissuer = \"http://127.0.0.1:1\"\nlisten = \"127.0.0.1:0\"\n[tokens]\naccess_token_ttl = \"soon\"\n").unwrap();
    let out = run(
        candor(dir.path()).args(["serve", "--config"]).arg(&config),
        None,
    );
    assert!(
        stderr(&out).contains("access_token_ttl"),
        "{}",
        stderr(&out)
    );

    // The connection and sign-in keys are checked and named too.
    for (section, needle) in [
        (
            "[server]\nheader_read_timeout = \"never\"",
            "[server] header_read_timeout",
        ),
        (
            "[server]\nidle_timeout = \"0s\"",
            "[server] idle_timeout: must be longer than zero",
        ),
        (
            "[server]\nmax_connections = 0",
            "[server] max_connections: must be at least 1",
        ),
        (
            "[server]\ntrusted_proxies = [\"proxy.internal\"]",
            "trusted_proxies",
        ),
        ("[login]\naddress_burst = 0", "[login] address_burst"),
        ("[login]\nfailure_window = \"0s\"", "[login] failure_window"),
        ("[login]\nmax_tries = 3", "max_tries"),
        (
            "[calls.otlp]\nendpoint = \"collector:4318\"",
            "[calls.otlp] endpoint",
        ),
        (
            "[calls.otlp]\nendpoint = \"http://c:4318/?k=secret\"",
            "without query",
        ),
        (
            "[calls.otlp]\nendpoint = \"http://c:4318\"\nheaders = { \"x-api-key\" = \"env:CANDOR_TEST_UNSET_VAR\" }",
            "the variable is not set",
        ),
        (
            "[calls.otlp]\nendpoint = \"http://c:4318\"\nlogs = false\ntraces = false",
            "both false",
        ),
    ] {
        let server = "issuer = \"http://127.0.0.1:1\"\nlisten = \"127.0.0.1:0\"\n";
        let text = if section.starts_with("[server]") {
            format!(
                "{}\n",
                section.replace("[server]\n", &format!("[server]\n{server}"))
            )
        } else {
            format!("[server]\n{server}{section}\n")
        };
        std::fs::write(&config, text).unwrap();
        let out = run(
            candor(dir.path()).args(["serve", "--config"]).arg(&config),
            None,
        );
        assert!(!out.status.success(), "{section}");
        assert!(stderr(&out).contains(needle), "{section}: {}", stderr(&out));
    }

    let out = run(
        candor(dir.path()).args(["--database-url", "mysql://x", "client", "list"]),
        None,
    );
    assert!(
        stderr(&out).contains("unsupported database URL"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn docs_errors_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = candor_server::docs::catalogue_markdown();
    assert!(
        committed == generated,
        "docs/errors.md is stale: run `cargo run -- docs errors > docs/errors.md`"
    );
}

#[tokio::test]
async fn serves_tls_when_configured() {
    let _ = rustls_provider();
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let config = dir.path().join("candor.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nissuer = \"https://localhost:{{PORT}}\"\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            cert_path.display(),
            key_path.display()
        )
        .replace("{PORT}", "1"),
    )
    .unwrap();
    // Half a pair is refused with a message.
    std::fs::write(
        dir.path().join("half.toml"),
        format!(
            "[server]\nissuer = \"https://localhost\"\ntls_cert = \"{}\"\n",
            cert_path.display()
        ),
    )
    .unwrap();
    let out = run(
        candor(dir.path())
            .args(["serve", "--config"])
            .arg(dir.path().join("half.toml")),
        None,
    );
    assert!(stderr(&out).contains("go together"), "{}", stderr(&out));
    // A key that is not PEM is refused before listening.
    std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
    std::fs::write(dir.path().join("bad.toml"), format!("[server]\nissuer = \"https://localhost\"\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n", cert_path.display(), dir.path().join("bad.pem").display())).unwrap();
    let out = run(
        candor(dir.path())
            .args(["serve", "--config"])
            .arg(dir.path().join("bad.toml")),
        None,
    );
    assert!(
        stderr(&out).contains("cannot load the TLS certificate"),
        "{}",
        stderr(&out)
    );

    // A TLS server answers over https with the configured issuer.
    let mut child = candor(&dir.path().join("data"))
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("CANDOR_SERVER_ISSUER", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Server {
        child,
        base: String::new(),
    };
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap_or_else(|| panic!("{line}"));
    let port = addr.rsplit(':').next().unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", format!("127.0.0.1:{port}").parse().unwrap())
        .build()
        .unwrap();
    let health = http
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let meta: Value = http
        .get(format!(
            "https://localhost:{port}/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        meta["issuer"]
            .as_str()
            .unwrap()
            .starts_with("https://localhost:1"),
        "{meta}"
    );
    drop(server);
}

fn rustls_provider() -> Result<(), std::sync::Arc<rustls::crypto::CryptoProvider>> {
    rustls::crypto::aws_lc_rs::default_provider().install_default()
}

#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        candor(dir.path()).args(["client", "create", "--name", "x"]),
        None,
    );
    let err = stderr(&out);
    assert!(err.contains("created a new master key"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "ANSI escapes in piped logs: {err:?}"
    );
}

#[test]
fn a_closed_output_pipe_is_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = candor(dir.path())
        .args(["docs", "errors"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (dropped above), as with `| head -1`.
    let out = child.wait_with_output().unwrap();
    assert_eq!(first.trim(), "# Diagnosis catalogue");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// A free loopback port (bound, then released for the process under test to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An upstream that answers every request with its request head, on a thread.
fn head_echo_upstream() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::Read;
                let mut stream = stream;
                let mut buf = [0u8; 8192];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = String::from_utf8_lossy(&head).to_lowercase();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

#[tokio::test]
async fn the_gateway_walkthrough_works_as_documented() {
    // docs/gateway.md, "Five minutes": a client, then serve --dev with a [gateway] section.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server_port, gateway_port, admin_port) = (free_port(), free_port(), free_port());
    let upstream = head_echo_upstream();
    let client = json(&run(
        candor(&data).args([
            "client",
            "create",
            "--name",
            "shop",
            "--scope",
            "orders:read",
            "--audience",
            "https://api.example",
        ]),
        None,
    ));
    let feed = json(&run(
        candor(&data).args([
            "client",
            "create",
            "--name",
            "gateway",
            "--client-id",
            "gateway",
            "--scope",
            "candor:revocations",
        ]),
        None,
    ));
    let secret_file = dir.path().join("gateway.secret");
    std::fs::write(&secret_file, feed["client_secret"].as_str().unwrap()).unwrap();
    let config = dir.path().join("candor.toml");
    std::fs::write(
        &config,
        format!(
            r#"[gateway]
listen = "127.0.0.1:{gateway_port}"
admin_listen = "127.0.0.1:{admin_port}"

[[gateway.issuers]]
issuer = "http://127.0.0.1:{server_port}"
audiences = ["https://api.example"]
revocation_feed = {{ client_id = "gateway", client_secret_file = "{}" }}

[[gateway.routes]]
name = "orders"
match = {{ path_prefix = "/" }}
upstreams = [{{ url = "http://127.0.0.1:{upstream}" }}]
scopes = {{ GET = ["orders:read"] }}
"#,
            secret_file.display()
        ),
    )
    .unwrap();
    let check = json(&run(
        candor(&data)
            .args(["gateway", "check", "--config"])
            .arg(&config),
        None,
    ));
    assert_eq!(check["valid"], true);
    assert_eq!(check["routes"], serde_json::json!(["orders"]));
    assert_eq!(
        check["warnings"],
        serde_json::json!([]),
        "one issuer: nothing to warn of"
    );

    let mut child = candor(&data)
        .args([
            "serve",
            "--dev",
            "--listen",
            &format!("127.0.0.1:{server_port}"),
            "--config",
        ])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = String::new();
    // The server's line, the demo app's and the admin API's (--dev), then the gateway's.
    for _ in 0..4 {
        out.read_line(&mut lines).unwrap();
    }
    assert!(lines.contains("try it: open http://"), "{lines}");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{server_port}"),
    };
    assert!(lines.contains("candor gateway listening"), "{lines}");
    let http = reqwest::Client::new();
    let gateway = format!("http://127.0.0.1:{gateway_port}");
    // The gateway answers once its feed is loaded.
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{admin_port}/readyz"))
            .send()
            .await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "the gateway never became ready");
    let token: Value = http
        .post(format!("{}/token", server.base))
        .basic_auth(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
        )
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let through = http
        .get(format!("{gateway}/orders/1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(through.status(), 200);
    let seen = through.text().await.unwrap();
    let id = client["client_id"].as_str().unwrap().to_lowercase();
    assert!(
        seen.contains(&format!("x-candor-client-id: {id}")),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("host: 127.0.0.1:{upstream}")),
        "{seen}"
    );
    let anonymous = http.get(format!("{gateway}/")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["diagnosis"], "token.missing");
    let metrics = http
        .get(format!("http://127.0.0.1:{admin_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("candor_gateway_requests_total"),
        "{metrics}"
    );
    // Revoked at the server: refused by the gateway.
    let revoked = http
        .post(format!("{}/revoke", server.base))
        .basic_auth(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
        )
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let mut refused = false;
    for _ in 0..100 {
        let r = http
            .get(format!("{gateway}/orders/1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the revoked token was still accepted after 5 s");

    // An invalid file: check says which key.
    std::fs::write(
        &config,
        "[gateway]\n[[gateway.routes]]\nname = \"x\"\nupstreams = []\n",
    )
    .unwrap();
    let bad = run(
        candor(&data)
            .args(["gateway", "check", "--config"])
            .arg(&config),
        None,
    );
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("gateway.routes[0].upstreams"),
        "{}",
        stderr(&bad)
    );
    drop(server);
}

/// A `candor gateway` process on `config`, killed when dropped.
fn gateway_process(data: &Path, config: &Path) -> Server {
    let child = candor(data)
        .args(["gateway", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server {
        child,
        base: String::new(),
    }
}

async fn wait_for(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{url} never answered");
}

fn redis_url() -> String {
    std::env::var("CANDOR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Two gateway processes, one Redis, one limit: docs/rate-limits.md. Then what the call log
/// of one of them says about it (docs/calls.md).
#[tokio::test]
async fn two_gateways_on_one_redis_enforce_one_limit_and_log_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let upstream = head_echo_upstream();
    let prefix = format!("candor-test-{}", std::process::id());
    let mut gateways = Vec::new();
    let mut urls = Vec::new();
    for (i, redis) in [redis_url(), redis_url()].into_iter().enumerate() {
        let (port, admin) = (free_port(), free_port());
        let config = dir.path().join(format!("gw{i}.toml"));
        std::fs::write(
            &config,
            format!(
                r#"[rate_limits]
redis_url = "{redis}"
key_prefix = "{prefix}"

[calls]
database = "sqlite://{calls}"
node = "gw{i}"

[gateway]
listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin}"

[[gateway.routes]]
name = "search"
match = {{ path_prefix = "/search" }}
upstreams = [{{ url = "http://127.0.0.1:{upstream}" }}]
auth = "none"
rate_limit = {{ rate = "6/min", burst = 6, key = "ip" }}
"#,
                calls = dir.path().join(format!("calls{i}.db")).display()
            ),
        )
        .unwrap();
        gateways.push(gateway_process(&data, &config));
        wait_for(&format!("http://127.0.0.1:{admin}/healthz")).await;
        urls.push((
            format!("http://127.0.0.1:{port}"),
            format!("http://127.0.0.1:{admin}"),
        ));
    }
    let http = reqwest::Client::new();
    let mut allowed = 0;
    let mut refused = Vec::new();
    for i in 0..12 {
        let (base, _) = &urls[i % 2];
        let r = http
            .get(format!("{base}/search?q=secret-query"))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => {
                allowed += 1;
                assert!(
                    r.headers().get("ratelimit").is_some(),
                    "RateLimit on an answer"
                );
            }
            429 => refused.push(r),
            s => panic!("status {s}"),
        }
    }
    assert_eq!(allowed, 6, "one budget of 6 for both gateways");
    assert_eq!(refused.len(), 6);
    let r = refused.pop().unwrap();
    let h = r.headers().clone();
    assert!(
        h.get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s >= 1)
    );
    assert_eq!(
        h.get("ratelimit-policy").and_then(|v| v.to_str().ok()),
        Some("\"route:search\";q=6;w=60;candor-burst=6")
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["diagnosis"], "rate_limit.exceeded");
    assert_eq!(body["error"], "temporarily_unavailable");

    // The metrics of one gateway count its share, on Redis (no fallback).
    let metrics = http
        .get(format!("{}/metrics", urls[0].1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("candor_rate_limit_fallback 0"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "candor_rate_limit_decisions_total{policy=\"route:search\",outcome=\"limited\"}"
    ));

    // Every call of gateway 0 reached its call log within the flush interval, without the
    // query string.
    let config0 = dir.path().join("gw0.toml");
    let mut lines = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let out = run(
            candor(&data)
                .args(["calls", "tail", "--format", "json", "--config"])
                .arg(&config0),
            None,
        );
        lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect();
        if lines.len() == 6 {
            break;
        }
    }
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|c| c["path"] == "/search" && c["node"] == "gw0")
    );
    assert!(!format!("{lines:?}").contains("secret-query"));
    let limited = lines
        .iter()
        .filter(|c| c["diagnosis"] == "rate_limit.exceeded")
        .count();
    assert_eq!(limited, lines.iter().filter(|c| c["status"] == 429).count());

    let out = run(
        candor(&data)
            .args([
                "calls",
                "stats",
                "--since",
                "10m",
                "--by",
                "status,diagnosis",
                "--config",
            ])
            .arg(&config0),
        None,
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("status"), "{table}");
    assert!(table.contains("rate_limit.exceeded"), "{table}");
    drop(gateways);
}

/// Redis away: each gateway limits on its own, and says so in its metrics.
#[tokio::test]
async fn a_gateway_whose_redis_is_down_limits_locally() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let upstream = head_echo_upstream();
    let (port, admin) = (free_port(), free_port());
    let config = dir.path().join("gw.toml");
    std::fs::write(
        &config,
        format!(
            r#"[rate_limits]
redis_url = "redis://127.0.0.1:1"

[calls]
enabled = false

[gateway]
listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin}"

[[gateway.routes]]
name = "search"
match = {{ path_prefix = "/search" }}
upstreams = [{{ url = "http://127.0.0.1:{upstream}" }}]
auth = "none"
rate_limit = {{ rate = "3/min", burst = 3 }}
"#
        ),
    )
    .unwrap();
    let log = dir.path().join("gw.log");
    let mut gw = candor(&data)
        .args(["gateway", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for(&format!("http://127.0.0.1:{admin}/healthz")).await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            http.get(format!("http://127.0.0.1:{port}/search"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        vec![200, 200, 200, 429, 429],
        "never failed for Redis being down"
    );
    let metrics = http
        .get(format!("http://127.0.0.1:{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("candor_rate_limit_fallback 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("candor_rate_limit_fallback_decisions_total 0"));
    // The log says what holds (local until Redis answers), not that limits are shared; and
    // it says when a signal stops the process.
    let stopped = Command::new("kill")
        .args(["-TERM", &gw.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let _ = gw.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Redis is not answering"), "{text}");
    assert!(text.contains("local until then"), "{text}");
    assert!(!text.contains("rate limits shared through Redis"), "{text}");
    assert!(
        text.contains("shutting down") && text.contains("SIGTERM"),
        "{text}"
    );
    assert_eq!(text.matches("shutting down").count(), 1, "{text}");
}

/// `candor config check` reads every section as `serve` would, and says which key is wrong.
#[test]
fn config_check_reads_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("candor.toml");
    let check = |text: &str| {
        std::fs::write(&file, text).unwrap();
        run(
            candor(&data)
                .args(["config", "check", "--config"])
                .arg(&file),
            None,
        )
    };
    let good = "[server]\nissuer = \"https://id.example.com\"\n\n[tokens]\naccess_token_ttl = \"15m\"\n\n[gateway]\n[[gateway.issuers]]\nissuer = \"https://id.example.com\"\n[[gateway.routes]]\nname = \"api\"\nupstreams = [{ url = \"http://127.0.0.1:9001\" }]\n";
    let ok = json(&check(good));
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["issuer"], "https://id.example.com");
    assert_eq!(ok["gateway"]["routes"], serde_json::json!(["api"]));
    assert_eq!(ok["warnings"], serde_json::json!([]));
    assert!(!data.exists(), "a check creates nothing");
    for (text, names) in [
        (
            good.replace(
                "https://id.example.com\"\n\n[tokens]",
                "http://id.example.com\"\n\n[tokens]",
            ),
            "[server] issuer",
        ),
        (good.replace("\"15m\"", "\"soon\""), "access_token_ttl"),
        (
            good.replace("[tokens]", "[tokens]\nacess_token_ttl = \"1h\""),
            "acess_token_ttl",
        ),
        (
            good.replace("http://127.0.0.1:9001", "ftp://127.0.0.1:9001"),
            "gateway.routes[0].upstreams",
        ),
        (
            good.replace("[server]", "[server]\nlisten = \"localhost\""),
            "listen address",
        ),
    ] {
        let out = check(&text);
        assert!(!out.status.success(), "{text}");
        assert!(stderr(&out).contains(names), "{names}: {}", stderr(&out));
    }
    // Without an issuer the file is for `serve --dev` only: valid, with a warning.
    let dev = json(&check("[server]\nlisten = \"127.0.0.1:8080\"\n"));
    assert!(
        dev["warnings"][0].as_str().unwrap().contains("--dev"),
        "{dev}"
    );
}

/// A PostgreSQL that cannot be used says why at once: refused, or a database that is not
/// there — not a pool timing out.
#[test]
fn postgres_start_up_failures_say_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(
        candor(&data).args([
            "client",
            "list",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/test",
        ]),
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("refused the connection"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("timed out"), "{}", stderr(&out));
    let Some(base) = std::env::var("CANDOR_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("SKIPPED: the missing-database half (CANDOR_TEST_POSTGRES_URL is not set)");
        return;
    };
    let (server, _) = base.rsplit_once('/').unwrap();
    let out = run(
        candor(&data).args([
            "serve",
            "--dev",
            "--database-url",
            &format!("{server}/candor_no_such_database"),
        ]),
        None,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

/// Without --config, ./candor.toml is read (and said so), as /etc/candor/candor.toml would be.
#[test]
fn a_candor_toml_in_the_working_directory_is_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("candor.toml"),
        "[server]\nissuer = \"https://id.example.com\"\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let out = run(
        candor(&dir.path().join("data"))
            .current_dir(dir.path())
            .args(["config", "check"]),
        None,
    );
    let summary = json(&out);
    assert_eq!(summary["issuer"], "https://id.example.com");
    assert!(
        stderr(&out).contains("using the configuration file")
            && stderr(&out).contains("candor.toml"),
        "{}",
        stderr(&out)
    );
    // --config still wins.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "[server]\nissuer = \"https://other.example.com\"\n").unwrap();
    let summary = json(&run(
        candor(&dir.path().join("data"))
            .current_dir(dir.path())
            .args(["config", "check", "--config"])
            .arg(&other),
        None,
    ));
    assert_eq!(summary["issuer"], "https://other.example.com");
}

/// `access_log = true` gives one line per request on the server and the gateway — and never a
/// secret, a token or a query string.
#[tokio::test]
async fn the_access_log_has_a_line_per_request_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let upstream = head_echo_upstream();
    let (port, gw) = (free_port(), free_port());
    let config = dir.path().join("candor.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\naccess_log = true\n\n[calls]\nenabled = false\n\n[gateway]\nlisten = \"127.0.0.1:{gw}\"\naccess_log = true\n\n[[gateway.routes]]\nname = \"open\"\nauth = \"none\"\nupstreams = [{{ url = \"http://127.0.0.1:{upstream}\" }}]\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let mut child = candor(&data)
        .args([
            "serve",
            "--dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for(&format!("http://127.0.0.1:{port}/healthz")).await;
    wait_for(&format!("http://127.0.0.1:{gw}/x")).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("http://127.0.0.1:{port}/token"))
        .basic_auth("nobody", Some("secret-value-xyz"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!(
            "http://127.0.0.1:{gw}/open/page?access_token=query-secret-abc"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let access: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("candor::access"))
        .collect();
    assert!(
        access
            .iter()
            .any(|l| l.contains("POST /token 401") && l.contains("client_auth.unknown_client")),
        "{text}"
    );
    assert!(
        access
            .iter()
            .any(|l| l.contains("GET /open/page 200") && l.contains("route=\"open\"")),
        "{text}"
    );
    for secret in ["secret-value-xyz", "query-secret-abc", "nobody"] {
        assert!(!text.contains(secret), "{secret} in the log: {text}");
    }
}

/// `candor docs errors CODE`: one entry, for readers with only the binary (the doctor's
/// `docs:` lines name this command).
#[test]
fn one_catalogue_entry_is_printed_by_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        candor(dir.path()).args(["docs", "errors", "jwks.alg_mismatch"]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("## jwks.alg_mismatch"), "{text}");
    assert!(text.contains("*Fix:*"), "{text}");
    let out = run(candor(dir.path()).args(["docs", "errors", "no.such"]), None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no diagnosis is called 'no.such'"),
        "{}",
        stderr(&out)
    );
}

/// `client`, `user` and `keys` with `--admin-url` act through the admin API: they work from a
/// machine with no database at all, print what the API answers, and say what it refused.
#[tokio::test]
async fn admin_commands_act_through_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (port, admin) = (free_port(), free_port());
    let config = dir.path().join("candor.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nadmin_listen = \"127.0.0.1:{admin}\"\n\n[admin]\ntoken_env = \"TEST_ADMIN_TOKEN\"\n"
        ),
    )
    .unwrap();
    let token = "cli-admin-token-0123456789abcdef";
    let mut child = candor(&data)
        .args([
            "serve",
            "--dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&config)
        .env("TEST_ADMIN_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&format!("http://127.0.0.1:{admin}/healthz")).await;
    let url = format!("http://127.0.0.1:{admin}");
    // Another machine: no data directory, only the URL and the token.
    let elsewhere = dir.path().join("elsewhere");
    let remote = |args: &[&str]| {
        let mut cmd = candor(&elsewhere);
        cmd.args(args)
            .args(["--admin-url", &url])
            .env("CANDOR_ADMIN_TOKEN", token);
        cmd
    };
    let created = json(&run(
        &mut remote(&[
            "client",
            "create",
            "--name",
            "Remote",
            "--client-id",
            "remote",
        ]),
        None,
    ));
    assert!(created["client_secret"].as_str().unwrap().len() > 20);
    let updated = json(&run(
        &mut remote(&[
            "client",
            "update",
            "remote",
            "--redirect-uri",
            "https://remote.example/cb",
            "--grant-type",
            "authorization_code",
        ]),
        None,
    ));
    assert_eq!(updated["redirect_uris"][0], "https://remote.example/cb");
    let list = json(&run(&mut remote(&["client", "list"]), None));
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == "remote")
    );
    json(&run(
        &mut remote(&["user", "create", "--username", "gina", "--password-stdin"]),
        Some("gina's long password\n"),
    ));
    json(&run(&mut remote(&["user", "unlock", "gina"]), None));
    let gina = json(&run(
        &mut remote(&[
            "user", "update", "gina", "--role", "viewer", "--name", "Gina",
        ]),
        None,
    ));
    assert_eq!(gina["roles"], serde_json::json!(["viewer"]));
    let keys = json(&run(&mut remote(&["keys", "list"]), None));
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .any(|k| k["status"] == "active")
    );
    assert!(
        !elsewhere.join("candor.db").exists(),
        "no database was opened here"
    );

    // A refusal is an error naming the diagnosis.
    let out = run(
        &mut remote(&["client", "update", "remote", "--name", ""]),
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("admin.invalid_request"),
        "{}",
        stderr(&out)
    );
    let out = run(
        candor(&elsewhere)
            .args(["client", "list", "--admin-url", &url])
            .env("CANDOR_ADMIN_TOKEN", "not-the-admin-token-at-all"),
        None,
    );
    assert!(
        stderr(&out).contains("401 admin.unauthorized"),
        "{}",
        stderr(&out)
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    // And the same commands on the database itself.
    let local = json(&run(
        candor(&data).args(["client", "update", "remote", "--scope", "a b"]),
        None,
    ));
    assert_eq!(local["scope"], "a b");
    assert_eq!(local["redirect_uris"][0], "https://remote.example/cb");
    json(&run(candor(&data).args(["user", "unlock", "gina"]), None));
    let gina = json(&run(
        candor(&data).args(["user", "update", "gina", "--no-roles", "--no-name"]),
        None,
    ));
    assert_eq!(gina["roles"], serde_json::json!([]));
    assert_eq!(gina["name"], Value::Null);
    let out = run(candor(&data).args(["client", "update", "remote"]), None);
    assert!(
        stderr(&out).contains("nothing to change"),
        "{}",
        stderr(&out)
    );
    // Changes made on the database directly are in the audit log too, as the CLI's user;
    // those made through the API are the server's, as the admin token's.
    let events = audit_events(&data.join("calls.db")).await;
    let by = |actor: &str| {
        events
            .iter()
            .filter(|(a, _)| a.starts_with(actor))
            .map(|(_, action)| action.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by("admin-token"),
        [
            "client.create",
            "client.update",
            "user.create",
            "user.unlock",
            "user.update"
        ]
    );
    assert_eq!(by("cli:"), ["client.update", "user.unlock", "user.update"]);
}

/// The audit log's (actor, action) pairs in a call log file, oldest first.
async fn audit_events(calls_db: &Path) -> Vec<(String, String)> {
    use sqlx::{Connection, Row};
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(calls_db);
    let mut db = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query("SELECT actor, action FROM candor_audit ORDER BY id")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("actor"), r.get::<String, _>("action")))
        .collect()
}
