//! The console at `/admin`: signing in with Candor itself (code + PKCE as `candor-console`),
//! only for users whose roles allow it, a session that ends when the role goes, and the
//! overview's answer to "who fails, why, and what to change".

use std::time::Duration;

use crate::common::{Auth, Backend, TestServer};
use crate::flow::{self, Browser};

/// A server with the console on its public listener (`[admin] on_public_listener`).
async fn console_server(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |settings| settings.admin_on_public_listener = true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let s = console_server(Backend::Sqlite)
        .await
        .expect("sqlite server");
    a_user_with_a_role_signs_in_and_sees_who_fails_why(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    if let Some(s) = console_server(Backend::Postgres).await {
        a_user_with_a_role_signs_in_and_sees_who_fails_why(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managing_on_sqlite() {
    let s = console_server(Backend::Sqlite)
        .await
        .expect("sqlite server");
    an_admin_manages_clients_and_users_from_the_console(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managing_on_postgres() {
    if let Some(s) = console_server(Backend::Postgres).await {
        an_admin_manages_clients_and_users_from_the_console(s).await;
    }
}

/// The secret or password a page shows once, in its `<pre><code>`.
fn shown_once(page: &str) -> String {
    page.split("<pre><code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap_or_default()
        .to_string()
}

async fn an_admin_manages_clients_and_users_from_the_console(s: TestServer) {
    prepare(&s).await;
    let change = candor_server::users::UserChange {
        roles: Some(vec!["admin".into()]),
        ..Default::default()
    };
    candor_server::users::update(s.store.as_ref(), "alice", change)
        .await
        .unwrap();
    let b = Browser::new();
    let overview = sign_in(&s, &b, "alice").await;
    assert_eq!(overview.status, 200, "{}", overview.text);
    let clients = b.get(&s.url("/admin/clients")).await;
    let csrf = flow::hidden(&clients.text, "csrf");

    // Register a client: its page, with the secret shown once, which works.
    let created = b
        .post(
            &s.url("/admin/clients"),
            &[
                ("csrf", csrf.as_str()),
                ("client_name", "Reports"),
                ("client_id", "reports"),
                ("scope", "reports:read"),
                ("grant_types", "client_credentials"),
                ("token_endpoint_auth_method", "client_secret_basic"),
                ("access_token_format", "jwt"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let secret = shown_once(&created.text);
    assert!(secret.len() > 20, "{}", created.text);
    s.cc_token("reports", &secret, None).await;
    // A refused registration keeps what was typed and says why.
    let refused = b
        .post(
            &s.url("/admin/clients"),
            &[
                ("csrf", csrf.as_str()),
                ("client_name", "Bad"),
                ("redirect_uris", "http://bad.example/cb"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.text.contains("plain http"), "{}", refused.text);
    assert!(refused.text.contains("http://bad.example/cb"));

    // Edit: near-duplicate redirect URIs are saved with the warning the server will act on.
    let edited = b
        .post(
            &s.url("/admin/clients/reports"),
            &[
                ("csrf", csrf.as_str()),
                ("op", "edit"),
                ("client_name", "Reports"),
                (
                    "redirect_uris",
                    "https://r.example/cb\nhttps://r.example/cb/",
                ),
                ("scope", "reports:read reports:write"),
                ("grant_types", "client_credentials"),
                ("grant_types", "authorization_code"),
                ("token_endpoint_auth_method", "client_secret_basic"),
                ("access_token_format", "jwt"),
                ("require_pkce", "on"),
            ],
        )
        .await;
    assert!(edited.text.contains("Saved."), "{}", edited.text);
    assert!(edited.text.contains("redirect_uri.trailing_slash"));
    let stored = s.store.get_client("reports").await.unwrap().unwrap();
    assert_eq!(stored.redirect_uris.len(), 2);
    assert_eq!(stored.scopes.len(), 2);

    // Disable: refused at the token endpoint with the reason; enable again.
    let disabled = b
        .post(
            &s.url("/admin/clients/reports"),
            &[("csrf", csrf.as_str()), ("op", "disable")],
        )
        .await;
    assert!(
        disabled.text.contains("reports is disabled"),
        "{}",
        disabled.text
    );
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic("reports", &secret),
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.client_disabled");
    b.post(
        &s.url("/admin/clients/reports"),
        &[("csrf", csrf.as_str()), ("op", "enable")],
    )
    .await;
    assert!(
        s.store
            .get_client("reports")
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_none()
    );

    // Delete needs the client_id typed.
    let kept = b
        .post(
            &s.url("/admin/clients/reports"),
            &[
                ("csrf", csrf.as_str()),
                ("op", "delete"),
                ("confirm", "nope"),
            ],
        )
        .await;
    assert!(kept.text.contains("Nothing changed"), "{}", kept.text);
    assert!(s.store.get_client("reports").await.unwrap().is_some());
    let gone = b
        .post(
            &s.url("/admin/clients/reports"),
            &[
                ("csrf", csrf.as_str()),
                ("op", "delete"),
                ("confirm", "reports"),
            ],
        )
        .await;
    assert!(gone.text.contains("reports is deleted"), "{}", gone.text);
    assert!(s.store.get_client("reports").await.unwrap().is_none());

    // A user: created; alice's page lists the session her sign-in made.
    let created = b
        .post(
            &s.url("/admin/users"),
            &[
                ("csrf", csrf.as_str()),
                ("username", "bob"),
                ("password", "a long password for bob"),
                ("roles", "viewer"),
            ],
        )
        .await;
    assert!(created.text.contains("bob is created"), "{}", created.text);
    let bob = s.store.get_user_by_username("bob").await.unwrap().unwrap();
    assert_eq!(bob.roles, vec!["viewer".to_string()]);
    let alice = b.get(&s.url("/admin/users/alice")).await;
    assert!(alice.text.contains("End session"), "{}", alice.text);
    // Her timeline: the sign-in to the console and her consent (written off the request
    // path: read again until they are there).
    let mut timeline = alice.text.clone();
    for _ in 0..100 {
        if timeline.contains("signin.succeeded") && timeline.contains("consent.given") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        timeline = b.get(&s.url("/admin/users/alice")).await.text;
    }
    assert!(timeline.contains("signin.succeeded"), "{timeline}");
    assert!(timeline.contains("consent.given"), "{timeline}");
    let console_client = b.get(&s.url("/admin/clients/candor-console")).await;
    assert!(
        console_client.text.contains("signin.succeeded"),
        "{}",
        console_client.text
    );

    // bob: password reset (shown once, works), disabled, enabled.
    let reset = b
        .post(
            &s.url("/admin/users/bob"),
            &[("csrf", csrf.as_str()), ("op", "reset")],
        )
        .await;
    let password = shown_once(&reset.text);
    assert!(password.len() >= 20, "{}", reset.text);
    let hash = s
        .store
        .get_user_by_username("bob")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(candor_server::users::verify_password(
        &candor_proto::secret::Secret::new(password.clone()),
        &hash
    ));
    let disabled = b
        .post(
            &s.url("/admin/users/bob"),
            &[("csrf", csrf.as_str()), ("op", "disable")],
        )
        .await;
    assert!(
        disabled.text.contains("bob is disabled"),
        "{}",
        disabled.text
    );
    b.post(
        &s.url("/admin/users/bob"),
        &[("csrf", csrf.as_str()), ("op", "enable")],
    )
    .await;
    assert!(
        s.store
            .get_user_by_username("bob")
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_none()
    );

    // No gateway runs beside this server: the Gateway page says so and how to start one.
    let gateway = b.get(&s.url("/admin/gateway")).await;
    assert!(
        gateway.text.contains("No gateway runs in this process"),
        "{}",
        gateway.text
    );

    // The Diagnoses page lists the catalogue; the audit log holds every change, no secret.
    let diagnoses = b.get(&s.url("/admin/diagnoses")).await;
    assert!(
        diagnoses.text.contains("client_auth.client_disabled"),
        "{}",
        diagnoses.text
    );
    let audit = b.get(&s.url("/admin/audit")).await;
    for action in [
        "client.create",
        "client.update",
        "client.disable",
        "client.enable",
        "client.delete",
        "user.create",
        "user.set_password",
        "user.disable",
    ] {
        assert!(audit.text.contains(action), "{action} missing");
    }
    assert!(!audit.text.contains(&secret) && !audit.text.contains(&password));
}

/// Signs `username` in to the console in `b`: the last page the console answers with.
async fn sign_in(s: &TestServer, b: &Browser, username: &str) -> crate::common::Response {
    let start = b.get(&s.url("/admin/login")).await;
    assert_eq!(start.status, 303);
    let authorize = start.header("location").unwrap().to_string();
    assert!(
        authorize.contains("client_id=candor-console"),
        "{authorize}"
    );
    let page = b.get(&authorize).await;
    let next = flow::login(s, b, &page, username, flow::PASSWORD).await;
    let done = if next.status == 200 && next.text.contains("name=\"consent\"") {
        flow::consent(s, b, &next, "allow").await
    } else {
        next
    };
    let callback = done.header("location").unwrap().to_string();
    assert!(
        callback.starts_with(&s.url("/admin/callback?")),
        "{callback}"
    );
    let answered = b.get(&callback).await;
    if answered.status == 303 {
        b.get(answered.header("location").unwrap()).await
    } else {
        answered
    }
}

/// The console's client, a call log and `flow::setup`'s client and alice.
async fn prepare(s: &TestServer) -> flow::Setup {
    candor_server::console::ensure(s.store.as_ref(), &s.master, s.app.settings(), s.app.now())
        .await
        .unwrap();
    let url = match s.backend {
        Backend::Sqlite => format!("sqlite://{}", s.dir.path().join("calls.db").display()),
        Backend::Postgres => s.db_url.clone(),
    };
    let store = candor_calls::CallStore::open(&url).await.unwrap();
    let recorder = candor_calls::Recorder::start(
        store.clone(),
        candor_calls::Settings {
            flush_every: Duration::from_millis(50),
            ..candor_calls::Settings::default()
        },
    );
    s.app
        .attach_call_log(std::sync::Arc::new(candor_calls::CallLog::new(recorder)));
    let events =
        candor_calls::EventLog::start(Some(store), candor_calls::EventSettings::default()).unwrap();
    s.app.attach_events(events);
    flow::setup(s).await
}

async fn a_user_with_a_role_signs_in_and_sees_who_fails_why(s: TestServer) {
    let setup = prepare(&s).await;

    // Without a session: the way in, and nothing else.
    let b = Browser::new();
    let first = b.get(&s.url("/admin")).await;
    assert_eq!(first.status, 200);
    assert!(first.text.contains("Sign in with Candor"), "{}", first.text);
    assert!(!first.text.contains("Overview</h1>"));
    let csp = first.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // The page's one inline style sheet is the one the policy allows by its hash.
    let style = first
        .text
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(css, _)| css)
        .unwrap();
    let hash = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        candor_proto::secret::digest(style),
    );
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");

    // alice has no role: refused after the sign-in, with the way to get one.
    let refused = sign_in(&s, &b, "alice").await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(
        refused
            .text
            .contains("neither the admin nor the viewer role")
    );

    // Some failures to show: a client that sends a wrong secret, three times.
    for _ in 0..3 {
        s.post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&setup.client_id, "wrong"),
        )
        .await;
    }
    let change = candor_server::users::UserChange {
        roles: Some(vec!["viewer".into()]),
        ..Default::default()
    };
    candor_server::users::update(s.store.as_ref(), "alice", change)
        .await
        .unwrap();
    let b = Browser::new();
    let mut overview = sign_in(&s, &b, "alice").await;
    for _ in 0..100 {
        if overview.text.contains("client_auth.secret_mismatch") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        overview = b.get(&s.url("/admin")).await;
    }
    assert_eq!(overview.status, 200, "{}", overview.text);
    assert!(overview.text.contains("Overview</h1>"), "{}", overview.text);
    assert!(overview.text.contains("user:alice"));
    assert!(
        overview
            .text
            .contains("client_auth.secret_mismatch</code></a> — 3 calls"),
        "{}",
        overview.text
    );
    assert!(
        overview
            .text
            .contains(&format!("<code>{}</code> (3)", setup.client_id)),
        "{}",
        overview.text
    );
    assert!(
        overview
            .text
            .contains("/docs/errors/client_auth.secret_mismatch")
    );
    let clients = b.get(&s.url("/admin/clients")).await;
    assert!(clients.text.contains("candor-console") && clients.text.contains(&setup.client_id));
    let users = b.get(&s.url("/admin/users")).await;
    assert!(users.text.contains("alice") && users.text.contains("viewer"));
    let keys = b.get(&s.url("/admin/keys")).await;
    assert!(keys.text.contains("<td>active</td>"), "{}", keys.text);
    // The calls, filtered as the call log's parser reads the form.
    let calls = b
        .get(&s.url("/admin/requests?diagnosis=client_auth.*&client=&status=4xx"))
        .await;
    assert_eq!(calls.status, 200);
    assert_eq!(
        calls
            .text
            .matches("<code class=\"code\">client_auth.secret_mismatch</code>")
            .count(),
        3,
        "{}",
        calls.text
    );
    // The charts' data: the last hour per minute (61 minutes), the three refusals in it; the
    // scripts that draw them come from this server only.
    let series: serde_json::Value = serde_json::from_str(
        overview
            .text
            .split("<script type=\"application/json\" id=\"candor-series\">")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(series[0].as_array().unwrap().len(), 61, "{series}");
    let errors: u64 = series[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(errors >= 3, "{series}");
    for script in ["/assets/uplot.js", "/assets/console.js"] {
        assert!(overview.text.contains(&s.url(script)), "{script}");
        let r = s.get(script).await;
        assert_eq!(r.status, 200);
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("text/javascript")
        );
    }
    // The live tail: the calls after the last one shown, with the page's filter, for a
    // session only.
    let url = calls
        .text
        .split("data-tail=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(
        url.contains("diagnosis=client_auth.") && url.contains("after="),
        "{url}"
    );
    let none: serde_json::Value = serde_json::from_str(&b.get(&url).await.text).unwrap();
    assert_eq!(none["calls"], serde_json::json!([]), "{none} {url}");
    let from_start = url.split("after=").next().unwrap().to_string() + "after=0";
    let all: serde_json::Value = serde_json::from_str(&b.get(&from_start).await.text).unwrap();
    assert_eq!(all["calls"].as_array().unwrap().len(), 3, "{all}");
    assert_eq!(all["calls"][0]["diagnosis"], "client_auth.secret_mismatch");
    let anonymous = reqwest::get(&from_start)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(anonymous.contains("Sign in with Candor"), "{anonymous}");
    let bad = b.get(&s.url("/admin/requests?status=abc")).await;
    assert!(bad.text.contains("role=\"alert\""), "{}", bad.text);
    // A change through the admin API shows on the audit page.
    s.app.attach_admin(candor_admin::Guard::new(
        Some(candor_proto::secret::digest(
            "console-test-admin-token-0123",
        )),
        None,
    ));
    let changed = reqwest::Client::new()
        .post(s.url("/admin/api/v1/users/alice/unlock"))
        .bearer_auth("console-test-admin-token-0123")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let audit = b.get(&s.url("/admin/audit")).await;
    assert!(
        audit.text.contains("user.unlock") && audit.text.contains("user:alice"),
        "{}",
        audit.text
    );

    // The doctor explains a pasted response, in the page.
    let pasted = "HTTP/1.1 400 BAD REQUEST\r\nContent-Type: application/json\r\n\r\n{\"error\": \"invalid_grant\", \"error_description\": \"Code challenge failed.\"}";
    let explained = b
        .post(&s.url("/admin/doctor"), &[("capture", pasted)])
        .await;
    assert_eq!(explained.status, 200);
    assert!(
        explained.text.contains("pkce.verifier_mismatch"),
        "{}",
        explained.text
    );
    let unreadable = b
        .post(&s.url("/admin/doctor"), &[("capture", "{\"log\": 3}")])
        .await;
    assert!(
        unreadable.text.contains("cannot read this capture"),
        "{}",
        unreadable.text
    );
    // A HAR file uploaded as the browser's form sends it (multipart), the repository's own
    // capture of a healthy Chromium login: read, and explained as a flow.
    let har = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../interop/captures/candor-login.har"
    ))
    .unwrap();
    let boundary = "----candor-test-boundary-7d1";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"capture_file\"; filename=\"login.har\"\r\n\
         Content-Type: application/json\r\n\r\n{har}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"capture\"\r\n\r\n\r\n--{boundary}--\r\n"
    );
    let uploaded = b
        .http
        .post(s.url("/admin/doctor"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(multipart)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(uploaded.contains("Findings"), "{uploaded}");
    assert!(!uploaded.contains("cannot read"), "{uploaded}");

    // Without the session (another site's form): the sign-in page, nothing explained.
    let foreign = reqwest::Client::new()
        .post(s.url("/admin/doctor"))
        .form(&[("capture", pasted)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(foreign.contains("Sign in with Candor") && !foreign.contains("pkce.verifier_mismatch"));

    // A viewer sees no forms, and a change is refused even with the session's token.
    assert!(!users.text.contains("name=\"csrf\""));
    let refused = b
        .post(
            &s.url("/admin/users/alice"),
            &[("op", "unlock"), ("csrf", "x")],
        )
        .await;
    assert_eq!(refused.status, 403);
    // An admin changes things, with the session's CSRF token and only with it.
    let change = candor_server::users::UserChange {
        roles: Some(vec!["admin".into()]),
        ..Default::default()
    };
    candor_server::users::update(s.store.as_ref(), "alice", change)
        .await
        .unwrap();
    let users = b.get(&s.url("/admin/users")).await;
    let csrf = flow::hidden(&users.text, "csrf");
    assert!(csrf.len() > 20, "{}", users.text);
    let stale = b
        .post(
            &s.url("/admin/users/alice"),
            &[("op", "unlock"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(stale.status, 403);
    assert!(stale.text.contains("CSRF token does not match"));
    let unlocked = b
        .post(
            &s.url("/admin/users/alice"),
            &[("op", "unlock"), ("csrf", &csrf)],
        )
        .await;
    assert!(
        unlocked.text.contains("alice is unlocked"),
        "{}",
        unlocked.text
    );
    let rotated = b
        .post(
            &s.url(&format!("/admin/clients/{}", setup.client_id)),
            &[("op", "rotate"), ("overlap", "0"), ("csrf", &csrf)],
        )
        .await;
    let secret = rotated
        .text
        .split("<pre><code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap()
        .to_string();
    // The new secret authenticates (the client may not use this grant: a 400 after
    // authentication, not a 401); the old one does not.
    let new = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&setup.client_id, &secret),
        )
        .await;
    assert_eq!(new.status, 400, "{}", new.text);
    assert!(new.text.contains("grant_type.not_allowed"), "{}", new.text);
    let old = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(&setup.client_id, &setup.secret),
        )
        .await;
    assert_eq!(old.status, 401, "the old secret no longer works");
    let audit = b.get(&s.url("/admin/audit")).await;
    assert!(
        audit.text.contains("client.rotate_secret"),
        "{}",
        audit.text
    );
    assert!(!audit.text.contains(&secret), "no secret in the audit log");

    // The role taken away ends the session at the next page.
    let change = candor_server::users::UserChange {
        roles: Some(Vec::new()),
        ..Default::default()
    };
    candor_server::users::update(s.store.as_ref(), "alice", change)
        .await
        .unwrap();
    let ended = b.get(&s.url("/admin")).await;
    assert_eq!(ended.status, 401);
    assert!(ended.text.contains("Your session has ended"));

    // A forged or foreign cookie is no session either.
    let forged = reqwest::Client::new()
        .get(s.url("/admin/users"))
        .header("cookie", "candor_console=AAAA")
        .send()
        .await
        .unwrap();
    assert!(!forged.text().await.unwrap().contains("alice"));
}
