#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use candor_doctor::har::build::Shape;
use candor_proto::Code;
use common::*;

#[test]
fn a_good_login_has_no_problems_in_every_browser_shape() {
    // Browsers' exports and proxies' (mitmproxy, Charles, Fiddler): the same login.
    for shape in Shape::ALL {
        for unsorted in [false, true] {
            let mut l = Login::new(shape);
            l.unsorted = unsorted;
            let r = l.report();
            assert!(
                problems(&r).is_empty(),
                "{shape:?} unsorted={unsorted}:\n{}",
                show(&r)
            );
            assert_eq!(r.exit_code(), 0);
            let text = show(&r);
            assert!(
                text.contains("Flow 1: authorization code, client_id 'web'"),
                "{text}"
            );
            assert!(text.contains("PKCE: the code_verifier matches"), "{text}");
            assert!(text.contains("id_token signature: verified"), "{text}");
            assert!(
                text.contains("client authentication: none (public client 'web')"),
                "{text}"
            );
            assert_redacted(&r);
        }
    }
}

#[test]
fn every_export_shape_names_the_same_failures() {
    for shape in Shape::ALL {
        let mut l = Login::new(shape);
        l.verifier = Some("a-different-verifier-of-sufficient-length-0123456789".into());
        expect(&l, Code::PkceVerifierMismatch);
        let mut l = Login::new(shape);
        l.token_redirect_uri = Some(format!("{}/", l.redirect_uri));
        expect(&l, Code::RedirectUriTrailingSlash);
        let mut l = Login::new(shape);
        l.post_code_twice = true;
        expect(&l, Code::CodeReused);
        // A back end's secret in a proxy's capture is the back end doing its job; in a
        // browser's own export every request is the browser's.
        let mut l = Login::new(shape);
        l.auth = Auth::Basic;
        if shape.is_proxy() {
            l.backend_user_agent = Some("python-requests/2.32.3");
        }
        assert_eq!(
            l.report().has(Code::ClientSecretInBrowser),
            !shape.is_proxy(),
            "{shape:?}: {}",
            show(&l.report())
        );
    }
}

#[test]
fn a_request_the_proxy_got_no_answer_for_is_named_as_such() {
    // mitmproxy 11 writes status 0, an empty content and its own error text when the server
    // could not be reached (a real one: crates/doctor/corpus/seen/op-requests-endpoint-down.har).
    let mut l = Login::new(Shape::Mitmproxy);
    l.auth = Auth::Basic;
    l.backend_user_agent = Some("python-requests/2.32.3");
    l.token_response = Some(candor_doctor::har::build::Resp::failed(
        "[Errno 111] Connect call failed ('127.0.0.1', 9199)",
    ));
    let r = expect(&l, Code::TransportConnect);
    let f = r
        .findings()
        .find(|f| f.code == Code::TransportConnect)
        .unwrap();
    assert!(
        f.message
            .contains("The proxy recorded no response ([Errno 111] Connect call failed"),
        "{}",
        f.message
    );
    // A browser's export says the browser's reasons instead.
    let mut l = Login::new(Shape::Chrome);
    l.token_response = Some(candor_doctor::har::build::Resp::failed("net::ERR_FAILED"));
    let r = expect(&l, Code::TransportConnect);
    assert!(flat(&r).contains("The browser recorded no response (net::ERR_FAILED)"));
}

fn codes_of(l: &Login) -> Vec<Code> {
    let r = l.report();
    assert_redacted(&r);
    problems(&r)
}

fn expect(l: &Login, code: Code) -> candor_doctor::Report {
    let r = l.report();
    assert!(r.has(code), "{code} not found:\n{}", show(&r));
    assert_eq!(r.exit_code(), 1, "{}", show(&r));
    assert_redacted(&r);
    r
}

