//! The lifecycle actions of the admin API: disabling and enabling clients and users, secret
//! rotation with an overlap, password resets, and a user's sessions and consents — each
//! checked where it matters: the token endpoint, the sign-in page, the revocation feed.

use candor_store::RevocationKind;
use serde_json::json;

use crate::admin_api::{Admin, attach_call_log, refused, token_status};
use crate::common::{Auth, TestServer};
use crate::flow::{self, Browser, PASSWORD};

crate::both!(
    a_disabled_client_gets_nothing_until_enabled,
    a_rotation_with_an_overlap_keeps_the_old_secret_for_a_while,
    a_disabled_user_cannot_sign_in_and_loses_their_grants,
    a_password_reset_generates_one_when_none_is_given,
    sessions_and_consents_are_listed_and_ended,
);

/// The actions in the audit log, oldest first, and the log as text.
async fn audit(admin: &Admin) -> (Vec<String>, String) {
    let (status, audit) = admin.get("/admin/api/v1/audit?since=1h&limit=500").await;
    assert_eq!(status, 200, "{audit}");
    let actions = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    (actions, audit.to_string())
}

async fn a_disabled_client_gets_nothing_until_enabled(s: TestServer) {
    let _log = attach_call_log(&s).await;
    let admin = Admin::start(&s).await;
    let setup = flow::setup(&s).await;
    let b = Browser::new();
    let tokens = flow::tokens(&s, &b, &setup, "openid offline_access").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    let path = format!("/admin/api/v1/clients/{}/disable", setup.client_id);
    let (status, answer) = admin.post(&path, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["disabled"], true, "{answer}");
    // Twice is no error and changes nothing.
    let (status, again) = admin.post(&path, json!({})).await;
    assert_eq!(
        (status, &again["disabled_at"]),
        (200, &answer["disabled_at"])
    );

    // The token endpoint names the cause, to the client that proved who it is…
    flow::refresh(&s, &setup, &refresh, None)
        .await
        .assert_error(401, "invalid_client", "client_auth.client_disabled");
    // …and says nothing of it to anyone else.
    s.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Auth::Basic(&setup.client_id, "not-the-secret"),
    )
    .await
    .assert_error(401, "invalid_client", "client_auth.secret_mismatch");
    // No sign-in starts for it.
    let p = flow::pkce();
    let page = b
        .get(&flow::authorize_url(
            &s,
            &flow::standard(&setup, &p, "openid"),
        ))
        .await;
    assert_eq!(page.status, 400, "{}", page.text);
    assert!(
        page.text.contains("authorization_request.client_disabled"),
        "{}",
        page.text
    );
    // What it held is revoked, and gateways are told.
    assert!(
        s.store
            .revoked_at(RevocationKind::Client, &setup.client_id)
            .await
            .unwrap()
            .is_some()
    );

    let (status, enabled) = admin
        .post(
            &format!("/admin/api/v1/clients/{}/enable", setup.client_id),
            json!({}),
        )
        .await;
    assert_eq!((status, &enabled["disabled"]), (200, &json!(false)));
    // Enabled: a new sign-in works (from the second after the disable, which voided
    // everything issued up to it); the refresh token revoked by the disable stays revoked.
    next_second(&s);
    let fresh = flow::tokens(&s, &Browser::new(), &setup, "openid").await;
    assert!(fresh["access_token"].is_string());
    flow::refresh(&s, &setup, &refresh, None)
        .await
        .assert_error(400, "invalid_grant", "refresh_token.revoked");

    // Each change is in the audit log; a second disable that changed nothing is not.
    let (events, _) = audit(&admin).await;
    let disables = events.iter().filter(|a| *a == "client.disable").count();
    assert_eq!(disables, 1, "{events:?}");
    assert!(events.iter().any(|a| a == "client.enable"), "{events:?}");

    let (status, body) = admin
        .post("/admin/api/v1/clients/nobody/disable", json!({}))
        .await;
    refused(status, &body, 404, "admin.not_found");
}

