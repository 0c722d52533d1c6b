//! A login, built in code as a browser would capture it, with knobs to break each part.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use candor_client::id_token::half_hash;
use candor_doctor::har::build::{HarBuilder, Req, Resp, Shape};
use candor_doctor::har::{self, Options};
use candor_doctor::{Report, render};
use candor_proto::Code;
use candor_proto::jose::{SigningAlg, SigningKey};
use serde_json::{Value, json};

pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub(crate) const CODE: &str = "SplxlOBeZQQYbYS6WxSbIAcodevalue";
pub(crate) const ACCESS_TOKEN: &str = "at-2YotnFZFEjr1zCsicMWpAA-secret-access";
pub(crate) const REFRESH_TOKEN: &str = "rt-tGzv3JOkF0XG5Qx2TlKWIA-secret-refresh";
pub(crate) const SECRET: &str = "client-secret-7Fjfp0ZBr1KtDRbnfVdmIw";

/// How the token request authenticates the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    None,
    Basic,
    Post,
    BasicAndPost,
}

/// One login, with every part adjustable.
pub(crate) struct Login {
    pub shape: Shape,
    pub issuer: String,
    pub app: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub token_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub callback_state: Option<String>,
    pub nonce: Option<String>,
    pub challenge_method: Option<&'static str>,
    pub challenge: String,
    pub verifier: Option<String>,
    pub code: String,
    pub post_code_twice: bool,
    pub auth: Auth,
    pub token_content_type: &'static str,
    pub token_method: &'static str,
    pub token_response: Option<Resp>,
    pub id_token_claims: Value,
    pub id_token_alg_none: bool,
    /// Sign the id_token with a key the JWKS does not have.
    pub sign_with_foreign_key: bool,
    pub discovery: bool,
    pub jwks: bool,
    pub userinfo: Option<Resp>,
    pub sanitized: bool,
    pub unsorted: bool,
    pub response_type: &'static str,
    pub callback_error: Option<(&'static str, &'static str)>,
    pub callback_iss: Option<String>,
    pub key: SigningKey,
    pub foreign: SigningKey,
    /// Extra headers on the provider's responses (e.g. a skewed Date).
    pub provider_headers: Vec<(String, String)>,
    /// Replaces the JWKS the provider serves.
    pub jwks_body: Option<Value>,
    /// The token request comes from a back end with this User-Agent (no Origin), as a
    /// proxy's capture records it; `None`: from the browser (an SPA).
    pub backend_user_agent: Option<&'static str>,
    /// Milliseconds between the callback and the token request, beyond the usual step.
    pub token_delay_ms: i64,
    /// Where the token request goes, when not the discovery document's token endpoint.
    pub token_url: Option<String>,
}

pub(crate) fn key() -> SigningKey {
    SigningKey::generate(SigningAlg::Es256).unwrap().0
}

impl Login {
    pub(crate) fn new(shape: Shape) -> Self {
        let start = har::build::DEFAULT_START_MS / 1000;
        let issuer = "https://idp.example".to_string();
        Login {
            shape,
            issuer: issuer.clone(),
            app: "https://app.example".into(),
            client_id: "web".into(),
            redirect_uri: "https://app.example/cb".into(),
            token_redirect_uri: None,
            state: Some("af0ifjsldkj".into()),
            callback_state: None,
            nonce: Some("n-0S6_WzA2Mj".into()),
            challenge_method: Some("S256"),
            challenge: CHALLENGE.into(),
            verifier: Some(VERIFIER.into()),
            code: CODE.into(),
            post_code_twice: false,
            auth: Auth::None,
            token_content_type: "application/x-www-form-urlencoded",
            token_method: "POST",
            token_response: None,
            id_token_claims: json!({
                "iss": issuer, "sub": "248289761001", "aud": "web",
                "exp": start + 3600, "iat": start, "nonce": "n-0S6_WzA2Mj",
                "at_hash": half_hash("ES256", ACCESS_TOKEN),
            }),
            id_token_alg_none: false,
            sign_with_foreign_key: false,
            discovery: true,
            jwks: true,
            userinfo: None,
            sanitized: false,
            unsorted: false,
            response_type: "code",
            callback_error: None,
            callback_iss: None,
            key: key(),
            foreign: key(),
            provider_headers: Vec::new(),
            jwks_body: None,
            backend_user_agent: None,
            token_delay_ms: 0,
            token_url: None,
        }
    }

