//! The authorization code flow over real HTTP with cookies and forms: every right way, and
//! every wrong way with its exact `error` and `diagnosis`.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

use crate::common::{Auth, TestServer};
use crate::flow::*;

crate::both!(
    full_oidc_flow_with_pages_tokens_and_userinfo,
    consent_and_session_are_remembered_and_prompts_override,
    authorize_errors_that_must_not_redirect,
    authorize_errors_that_redirect,
    loopback_redirects_may_use_any_port,
    hostile_values_come_back_escaped,
    csrf_and_replayed_forms_are_refused,
    failed_logins_are_uniform_then_locked,
    code_exchange_errors_are_named,
    replayed_code_revokes_its_tokens,
    code_redeemed_concurrently_succeeds_once,
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_used_concurrently_succeeds_once,
    refresh_scope_and_lifetime_rules,
    userinfo_errors_follow_rfc6750,
    logout_ends_the_session,
    plain_oauth_clients_get_refresh_tokens_without_id_tokens,
    denied_consent_goes_back_to_the_client,
    id_tokens_follow_the_client_algorithm,
    oversized_authorization_requests_are_refused,
);

async fn full_oidc_flow_with_pages_tokens_and_userinfo(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let page = b
        .get(&authorize_url(
            &s,
            &standard(&setup, &p, "openid profile email offline_access"),
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("name=\"username\"") && page.text.contains("name=\"password\""));
    assert!(page.text.contains("Photo App"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let cookies: Vec<&str> = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let csrf_cookie = cookies
        .iter()
        .find(|c| c.starts_with("candor_csrf="))
        .expect("csrf cookie");
    assert!(
        csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"),
        "{csrf_cookie}"
    );
    assert!(
        !csrf_cookie.contains("Secure"),
        "http issuer: no Secure flag"
    );

    let consent_page = login(&s, &b, &page, "alice", PASSWORD).await;
    assert_eq!(consent_page.status, 200, "{}", consent_page.text);
    let session_cookie = consent_page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("candor_session="))
        .expect("session cookie");
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"));
    assert!(
        consent_page
            .text
            .contains("name=\"consent\" value=\"allow\"")
    );
    assert!(
        consent_page
            .text
            .contains("name=\"consent\" value=\"deny\"")
    );
    assert!(consent_page.text.contains("Your email address"));

    let done = consent(&s, &b, &consent_page, "allow").await;
    let params = location_params(&done);
    assert!(done.header("location").unwrap().starts_with(REDIRECT));
    assert_eq!(param(&params, "state"), Some("st-1"));
    assert_eq!(param(&params, "iss"), Some(s.base.as_str()));
    let code = param(&params, "code").unwrap();

    let r = exchange(&s, &setup, code, &p.verifier).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "openid profile email offline_access");
    assert!(t["refresh_token"].as_str().unwrap().len() >= 43);

    // The id_token verifies with the JWKS and carries what OIDC Core requires.
    let id_token = t["id_token"].as_str().unwrap();
    let jwks: JwkSet = serde_json::from_str(&s.get("/jwks").await.text).unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let mut v = Validation::new(header.alg);
    v.set_audience(&[setup.client_id.as_str()]);
    v.set_issuer(&[s.base.as_str()]);
    let claims: Value = jsonwebtoken::decode(
        id_token,
        &DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], setup.user_sub.as_str());
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["auth_time"], s.app.now());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(claims["sid"].is_string());
    assert_eq!(
        claims["at_hash"],
        candor_server::id_token::at_hash(
            candor_proto::jose::SigningAlg::Rs256,
            t["access_token"].as_str().unwrap()
        )
    );

    // UserInfo, GET with the header and POST with the form.
    let access = t["access_token"].as_str().unwrap();
    let info = s
        .http
        .get(s.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(info["sub"], setup.user_sub.as_str());
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["preferred_username"], "alice");
    assert_eq!(info["name"], "Alice Liddell");
    let posted = s
        .post_form("/userinfo", &[("access_token", access)], Auth::None)
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    assert_eq!(posted.json()["sub"], setup.user_sub.as_str());
}