async fn a_rotation_with_an_overlap_keeps_the_old_secret_for_a_while(s: TestServer) {
    let admin = Admin::start(&s).await;
    let (id, old) = s.service_client().await;
    let path = format!("/admin/api/v1/clients/{id}/secret");
    let (status, rotated) = admin.post(&path, json!({"overlap_seconds": 3600})).await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["client_secret"].as_str().unwrap().to_string();
    let until = rotated["previous_secret_expires_at"].as_i64().unwrap();
    assert_eq!(until, s.app.now() + 3600);
    // Both work during the overlap.
    assert_eq!(token_status(&s, &id, &new).await, 200);
    assert_eq!(token_status(&s, &id, &old).await, 200);
    // At its end, only the new one.
    s.clock.advance(3600);
    assert_eq!(token_status(&s, &id, &old).await, 401);
    assert_eq!(token_status(&s, &id, &new).await, 200);

    // A rotation without a body ends any overlap at once; one past 30 days is refused.
    let (status, bare) = admin.send(reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 200, "{bare}");
    assert!(bare.get("previous_secret_expires_at").is_none(), "{bare}");
    let newest = bare["client_secret"].as_str().unwrap();
    assert_eq!(token_status(&s, &id, &new).await, 401);
    assert_eq!(token_status(&s, &id, newest).await, 200);
    let (status, body) = admin
        .post(&path, json!({"overlap_seconds": 31 * 24 * 3600}))
        .await;
    refused(status, &body, 400, "admin.invalid_request");
    let (status, body) = admin.post(&path, json!({"overlap": 60})).await;
    refused(status, &body, 400, "admin.invalid_request");
    assert_eq!(
        token_status(&s, &id, newest).await,
        200,
        "refusals change nothing"
    );
}

async fn a_disabled_user_cannot_sign_in_and_loses_their_grants(s: TestServer) {
    let admin = Admin::start(&s).await;
    let setup = flow::setup(&s).await;
    let b = Browser::new();
    let tokens = flow::tokens(&s, &b, &setup, "openid offline_access").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    let (status, user) = admin
        .post("/admin/api/v1/users/alice/disable", json!({}))
        .await;
    assert_eq!((status, &user["disabled"]), (200, &json!(true)), "{user}");
    flow::refresh(&s, &setup, &refresh, None)
        .await
        .assert_error(400, "invalid_grant", "refresh_token.revoked");
    assert!(
        s.store
            .revoked_at(RevocationKind::Subject, &setup.user_sub)
            .await
            .unwrap()
            .is_some()
    );

    // The session ended, so the sign-in form is shown; the right password is refused with
    // the reason, a wrong one exactly as for anyone.
    let p = flow::pkce();
    let url = flow::authorize_url(&s, &flow::standard(&setup, &p, "openid"));
    let page = b.get(&url).await;
    assert!(page.text.contains("name=\"password\""), "{}", page.text);
    let r = flow::login(&s, &b, &page, "alice", PASSWORD).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("disabled"), "{}", r.text);
    let page = b.get(&url).await;
    let r = flow::login(&s, &b, &page, "alice", "wrong password here").await;
    assert_eq!(r.status, 200);
    assert!(!r.text.contains("disabled"), "{}", r.text);

    let (status, user) = admin
        .post("/admin/api/v1/users/alice/enable", json!({}))
        .await;
    assert_eq!((status, &user["disabled"]), (200, &json!(false)));
    // The disable voided every sign-in up to its second (times are whole seconds): a new one
    // counts from the next.
    next_second(&s);
    let fresh = flow::tokens(&s, &Browser::new(), &setup, "openid").await;
    assert!(fresh["id_token"].is_string(), "{fresh}");
}

/// Moves the server's clock to the next second.
fn next_second(s: &TestServer) {
    s.clock.advance(1);
}