    fn provider(&self, mut r: Resp) -> Resp {
        for (n, v) in &self.provider_headers {
            r = r.header(n, v);
        }
        r
    }

    pub(crate) fn id_token(&self) -> String {
        if self.id_token_alg_none {
            use base64::Engine;
            let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            return format!(
                "{}.{}.",
                e.encode(br#"{"alg":"none","typ":"JWT"}"#),
                e.encode(self.id_token_claims.to_string())
            );
        }
        let k = if self.sign_with_foreign_key {
            &self.foreign
        } else {
            &self.key
        };
        k.sign("JWT", &self.id_token_claims).unwrap()
    }

    pub(crate) fn token_body(&self) -> Value {
        json!({
            "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": REFRESH_TOKEN, "id_token": self.id_token(), "scope": "openid profile",
        })
    }

    fn token_request(&self) -> Req {
        let redirect = self
            .token_redirect_uri
            .clone()
            .unwrap_or(self.redirect_uri.clone());
        let mut pairs: Vec<(&str, String)> = vec![
            ("grant_type", "authorization_code".into()),
            ("code", self.code.clone()),
            ("redirect_uri", redirect),
        ];
        if let Some(v) = &self.verifier {
            pairs.push(("code_verifier", v.clone()));
        }
        match self.auth {
            Auth::None | Auth::Basic => pairs.push(("client_id", self.client_id.clone())),
            Auth::Post | Auth::BasicAndPost => {
                pairs.push(("client_id", self.client_id.clone()));
                pairs.push(("client_secret", SECRET.into()));
            }
        }
        let url = self
            .token_url
            .clone()
            .unwrap_or_else(|| format!("{}/token", self.issuer));
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut req = if self.token_content_type == "application/json" {
            let obj: serde_json::Map<String, Value> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            Req::post_json(url, Value::Object(obj))
        } else if self.token_method == "GET" {
            let q: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(refs.iter())
                .finish();
            Req::get(format!("{url}?{q}"))
        } else {
            let mut r = Req::post_form(url, &refs);
            if self.token_content_type != "application/x-www-form-urlencoded" {
                r = r.without_header("Content-Type");
                if !self.token_content_type.is_empty() {
                    r = r.header("Content-Type", self.token_content_type);
                }
            }
            r
        };
        req = match self.backend_user_agent {
            Some(ua) => req.header("User-Agent", ua),
            None => req.header("Origin", &self.app),
        };
        if matches!(self.auth, Auth::Basic | Auth::BasicAndPost) {
            req = req.basic(&self.client_id, SECRET);
        }
        req
    }

    pub(crate) fn builder(&self) -> HarBuilder {
        let mut b = HarBuilder::new(self.shape);
        if self.sanitized {
            b = b.sanitized();
        }
        if self.unsorted {
            b = b.unsorted();
        }
        let iss = &self.issuer;
        b.entry(
            Req::get(format!("{}/", self.app)),
            Resp::html(200, "<html><title>App</title></html>"),
        );
        if self.discovery {
            b.entry(
                Req::get(format!("{iss}/.well-known/openid-configuration")),
                self.provider(Resp::json(
                    200,
                    json!({
                        "issuer": iss,
                        "authorization_endpoint": format!("{iss}/authorize"),
                        "token_endpoint": format!("{iss}/token"),
                        "userinfo_endpoint": format!("{iss}/userinfo"),
                        "jwks_uri": format!("{iss}/jwks"),
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["ES256"],
                        "code_challenge_methods_supported": ["S256"],
                    }),
                )),
            );
        }
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", self.response_type);
        q.append_pair("client_id", &self.client_id);
        q.append_pair("redirect_uri", &self.redirect_uri);
        q.append_pair("scope", "openid profile");
        if let Some(s) = &self.state {
            q.append_pair("state", s);
        }
        if let Some(n) = &self.nonce {
            q.append_pair("nonce", n);
        }
        if let Some(m) = self.challenge_method {
            q.append_pair("code_challenge", &self.challenge);
            if m != "(absent)" {
                q.append_pair("code_challenge_method", m);
            }
        }
        let authorize = format!("{iss}/authorize?{}", q.finish());
        b.entry(
            Req::get(authorize),
            self.provider(Resp::html(200, "<html><title>Sign in</title><form method=post><input name=username><input type=password name=password></form></html>")
                .header("Set-Cookie", "idp_session=abc123secretcookie; HttpOnly; Secure")),
        );
        let mut cq = form_urlencoded::Serializer::new(String::new());
        match self.callback_error {
            Some((err, desc)) => {
                cq.append_pair("error", err);
                cq.append_pair("error_description", desc);
            }
            None => {
                cq.append_pair("code", &self.code);
            }
        }
        let returned_state = self.callback_state.clone().or(self.state.clone());
        if let Some(s) = &returned_state
            && !s.is_empty()
        {
            cq.append_pair("state", s);
        }
        if let Some(i) = &self.callback_iss {
            cq.append_pair("iss", i);
        }
        let callback = format!("{}?{}", self.redirect_uri, cq.finish());
        b.entry(
            Req::post_form(
                format!("{iss}/login"),
                &[("username", "alice"), ("password", "wonderland-pw")],
            )
            .header("Cookie", "idp_session=abc123secretcookie"),
            self.provider(Resp::redirect(callback.clone())),
        );
        b.entry(
            Req::get(callback),
            Resp::html(200, "<html><title>App</title></html>"),
        );
        if self.callback_error.is_some() {
            return b;
        }
        if self.jwks {
            b.entry(
                Req::get(format!("{iss}/jwks")),
                self.provider(Resp::json(
                    200,
                    self.jwks_body
                        .clone()
                        .unwrap_or_else(|| json!({"keys": [self.key.public_jwk()]})),
                )),
            );
        }
        let token_resp = self.token_response.clone().unwrap_or_else(|| {
            Resp::json(200, self.token_body()).header("Cache-Control", "no-store")
        });
        let now = b.now_ms();
        b.at_ms(now + self.token_delay_ms);
        b.entry(self.token_request(), self.provider(token_resp));
        if self.post_code_twice {
            b.entry(
                self.token_request(),
                self.provider(Resp::json(400, json!({"error": "invalid_grant", "error_description": "the code was already used"}))),
            );
        }
        if let Some(u) = &self.userinfo {
            b.entry(
                Req::get(format!("{iss}/userinfo"))
                    .header("Authorization", &format!("Bearer {ACCESS_TOKEN}")),
                self.provider(u.clone()),
            );
        }
        b
    }

    pub(crate) fn report(&self) -> Report {
        analyze(&self.builder())
    }
}

pub(crate) fn analyze(b: &HarBuilder) -> Report {
    let text = b.to_text();
    let capture = har::parse_reader(text.as_bytes()).unwrap();
    har::analyze(&capture, &Options::default(), "test.har")
}

/// The codes of the problems (errors and warnings) of a report.
pub(crate) fn problems(r: &Report) -> Vec<Code> {
    r.findings()
        .filter(|f| f.is_problem())
        .map(|f| f.code)
        .collect()
}

pub(crate) fn show(r: &Report) -> String {
    render::text(r, false)
}

/// Asserts no secret value appears in full in either output format.
pub(crate) fn assert_redacted(r: &Report) {
    let text = render::text(r, false);
    let json = render::render(r, render::Format::Json, false);
    for secret in [
        CODE,
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        SECRET,
        VERIFIER,
        "wonderland-pw",
        "abc123secretcookie",
    ] {
        assert!(!text.contains(secret), "{secret} in text output:\n{text}");
        assert!(!json.contains(secret), "{secret} in JSON output");
    }
}
