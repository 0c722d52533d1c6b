//! A browser for tests: a cookie jar, and helpers that walk the authorization code flow the
//! way a person would (GET /authorize, fill the login form, press Allow).

use candor_proto::client_auth::AuthMethod;
use candor_proto::pkce::s256;
use candor_proto::secret::{Secret, random_token};
use candor_server::clients::NewClient;
use serde_json::Value;

use crate::common::{Auth, Response, TestServer};

pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/cb";
pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) struct Browser {
    pub http: reqwest::Client,
}

impl Browser {
    pub(crate) fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub(crate) async fn get(&self, url: &str) -> Response {
        into(self.http.get(url).send().await.unwrap()).await
    }

    pub(crate) async fn post(&self, url: &str, form: &[(&str, &str)]) -> Response {
        into(self.http.post(url).form(form).send().await.unwrap()).await
    }
}

async fn into(r: reqwest::Response) -> Response {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    Response {
        status,
        headers,
        text,
    }
}

/// The value of a hidden input in a page.
pub(crate) fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name} in:\n{page}"))
        + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_string()
}

/// The query parameters of a redirect's Location.
pub(crate) fn location_params(r: &Response) -> Vec<(String, String)> {
    assert_eq!(
        r.status, 303,
        "expected a redirect, got {}: {}",
        r.status, r.text
    );
    let location = r.header("location").expect("location");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A confidential OIDC client and a user.
pub(crate) struct Setup {
    pub client_id: String,
    pub secret: String,
    pub user_sub: String,
}

pub(crate) async fn setup(s: &TestServer) -> Setup {
    let mut new = NewClient::new("Photo App");
    new.redirect_uris = vec![REDIRECT.into()];
    new.post_logout_redirect_uris = vec!["http://127.0.0.1:9/bye".into()];
    new.scopes = ["openid", "profile", "email", "offline_access", "photos"]
        .map(String::from)
        .to_vec();
    let (client_id, secret) = s.register(new).await;
    let user = candor_server::users::create(
        s.store.as_ref(),
        "alice",
        &Secret::new(PASSWORD),
        Some("alice@example.com".into()),
        Some("Alice Liddell".into()),
        s.app.now(),
    )
    .await
    .unwrap();
    Setup {
        client_id,
        secret: secret.unwrap(),
        user_sub: user.id,
    }
}

/// A public client (PKCE required, no secret).
pub(crate) async fn public_client(s: &TestServer, redirect: &str) -> String {
    let mut new = NewClient::new("Native App");
    new.auth_method = AuthMethod::None;
    new.redirect_uris = vec![redirect.into()];
    new.scopes = vec!["openid".into(), "offline_access".into()];
    s.register(new).await.0
}

pub(crate) struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub(crate) fn pkce() -> Pkce {
    let verifier = random_token().expose().to_string();
    Pkce {
        challenge: s256(&verifier),
        verifier,
    }
}

/// The authorization URL.
pub(crate) fn authorize_url(s: &TestServer, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    s.url(&format!("/authorize?{query}"))
}

/// Standard parameters for `setup`'s client.
pub(crate) fn standard<'a>(
    setup: &'a Setup,
    pkce: &'a Pkce,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", setup.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
}

/// Fills and submits the login form of `page`.
pub(crate) async fn login(
    s: &TestServer,
    b: &Browser,
    page: &Response,
    username: &str,
    password: &str,
) -> Response {
    let r = b
        .post(
            &s.url("/login"),
            &[
                ("pending", &hidden(&page.text, "pending")),
                ("csrf", &hidden(&page.text, "csrf")),
                ("username", username),
                ("password", password),
            ],
        )
        .await;
    // POST/redirect/GET: a sign-in that leads to consent redirects to the consent page; the
    // page returned carries the redirect's cookies, as a browser's view of both would.
    match r.header("location") {
        Some(to) if r.status == 303 && to.starts_with(&s.url("/consent?pending=")) => {
            let mut next = b.get(to).await;
            for cookie in r.headers.get_all("set-cookie") {
                next.headers.append("set-cookie", cookie.clone());
            }
            next
        }
        _ => r,
    }
}

pub(crate) async fn consent(
    s: &TestServer,
    b: &Browser,
    page: &Response,
    answer: &str,
) -> Response {
    b.post(
        &s.url("/consent"),
        &[
            ("pending", &hidden(&page.text, "pending")),
            ("csrf", &hidden(&page.text, "csrf")),
            ("consent", answer),
        ],
    )
    .await
}

/// Walks the whole flow for `setup`'s client and returns the code.
pub(crate) async fn get_code(
    s: &TestServer,
    b: &Browser,
    setup: &Setup,
    pkce: &Pkce,
    scope: &str,
) -> String {
    let page = b
        .get(&authorize_url(s, &standard(setup, pkce, scope)))
        .await;
    let next = if page.text.contains("name=\"password\"") {
        login(s, b, &page, "alice", PASSWORD).await
    } else {
        page
    };
    let done = if next.status == 200 && next.text.contains("name=\"consent\"") {
        consent(s, b, &next, "allow").await
    } else {
        next
    };
    let params = location_params(&done);
    assert_eq!(param(&params, "state"), Some("st-1"));
    assert_eq!(param(&params, "iss"), Some(s.base.as_str()));
    param(&params, "code").expect("code").to_string()
}

pub(crate) async fn exchange(
    s: &TestServer,
    setup: &Setup,
    code: &str,
    verifier: &str,
) -> Response {
    s.post_form(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
        Auth::Basic(&setup.client_id, &setup.secret),
    )
    .await
}

pub(crate) async fn tokens(s: &TestServer, b: &Browser, setup: &Setup, scope: &str) -> Value {
    let p = pkce();
    let code = get_code(s, b, setup, &p, scope).await;
    let r = exchange(s, setup, &code, &p.verifier).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

pub(crate) async fn refresh(
    s: &TestServer,
    setup: &Setup,
    token: &str,
    scope: Option<&str>,
) -> Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(sc) = scope {
        form.push(("scope", sc));
    }
    s.post_form(
        "/token",
        &form,
        Auth::Basic(&setup.client_id, &setup.secret),
    )
    .await
}