async fn consent_and_session_are_remembered_and_prompts_override(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    tokens(&s, &b, &setup, "openid profile").await;
    // Same browser, same scopes: straight back with a code.
    let p = pkce();
    let again = b
        .get(&authorize_url(&s, &standard(&setup, &p, "openid profile")))
        .await;
    assert!(param(&location_params(&again), "code").is_some());
    // A narrower request is covered too; a wider one asks again.
    let narrower = b
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    assert_eq!(narrower.status, 303);
    let wider = b
        .get(&authorize_url(
            &s,
            &standard(&setup, &p, "openid profile email"),
        ))
        .await;
    assert!(wider.text.contains("name=\"consent\""), "{}", wider.text);
    // prompt=consent asks again; prompt=login shows the login form.
    let mut params = standard(&setup, &p, "openid profile");
    params.push(("prompt", "consent"));
    assert!(
        b.get(&authorize_url(&s, &params))
            .await
            .text
            .contains("name=\"consent\"")
    );
    let mut params = standard(&setup, &p, "openid profile");
    params.push(("prompt", "login"));
    let relogin = b.get(&authorize_url(&s, &params)).await;
    assert!(relogin.text.contains("name=\"password\""));
    let after = login(&s, &b, &relogin, "alice", PASSWORD).await;
    assert_eq!(
        after.status, 303,
        "consent is remembered after a forced login: {}",
        after.text
    );
    // max_age: an old login forces a new one.
    s.clock.advance(120);
    let mut params = standard(&setup, &p, "openid profile");
    params.push(("max_age", "60"));
    assert!(
        b.get(&authorize_url(&s, &params))
            .await
            .text
            .contains("name=\"password\"")
    );
    // prompt=none with a session and consent: silent success.
    let mut params = standard(&setup, &p, "openid profile");
    params.push(("prompt", "none"));
    assert!(
        param(
            &location_params(&b.get(&authorize_url(&s, &params)).await),
            "code"
        )
        .is_some()
    );
    // prompt=none without consent for the scopes: consent_required.
    let mut params = standard(&setup, &p, "openid email");
    params.push(("prompt", "none"));
    let r = b.get(&authorize_url(&s, &params)).await;
    let q = location_params(&r);
    assert_eq!(param(&q, "error"), Some("consent_required"));
    assert_eq!(param(&q, "diagnosis"), Some("prompt.consent_required"));
    // An expired session means a new login.
    s.clock.advance(13 * 3600);
    let mut params = standard(&setup, &p, "openid profile");
    params.push(("prompt", "none"));
    let q = location_params(&b.get(&authorize_url(&s, &params)).await);
    assert_eq!(
        param(&q, "error"),
        Some("login_required"),
        "the 12 h session has expired"
    );
    let mut params = standard(&setup, &p, "openid email");
    params.push(("prompt", "none"));
    // prompt=none in a browser with no session: login_required.
    let fresh = Browser::new();
    let r = fresh.get(&authorize_url(&s, &params)).await;
    let q = location_params(&r);
    assert_eq!(param(&q, "error"), Some("login_required"));
    assert_eq!(param(&q, "state"), Some("st-1"));
    assert_eq!(param(&q, "iss"), Some(s.base.as_str()));
}

fn assert_page(r: &crate::common::Response, diagnosis: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.header("location").is_none(),
        "an error page must not redirect"
    );
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(
        r.text.contains(diagnosis),
        "page lacks {diagnosis}: {}",
        r.text
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}

