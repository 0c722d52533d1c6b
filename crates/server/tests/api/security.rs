//! Regression tests of the adversarial review (docs/security.md): each case was an attack that
//! worked, and fails if the hole reopens.

use candor_proto::client_auth::AuthMethod;
use candor_proto::redirect_uri::{self, HOSTILE};
use candor_server::clients::NewClient;

use crate::common::{Auth, TestServer};
use crate::flow::*;

crate::both!(hostile_redirect_uris_are_refused_at_every_site,);

/// The URIs a victim's client is registered with; the attacker tries every [`HOSTILE`] shape.
const REGISTERED: [&str; 3] = [
    "http://127.0.0.1/cb",
    "http://[::1]/cb",
    "https://app.example/cb",
];

async fn hostile_redirect_uris_are_refused_at_every_site(s: TestServer) {
    // Registration: an unsafe shape is never stored.
    for hostile in HOSTILE {
        if redirect_uri::check(hostile).is_ok() {
            continue;
        }
        let mut new = NewClient::new("hostile");
        new.redirect_uris = vec![hostile.to_string()];
        let created =
            candor_server::clients::create(s.store.as_ref(), &s.master, new, s.app.now()).await;
        assert!(created.is_err(), "registered {hostile:?}");
    }

    // The victim: a public client, a session and a past consent, so that a matching
    // redirect_uri would send a code straight back without a click.
    let mut new = NewClient::new("Native App");
    new.auth_method = AuthMethod::None;
    new.redirect_uris = REGISTERED.map(String::from).to_vec();
    new.post_logout_redirect_uris = REGISTERED.map(String::from).to_vec();
    new.scopes = vec!["openid".into()];
    let client_id = s.register(new).await.0;
    candor_server::users::create(
        s.store.as_ref(),
        "victim",
        &candor_proto::secret::Secret::new(PASSWORD),
        None,
        None,
        s.app.now(),
    )
    .await
    .unwrap();
    let b = Browser::new();
    let p = pkce();
    let legit = "http://127.0.0.1:5000/cb";
    let request = |redirect: &str| {
        authorize_url(
            &s,
            &[
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", redirect),
                ("scope", "openid"),
                ("code_challenge", p.challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        )
    };
    let page = b.get(&request(legit)).await;
    let consent_page = login(&s, &b, &page, "victim", PASSWORD).await;
    let done = consent(&s, &b, &consent_page, "allow").await;
    assert!(done.header("location").unwrap().starts_with(legit));
    // With the consent remembered, the legitimate URI gets a code at once.
    let again = b.get(&request(legit)).await;
    assert_eq!(again.status, 303, "{}", again.text);
    let code = param(&location_params(&again), "code").unwrap().to_string();

    // Authorize: an error page, never a redirect, for every hostile shape.
    for hostile in HOSTILE {
        let r = b.get(&request(hostile)).await;
        assert_eq!(r.status, 400, "{hostile:?}: {}", r.text);
        assert!(
            r.header("location").is_none(),
            "{hostile:?} redirected to {:?}",
            r.header("location")
        );
    }

    // Token: no hostile shape redeems the code, and refusing them does not burn it.
    for hostile in HOSTILE {
        let r = s
            .post_form(
                "/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", hostile),
                    ("client_id", &client_id),
                    ("code_verifier", &p.verifier),
                ],
                Auth::None,
            )
            .await;
        assert_eq!(r.status, 400, "{hostile:?}: {}", r.text);
        let diagnosis = r.json()["diagnosis"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            diagnosis.starts_with("redirect_uri."),
            "{hostile:?}: {diagnosis}"
        );
    }
    let r = s
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", legit),
                ("client_id", &client_id),
                ("code_verifier", &p.verifier),
            ],
            Auth::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Logout: never a redirect to a hostile post_logout_redirect_uri.
    for hostile in HOSTILE {
        let url = s.url(&format!(
            "/logout?{}",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("client_id", client_id.as_str()),
                    ("post_logout_redirect_uri", hostile)
                ])
                .finish()
        ));
        let r = b.get(&url).await;
        assert!(
            r.header("location").is_none(),
            "{hostile:?} redirected to {:?}",
            r.header("location")
        );
        assert_eq!(r.status, 400, "{hostile:?}: {}", r.text);
    }
}