#[test]
fn redirect_uri_near_misses_are_named() {
    for (token_uri, code) in [
        ("https://app.example/cb/", Code::RedirectUriTrailingSlash),
        ("http://app.example/cb", Code::RedirectUriScheme),
        ("https://app.example:443/cb", Code::RedirectUriPort),
        ("https://App.Example/cb", Code::RedirectUriCase),
        ("https://app.example/cb?x=1", Code::RedirectUriQuery),
        ("https://app.example/callback", Code::RedirectUriPath),
        ("https://other.example/x", Code::RedirectUriMismatch),
    ] {
        let mut l = Login::new(Shape::Chrome);
        l.token_redirect_uri = Some(token_uri.into());
        let r = expect(&l, code);
        let f = r.findings().find(|f| f.code == code).unwrap();
        assert_eq!(f.expected.as_deref(), Some("'https://app.example/cb'"));
        assert_eq!(
            f.received.as_deref(),
            Some(format!("'{token_uri}'").as_str())
        );
        assert!(f.expected_from.is_some(), "names the authorization request");
    }
    let mut l = Login::new(Shape::Chrome);
    l.app = "http://localhost:3000".into();
    l.redirect_uri = "http://localhost:3000/cb".into();
    l.token_redirect_uri = Some("http://127.0.0.1:3000/cb".into());
    expect(&l, Code::RedirectUriLoopbackAlias);
    let mut l = Login::new(Shape::Chrome);
    l.token_redirect_uri = Some(String::new());
    expect(&l, Code::RedirectUriMissing);
}

#[test]
fn state_must_be_echoed() {
    let mut l = Login::new(Shape::Firefox);
    l.callback_state = Some("another-state".into());
    let r = expect(&l, Code::StateMismatch);
    let f = r
        .findings()
        .find(|f| f.code == Code::StateMismatch)
        .unwrap();
    assert_eq!(f.expected.as_deref(), Some("'af0ifjsldkj'"));
    assert_eq!(f.received.as_deref(), Some("'another-state'"));
    let mut l = Login::new(Shape::Firefox);
    l.callback_state = Some(String::new());
    expect(&l, Code::StateMissing);
}

#[test]
fn pkce_is_recomputed() {
    let mut l = Login::new(Shape::Safari);
    l.verifier = Some("a-different-verifier-of-sufficient-length-0123456789".into());
    let r = expect(&l, Code::PkceVerifierMismatch);
    let f = r
        .findings()
        .find(|f| f.code == Code::PkceVerifierMismatch)
        .unwrap();
    assert!(f.expected.as_deref().unwrap().contains(CHALLENGE));
    let mut l = Login::new(Shape::Safari);
    l.verifier = None;
    expect(&l, Code::PkceVerifierMissing);
    let mut l = Login::new(Shape::Safari);
    l.challenge_method = None;
    assert_eq!(
        codes_of(&l),
        vec![Code::PkceChallengeMissing, Code::PkceVerifierUnexpected]
    );
    let mut l = Login::new(Shape::Safari);
    l.verifier = None;
    l.challenge_method = None;
    let r = l.report();
    assert_eq!(problems(&r), vec![Code::PkceChallengeMissing]);
    assert!(
        r.findings()
            .all(|f| f.severity != candor_doctor::Severity::Error)
    );
    let mut l = Login::new(Shape::Safari);
    l.challenge_method = Some("plain");
    l.challenge = VERIFIER.into();
    assert_eq!(codes_of(&l), vec![Code::PkcePlainRefused]);
    let mut l = Login::new(Shape::Safari);
    l.verifier = Some("short".into());
    let c = codes_of(&l);
    assert!(
        c.contains(&Code::PkceVerifierMalformed) && c.contains(&Code::PkceVerifierMismatch),
        "{c:?}"
    );
}

#[test]
fn a_code_posted_twice_is_reused() {
    let mut l = Login::new(Shape::Chrome);
    l.post_code_twice = true;
    let r = expect(&l, Code::CodeReused);
    let f = r.findings().find(|f| f.code == Code::CodeReused).unwrap();
    assert!(
        f.message.contains("first at log.entries[6]"),
        "{}",
        f.message
    );
    // The provider's refusal of the second attempt is explained too: its words ("the code
    // was already used") name the same cause, so it is said in the one finding or beside it.
    let said: Vec<String> = r
        .findings()
        .filter(|f| f.code == Code::CodeReused || f.code == Code::ResponseOAuthError)
        .map(|f| f.message.clone())
        .collect();
    assert!(said.iter().any(|m| m.contains("already used")), "{said:?}");
}