async fn authorize_errors_that_must_not_redirect(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let with = |name: &str, value: &str| {
        let mut params: Vec<(String, String)> = standard(&setup, &p, "openid")
            .into_iter()
            .filter(|(k, _)| *k != name)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !value.is_empty() {
            params.push((name.to_string(), value.to_string()));
        }
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        authorize_url(&s, &pairs)
    };
    assert_page(&b.get(&with("client_id", "nope")).await, "client.unknown");
    assert_page(
        &b.get(&with("client_id", "")).await,
        "authorization_request.missing_parameter",
    );
    let r = b.get(&with("redirect_uri", "http://127.0.0.1:9/cb/")).await;
    assert_page(&r, "redirect_uri.trailing_slash");
    assert!(
        r.text.contains("http://127.0.0.1:9/cb/")
            && r.text.contains("&#39;http://127.0.0.1:9/cb&#39;")
            || r.text.contains("'http://127.0.0.1:9/cb'"),
        "both values shown: {}",
        r.text
    );
    assert_page(
        &b.get(&with("redirect_uri", "https://127.0.0.1:9/cb")).await,
        "redirect_uri.scheme",
    );
    assert_page(
        &b.get(&with("redirect_uri", "http://localhost:9/cb")).await,
        "redirect_uri.loopback_alias",
    );
    assert_page(
        &b.get(&with("redirect_uri", "http://127.0.0.1:9/CB")).await,
        "redirect_uri.case",
    );
    assert_page(
        &b.get(&with("redirect_uri", "http://127.0.0.1:9/cb?x=1"))
            .await,
        "redirect_uri.query",
    );
    assert_page(
        &b.get(&with("redirect_uri", "http://127.0.0.1:9/other"))
            .await,
        "redirect_uri.path",
    );
    assert_page(
        &b.get(&with("redirect_uri", "https://evil.example/cb"))
            .await,
        "redirect_uri.not_registered",
    );
    let dup = format!("{}&client_id={}", with("state", "x"), setup.client_id);
    assert_page(
        &b.get(&dup).await,
        "authorization_request.duplicate_parameter",
    );
    // A client with two redirect URIs must name one.
    let mut two = candor_server::clients::NewClient::new("two");
    two.redirect_uris = vec!["https://a.example/cb".into(), "https://b.example/cb".into()];
    let (two_id, _) = s.register(two).await;
    let r = b
        .get(&authorize_url(
            &s,
            &[
                ("response_type", "code"),
                ("client_id", &two_id),
                ("code_challenge", &p.challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_page(&r, "redirect_uri.missing");
}

async fn authorize_errors_that_redirect(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
            "response_type.unsupported",
        ),
        (
            vec![("scope", "openid reed")],
            "invalid_scope",
            "scope.unknown",
        ),
        (
            vec![("scope", "openid phone")],
            "invalid_scope",
            "scope.not_allowed",
        ),
        (
            vec![("code_challenge_method", "plain")],
            "invalid_request",
            "pkce.plain_refused",
        ),
        (
            vec![("code_challenge", "tooshort")],
            "invalid_request",
            "pkce.challenge_malformed",
        ),
        (
            vec![("max_age", "-1")],
            "invalid_request",
            "authorization_request.invalid_parameter",
        ),
        (
            vec![("prompt", "none login")],
            "invalid_request",
            "authorization_request.invalid_parameter",
        ),
        (
            vec![("request", "eyJ.x.y")],
            "request_not_supported",
            "authorization_request.request_object_unsupported",
        ),
    ];
    for (overrides, error, diagnosis) in cases {
        let mut params: Vec<(&str, &str)> = standard(&setup, &p, "openid")
            .into_iter()
            .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
            .collect();
        params.extend(overrides.iter().copied());
        let r = b.get(&authorize_url(&s, &params)).await;
        let q = location_params(&r);
        assert!(r.header("location").unwrap().starts_with(REDIRECT));
        assert_eq!(param(&q, "error"), Some(error), "{diagnosis}");
        assert_eq!(param(&q, "diagnosis"), Some(diagnosis));
        assert_eq!(param(&q, "state"), Some("st-1"));
        assert_eq!(param(&q, "iss"), Some(s.base.as_str()));
        assert!(param(&q, "error_uri").unwrap().ends_with(diagnosis));
        assert!(!param(&q, "error_description").unwrap().is_empty());
    }
    // Without a code_challenge: required (PKCE on by default).
    let params: Vec<(&str, &str)> = standard(&setup, &p, "openid")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let q = location_params(&b.get(&authorize_url(&s, &params)).await);
    assert_eq!(param(&q, "diagnosis"), Some("pkce.challenge_missing"));
    // Missing response_type.
    let params: Vec<(&str, &str)> = standard(&setup, &p, "openid")
        .into_iter()
        .filter(|(k, _)| *k != "response_type")
        .collect();
    let q = location_params(&b.get(&authorize_url(&s, &params)).await);
    assert_eq!(
        param(&q, "diagnosis"),
        Some("authorization_request.missing_parameter")
    );
}

async fn loopback_redirects_may_use_any_port(s: TestServer) {
    let client_id = public_client(&s, "http://127.0.0.1/callback").await;
    candor_server::users::create(
        s.store.as_ref(),
        "bob",
        &candor_proto::secret::Secret::new(PASSWORD),
        None,
        None,
        s.app.now(),
    )
    .await
    .unwrap();
    let b = Browser::new();
    let p = pkce();
    let redirect = "http://127.0.0.1:54321/callback";
    let params = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", redirect),
        ("scope", "openid"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let page = b.get(&authorize_url(&s, &params)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let consent_page = login(&s, &b, &page, "bob", PASSWORD).await;
    let done = consent(&s, &b, &consent_page, "allow").await;
    assert!(done.header("location").unwrap().starts_with(redirect));
    let code = param(&location_params(&done), "code").unwrap().to_string();
    // A public client: client_id only, PKCE proves possession.
    let r = s
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect),
                ("client_id", &client_id),
                ("code_verifier", &p.verifier),
            ],
            Auth::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.json().get("refresh_token").is_none(),
        "openid without offline_access: no refresh token"
    );
}

async fn hostile_values_come_back_escaped(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let script = "\"><script>alert(1)</script>";
    let mut params = standard(&setup, &p, "openid");
    params.retain(|(k, _)| *k != "state");
    params.push(("state", script));
    params.push(("login_hint", script));
    let page = b.get(&authorize_url(&s, &params)).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.text.contains("<script>alert(1)"),
        "unescaped: {}",
        page.text
    );
    assert!(
        page.text.contains("&lt;script&gt;") || page.text.contains("&#60;script"),
        "login_hint shown escaped"
    );
    let consent_page = login(&s, &b, &page, "alice", PASSWORD).await;
    let done = consent(&s, &b, &consent_page, "allow").await;
    assert_eq!(
        param(&location_params(&done), "state"),
        Some(script),
        "state round-trips exactly"
    );
    // A bad username with markup is shown escaped, never executed.
    let page = b.get(&authorize_url(&s, &params)).await;
    let _ = page;
}

