//! `candor migrate status|up` and `serve --no-migrate`, on a database made by the first schema
//! (`fixtures/store-0001.sql`, kept as it was made) and on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;

use common::{candor, fails_saying, json, post_as, run, serve_dev, stderr};
use serde_json::Value;
use sqlx::Connection;

/// The fixture's client, secret and token (test values, written into the fixture).
const CLIENT: &str = "legacy-service";
const SECRET: &str = "fixture-secret-0001";
const TOKEN: &str = "fixture-token-0001";

/// A data directory whose store is the fixture: schema 0001, one client, one opaque token.
async fn data_of_schema_0001(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = format!("sqlite://{}?mode=rwc", data.join("candor.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    // Loaded as the sqlite3 shell loads a dump: its tables come in name order, so a row may
    // name a table made after it, and foreign keys are checked once the schema is whole.
    let dump = include_str!("fixtures/store-0001.sql");
    sqlx::raw_sql("PRAGMA foreign_keys = OFF")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(dump))
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    data
}

/// `(database, version) -> status` of `migrate status --format json`.
fn statuses(report: &Value) -> Vec<(String, i64, String)> {
    let mut out = Vec::new();
    for (database, part) in report.as_object().unwrap() {
        for m in part["migrations"].as_array().unwrap() {
            out.push((
                database.clone(),
                m["version"].as_i64().unwrap(),
                m["status"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// `(database, version)` of the pending migrations, sorted.
fn pending(states: &[(String, i64, String)]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = states
        .iter()
        .filter(|(_, _, status)| status == "pending")
        .map(|(database, version, _)| (database.clone(), *version))
        .collect();
    out.sort();
    out
}

fn status_json(cmd: &mut std::process::Command) -> Value {
    json(&run(
        cmd.args(["migrate", "status", "--format", "json"]),
        None,
    ))
}

#[tokio::test]
async fn a_store_of_the_first_schema_is_upgraded_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_of_schema_0001(dir.path()).await;

    let before = statuses(&status_json(&mut candor(&data)));
    let s = |db: &str, v: i64, st: &str| (db.to_string(), v, st.to_string());
    assert!(before.contains(&s("store", 1, "applied")), "{before:?}");
    for v in 2..=4 {
        assert!(before.contains(&s("store", v, "pending")), "{before:?}");
    }
    // No call log yet: pending, and looking did not create it.
    assert!(before.contains(&s("calls", 1, "pending")), "{before:?}");
    assert!(!data.join("calls.db").exists());

    let table = run(candor(&data).args(["migrate", "status"]), None);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("store") && text.contains("browser flow") && text.contains("pending"),
        "{text}"
    );
    let check = run(candor(&data).args(["migrate", "status", "--check"]), None);
    fails_saying(&check, "candor migrate up");

    // --no-migrate refuses, names what is missing and the command; it changed nothing.
    let refused = run(
        candor(&data).args(["serve", "--dev", "--listen", "127.0.0.1:0", "--no-migrate"]),
        None,
    );
    assert!(!refused.status.success());
    let why = stderr(&refused);
    assert!(why.contains("store 2 (browser flow) pending"), "{why}");
    assert!(why.contains("candor migrate up"), "{why}");
    assert!(statuses(&status_json(&mut candor(&data))).contains(&s("store", 2, "pending")));

    let applied = json(&run(candor(&data).args(["migrate", "up"]), None));
    let applied: Vec<(String, i64)> = applied["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["database"].as_str().unwrap().to_string(),
                a["version"].as_i64().unwrap(),
            )
        })
        .collect();
    // Exactly what was pending: the first schema's successors (2, 3, 4 and any later
    // release's) and the call log's; the store's first, in order.
    let mut sorted = applied.clone();
    sorted.sort();
    assert_eq!(sorted, pending(&before));
    assert_eq!(
        &applied[..3],
        &[
            ("store".to_string(), 2),
            ("store".to_string(), 3),
            ("store".to_string(), 4),
        ]
    );
    let after = statuses(&status_json(&mut candor(&data)));
    assert!(after.iter().all(|(_, _, st)| st == "applied"), "{after:?}");
    assert!(
        run(candor(&data).args(["migrate", "status", "--check"]), None)
            .status
            .success()
    );
    // Nothing left: a second `up` applies nothing.
    assert_eq!(
        json(&run(candor(&data).args(["migrate", "up"]), None))["applied"],
        Value::Array(vec![])
    );

    // The upgraded store serves what the first schema held.
    let server = serve_dev(&data, &["--no-migrate"]);
    let http = reqwest::Client::new();
    let introspected = post_as(
        &http,
        &format!("{}/introspect", server.base),
        (CLIENT, SECRET),
        &[("token", TOKEN)],
    )
    .await;
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["client_id"], CLIENT, "{introspected}");
    let token = post_as(
        &http,
        &format!("{}/token", server.base),
        (CLIENT, SECRET),
        &[("grant_type", "client_credentials"), ("scope", "read")],
    )
    .await;
    assert_eq!(token["token_type"], "Bearer", "{token}");
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_named_and_run_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_of_schema_0001(dir.path()).await;
    json(&run(candor(&data).args(["migrate", "up"]), None));
    // What a newer Candor's expand migration leaves behind: a version this binary lacks.
    let url = format!("sqlite://{}", data.join("candor.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations VALUES (9999, 'from the future', '2030-01-01 00:00:00', 1, x'00', 1)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();

    let report = statuses(&status_json(&mut candor(&data)));
    assert!(
        report.contains(&("store".to_string(), 9999, "unknown".to_string())),
        "{report:?}"
    );
    assert!(
        run(candor(&data).args(["migrate", "status", "--check"]), None)
            .status
            .success()
    );
    // An older node restarting during a rolling upgrade starts, with or without --no-migrate.
    assert_eq!(
        json(&run(candor(&data).args(["migrate", "up"]), None))["applied"],
        Value::Array(vec![])
    );
    let server = serve_dev(&data, &["--no-migrate"]);
    let health = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn postgres_is_migrated_from_the_first_schema_by_migrate_up() {
    let Some(base) = candor_store::testing::postgres_url_or_skip("migrate on PostgreSQL") else {
        return;
    };
    let db = candor_store::testing::PostgresTestDatabase::create(&base)
        .await
        .unwrap();
    // The first schema, as its migration made it.
    let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
    candor_store::migrations()
        .postgres
        .run_to(1, &pool)
        .await
        .unwrap();
    pool.close().await;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pg = |cmd: &mut std::process::Command| {
        cmd.args(["--database-url", db.url()]);
    };
    let mut status = candor(&data);
    pg(&mut status);
    let before = statuses(&status_json(&mut status));
    assert!(
        before.contains(&("store".to_string(), 1, "applied".to_string())),
        "{before:?}"
    );
    assert!(
        before.contains(&("store".to_string(), 4, "pending".to_string())),
        "{before:?}"
    );
    // On PostgreSQL the call log shares the database, in a table of its own.
    assert!(
        before.contains(&("calls".to_string(), 1, "pending".to_string())),
        "{before:?}"
    );

    let mut up = candor(&data);
    pg(&mut up);
    let applied = json(&run(up.args(["migrate", "up"]), None));
    assert_eq!(
        applied["applied"].as_array().unwrap().len(),
        pending(&before).len(),
        "{applied}"
    );
    let mut status = candor(&data);
    pg(&mut status);
    let after = statuses(&status_json(&mut status));
    assert!(after.iter().all(|(_, _, st)| st == "applied"), "{after:?}");
    // Nothing was written to the data directory: both live in PostgreSQL.
    assert!(!data.join("candor.db").exists() && !data.join("calls.db").exists());
}

/// `candor gateway --no-migrate` looks only at the call log (a gateway has no store): it
/// refuses a call log with pending migrations and creates nothing.
#[test]
fn the_gateway_refuses_to_start_on_a_call_log_that_is_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        "[gateway]\nlisten = \"127.0.0.1:0\"\n\n[[gateway.routes]]\nname = \"open\"\nauth = \"none\"\nupstreams = [{ url = \"http://127.0.0.1:9\" }]\n",
    )
    .unwrap();
    let refused = run(
        candor(&data)
            .args(["gateway", "--no-migrate", "--config"])
            .arg(&config),
        None,
    );
    assert!(!refused.status.success());
    let why = stderr(&refused);
    assert!(why.contains("calls 1") && why.contains("pending"), "{why}");
    assert!(!why.contains("store"), "a gateway has no store: {why}");
    assert!(!data.join("calls.db").exists(), "refusing created nothing");
}