#[test]
fn token_request_encoding_and_method() {
    let mut l = Login::new(Shape::Chrome);
    l.token_content_type = "application/json";
    expect(&l, Code::TokenRequestJsonBody);
    let mut l = Login::new(Shape::Chrome);
    l.token_content_type = "";
    expect(&l, Code::TokenRequestUnsupportedContentType);
    let mut l = Login::new(Shape::Chrome);
    l.token_content_type = "text/plain";
    expect(&l, Code::TokenRequestUnsupportedContentType);
    let mut l = Login::new(Shape::Chrome);
    l.token_method = "GET";
    expect(&l, Code::TokenRequestNotPost);
}

#[test]
fn duplicate_parameters() {
    use candor_doctor::har::build::{HarBuilder, Req, Resp};
    let mut b = HarBuilder::new(Shape::Chrome);
    b.entry(
        Req::post_form("https://idp.example/token", &[("grant_type", "client_credentials"), ("scope", "a"), ("scope", "b")])
            .basic("svc", SECRET),
        Resp::json(400, serde_json::json!({"error": "invalid_request", "error_description": "scope sent twice"})),
    );
    let r = analyze(&b);
    assert!(r.has(Code::TokenRequestDuplicateParameter), "{}", show(&r));
}

#[test]
fn client_authentication_is_named_and_secrets_in_the_browser_flagged() {
    let mut l = Login::new(Shape::Chrome);
    l.auth = Auth::Basic;
    let r = expect(&l, Code::ClientSecretInBrowser);
    assert!(show(&r).contains("client authentication: client_secret_basic (client_id 'web')"));
    let mut l = Login::new(Shape::Firefox);
    l.auth = Auth::Post;
    let r = expect(&l, Code::ClientSecretInBrowser);
    assert!(show(&r).contains("client authentication: client_secret_post"));
    let mut l = Login::new(Shape::Safari);
    l.auth = Auth::BasicAndPost;
    expect(&l, Code::ClientAuthMultipleMethods);
}

#[test]
fn a_code_redeemed_late_is_named_with_the_gap() {
    // Refused 45 s after the callback: the code most likely expired.
    let mut l = Login::new(Shape::Chrome);
    l.token_delay_ms = 45_000;
    l.token_response = Some(candor_doctor::har::build::Resp::json(
        400,
        serde_json::json!({"error": "invalid_grant", "error_description": "grant request is invalid"}),
    ));
    let r = expect(&l, Code::CodeExpired);
    assert!(
        flat(&r).contains("redeemed 45 s after the callback"),
        "{}",
        show(&r)
    );
    // Accepted that late: a note, not an error.
    let mut l = Login::new(Shape::Chrome);
    l.token_delay_ms = 45_000;
    let r = l.report();
    assert!(!r.has(Code::CodeExpired), "{}", show(&r));
    assert!(
        flat(&r).contains("the code was redeemed 45 s after the callback"),
        "{}",
        show(&r)
    );
    // Refused at once: not blamed on the code's age.
    let mut l = Login::new(Shape::Chrome);
    l.token_response = Some(candor_doctor::har::build::Resp::json(
        400,
        serde_json::json!({"error": "invalid_grant"}),
    ));
    let r = l.report();
    assert!(!r.has(Code::CodeExpired), "{}", show(&r));
}

#[test]
fn a_token_request_to_another_url_than_discovery_names_is_named_with_both() {
    let mut l = Login::new(Shape::Chrome);
    l.token_url = Some("https://idp.example/oauth2/token".into());
    l.token_response = Some(candor_doctor::har::build::Resp::html(
        404,
        "<html><title>Not Found</title></html>",
    ));
    let r = expect(&l, Code::DiscoveryEndpointMismatch);
    let text = flat(&r);
    assert!(
        text.contains("went to https://idp.example/oauth2/token"),
        "{text}"
    );
    assert!(text.contains("names https://idp.example/token"), "{text}");
    assert!(text.contains("HTTP 404"), "{text}");
    // The discovered endpoint itself: nothing to say.
    let r = Login::new(Shape::Chrome).report();
    assert!(!r.has(Code::DiscoveryEndpointMismatch), "{}", show(&r));
}