async fn csrf_and_replayed_forms_are_refused(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let page = b
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    let pending = hidden(&page.text, "pending");
    let csrf = hidden(&page.text, "csrf");
    // A forged token, and a form posted from a browser without the cookie.
    let forged = b
        .post(
            &s.url("/login"),
            &[
                ("pending", &pending),
                ("csrf", "forged"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_page(&forged, "login.csrf");
    let other = Browser::new();
    let cross = other
        .post(
            &s.url("/login"),
            &[
                ("pending", &pending),
                ("csrf", &csrf),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_page(&cross, "login.csrf");
    let missing = b
        .post(
            &s.url("/login"),
            &[
                ("pending", &pending),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_page(&missing, "login.csrf");
    // The genuine form works; replaying the consent form afterwards does not.
    let consent_page = login(&s, &b, &page, "alice", PASSWORD).await;
    let done = consent(&s, &b, &consent_page, "allow").await;
    assert_eq!(done.status, 303);
    let replay = consent(&s, &b, &consent_page, "allow").await;
    assert_page(&replay, "login.request_expired");
    // A consent form of another browser's request is refused by its CSRF binding.
    let b2 = Browser::new();
    let page2 = b2
        .get(&authorize_url(&s, &standard(&setup, &p, "openid profile")))
        .await;
    let consent2 = login(&s, &b2, &page2, "alice", PASSWORD).await;
    let stolen = b
        .post(
            &s.url("/consent"),
            &[
                ("pending", &hidden(&consent2.text, "pending")),
                ("csrf", &hidden(&consent_page.text, "csrf")),
                ("consent", "allow"),
            ],
        )
        .await;
    assert_page(&stolen, "login.csrf");
    // An expired login form.
    let page3 = b
        .get(&authorize_url(&s, &standard(&setup, &p, "openid email")))
        .await;
    let _ = page3;
    let fresh = Browser::new();
    let page4 = fresh
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    s.clock.advance(601);
    assert_page(
        &login(&s, &fresh, &page4, "alice", PASSWORD).await,
        "login.request_expired",
    );
}

async fn failed_logins_are_uniform_then_locked(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let page = b
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    // Empty fields are asked for, not counted.
    let empty = login(&s, &b, &page, "", "").await;
    assert!(
        empty.text.contains("Enter your username and password."),
        "{}",
        empty.text
    );
    let unknown = login(&s, &b, &page, "mallory", "whatever-password").await;
    let wrong = login(&s, &b, &page, "alice", "wrong-password").await;
    assert_eq!(unknown.status, 200);
    assert_eq!(wrong.status, 200);
    let message = "The username or password is incorrect.";
    assert!(unknown.text.contains(message) && wrong.text.contains(message));
    assert!(
        wrong.text.contains("value=\"alice\""),
        "the username is kept in the form"
    );
    // 5 failures lock the account (test settings), even for the right password.
    let mut last = wrong;
    for _ in 0..4 {
        last = login(&s, &b, &page, "alice", "wrong-password").await;
    }
    assert_eq!(last.status, 429, "{}", last.text);
    assert!(last.text.contains("Too many failed sign-in attempts"));
    let locked = login(&s, &b, &page, "alice", PASSWORD).await;
    assert_eq!(locked.status, 429);
    // After the window the right password works again.
    s.clock.advance(901);
    let fresh = Browser::new();
    let page = fresh
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    let ok = login(&s, &fresh, &page, "alice", PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.text.contains("name=\"consent\""));
}

async fn code_exchange_errors_are_named(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let check = |r: crate::common::Response, error: &str, diagnosis: &str| {
        r.assert_error(400, error, diagnosis);
    };
    let p = pkce();
    let code = get_code(&s, &b, &setup, &p, "openid").await;
    check(
        exchange(&s, &setup, &code, &"x".repeat(43)).await,
        "invalid_grant",
        "pkce.verifier_mismatch",
    );
    let p = pkce();
    let code = get_code(&s, &b, &setup, &p, "openid").await;
    check(
        exchange(&s, &setup, &code, "bad").await,
        "invalid_request",
        "pkce.verifier_malformed",
    );
    let p = pkce();
    let code = get_code(&s, &b, &setup, &p, "openid").await;
    let r = s
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
            Auth::Basic(&setup.client_id, &setup.secret),
        )
        .await;
    check(r, "invalid_grant", "pkce.verifier_missing");
    let p = pkce();
    let code = get_code(&s, &b, &setup, &p, "openid").await;
    let r = s
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/cb/"),
                ("code_verifier", &p.verifier),
            ],
            Auth::Basic(&setup.client_id, &setup.secret),
        )
        .await;
    let body = r.assert_error(400, "invalid_grant", "redirect_uri.trailing_slash");
    let d = body["error_description"].as_str().unwrap();
    assert!(
        d.contains("'http://127.0.0.1:9/cb/'") && d.contains("'http://127.0.0.1:9/cb'"),
        "{d}"
    );
    let p = pkce();
    let code = get_code(&s, &b, &setup, &p, "openid").await;
    let r = s
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &p.verifier),
            ],
            Auth::Basic(&setup.client_id, &setup.secret),
        )
        .await;
    check(r, "invalid_request", "redirect_uri.missing");
    let p = pkce();
    let code = get_code(&s, &b, &setup, &p, "openid").await;
    s.clock.advance(61);
    check(
        exchange(&s, &setup, &code, &p.verifier).await,
        "invalid_grant",
        "code.expired",
    );
    check(
        exchange(&s, &setup, "no-such-code", &p.verifier).await,
        "invalid_grant",
        "code.unknown",
    );
    // Another client's code.
    let p = pkce();
    let code = get_code(&s, &b, &setup, &p, "openid").await;
    let mut other = candor_server::clients::NewClient::new("other");
    other.redirect_uris = vec![REDIRECT.into()];
    let (oid, osecret) = s.register(other).await;
    let r = s
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &p.verifier),
            ],
            Auth::Basic(&oid, osecret.as_deref().unwrap()),
        )
        .await;
    check(r, "invalid_grant", "code.client_mismatch");
    // A verifier for a code issued without a challenge.
    let mut lax = candor_server::clients::NewClient::new("lax");
    lax.redirect_uris = vec![REDIRECT.into()];
    lax.require_pkce = false;
    lax.scopes = vec!["openid".into()];
    let (lax_id, lax_secret) = s.register(lax).await;
    let lax_setup = Setup {
        client_id: lax_id,
        secret: lax_secret.unwrap(),
        user_sub: setup.user_sub.clone(),
    };
    let page = b
        .get(&authorize_url(
            &s,
            &[
                ("response_type", "code"),
                ("client_id", &lax_setup.client_id),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", "st-1"),
            ],
        ))
        .await;
    let done = consent(&s, &b, &page, "allow").await;
    let code = param(&location_params(&done), "code").unwrap().to_string();
    check(
        exchange(&s, &lax_setup, &code, &pkce().verifier).await,
        "invalid_grant",
        "pkce.verifier_unexpected",
    );
}

