//! Malformed, duplicated, oversized and hostile input at the back-channel endpoints: each
//! gets its RFC error with a diagnosis; nothing panics; nothing is stored.

use crate::common::{Auth, TestServer};

crate::both!(
    methods_other_than_post,
    content_types_other_than_form,
    duplicated_parameters,
    non_utf8_bodies,
    oversized_bodies,
    hostile_strings_come_back_quoted,
    empty_values_count_as_missing,
);

const ENDPOINTS: [&str; 3] = ["/token", "/introspect", "/revoke"];

async fn methods_other_than_post(s: TestServer) {
    for path in ENDPOINTS {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ] {
            let r = s
                .http
                .request(method.clone(), s.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 405, "{method} {path}");
            assert_eq!(r.headers()["allow"], "POST");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["diagnosis"], "token_request.not_post");
        }
    }
}

async fn content_types_other_than_form(s: TestServer) {
    let (id, secret) = s.service_client().await;
    for path in ENDPOINTS {
        let json = s
            .post_raw(
                path,
                Some("application/json"),
                br#"{"grant_type":"client_credentials"}"#.to_vec(),
                Auth::Basic(&id, &secret),
            )
            .await;
        let body = json.assert_error(400, "invalid_request", "token_request.json_body");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("application/x-www-form-urlencoded")
        );
        for ct in [
            Some("text/plain"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            s.post_raw(
                path,
                ct,
                b"grant_type=client_credentials".to_vec(),
                Auth::Basic(&id, &secret),
            )
            .await
            .assert_error(
                400,
                "invalid_request",
                "token_request.unsupported_content_type",
            );
        }
    }
    // A charset parameter is fine.
    let r = s
        .post_raw(
            "/token",
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            b"grant_type=client_credentials".to_vec(),
            Auth::Basic(&id, &secret),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn duplicated_parameters(s: TestServer) {
    let (id, secret) = s.service_client().await;
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=read&scope=write",
        &format!("grant_type=client_credentials&client_id={id}&client_id={id}"),
    ] {
        let r = s
            .post_raw(
                "/token",
                Some("application/x-www-form-urlencoded"),
                body.as_bytes().to_vec(),
                Auth::Basic(&id, &secret),
            )
            .await;
        r.assert_error(400, "invalid_request", "token_request.duplicate_parameter");
    }
    s.post_raw(
        "/introspect",
        Some("application/x-www-form-urlencoded"),
        b"token=a&token=b".to_vec(),
        Auth::Basic(&id, &secret),
    )
    .await
    .assert_error(400, "invalid_request", "token_request.duplicate_parameter");
}

async fn non_utf8_bodies(s: TestServer) {
    let (id, secret) = s.service_client().await;
    for body in [
        b"grant_type=client_credentials&scope=%FF%FE".to_vec(),
        vec![b'g', b'=', 0xc3, 0x28],
    ] {
        s.post_raw(
            "/token",
            Some("application/x-www-form-urlencoded"),
            body,
            Auth::Basic(&id, &secret),
        )
        .await
        .assert_error(400, "invalid_request", "token_request.malformed_body");
    }
}

async fn oversized_bodies(s: TestServer) {
    let (id, secret) = s.service_client().await;
    let huge = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(200 * 1024)
    );
    for path in ENDPOINTS {
        let r = s
            .post_raw(
                path,
                Some("application/x-www-form-urlencoded"),
                huge.clone().into_bytes(),
                Auth::Basic(&id, &secret),
            )
            .await;
        r.assert_error(413, "invalid_request", "token_request.too_large");
    }
    // Without Content-Length (chunked), the limit holds as well (80 KiB: small enough that
    // the client finishes sending before the server answers and closes).
    let stream = futures::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 4096])));
    let r = s
        .http
        .post(s.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

async fn hostile_strings_come_back_quoted(s: TestServer) {
    let hostile = "x'); DROP TABLE clients; -- <script>alert(\"1\")</script>\\";
    let r = s
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Auth::Basic(hostile, "s"),
        )
        .await;
    let body = r.assert_error(401, "invalid_client", "client_auth.unknown_client");
    let d = body["error_description"].as_str().unwrap();
    assert!(!d.contains('"') && !d.contains('\\'), "{d}");
    assert!(d.contains("DROP TABLE"), "the received value is shown: {d}");
    let r = s
        .post_form("/token", &[("grant_type", hostile)], Auth::None)
        .await;
    r.assert_error(400, "unsupported_grant_type", "grant_type.unsupported");
    // Still there, still working.
    let (id, secret) = s.service_client().await;
    s.cc_token(&id, &secret, None).await;
    assert_eq!(s.store.list_clients().await.unwrap().len(), 1);
}

async fn empty_values_count_as_missing(s: TestServer) {
    let (id, secret) = s.service_client().await;
    let body = s
        .post_form("/token", &[("grant_type", "")], Auth::Basic(&id, &secret))
        .await
        .assert_error(400, "invalid_request", "token_request.missing_parameter");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("empty")
    );
    s.post_raw(
        "/token",
        Some("application/x-www-form-urlencoded"),
        Vec::new(),
        Auth::Basic(&id, &secret),
    )
    .await
    .assert_error(400, "invalid_request", "token_request.missing_parameter");
}