#[test]
fn only_a_finding_that_can_produce_the_providers_error_is_named_its_cause() {
    // A secret sent by the browser and a redirect_uri a slash apart, the provider refusing
    // with a bare invalid_grant: the redirect_uri can explain it, the secret's location cannot.
    let mut l = Login::new(Shape::Chrome);
    l.auth = Auth::Post;
    l.token_redirect_uri = Some(format!("{}/", l.redirect_uri));
    l.token_response = Some(candor_doctor::har::build::Resp::json(
        400,
        serde_json::json!({"error": "invalid_grant"}),
    ));
    let r = l.report();
    assert!(r.has(Code::ClientSecretInBrowser), "{}", show(&r));
    assert!(r.has(Code::RedirectUriTrailingSlash), "{}", show(&r));
    let text = flat(&r);
    assert!(
        text.contains("The cause, found in this request: redirect_uri.trailing_slash."),
        "{text}"
    );
    assert!(!text.contains("client_secret.in_browser, "), "{text}");
    assert!(!text.contains(", client_secret.in_browser"), "{text}");
}

#[test]
fn a_refused_refresh_gets_refresh_advice_and_a_refused_code_code_advice() {
    use candor_doctor::har::build::{HarBuilder, Req, Resp};
    let mut b = HarBuilder::new(Shape::Chrome);
    b.entry(
        Req::post_form(
            "https://idp.example/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt-1"),
                ("client_id", "web"),
            ],
        ),
        Resp::json(400, serde_json::json!({"error": "invalid_grant"})),
    );
    let text = flat(&analyze(&b));
    assert!(text.contains("Send the latest refresh token"), "{text}");
    assert!(!text.contains("Redeem each code once"), "{text}");
    // The authorization_code grant keeps the RFC's advice about codes.
    let mut l = Login::new(Shape::Chrome);
    l.token_response = Some(Resp::json(
        400,
        serde_json::json!({"error": "invalid_grant"}),
    ));
    let text = flat(&l.report());
    assert!(text.contains("Redeem each code once"), "{text}");
    assert!(!text.contains("Send the latest refresh token"), "{text}");
}