async fn replayed_code_revokes_its_tokens(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let code = get_code(&s, &b, &setup, &p, "openid offline_access").await;
    let first = exchange(&s, &setup, &code, &p.verifier).await.json();
    let access = first["access_token"].as_str().unwrap();
    let introspect = |token: String| {
        let s = &s;
        let setup = &setup;
        async move {
            s.post_form(
                "/introspect",
                &[("token", &token)],
                Auth::Basic(&setup.client_id, &setup.secret),
            )
            .await
            .json()["active"]
                .clone()
        }
    };
    assert_eq!(introspect(access.to_string()).await, true);
    let again = exchange(&s, &setup, &code, &p.verifier).await;
    again.assert_error(400, "invalid_grant", "code.reused");
    assert_eq!(
        introspect(access.to_string()).await,
        false,
        "the first access token is revoked"
    );
    refresh(&s, &setup, first["refresh_token"].as_str().unwrap(), None)
        .await
        .assert_error(400, "invalid_grant", "refresh_token.revoked");
    let feed = s.store.revocations_since(0, 10).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].kind, candor_store::RevocationKind::RefreshFamily);
}

async fn code_redeemed_concurrently_succeeds_once(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let code = get_code(&s, &b, &setup, &p, "openid").await;
    let attempts = (0..8).map(|_| exchange(&s, &setup, &code, &p.verifier));
    let results = futures::future::join_all(attempts).await;
    assert_eq!(
        results.iter().filter(|r| r.status == 200).count(),
        1,
        "exactly one redemption wins"
    );
    for r in results.iter().filter(|r| r.status != 200) {
        r.assert_error(400, "invalid_grant", "code.reused");
    }
}

