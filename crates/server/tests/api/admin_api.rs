//! The admin API (`/admin/api/v1`) on the server's admin listener: every resource through
//! real HTTP, with the credential checked first, bad input refused with the catalogue's
//! codes, and each change visible where it matters (the token endpoint, the JWKS).

use serde_json::{Value, json};

use crate::common::{Auth, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_public_listener_when_configured() {
    let s = TestServer::start_with(crate::common::Backend::Sqlite, |settings| {
        settings.admin_on_public_listener = true;
    })
    .await
    .unwrap();
    // Attached after the router was built, as `candor serve` may: the guard applies anyway.
    s.app.attach_admin(candor_admin::Guard::new(
        Some(candor_proto::secret::digest(ADMIN_TOKEN)),
        None,
    ));
    let r = s
        .http
        .get(s.url("/admin/api/v1/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for path in ["/admin/api/v1/clients", "/admin/api/v1/calls"] {
        let r = s
            .http
            .get(s.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        // The call log is not attached in this test: its queries say so, behind the token.
        let expected = if path.ends_with("calls") { 404 } else { 200 };
        assert_eq!(r.status(), expected, "{path}");
    }
    // Health and metrics stay on the admin listener.
    assert_eq!(s.get("/metrics").await.status, 404);

    // The audit log is there too (found missing by the schemathesis run).
    let audit = s.url("/admin/api/v1/audit");
    assert_eq!(s.http.get(&audit).send().await.unwrap().status(), 401);
    let r = s
        .http
        .get(&audit)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    // No call log is attached here: the endpoint answers that, not that there is none.
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("call log is off"),
        "{body}"
    );
    // A method a path does not take, and a path no handler could read: the catalogue's body.
    let r = s
        .http
        .request(reqwest::Method::PUT, s.url("/admin/api/v1/keys"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers()["allow"].to_str().unwrap().contains("GET"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["diagnosis"], "admin.method_not_allowed", "{body}");
    let r = s
        .http
        .get(s.url("/admin/api/v1/clients/%FF%FE"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["diagnosis"], "admin.invalid_request", "{body}");
}

crate::both!(
    the_admin_api_needs_the_admin_token_and_describes_itself,
    clients_are_managed_through_the_admin_api,
    bad_client_input_is_refused_with_the_field_named,
    users_are_managed_through_the_admin_api,
    keys_are_listed_and_rotated_through_the_admin_api,
    tokens_with_an_admin_scope_administer_by_role,
    every_change_is_an_audit_event_without_secrets,
    a_users_token_administers_only_as_far_as_their_roles_allow,
);

pub(crate) const ADMIN_TOKEN: &str = "admin-token-for-admin-api-tests-0123";

/// The server's admin listener, guarded by [`ADMIN_TOKEN`].
pub(crate) struct Admin {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
}

impl Admin {
    pub(crate) async fn start(s: &TestServer) -> Admin {
        s.app.attach_admin(candor_admin::Guard::new(
            Some(candor_proto::secret::digest(ADMIN_TOKEN)),
            Some(candor_proto::error::docs_base(&s.base)),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(candor_server::serve_admin(
            listener,
            s.app.clone(),
            std::future::pending(),
        ));
        Admin {
            base,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        assert_eq!(
            r.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path}"
        );
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// Asserts a refusal: its status and its catalogue code.
pub(crate) fn refused(status: u16, body: &Value, want: u16, diagnosis: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["diagnosis"], diagnosis, "{body}");
}

pub(crate) async fn token_status(s: &TestServer, id: &str, secret: &str) -> u16 {
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic(id, secret),
    )
    .await
    .status
    .as_u16()
}

async fn the_admin_api_needs_the_admin_token_and_describes_itself(s: TestServer) {
    let admin = Admin::start(&s).await;
    for path in [
        "/admin/api/v1/clients",
        "/admin/api/v1/users",
        "/admin/api/v1/keys",
    ] {
        let r = admin
            .http
            .get(format!("{}{path}", admin.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer realm=\"candor-admin\""
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["diagnosis"], "admin.unauthorized");
        // Refused before the body is read: nothing was created.
    }
    let r = admin
        .http
        .post(format!("{}/admin/api/v1/clients", admin.base))
        .json(&json!({"client_name": "sneaky"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        s.store
            .list_clients()
            .await
            .unwrap()
            .iter()
            .all(|c| c.name != "sneaky")
    );

    // The description is public and covers every resource, the call log's queries included.
    let doc: Value = admin
        .http
        .get(format!("{}/admin/api/v1/openapi.json", admin.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/admin/api/v1/clients",
        "/admin/api/v1/clients/{client_id}",
        "/admin/api/v1/clients/{client_id}/secret",
        "/admin/api/v1/users/{username}/unlock",
        "/admin/api/v1/keys/rotate",
        "/admin/api/v1/calls",
        "/admin/api/v1/calls/stats",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    // Every operation says how it is refused without a credential; every change, for a
    // viewer's.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            assert!(responses.get("401").is_some(), "{method} {path}");
            if method != "get" {
                assert!(responses.get("403").is_some(), "{method} {path}");
            }
        }
    }
    // The public listener serves none of it unless configured.
    assert_eq!(s.get("/admin/api/v1/clients").await.status, 404);
}

async fn clients_are_managed_through_the_admin_api(s: TestServer) {
    let admin = Admin::start(&s).await;
    let (status, created) = admin
        .post(
            "/admin/api/v1/clients",
            json!({"client_name": "Billing", "client_id": "billing", "scope": "invoices:read"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["client_id"], "billing");
    assert_eq!(created["grant_types"], json!(["client_credentials"]));
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(token_status(&s, "billing", &secret).await, 200);

    // Shown again: never the secret.
    let (status, shown) = admin.get("/admin/api/v1/clients/billing").await;
    assert_eq!(status, 200);
    assert!(shown.get("client_secret").is_none(), "{shown}");

    // A second client by the same name is refused; so is a taken client_id.
    let (status, body) = admin
        .post("/admin/api/v1/clients", json!({"client_name": "Billing"}))
        .await;
    refused(status, &body, 409, "admin.conflict");
    let (status, body) = admin
        .post(
            "/admin/api/v1/clients",
            json!({"client_name": "Other", "client_id": "billing"}),
        )
        .await;
    refused(status, &body, 409, "admin.conflict");

    // A change in place: the client_id and the secret stay; near-duplicate redirect URIs
    // are accepted with a warning naming the refusal they invite.
    let (status, updated) = admin
        .patch(
            "/admin/api/v1/clients/billing",
            json!({
                "client_name": "Billing service",
                "redirect_uris": ["https://billing.example/cb", "https://billing.example/cb/"],
                "grant_types": ["client_credentials", "authorization_code"],
                "scope": "invoices:read invoices:write",
            }),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["client_name"], "Billing service");
    assert_eq!(updated["scope"], "invoices:read invoices:write");
    assert!(updated.get("client_secret").is_none());
    assert_eq!(
        updated["warnings"][0]["code"], "redirect_uri.trailing_slash",
        "{updated}"
    );
    assert_eq!(token_status(&s, "billing", &secret).await, 200);
    let stored = s.store.get_client("billing").await.unwrap().unwrap();
    assert_eq!(stored.redirect_uris.len(), 2);

    // Search and paging.
    admin
        .post(
            "/admin/api/v1/clients",
            json!({"client_name": "Catalog", "client_id": "catalog"}),
        )
        .await;
    let (_, page) = admin
        .get("/admin/api/v1/clients?search=billing%20serv")
        .await;
    assert_eq!(page["clients"].as_array().unwrap().len(), 1, "{page}");
    let (_, first) = admin.get("/admin/api/v1/clients?limit=1").await;
    let next = first["next"].as_str().unwrap().to_string();
    let (_, second) = admin
        .get(&format!("/admin/api/v1/clients?limit=1&after={next}"))
        .await;
    assert_ne!(
        first["clients"][0]["client_id"],
        second["clients"][0]["client_id"]
    );

    // A rotation: the new secret works and the old one no longer does.
    let (status, rotated) = admin
        .post("/admin/api/v1/clients/billing/secret", json!({}))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let fresh = rotated["client_secret"].as_str().unwrap();
    assert_eq!(token_status(&s, "billing", fresh).await, 200);
    assert_eq!(token_status(&s, "billing", &secret).await, 401);

    // Deleted: gone, and its credentials with it.
    let (status, deleted) = admin.delete("/admin/api/v1/clients/billing").await;
    assert_eq!(
        (status, deleted["tokens_revoked"].as_bool()),
        (200, Some(true))
    );
    let (status, body) = admin.get("/admin/api/v1/clients/billing").await;
    refused(status, &body, 404, "admin.not_found");
    assert_eq!(token_status(&s, "billing", fresh).await, 401);
    let (status, _) = admin.delete("/admin/api/v1/clients/billing").await;
    assert_eq!(status, 404);
}

async fn bad_client_input_is_refused_with_the_field_named(s: TestServer) {
    let admin = Admin::start(&s).await;
    let before = s.store.list_clients().await.unwrap().len();
    for (body, names) in [
        (
            json!({"client_name": "A", "redirect_uri": ["https://a.example/cb"]}),
            "redirect_uri",
        ),
        (json!({"client_name": 7}), "invalid type"),
        (
            json!({"client_name": "B", "redirect_uris": ["http://b.example/cb"]}),
            "plain http",
        ),
        (
            json!({"client_name": "C", "grant_types": ["password"]}),
            "grant_types",
        ),
        (
            json!({"client_name": "D", "token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
            "public client",
        ),
        (json!({"client_name": "E", "scope": "a\"b"}), "scope"),
        (json!({"client_name": ""}), "name"),
    ] {
        let (status, answer) = admin.post("/admin/api/v1/clients", body.clone()).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["diagnosis"], "admin.invalid_request", "{answer}");
        let why = answer["error_description"].as_str().unwrap();
        assert!(why.contains(names), "{body}: {why}");
    }
    // Not JSON, and too large.
    let r = s
        .http
        .post(format!("{}/admin/api/v1/clients", admin.base))
        .bearer_auth(ADMIN_TOKEN)
        .form(&[("client_name", "F")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let big = json!({"client_name": "G", "redirect_uris": vec!["https://g.example/cb"; 5000]});
    let (status, answer) = admin.post("/admin/api/v1/clients", big).await;
    refused(status, &answer, 400, "admin.invalid_request");
    let (status, _) = admin
        .patch("/admin/api/v1/clients/nobody", json!({"client_name": "H"}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        s.store.list_clients().await.unwrap().len(),
        before,
        "nothing was created"
    );
}

async fn users_are_managed_through_the_admin_api(s: TestServer) {
    let admin = Admin::start(&s).await;
    let (status, user) = admin
        .post(
            "/admin/api/v1/users",
            json!({"username": "carol", "password": "correct horse battery", "email": "carol@example.com"}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["username"], "carol");
    let text = user.to_string();
    assert!(
        !text.contains("correct horse") && !text.contains("argon2"),
        "{text}"
    );
    let (status, body) = admin
        .post(
            "/admin/api/v1/users",
            json!({"username": "carol", "password": "another one!"}),
        )
        .await;
    refused(status, &body, 409, "admin.conflict");
    let (status, body) = admin
        .post(
            "/admin/api/v1/users",
            json!({"username": "dave", "password": "short"}),
        )
        .await;
    refused(status, &body, 400, "admin.invalid_request");

    let (_, list) = admin.get("/admin/api/v1/users?search=car").await;
    assert_eq!(list["users"][0]["username"], "carol", "{list}");

    // A lockout lifted: the failures counted for carol are gone.
    s.store
        .record_login_failure("carol", s.app.now(), 900)
        .await
        .unwrap();
    let (status, _) = admin
        .post("/admin/api/v1/users/carol/unlock", json!({}))
        .await;
    assert_eq!(status, 200);
    let (failures, _) = s
        .store
        .login_failures("carol", s.app.now(), 900)
        .await
        .unwrap();
    assert_eq!(failures, 0);

    let old_hash = s
        .store
        .get_user_by_username("carol")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    let (status, done) = admin
        .post(
            "/admin/api/v1/users/carol/password",
            json!({"password": "a new long password"}),
        )
        .await;
    assert_eq!(
        (status, done["sessions_revoked"].as_bool()),
        (200, Some(true))
    );
    let new_hash = s
        .store
        .get_user_by_username("carol")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_ne!(old_hash, new_hash);
    let (status, _) = admin
        .post("/admin/api/v1/users/carol/sessions/revoke", json!({}))
        .await;
    assert_eq!(status, 200);

    let (status, _) = admin.delete("/admin/api/v1/users/carol").await;
    assert_eq!(status, 200);
    let (status, body) = admin.get("/admin/api/v1/users/carol").await;
    refused(status, &body, 404, "admin.not_found");
    let (status, _) = admin
        .post("/admin/api/v1/users/carol/unlock", json!({}))
        .await;
    assert_eq!(status, 404);
}

async fn keys_are_listed_and_rotated_through_the_admin_api(s: TestServer) {
    let admin = Admin::start(&s).await;
    let (status, list) = admin.get("/admin/api/v1/keys").await;
    assert_eq!(status, 200);
    let active: Vec<&Value> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["status"] == "active")
        .collect();
    assert!(!active.is_empty(), "{list}");
    assert!(
        list.to_string().find("\"d\"").is_none(),
        "no private key material: {list}"
    );

    let (status, body) = admin
        .post("/admin/api/v1/keys/rotate", json!({"alg": "XS999"}))
        .await;
    refused(status, &body, 400, "admin.invalid_request");
    let (status, rotated) = admin
        .post(
            "/admin/api/v1/keys/rotate",
            json!({"alg": "ES256", "immediately": true}),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let kid = rotated["rotations"][0]["new_kid"]
        .as_str()
        .unwrap()
        .to_string();
    let jwks = s.get("/jwks").await.json();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid.as_str()),
        "the new key is published at once: {jwks}"
    );
    let (_, list) = admin.get("/admin/api/v1/keys").await;
    let new = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    assert_eq!(new["status"], "active");
}

/// Attaches a call log (where audit events are kept) to `s`.
pub(crate) async fn attach_call_log(s: &TestServer) -> std::sync::Arc<candor_calls::CallLog> {
    let url = match s.backend {
        crate::common::Backend::Sqlite => {
            format!("sqlite://{}", s.dir.path().join("calls.db").display())
        }
        crate::common::Backend::Postgres => s.db_url.clone(),
    };
    let store = candor_calls::CallStore::open(&url).await.unwrap();
    let recorder = candor_calls::Recorder::start(store, candor_calls::Settings::default());
    let log = std::sync::Arc::new(candor_calls::CallLog::new(recorder));
    s.app.attach_call_log(log.clone());
    log
}

async fn tokens_with_an_admin_scope_administer_by_role(s: TestServer) {
    let admin = Admin::start(&s).await;
    let mut token_of = std::collections::HashMap::new();
    let mut secrets = std::collections::HashMap::new();
    for (id, scope) in [
        ("ops-bot", "candor:admin"),
        ("dashboard", "candor:admin:read"),
        ("plain", "orders:read"),
    ] {
        let (_, c) = admin
            .post(
                "/admin/api/v1/clients",
                json!({"client_name": id, "client_id": id, "scope": scope}),
            )
            .await;
        let secret = c["client_secret"].as_str().unwrap().to_string();
        let token = s.cc_token(id, &secret, Some(scope)).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        token_of.insert(id, (token, secret));
    }
    let token_of: std::collections::HashMap<&str, String> = token_of
        .into_iter()
        .map(|(id, (token, secret))| {
            secrets.insert(id, secret);
            (id, token)
        })
        .collect();
    let with = |token: &str, method: reqwest::Method, path: &str| {
        admin
            .http
            .request(method, format!("{}{path}", admin.base))
            .bearer_auth(token.to_string())
    };
    // The admin role reads and changes.
    let r = with(
        &token_of["ops-bot"],
        reqwest::Method::POST,
        "/admin/api/v1/users",
    )
    .json(&json!({"username": "erin", "password": "a long password here"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    // The viewer role reads, and is refused a change with admin.forbidden.
    let r = with(
        &token_of["dashboard"],
        reqwest::Method::GET,
        "/admin/api/v1/users",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = with(
        &token_of["dashboard"],
        reqwest::Method::DELETE,
        "/admin/api/v1/users/erin",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["diagnosis"], "admin.forbidden");
    assert!(
        s.store
            .get_user_by_username("erin")
            .await
            .unwrap()
            .is_some()
    );
    // A token without an admin scope is no credential at all.
    let r = with(
        &token_of["plain"],
        reqwest::Method::GET,
        "/admin/api/v1/users",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 401);
    // Revoked: refused at once.
    let r = s
        .post_form(
            "/revoke",
            &[("token", token_of["ops-bot"].as_str())],
            Auth::Basic("ops-bot", &secrets["ops-bot"]),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = with(
        &token_of["ops-bot"],
        reqwest::Method::GET,
        "/admin/api/v1/users",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 401);
}

async fn every_change_is_an_audit_event_without_secrets(s: TestServer) {
    let log = attach_call_log(&s).await;
    let admin = Admin::start(&s).await;
    let (_, created) = admin
        .post(
            "/admin/api/v1/clients",
            json!({"client_name": "Audited", "client_id": "audited"}),
        )
        .await;
    let secret = created["client_secret"].as_str().unwrap().to_string();
    admin
        .patch("/admin/api/v1/clients/audited", json!({"scope": "a b"}))
        .await;
    let (_, rotated) = admin
        .post("/admin/api/v1/clients/audited/secret", json!({}))
        .await;
    let fresh = rotated["client_secret"].as_str().unwrap().to_string();
    admin
        .post(
            "/admin/api/v1/users",
            json!({"username": "frank", "password": "frank's long password"}),
        )
        .await;
    admin
        .post(
            "/admin/api/v1/users/frank/password",
            json!({"password": "frank's next password"}),
        )
        .await;
    admin.delete("/admin/api/v1/clients/audited").await;

    let (status, audit) = admin.get("/admin/api/v1/audit?since=1h").await;
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "client.create",
            "client.update",
            "client.rotate_secret",
            "user.create",
            "user.set_password",
            "client.delete"
        ]
    );
    let update = &audit["events"][1];
    assert_eq!(update["actor"], "admin-token");
    assert_eq!(update["object"], "client:audited");
    assert_eq!(
        update["changes"]["scope"],
        json!({"before": "", "after": "a b"})
    );
    assert!(
        update["address"].as_str().unwrap().starts_with("127.0.0.1"),
        "{update}"
    );
    let text = audit.to_string();
    for secret in [
        secret.as_str(),
        fresh.as_str(),
        "frank's long password",
        "frank's next password",
    ] {
        assert!(!text.contains(secret), "a secret reached the audit log");
    }
    // Filtered by object, and followed by id.
    let (_, one) = admin.get("/admin/api/v1/audit?object=user:frank").await;
    assert_eq!(one["events"].as_array().unwrap().len(), 2, "{one}");
    let after = audit["after"].as_i64().unwrap();
    let (_, none) = admin
        .get(&format!("/admin/api/v1/audit?after={after}"))
        .await;
    assert_eq!(none["events"], json!([]));
    let (status, bad) = admin.get("/admin/api/v1/audit?who=me").await;
    refused(status, &bad, 400, "admin.query_invalid");
    log.recorder.shutdown().await;
}

async fn a_users_token_administers_only_as_far_as_their_roles_allow(s: TestServer) {
    let admin = Admin::start(&s).await;
    let setup = crate::flow::setup(&s).await;
    let (status, _) = admin
        .patch(
            &format!("/admin/api/v1/clients/{}", setup.client_id),
            json!({"scope": "openid profile candor:admin"}),
        )
        .await;
    assert_eq!(status, 200);
    let browser = crate::flow::Browser::new();
    let tokens = crate::flow::tokens(&s, &browser, &setup, "openid candor:admin").await;
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let call = |method: reqwest::Method, path: &str| {
        admin
            .http
            .request(method, format!("{}{path}", admin.base))
            .bearer_auth(token.clone())
    };
    // The scope alone: alice has no role.
    let r = call(reqwest::Method::GET, "/admin/api/v1/users")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A viewer reads; the same token, read again at each request.
    let (status, alice) = admin
        .patch("/admin/api/v1/users/alice", json!({"roles": ["viewer"]}))
        .await;
    assert_eq!((status, alice["roles"].clone()), (200, json!(["viewer"])));
    let r = call(reqwest::Method::GET, "/admin/api/v1/users")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = call(reqwest::Method::POST, "/admin/api/v1/users/alice/unlock")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // An admin changes, and the audit log names the user.
    admin
        .patch(
            "/admin/api/v1/users/alice",
            json!({"roles": ["admin"], "name": null}),
        )
        .await;
    let r = call(reqwest::Method::POST, "/admin/api/v1/users/alice/unlock")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, alice) = admin.get("/admin/api/v1/users/alice").await;
    assert_eq!(alice["name"], Value::Null);
    let (status, body) = admin
        .patch("/admin/api/v1/users/alice", json!({"roles": ["bad role"]}))
        .await;
    refused(status, &body, 400, "admin.invalid_request");
}
