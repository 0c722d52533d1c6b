//! The browser's path through the sign-in as a person sees it: the history a sign-in leaves
//! (POST/redirect/GET), "not you?", the show-password and search script, and the try-it demo
//! app of `serve --dev`.

use crate::common::{Backend, TestServer};
use crate::flow::*;

crate::both!(
    a_sign_in_redirects_to_the_consent_page,
    not_you_ends_the_session_and_asks_again,
    the_pages_script_is_served_from_the_origin,
);

async fn a_sign_in_redirects_to_the_consent_page(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let page = b
        .get(&authorize_url(&s, &standard(&setup, &p, "openid photos")))
        .await;
    let posted = b
        .post(
            &s.url("/login"),
            &[
                ("pending", &hidden(&page.text, "pending")),
                ("csrf", &hidden(&page.text, "csrf")),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    // The answer to the password is a redirect: going back never resubmits it.
    assert_eq!(posted.status, 303, "{}", posted.text);
    let to = posted.header("location").unwrap().to_string();
    assert!(to.starts_with(&s.url("/consent?pending=")), "{to}");
    let consent_page = b.get(&to).await;
    assert_eq!(consent_page.status, 200, "{}", consent_page.text);
    assert!(consent_page.text.contains("wants to access your account"));
    assert!(consent_page.text.contains("value=\"allow\""));
    // Another browser (no session) holding the URL gets no consent form.
    let stranger = Browser::new().get(&to).await;
    assert_eq!(stranger.status, 400);
    assert!(!stranger.text.contains("value=\"allow\""));
    // A value that is not a sealed request: the same explanation.
    let forged = b.get(&s.url("/consent?pending=AAAA")).await;
    assert_eq!(forged.status, 400);
    // The page's form completes the flow.
    let done = consent(&s, &b, &consent_page, "allow").await;
    assert!(param(&location_params(&done), "code").is_some());
    // Reloading the consent URL afterwards shows the page again, but its form is spent.
    let again = b.get(&to).await;
    let replay = consent(&s, &b, &again, "allow").await;
    assert_eq!(replay.status, 400, "{}", replay.text);
    assert!(
        replay.text.contains("login.request_expired"),
        "{}",
        replay.text
    );
}

async fn not_you_ends_the_session_and_asks_again(s: TestServer) {
    let setup = setup(&s).await;
    let b = Browser::new();
    let p = pkce();
    let url = authorize_url(&s, &standard(&setup, &p, "openid photos"));
    let page = b.get(&url).await;
    let consent_page = login(&s, &b, &page, "alice", PASSWORD).await;
    assert!(
        consent_page.text.contains("Not alice?"),
        "{}",
        consent_page.text
    );
    let switched = consent(&s, &b, &consent_page, "switch").await;
    // The same request, back at the password, for someone else.
    assert_eq!(switched.status, 200, "{}", switched.text);
    assert!(switched.text.contains("name=\"password\""));
    assert!(!switched.text.contains("value=\"alice\""));
    // alice's session is over: a new request from this browser asks for a password too.
    let fresh = b.get(&url).await;
    assert!(fresh.text.contains("name=\"password\""), "{}", fresh.text);
    // The switched-to sign-in completes the original request.
    let next = login(&s, &b, &switched, "alice", PASSWORD).await;
    let done = consent(&s, &b, &next, "allow").await;
    let params = location_params(&done);
    assert_eq!(param(&params, "state"), Some("st-1"));
    assert!(param(&params, "code").is_some());
}

async fn the_pages_script_is_served_from_the_origin(s: TestServer) {
    let setup = setup(&s).await;
    let p = pkce();
    let page = Browser::new()
        .get(&authorize_url(&s, &standard(&setup, &p, "openid")))
        .await;
    let csp = page.header("content-security-policy").unwrap().to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline'; script") && !csp.contains("script-src 'unsafe"));
    let src = s.url("/assets/candor.js");
    assert!(page.text.contains(&format!("<script src=\"{src}\" defer>")));
    assert!(page.text.contains("data-reveal=\"password\""));
    // No inline script anywhere: the CSP would block it.
    assert_eq!(page.text.matches("<script").count(), 1);
    let index = s.get("/docs/errors").await;
    assert!(index.text.contains("id=\"search\""));
    assert!(
        index
            .text
            .contains("data-code=\"redirect_uri.trailing_slash\"")
    );
    let script = s.get("/assets/candor.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.text.contains("data-reveal") && script.text.contains("search"));
}

/// `serve --dev`'s demo app, end to end: the demo user and client exist, the app's start page
/// sends the browser through sign-in and consent, and its callback redeems the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_app_signs_in_and_shows_its_tokens() {
    let s = TestServer::start_with(Backend::Sqlite, |settings| settings.demo = true)
        .await
        .unwrap();
    let settings = s.app.settings().clone();
    let first = candor_server::demo::ensure(s.store.as_ref(), &s.master, &settings, s.app.now())
        .await
        .unwrap();
    assert!(first.client_registered);
    let password = first.new_password.expect("a new demo user's password");
    // A second start changes nothing and shows no password again.
    let second = candor_server::demo::ensure(s.store.as_ref(), &s.master, &settings, s.app.now())
        .await
        .unwrap();
    assert!(second.new_password.is_none() && !second.client_registered);
    assert!(s.get("/").await.text.contains(&s.url("/demo")));

    let b = Browser::new();
    let home = b.get(&s.url("/demo")).await;
    assert_eq!(home.status, 200);
    assert!(home.text.contains("Sign in with Candor"));
    let start = b.get(&s.url("/demo/start")).await;
    assert_eq!(start.status, 303);
    let authorize = start.header("location").unwrap().to_string();
    assert!(authorize.contains("client_id=candor-demo") && authorize.contains("code_challenge="));
    let page = b.get(&authorize).await;
    let consent_page = login(&s, &b, &page, "demo", password.expose()).await;
    let done = consent(&s, &b, &consent_page, "allow").await;
    let callback = done.header("location").unwrap().to_string();
    assert!(
        callback.starts_with(&s.url("/demo/callback?")),
        "{callback}"
    );
    let shown = b.get(&callback).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(shown.text.contains("Signed in"), "{}", shown.text);
    assert!(
        shown.text.contains("&#34;refresh_token&#34;"),
        "{}",
        shown.text
    );
    assert!(
        shown
            .text
            .contains("&#34;preferred_username&#34;: &#34;demo&#34;")
    );
    // The callback is single-use: replayed, the app has no sign-in in progress.
    let replayed = b.get(&callback).await;
    assert_eq!(replayed.status, 400);
    assert!(
        replayed.text.contains("no sign-in in progress"),
        "{}",
        replayed.text
    );
    // A callback for a sign-in this browser did not start is refused by the app.
    let other = Browser::new();
    other.get(&s.url("/demo/start")).await;
    let forged = other.get(&callback).await;
    assert_eq!(forged.status, 400);
    assert!(
        forged.text.contains("state parameter does not match"),
        "{}",
        forged.text
    );
}

/// Without `--dev` there is no demo app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_demo_app_on_a_production_server() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    assert_eq!(s.get("/demo").await.status, 404);
    assert_eq!(s.get("/demo/start").await.status, 404);
    assert!(!s.get("/").await.text.contains("/demo"));
}