async fn refresh_rotates_and_reuse_revokes_the_family(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let t = tokens(&s, &b, &setup, "openid offline_access").await;
    let r1 = t["refresh_token"].as_str().unwrap().to_string();
    let second = refresh(&s, &setup, &r1, None).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let second = second.json();
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2, "rotated");
    assert!(second["id_token"].is_string());
    // Within the grace: refused, family kept.
    refresh(&s, &setup, &r1, None)
        .await
        .assert_error(400, "invalid_grant", "refresh_token.reused");
    let third = refresh(&s, &setup, &r2, None).await;
    assert_eq!(third.status, 200, "the family survives a benign duplicate");
    let r3 = third.json()["refresh_token"].as_str().unwrap().to_string();
    let access3 = third.json()["access_token"].as_str().unwrap().to_string();
    // Later reuse: the whole family goes.
    s.clock.advance(10);
    let body = refresh(&s, &setup, &r2, None).await.assert_error(
        400,
        "invalid_grant",
        "refresh_token.reused",
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    refresh(&s, &setup, &r3, None).await.assert_error(
        400,
        "invalid_grant",
        "refresh_token.revoked",
    );
    let active = s
        .post_form(
            "/introspect",
            &[("token", &access3)],
            Auth::Basic(&setup.client_id, &setup.secret),
        )
        .await
        .json();
    assert_eq!(
        active["active"], false,
        "access tokens of the family are revoked too"
    );
    refresh(&s, &setup, "no-such-token", None)
        .await
        .assert_error(400, "invalid_grant", "refresh_token.unknown");
}

async fn refresh_used_concurrently_succeeds_once(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let t = tokens(&s, &b, &setup, "openid offline_access").await;
    let r1 = t["refresh_token"].as_str().unwrap().to_string();
    let attempts = (0..8).map(|_| refresh(&s, &setup, &r1, None));
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    for r in results.iter().filter(|r| r.status != 200) {
        r.assert_error(400, "invalid_grant", "refresh_token.reused");
    }
    let next = winners[0].json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        refresh(&s, &setup, &next, None).await.status,
        200,
        "the winner's token works"
    );
}