async fn a_password_reset_generates_one_when_none_is_given(s: TestServer) {
    let _log = attach_call_log(&s).await;
    let admin = Admin::start(&s).await;
    let setup = flow::setup(&s).await;
    let (status, reset) = admin
        .post("/admin/api/v1/users/alice/password", json!({}))
        .await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["sessions_revoked"], true);
    let generated = reset["password"].as_str().unwrap().to_string();
    assert!(generated.len() >= 20, "{generated}");
    // The generated password signs in; the old one no longer does.
    let b = Browser::new();
    let p = flow::pkce();
    let url = flow::authorize_url(&s, &flow::standard(&setup, &p, "openid"));
    let page = b.get(&url).await;
    let r = flow::login(&s, &b, &page, "alice", PASSWORD).await;
    assert!(r.text.contains("incorrect"), "{}", r.text);
    let page = b.get(&url).await;
    let r = flow::login(&s, &b, &page, "alice", &generated).await;
    assert!(
        r.status == 303 || r.text.contains("name=\"consent\""),
        "{}",
        r.text
    );
    // Never in the audit log.
    let (actions, text) = audit(&admin).await;
    assert!(
        actions.iter().any(|a| a == "user.set_password"),
        "{actions:?}"
    );
    assert!(!text.contains(&generated), "{text}");

    // A password given is used and not echoed.
    let (status, reset) = admin
        .post(
            "/admin/api/v1/users/alice/password",
            json!({"password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(status, 200, "{reset}");
    assert!(reset.get("password").is_none(), "{reset}");
}

async fn sessions_and_consents_are_listed_and_ended(s: TestServer) {
    let admin = Admin::start(&s).await;
    let setup = flow::setup(&s).await;
    let b = Browser::new();
    let tokens = flow::tokens(&s, &b, &setup, "openid offline_access photos").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    let (status, list) = admin.get("/admin/api/v1/users/alice/sessions").await;
    assert_eq!(status, 200, "{list}");
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{list}");
    let sid = sessions[0]["sid"].as_str().unwrap().to_string();
    assert_eq!(sessions[0]["amr"], json!(["pwd"]));

    let (status, list) = admin.get("/admin/api/v1/users/alice/consents").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["consents"][0]["client_id"], setup.client_id.as_str());
    assert_eq!(list["consents"][0]["client_name"], "Photo App");
    assert!(
        list["consents"][0]["scope"]
            .as_str()
            .unwrap()
            .contains("photos"),
        "{list}"
    );

    // Another user's sid cannot be ended through alice, and an unknown one is not found.
    let (status, body) = admin
        .delete("/admin/api/v1/users/alice/sessions/not-a-sid")
        .await;
    refused(status, &body, 404, "admin.not_found");
    let (status, _) = admin
        .delete(&format!("/admin/api/v1/users/alice/sessions/{sid}"))
        .await;
    assert_eq!(status, 200);
    let (_, list) = admin.get("/admin/api/v1/users/alice/sessions").await;
    assert_eq!(list["sessions"], json!([]));

    // Withdrawing the consent revokes the grant it gave: the refresh token is refused, and
    // the next sign-in asks again.
    let (status, _) = admin
        .delete(&format!(
            "/admin/api/v1/users/alice/consents/{}",
            setup.client_id
        ))
        .await;
    assert_eq!(status, 200);
    flow::refresh(&s, &setup, &refresh, None)
        .await
        .assert_error(400, "invalid_grant", "refresh_token.revoked");
    let (_, list) = admin.get("/admin/api/v1/users/alice/consents").await;
    assert_eq!(list["consents"], json!([]));
    let (status, body) = admin
        .delete(&format!(
            "/admin/api/v1/users/alice/consents/{}",
            setup.client_id
        ))
        .await;
    refused(status, &body, 404, "admin.not_found");
    let (status, body) = admin.get("/admin/api/v1/users/nobody/sessions").await;
    refused(status, &body, 404, "admin.not_found");
}