/// The report's text with its line wrapping undone.
fn flat(r: &candor_doctor::finding::Report) -> String {
    show(r).split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_secret_is_flagged_only_when_the_browser_sent_it() {
    // A proxy's capture holds the browser's requests and the back end's: a back end that
    // authenticates with its secret is doing what it should.
    for ua in [
        "python-requests/2.32.3",
        "openid-client/6.1.0",
        "curl/8.5.0",
        "Java/17.0.15",
    ] {
        let mut l = Login::new(Shape::Mitmproxy);
        l.auth = Auth::Basic;
        l.backend_user_agent = Some(ua);
        let r = l.report();
        assert!(!r.has(Code::ClientSecretInBrowser), "{ua}: {}", show(&r));
        assert!(
            show(&r).contains("client authentication: client_secret_basic (client_id 'web')"),
            "{}",
            show(&r)
        );
    }
    // The same capture, the token request sent by the page (it carries an Origin): flagged,
    // with the evidence named.
    let mut l = Login::new(Shape::Mitmproxy);
    l.auth = Auth::Post;
    let r = expect(&l, Code::ClientSecretInBrowser);
    assert!(
        flat(&r)
            .contains("sent by the browser: it carries an Origin header ('https://app.example')"),
        "{}",
        show(&r)
    );
    // A browser's own export: everything in it is the browser's, whatever a request lacks.
    let mut l = Login::new(Shape::Firefox);
    l.auth = Auth::Basic;
    let r = expect(&l, Code::ClientSecretInBrowser);
    assert!(flat(&r).contains("sent by the browser:"), "{}", show(&r));
}

#[test]
fn sanitized_captures_say_unknown() {
    for shape in [Shape::Chrome, Shape::Firefox, Shape::Safari] {
        let mut l = Login::new(shape);
        l.sanitized = true;
        l.auth = Auth::Basic;
        let r = l.report();
        assert!(r.has(Code::HarSanitized), "{}", show(&r));
        // The Basic header is gone: the doctor does not guess a method, nor flag a secret.
        assert!(!r.has(Code::ClientSecretInBrowser), "{}", show(&r));
        assert!(
            show(&r).contains("client authentication: unknown"),
            "{}",
            show(&r)
        );
        assert_eq!(r.exit_code(), 0, "a note is not a problem");
    }
}

#[test]
fn plain_http_off_loopback() {
    let mut l = Login::new(Shape::Chrome);
    l.issuer = "http://idp.example".into();
    l.id_token_claims["iss"] = serde_json::json!("http://idp.example");
    let r = expect(&l, Code::TransportInsecureHttp);
    // One fact, one finding: the requests to the issuer's plain-http origin are one finding
    // that lists them, and the discovery document's plain-http endpoints another.
    let all: Vec<_> = r
        .findings()
        .filter(|f| f.code == Code::TransportInsecureHttp)
        .collect();
    assert_eq!(all.len(), 2, "{}", show(&r));
    let insecure: Vec<_> = all
        .iter()
        .filter(|f| f.received.as_deref() == Some("http://idp.example"))
        .collect();
    assert_eq!(insecure.len(), 1, "{}", show(&r));
    assert!(
        all.iter().any(|f| f
            .message
            .starts_with("The discovery document names 4 plain-http endpoints")),
        "{}",
        show(&r)
    );
    for endpoint in [
        "discovery document http://idp.example/.well-known/openid-configuration",
        "authorization endpoint http://idp.example/authorize",
        "token endpoint http://idp.example/token",
        "JWKS http://idp.example/jwks",
    ] {
        assert!(
            insecure[0].message.contains(endpoint),
            "{endpoint}: {}",
            show(&r)
        );
    }
    assert_eq!(insecure[0].received.as_deref(), Some("http://idp.example"));
    let mut l = Login::new(Shape::Chrome);
    l.issuer = "http://127.0.0.1:8080".into();
    l.id_token_claims["iss"] = serde_json::json!("http://127.0.0.1:8080");
    assert!(codes_of(&l).is_empty(), "loopback http is fine");
}

/// `doctor har` reads a refusal that is not an error object by the same evidence as `doctor
/// response` (crates/doctor/src/refusal.rs), plus the request's method a response lacks.
#[test]
fn refusals_are_read_as_doctor_response_reads_them() {
    use candor_doctor::har::build::Resp;
    // A 404 to the token POST: this URL is not the token endpoint.
    let mut l = Login::new(Shape::Chrome);
    l.token_response = Some(Resp::raw(404, "text/plain", "Not Found"));
    expect(&l, Code::TokenEndpointNotFound);
    // The body left out of the capture: the status still says what it can.
    let mut l = Login::new(Shape::Chrome);
    l.token_response = Some(Resp::empty(415).omit_body());
    expect(&l, Code::TokenRequestUnsupportedContentType);
    // A WAF's block page in front of the provider.
    let mut l = Login::new(Shape::Chrome);
    l.token_response = Some(Resp::html(
        403,
        "<html><head><title>Attention Required! | Cloudflare</title></head><body>Cloudflare Ray ID: 1</body></html>",
    ));
    expect(&l, Code::ProxyBlocked);
    // The provider's words inside a wrapper that is not an error object.
    let mut l = Login::new(Shape::Chrome);
    l.token_response = Some(Resp::raw(
        400,
        "text/plain",
        "AADSTS50057: The user account is disabled.",
    ));
    expect(&l, Code::UserDisabled);
}

#[test]
fn token_responses_are_classified() {
    use candor_doctor::har::build::Resp;
    let cases = [
        (
            Resp::html(
                200,
                "<!DOCTYPE html><html><head><title>Log in</title></head></html>",
            ),
            Code::ResponseHtml,
        ),
        (Resp::raw(200, "application/json", ""), Code::ResponseEmpty),
        (
            Resp::raw(200, "application/json", "{\"access_token\": \"abc"),
            Code::ResponseMalformedJson,
        ),
        (
            Resp::raw(
                200,
                "application/x-www-form-urlencoded",
                "access_token=abc&token_type=bearer",
            ),
            Code::ResponseNotJson,
        ),
        (
            Resp::json(200, serde_json::json!({"token_type": "Bearer"})),
            Code::ResponseMissingAccessToken,
        ),
        (
            Resp::json(200, serde_json::json!({"access_token": "abc"})),
            Code::ResponseMissingTokenType,
        ),
        (
            Resp::raw(502, "text/plain", "Bad Gateway"),
            Code::ProviderUnavailable,
        ),
        (
            Resp::json(400, serde_json::json!({"error": "invalid_client"})),
            Code::ResponseOAuthError,
        ),
        (Resp::failed("net::ERR_FAILED"), Code::TransportConnect),
    ];
    for (resp, code) in cases {
        let mut l = Login::new(Shape::Chrome);
        l.token_response = Some(resp);
        expect(&l, code);
    }
    // An error that Candor names is reported under Candor's code, with its meaning.
    let mut l = Login::new(Shape::Chrome);
    l.token_response = Some(candor_doctor::har::build::Resp::json(
        400,
        serde_json::json!({
        "error": "invalid_grant",
        "error_description": "redirect_uri differs: trailing slash",
        "error_uri": "https://idp.example/docs/errors/redirect_uri.trailing_slash",
        "diagnosis": "redirect_uri.trailing_slash"}),
    ));
    let r = expect(&l, Code::RedirectUriTrailingSlash);
    let f = r
        .findings()
        .find(|f| f.code == Code::RedirectUriTrailingSlash)
        .unwrap();
    assert!(f.message.contains("RFC 6749 section 5.2"), "{}", f.message);
    assert_eq!(
        f.provider_docs.as_deref(),
        Some("https://idp.example/docs/errors/redirect_uri.trailing_slash")
    );
    // A body the browser did not keep: unknown, a note.
    let mut l = Login::new(Shape::Firefox);
    l.token_response = Some(candor_doctor::har::build::Resp::json(200, l.token_body()).omit_body());
    let r = l.report();
    assert!(r.has(Code::HarBodyMissing), "{}", show(&r));
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn id_token_claims_are_checked() {
    let start = candor_doctor::har::build::DEFAULT_START_MS / 1000;
    let change = |f: &dyn Fn(&mut Login)| {
        let mut l = Login::new(Shape::Chrome);
        f(&mut l);
        l
    };
    expect(
        &change(&|l| l.id_token_claims["iss"] = "https://idp.example/".into()),
        Code::IdTokenIssMismatch,
    );
    expect(
        &change(&|l| l.id_token_claims["aud"] = "mobile".into()),
        Code::IdTokenAudMismatch,
    );
    expect(
        &change(&|l| l.id_token_claims["nonce"] = "other".into()),
        Code::IdTokenNonceMismatch,
    );
    expect(
        &change(&|l| l.id_token_claims["at_hash"] = "xxxxxxxxxxxxxxxxxxxxxx".into()),
        Code::IdTokenAtHashMismatch,
    );
    let r = expect(
        &change(&|l| l.id_token_claims["exp"] = (start - 600).into()),
        Code::IdTokenExpired,
    );
    let f = r
        .findings()
        .find(|f| f.code == Code::IdTokenExpired)
        .unwrap();
    assert!(
        f.message.contains("2024-05-01T10:00:0"),
        "checked against the capture's time: {}",
        f.message
    );
    // Inside the leeway: fine.
    assert!(codes_of(&change(&|l| l.id_token_claims["exp"] = (start - 30).into())).is_empty());
    expect(
        &change(&|l| l.id_token_claims["iat"] = (start + 600).into()),
        Code::IdTokenIatFuture,
    );
    expect(
        &change(&|l| l.sign_with_foreign_key = true),
        Code::IdTokenKidUnknown,
    );
    expect(
        &change(&|l| l.id_token_alg_none = true),
        Code::IdTokenAlgNone,
    );
    expect(
        &change(&|l| {
            l.id_token_claims.as_object_mut().unwrap().remove("sub");
        }),
        Code::IdTokenMissingClaim,
    );
    // Same kid, another key: the signature does not verify.
    let mut l = Login::new(Shape::Chrome);
    let mut jwk = l.foreign.public_jwk().clone();
    jwk.common.key_id = Some(l.key.kid().to_string());
    l.jwks_body = Some(serde_json::json!({"keys": [jwk]}));
    expect(&l, Code::IdTokenSignature);
    // Without a JWKS in the capture the signature is simply not checked.
    let r = change(&|l| l.jwks = false).report();
    assert!(show(&r).contains("not checked (no JWKS response in the capture)"));
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn callback_errors_are_explained() {
    let mut l = Login::new(Shape::Chrome);
    l.callback_error = Some(("access_denied", "The user denied the request"));
    let r = expect(&l, Code::CallbackError);
    let f = r
        .findings()
        .find(|f| f.code == Code::CallbackError)
        .unwrap();
    assert!(
        f.message.contains("RFC 6749 section 4.1.2.1"),
        "{}",
        f.message
    );
    let mut l = Login::new(Shape::Chrome);
    l.callback_error = Some(("login_required", "prompt=none"));
    let r = expect(&l, Code::CallbackError);
    assert!(show(&r).contains("OpenID Connect Core"));
    let mut l = Login::new(Shape::Chrome);
    l.callback_iss = Some("https://evil.example".into());
    expect(&l, Code::CallbackIssMismatch);
}

#[test]
fn userinfo_errors_are_explained() {
    use candor_doctor::har::build::Resp;
    let mut l = Login::new(Shape::Chrome);
    l.userinfo = Some(Resp::empty(401).header(
        "WWW-Authenticate",
        r#"Bearer error="invalid_token", error_description="The access token expired""#,
    ));
    // The provider's words name the cause.
    let r = expect(&l, Code::TokenExpired);
    assert!(show(&r).contains("RFC 6750"), "{}", show(&r));
    let mut l = Login::new(Shape::Chrome);
    l.userinfo = Some(Resp::json(200, serde_json::json!({"sub": "248289761001"})));
    assert!(codes_of(&l).is_empty());
}

#[test]
fn clock_skew_from_date_headers() {
    let mut l = Login::new(Shape::Chrome);
    let t = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(
            (candor_doctor::har::build::DEFAULT_START_MS / 1000 + 600) as u64,
        );
    l.provider_headers
        .push(("Date".into(), httpdate::fmt_http_date(t)));
    let r = expect(&l, Code::ClockSkew);
    assert!(show(&r).contains("ahead of"), "{}", show(&r));
}

#[test]
fn refresh_token_reuse() {
    use candor_doctor::har::build::{Req, Resp};
    let l = Login::new(Shape::Chrome);
    let mut b = l.builder();
    for _ in 0..2 {
        b.entry(
            Req::post_form(
                "https://idp.example/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", REFRESH_TOKEN),
                    ("client_id", "web"),
                ],
            ),
            Resp::json(
                200,
                serde_json::json!({"access_token": "new-access", "token_type": "Bearer"}),
            ),
        );
    }
    let r = analyze(&b);
    assert!(r.has(Code::RefreshTokenReused), "{}", show(&r));
    assert_eq!(
        r.groups
            .iter()
            .filter(|g| g.title.starts_with("Flow"))
            .count(),
        1,
        "refreshes join the login flow:\n{}",
        show(&r)
    );
    assert_redacted(&r);
}

#[test]
fn implicit_flow_and_secrets_in_urls() {
    let mut l = Login::new(Shape::Chrome);
    l.response_type = "id_token token";
    expect(&l, Code::ResponseTypeUnsupported);
}

#[test]
fn authorization_error_pages() {
    use candor_doctor::har::build::{HarBuilder, Req, Resp};
    let mut b = HarBuilder::new(Shape::Chrome);
    b.entry(
        Req::get("https://idp.example/authorize?response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F&state=s&code_challenge=abc&code_challenge_method=S256"),
        Resp::html(400, "<html><title>Invalid redirect</title><p>diagnosis: redirect_uri.not_registered</p></html>").header("Set-Cookie", "x=y"),
    );
    let r = analyze(&b);
    assert!(r.has(Code::RedirectUriNotRegistered), "{}", show(&r));
    let mut b = HarBuilder::new(Shape::Chrome);
    b.entry(
        Req::get("https://idp.example/authorize?response_type=code&client_id=nobody&state=s&code_challenge=abc&code_challenge_method=S256"),
        Resp::html(400, "<html><title>Error</title><p>Unknown client</p></html>").header("Set-Cookie", "x=y"),
    );
    let r = analyze(&b);
    assert!(r.has(Code::AuthorizationErrorPage), "{}", show(&r));
}

#[test]
fn discovery_and_jwks_problems() {
    use candor_doctor::har::build::{HarBuilder, Req, Resp};
    let doc = serde_json::json!({
        "issuer": "https://idp.example/realms/other",
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": "http://idp.example/token",
        "jwks_uri": "https://idp.example/jwks",
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let mut b = HarBuilder::new(Shape::Firefox);
    b.entry(
        Req::get("https://idp.example/.well-known/openid-configuration"),
        Resp::json(200, doc),
    );
    b.entry(
        Req::get("https://idp.example/jwks"),
        Resp::json(200, serde_json::json!({"keys": [key().public_jwk()]})),
    );
    let r = analyze(&b);
    let c = problems(&r);
    for code in [
        Code::DiscoveryIssuerMismatch,
        Code::DiscoveryMissingField,
        Code::TransportInsecureHttp,
        Code::JwksAlgMismatch,
    ] {
        assert!(c.contains(&code), "{code} missing:\n{}", show(&r));
    }
    let mut b = HarBuilder::new(Shape::Firefox);
    b.entry(
        Req::get("https://idp.example/.well-known/openid-configuration"),
        Resp::html(200, "<html>hello</html>"),
    );
    assert!(analyze(&b).has(Code::DiscoveryNotJson));
    let mut b = HarBuilder::new(Shape::Firefox);
    b.entry(
        Req::get("https://idp.example/.well-known/openid-configuration"),
        Resp::html(404, "<html>not found</html>"),
    );
    assert!(analyze(&b).has(Code::DiscoveryHttpStatus));
    let mut b = HarBuilder::new(Shape::Firefox);
    b.entry(
        Req::get("https://idp.example/jwks"),
        Resp::json(
            200,
            serde_json::json!({"keys": [{"kty": "RSA", "kid": "k"}]}),
        ),
    );
    let r = analyze(&b);
    assert!(r.has(Code::JwksMalformed), "{}", show(&r));
}

#[test]
fn a_capture_without_oauth() {
    use candor_doctor::har::build::{HarBuilder, Req, Resp};
    let mut b = HarBuilder::new(Shape::Safari);
    b.entry(
        Req::get("https://www.example/"),
        Resp::html(200, "<html></html>"),
    );
    let r = analyze(&b);
    assert!(r.has(Code::HarNoFlow));
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn a_grant_type_that_is_no_grant_type_is_named() {
    use candor_doctor::har::build::{HarBuilder, Req, Resp};
    let token = |grant: &str| {
        let mut b = HarBuilder::new(Shape::Mitmproxy);
        b.entry(
            Req::post_form(
                "https://idp.example/token",
                &[("grant_type", grant), ("code", "abcdefgh12345678")],
            )
            .basic("web", "s3cret-value-0123456789")
            .header("User-Agent", "python-requests/2.32.3"),
            Resp::json(400, serde_json::json!({"error": "unsupported_grant_type"})),
        );
        analyze(&b)
    };
    let r = token("authorisation_code");
    let f = r
        .findings()
        .find(|f| f.code == Code::GrantTypeUnsupported)
        .unwrap_or_else(|| panic!("{}", show(&r)));
    assert!(
        f.message.contains("It is nearly 'authorization_code'"),
        "{}",
        f.message
    );
    // The provider's refusal says the same: one fact, one finding, which holds both.
    assert_eq!(
        r.findings()
            .filter(|f| f.code == Code::GrantTypeUnsupported)
            .count(),
        1,
        "{}",
        show(&r)
    );
    assert!(
        flat(&r).contains("error 'unsupported_grant_type'"),
        "{}",
        show(&r)
    );
    // Extension grants are absolute URIs, and the four RFC 6749 names are grant types: neither
    // is flagged by the request check (the provider's own unsupported_grant_type still says
    // it does not support that grant).
    for g in [
        "urn:ietf:params:oauth:grant-type:device_code",
        "client_credentials",
        "password",
    ] {
        assert!(
            !token(g)
                .findings()
                .any(|f| f.code == Code::GrantTypeUnsupported
                    && f.message.contains("is not a grant type")),
            "{g}"
        );
    }
    let r = token("magic");
    let f = r
        .findings()
        .find(|f| f.code == Code::GrantTypeUnsupported)
        .unwrap();
    assert!(!f.message.contains("nearly"), "{}", f.message);
}

#[test]
fn json_output_has_the_contract_shape() {
    let mut l = Login::new(Shape::Chrome);
    l.token_redirect_uri = Some("https://app.example/cb/".into());
    let r = l.report();
    let j = candor_doctor::render::json(&r);
    let f = &j["findings"][0];
    for k in [
        "code", "severity", "message", "fix", "expected", "received", "docs", "source",
    ] {
        assert!(f.get(k).is_some(), "{k} missing in {f}");
    }
    assert_eq!(f["code"], "redirect_uri.trailing_slash");
    assert_eq!(f["source"]["kind"], "entry");
    assert_eq!(j["exit_status"], 1);
}