async fn refresh_scope_and_lifetime_rules(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let t = tokens(&s, &b, &setup, "openid profile offline_access").await;
    let r1 = t["refresh_token"].as_str().unwrap().to_string();
    refresh(&s, &setup, &r1, Some("openid email"))
        .await
        .assert_error(400, "invalid_scope", "scope.exceeds_grant");
    // The refused request did not consume the token? It did: rotation happens first. Use a
    // fresh grant for the narrowing case.
    let t = tokens(&s, &b, &setup, "openid profile offline_access").await;
    let narrowed = refresh(
        &s,
        &setup,
        t["refresh_token"].as_str().unwrap(),
        Some("openid offline_access"),
    )
    .await;
    assert_eq!(narrowed.status, 200, "{}", narrowed.text);
    assert_eq!(narrowed.json()["scope"], "openid offline_access");
    // Another client cannot use it.
    let t = tokens(&s, &b, &setup, "openid offline_access").await;
    let (oid, osecret) = s.service_client().await;
    s.post_form(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
        Auth::Basic(&oid, &osecret),
    )
    .await
    .assert_error(400, "unauthorized_client", "grant_type.not_allowed");
    // Idle lifetime (14 days).
    let t = tokens(&s, &b, &setup, "openid offline_access").await;
    s.clock.advance(15 * 24 * 3600);
    let body = refresh(&s, &setup, t["refresh_token"].as_str().unwrap(), None)
        .await
        .assert_error(400, "invalid_grant", "refresh_token.expired");
    assert!(body["error_description"].as_str().unwrap().contains("idle"));
    // Absolute lifetime (30 days), even when every refresh comes within the idle time.
    let t = tokens(&s, &b, &setup, "openid offline_access").await;
    let mut current = t["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        s.clock.advance(13 * 24 * 3600);
        let r = refresh(&s, &setup, &current, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        current = r.json()["refresh_token"].as_str().unwrap().to_string();
    }
    s.clock.advance(5 * 24 * 3600);
    let body = refresh(&s, &setup, &current, None).await.assert_error(
        400,
        "invalid_grant",
        "refresh_token.expired",
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("absolute")
    );
    // An OIDC client that did not ask for offline_access gets no refresh token.
    let b2 = Browser::new();
    let t = tokens(&s, &b2, &setup, "openid").await;
    assert!(t.get("refresh_token").is_none());
}

async fn userinfo_errors_follow_rfc6750(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let t = tokens(&s, &b, &setup, "openid offline_access").await;
    let get = |auth: Option<String>| {
        let s = &s;
        async move {
            let mut req = s.http.get(s.url("/userinfo"));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let www = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = r.json().await.unwrap();
            (status, www, body)
        }
    };
    let (status, www, body) = get(None).await;
    assert_eq!(status, 401);
    assert_eq!(body["diagnosis"], "token.missing");
    let www = www.unwrap();
    assert!(
        www.starts_with("Bearer realm=") && !www.contains("error="),
        "{www}"
    );
    let (status, www, body) = get(Some("Bearer not-one-of-ours".into())).await;
    assert_eq!(
        (status, body["diagnosis"].as_str()),
        (401, Some("token.unknown"))
    );
    assert!(www.unwrap().contains("error=\"invalid_token\""));
    let (status, _, body) = get(Some("Bearer two words".into())).await;
    assert_eq!(
        (status, body["diagnosis"].as_str()),
        (401, Some("token.malformed"))
    );
    let (_, _, body) = get(Some("Basic abc".into())).await;
    assert_eq!(body["diagnosis"], "token.malformed");
    let (sid, ssecret) = s.service_client().await;
    let cc = s.cc_token(&sid, &ssecret, None).await;
    let (status, www, body) = get(Some(format!(
        "Bearer {}",
        cc["access_token"].as_str().unwrap()
    )))
    .await;
    assert_eq!(
        (status, body["diagnosis"].as_str()),
        (403, Some("token.insufficient_scope"))
    );
    assert!(www.unwrap().contains("error=\"insufficient_scope\""));
    let access = t["access_token"].as_str().unwrap().to_string();
    s.post_form(
        "/revoke",
        &[("token", &access)],
        Auth::Basic(&setup.client_id, &setup.secret),
    )
    .await;
    let (status, _, body) = get(Some(format!("Bearer {access}"))).await;
    assert_eq!(
        (status, body["diagnosis"].as_str()),
        (401, Some("token.revoked"))
    );
    let t2 = tokens(&s, &b, &setup, "openid").await;
    s.clock.advance(3601);
    let (_, _, body) = get(Some(format!(
        "Bearer {}",
        t2["access_token"].as_str().unwrap()
    )))
    .await;
    assert_eq!(body["diagnosis"], "token.expired");
}

async fn logout_ends_the_session(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let t = tokens(&s, &b, &setup, "openid").await;
    let id_token = t["id_token"].as_str().unwrap();
    // An unregistered post-logout URI is refused with a page.
    let bad = b
        .get(&s.url(&format!("/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F")))
        .await;
    assert_page(&bad, "logout.redirect_not_registered");
    let forged = b.get(&s.url("/logout?id_token_hint=a.b.c")).await;
    assert_page(&forged, "logout.id_token_hint_invalid");
    // With a valid hint and a registered URI: straight back, with state.
    let r = b
        .get(&s.url(&format!("/logout?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fbye&state=s9")))
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some("http://127.0.0.1:9/bye?state=s9")
    );
    // The session is gone: the next authorization asks for a login.
    let p = pkce();
    let page = b
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    assert!(page.text.contains("name=\"password\""));
    // Without a hint, the user confirms.
    let b2 = Browser::new();
    tokens(&s, &b2, &setup, "openid").await;
    let confirm = b2.get(&s.url("/logout")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.text.contains("Sign out?"));
    let forged = b2
        .post(&s.url("/logout"), &[("confirm", "yes"), ("csrf", "forged")])
        .await;
    assert!(
        forged.text.contains("Sign out?"),
        "a forged confirmation only asks again"
    );
    let done = b2
        .post(
            &s.url("/logout"),
            &[("confirm", "yes"), ("csrf", &hidden(&confirm.text, "csrf"))],
        )
        .await;
    assert!(done.text.contains("You are signed out"), "{}", done.text);
    let page = b2
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    assert!(page.text.contains("name=\"password\""));
}

