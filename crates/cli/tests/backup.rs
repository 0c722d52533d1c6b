//! `candor backup` and `candor restore`, run as an operator would: a backup taken while the
//! server and other commands write, restored into a fresh directory, served again — and
//! everything acknowledged before the backup began is there.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{candor, fails_saying, json, post_as, run, serve_dev, stderr};
use serde_json::Value;

/// A client registered before the backup, and an opaque access token it was given.
struct Acknowledged {
    client_id: String,
    secret: String,
    token: String,
}

async fn token(http: &reqwest::Client, base: &str, id: &str, secret: &str) -> String {
    let answer = post_as(
        http,
        &format!("{base}/token"),
        (id, secret),
        &[("grant_type", "client_credentials"), ("scope", "read")],
    )
    .await;
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_string()
}

fn create_client(data: &Path, name: &str) -> (String, String) {
    let created = json(&run(
        candor(data).args([
            "client",
            "create",
            "--name",
            name,
            "--scope",
            "read",
            "--access-token-format",
            "opaque",
        ]),
        None,
    ));
    (
        created["client_id"].as_str().unwrap().to_string(),
        created["client_secret"].as_str().unwrap().to_string(),
    )
}

fn names(list: &Value, field: &str) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap().to_string())
        .collect()
}

fn calls_logged(data: &Path) -> usize {
    let out = run(
        candor(data).args(["calls", "tail", "--format", "json", "--limit", "1000"]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_everything_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve_dev(&data, &[]);
    let http = reqwest::Client::new();

    // Acknowledged before the backup: clients with a token each, users, a rotated key.
    let mut before = Vec::new();
    for i in 0..6 {
        let (client_id, secret) = create_client(&data, &format!("before-{i}"));
        let token = token(&http, &server.base, &client_id, &secret).await;
        before.push(Acknowledged {
            client_id,
            secret,
            token,
        });
    }
    let users: Vec<String> = (0..3).map(|i| format!("user-{i}")).collect();
    for user in &users {
        json(&run(
            candor(&data).args(["user", "create", "--username", user, "--password-stdin"]),
            Some("correct horse battery staple\n"),
        ));
    }
    let rotated = json(&run(
        candor(&data).args(["keys", "rotate", "--alg", "ES256", "--immediately"]),
        None,
    ));
    let new_kid = rotated[0]["new_kid"].as_str().unwrap().to_string();
    // The call log writes off the request path: wait until it holds some calls, so that the
    // restored log can be compared with a number that was written before the backup.
    let mut logged = 0;
    for _ in 0..100 {
        logged = calls_logged(&data);
        if logged > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(logged > 0, "the call log wrote nothing");

    // The load: token requests to the server (writes to both databases) and registrations by
    // another process, going on while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicUsize::new(0));
    let load = {
        let (stop, writes) = (stop.clone(), writes.clone());
        let (base, http) = (server.base.clone(), http.clone());
        let (id, secret) = (before[0].client_id.clone(), before[0].secret.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                token(&http, &base, &id, &secret).await;
                writes.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let registrations = {
        let (stop, writes, data) = (stop.clone(), writes.clone(), data.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                create_client(&data, &format!("during-{n}"));
                writes.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        })
    };
    while writes.load(Ordering::Relaxed) < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let plain = dir.path().join("plain.tar");
    let with_key = dir.path().join("with-key.tar");
    let made = {
        let (data, plain, with_key) = (data.clone(), plain.clone(), with_key.clone());
        tokio::task::spawn_blocking(move || {
            let first = run(candor(&data).args(["backup", "--to"]).arg(&plain), None);
            let second = run(
                candor(&data)
                    .args(["backup", "--include-master-key", "--to"])
                    .arg(&with_key),
                None,
            );
            (first, second)
        })
        .await
        .unwrap()
    };
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    registrations.join().unwrap();
    drop(server);

    let plain_made = json(&made.0);
    assert_eq!(plain_made["master_key"], false, "{plain_made}");
    assert_eq!(plain_made["calls"], true, "{plain_made}");
    assert!(
        stderr(&made.0).contains("master key is not in the backup"),
        "{}",
        stderr(&made.0)
    );
    assert_eq!(json(&made.1)["master_key"], true);
    #[cfg(unix)]
    {
        assert_eq!(mode(&plain), 0o600);
        assert_eq!(mode(&with_key), 0o600);
    }
    let archive = std::fs::read(&plain).unwrap();
    let key_text = std::fs::read_to_string(data.join("master.key")).unwrap();
    assert!(
        !String::from_utf8_lossy(&archive).contains(key_text.trim()),
        "the master key is in a backup made without --include-master-key"
    );

    // A backup never overwrites, a restore only goes into an empty directory.
    let again = run(candor(&data).args(["backup", "--to"]).arg(&plain), None);
    fails_saying(&again, "never overwrites");
    let into_live = run(candor(&data).args(["restore", "--from"]).arg(&plain), None);
    fails_saying(&into_live, "is not empty");

    // Without the master key the restored store is there, and serving it says what is missing.
    let keyless = dir.path().join("keyless");
    let restored = run(
        candor(&keyless).args(["restore", "--from"]).arg(&plain),
        None,
    );
    assert_eq!(json(&restored)["master_key"], false);
    assert!(
        stderr(&restored).contains("holds no master key"),
        "{}",
        stderr(&restored)
    );
    assert!(!keyless.join("master.key").exists());
    let refused = run(
        candor(&keyless).args(["serve", "--dev", "--listen", "127.0.0.1:0"]),
        None,
    );
    fails_saying(&refused, "master key");

    // With it, the restored directory is a server again.
    let fresh = dir.path().join("fresh");
    let restored = json(&run(
        candor(&fresh).args(["restore", "--from"]).arg(&with_key),
        None,
    ));
    assert_eq!(restored["master_key"], true, "{restored}");
    assert_eq!(
        std::fs::read_to_string(fresh.join("master.key")).unwrap(),
        key_text
    );
    #[cfg(unix)]
    assert_eq!(mode(&fresh.join("master.key")), 0o600);
    let server = serve_dev(&fresh, &[]);

    let clients = names(
        &json(&run(candor(&fresh).args(["client", "list"]), None)),
        "client_id",
    );
    let users_there = names(
        &json(&run(candor(&fresh).args(["user", "list"]), None)),
        "username",
    );
    let jwks: Value = http
        .get(format!("{}/jwks", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids = names(&jwks["keys"], "kid");
    assert!(kids.contains(&new_kid), "{new_kid} not in {kids:?}");
    for user in &users {
        assert!(users_there.contains(user), "{user} not in {users_there:?}");
    }
    for a in &before {
        assert!(clients.contains(&a.client_id), "{} lost", a.client_id);
        // The token issued before the backup is active, and the secret still authenticates.
        let introspected = post_as(
            &http,
            &format!("{}/introspect", server.base),
            (&a.client_id, &a.secret),
            &[("token", a.token.as_str())],
        )
        .await;
        assert_eq!(introspected["active"], true, "{introspected}");
        token(&http, &server.base, &a.client_id, &a.secret).await;
    }
    drop(server);
    let restored_calls = calls_logged(&fresh);
    // Figures for whoever reads the run (no secret in them).
    eprintln!(
        "backup under load: {} writes by the load, {} clients acknowledged before and {} restored, {} calls logged before and {} restored",
        writes.load(Ordering::Relaxed),
        before.len(),
        clients.len(),
        logged,
        restored_calls
    );
    assert!(restored_calls >= logged, "the restored call log lost calls");
}

#[test]
fn a_damaged_or_foreign_file_is_not_restored() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.tar");
    std::fs::write(&foreign, b"not a tar archive at all").unwrap();
    let target = dir.path().join("target");
    let out = run(
        candor(&target).args(["restore", "--from"]).arg(&foreign),
        None,
    );
    fails_saying(&out, "is not a Candor backup");
    assert!(!target.join("candor.db").exists());

    // PostgreSQL is pg_dump's: the command says so rather than copying nothing.
    let out = run(
        candor(&target)
            .args([
                "--database-url",
                "postgres://nobody@127.0.0.1:1/none",
                "backup",
                "--to",
            ])
            .arg(dir.path().join("pg.tar")),
        None,
    );
    fails_saying(&out, "pg_dump");
}

/// The recipe of docs/backup.md for PostgreSQL, as written: `pg_dump --format=custom`, then
/// `pg_restore --no-owner` into a new database, which Candor then serves from.
#[tokio::test]
async fn the_documented_pg_dump_recipe_restores_a_postgres_store() {
    let Some(base) = candor_store::testing::postgres_url_or_skip("the pg_dump recipe") else {
        return;
    };
    let source = candor_store::testing::PostgresTestDatabase::create(&base)
        .await
        .unwrap();
    let target = candor_store::testing::PostgresTestDatabase::create(&base)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let on = |url: &str| {
        let mut cmd = candor(&data);
        cmd.args(["--database-url", url]);
        cmd
    };
    let created = json(&run(
        on(source.url()).args(["client", "create", "--name", "dumped", "--scope", "read"]),
        None,
    ));
    let client_id = created["client_id"].as_str().unwrap();
    // Both schemas, as a server leaves them (a `client create` alone opens only the store).
    json(&run(on(source.url()).args(["migrate", "up"]), None));
    let dump = dir.path().join("candor.dump");
    let dumped = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(source.url())
        .output()
        .unwrap();
    assert!(dumped.status.success(), "{}", stderr(&dumped));
    let restored = std::process::Command::new("pg_restore")
        .args(["--no-owner", "--dbname", target.url()])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(restored.status.success(), "{}", stderr(&restored));

    // Both migration tables came along: nothing is pending, and the client is there.
    let check = run(
        on(target.url()).args(["migrate", "status", "--check"]),
        None,
    );
    assert!(check.status.success(), "{}", stderr(&check));
    let clients = names(
        &json(&run(on(target.url()).args(["client", "list"]), None)),
        "client_id",
    );
    assert!(clients.contains(client_id), "{clients:?}");
}