async fn plain_oauth_clients_get_refresh_tokens_without_id_tokens(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let t = tokens(&s, &b, &setup, "photos").await;
    assert!(t["refresh_token"].is_string());
    assert!(t.get("id_token").is_none());
}

async fn denied_consent_goes_back_to_the_client(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let page = b
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    let consent_page = login(&s, &b, &page, "alice", PASSWORD).await;
    let denied = consent(&s, &b, &consent_page, "deny").await;
    let q = location_params(&denied);
    assert_eq!(param(&q, "error"), Some("access_denied"));
    assert_eq!(param(&q, "diagnosis"), Some("consent.denied"));
    assert_eq!(param(&q, "state"), Some("st-1"));

    // Cancel on the sign-in page (a browser with no session yet) goes back the same way, and
    // the form is then used up.
    let b = Browser::new();
    let page = b
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    assert!(page.text.contains("name=\"cancel\""), "{}", page.text);
    let form = [
        ("pending", hidden(&page.text, "pending")),
        ("csrf", hidden(&page.text, "csrf")),
        ("cancel", "1".to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let cancelled = b.post(&s.url("/login"), &form).await;
    let q = location_params(&cancelled);
    assert_eq!(param(&q, "error"), Some("access_denied"));
    assert_eq!(param(&q, "diagnosis"), Some("consent.denied"));
    assert_eq!(param(&q, "state"), Some("st-1"));
    let again = b.post(&s.url("/login"), &form).await;
    assert!(
        again.header("location").is_none(),
        "a used sign-in form is spent"
    );
}

async fn id_tokens_follow_the_client_algorithm(s: TestServer) {
    let base = setup(&s).await;
    for (alg, jwt_alg) in [
        (
            candor_proto::jose::SigningAlg::Es256,
            jsonwebtoken::Algorithm::ES256,
        ),
        (
            candor_proto::jose::SigningAlg::EdDsa,
            jsonwebtoken::Algorithm::EdDSA,
        ),
    ] {
        let mut new = candor_server::clients::NewClient::new("alg");
        new.redirect_uris = vec![REDIRECT.into()];
        new.scopes = vec!["openid".into()];
        new.id_token_signed_response_alg = Some(alg);
        let (client_id, secret) = s.register(new).await;
        let setup = Setup {
            client_id,
            secret: secret.unwrap(),
            user_sub: base.user_sub.clone(),
        };
        let b = Browser::new();
        let t = tokens(&s, &b, &setup, "openid").await;
        let id_token = t["id_token"].as_str().unwrap();
        let header = jsonwebtoken::decode_header(id_token).unwrap();
        assert_eq!(header.alg, jwt_alg);
        let jwks: JwkSet = serde_json::from_str(&s.get("/jwks").await.text).unwrap();
        let mut v = Validation::new(jwt_alg);
        v.set_audience(&[setup.client_id.as_str()]);
        let claims: Value = jsonwebtoken::decode(
            id_token,
            &DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap(),
            &v,
        )
        .unwrap()
        .claims;
        assert_eq!(
            claims["at_hash"],
            candor_server::id_token::at_hash(alg, t["access_token"].as_str().unwrap()),
            "{alg}"
        );
    }
}

async fn oversized_authorization_requests_are_refused(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let long_state = "s".repeat(3000);
    let mut params = standard(&setup, &p, "openid");
    params.retain(|(k, _)| *k != "state");
    params.push(("state", &long_state));
    let q = location_params(&b.get(&authorize_url(&s, &params)).await);
    assert_eq!(
        param(&q, "diagnosis"),
        Some("authorization_request.invalid_parameter")
    );
    assert_eq!(param(&q, "state"), None, "an oversized state is not echoed");
    // A POSTed authorization request over 64 KiB is refused with a page, not redirected.
    let mut form = standard(&setup, &p, "openid");
    let padding = "y".repeat(70 * 1024);
    form.push(("x", &padding));
    let r = b.post(&s.url("/authorize"), &form).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.header("location").is_none());
    assert!(
        r.text.contains("token_request.too_large"),
        "the page names the diagnosis"
    );
}
