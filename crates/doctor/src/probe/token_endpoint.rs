//! Steps 7 and 8: the token endpoint's answer to a deliberately bad request (it must be an
//! RFC 6749 section 5.2 error), and a client_credentials grant when credentials are given.

use candor_client::discovery::ProviderMetadata;
use candor_client::error::{ClientError, ErrorKind};
use candor_client::http::HttpClient;
use candor_client::id_token::{self, ParsedJwks};
use candor_client::response::classify_token_response;
use candor_client::token::{ClientAuth, Grant, TokenRequest};
use candor_proto::Code;
use candor_proto::client_auth::AuthMethod;
use candor_proto::secret::{Secret, hint};

use super::{ProbeOptions, client_failure};
use crate::explain::{self, page_cause};
use crate::finding::{Finding, Group, Severity};
use crate::id_token::{Checks, Keys, Part, Signature, Unverifiable};

pub(super) async fn bad_token_request(http: &HttpClient, endpoint: &str, g: &mut Group) {
    let body = "grant_type=authorization_code&code=candor-doctor-probe-invalid-code&redirect_uri=https%3A%2F%2Fcandor-doctor.invalid%2Fcb&client_id=candor-doctor-probe";
    g.lines.push(format!(
        "POST {endpoint} with an invalid code for an unknown client (it must be refused)"
    ));
    let raw = match http.post_form(endpoint, Vec::new(), body.to_string()).await {
        Ok(r) => r,
        Err(e) => {
            g.findings.push(client_failure(&e, "token_endpoint"));
            return;
        }
    };
    match classify_token_response(raw.status, raw.content_type(), raw.location(), &raw.body) {
        Err(ErrorKind::OAuth(err)) => {
            g.lines.push(format!(
                "answered HTTP {} with an RFC 6749 section 5.2 error: '{}'{} -- as it should",
                err.status,
                err.error,
                err.description
                    .as_deref()
                    .map(|d| format!(" ('{d}')"))
                    .unwrap_or_default()
            ));
            if !raw
                .content_type()
                .is_some_and(|c| c.to_ascii_lowercase().contains("json"))
            {
                g.lines.push(format!(
                    "note: Content-Type is {}, not application/json",
                    raw.content_type().unwrap_or("missing")
                ));
            }
        }
        Ok(resp) => {
            g.findings.push(
                Finding::new(
                    Code::ResponseOAuthError,
                    Severity::Error,
                    "The token endpoint issued a token for an invalid code of an unknown client: it does not check what it is sent.",
                )
                .expected("HTTP 400 or 401 with an RFC 6749 error")
                .received(format!("HTTP {}: {}", raw.status, resp.summary()))
                .fix("Report this to the provider: its token endpoint must refuse invalid grants.")
                .step("token_endpoint"),
            );
        }
        Err(kind) => {
            let mut f = client_failure(
                &ClientError::with_exchange(kind.clone(), raw.exchange.clone()),
                "token_endpoint",
            );
            f.message = format!(
                "The token endpoint's answer to an invalid request is not an RFC 6749 section 5.2 error, so clients cannot say what went wrong: {}",
                f.message
            );
            if let ErrorKind::Html { .. } = kind
                && let Some((_, named)) = page_cause(&raw.text())
            {
                f.message.push(' ');
                f.message.push_str(&named);
            }
            g.findings.push(f);
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn client_credentials_step(
    http: &HttpClient,
    endpoint: &str,
    client_id: &str,
    secret: &Secret,
    m: &ProviderMetadata,
    jwks: Option<&ParsedJwks>,
    opts: &ProbeOptions,
    g: &mut Group,
) {
    let supported = &m.token_endpoint_auth_methods_supported;
    let method = opts.auth_method.unwrap_or_else(|| {
        if supported.is_empty() || supported.iter().any(|s| s == "client_secret_basic") {
            AuthMethod::ClientSecretBasic
        } else if supported.iter().any(|s| s == "client_secret_post") {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::ClientSecretBasic
        }
    });
    let Some(auth) = ClientAuth::with_secret(method, client_id.to_string(), secret.clone()) else {
        g.informational = true;
        g.lines
            .push("skipped: private_key_jwt needs a key, not a secret".into());
        return;
    };
    let mut req = TokenRequest::new(Grant::ClientCredentials, auth);
    req.scope = opts.scope.clone();
    g.lines.push(format!(
        "client_credentials for '{client_id}' with {method}, secret {}",
        hint(secret.expose())
    ));
    match http.token_raw(endpoint, &req).await {
        Err(e) => g.findings.push(client_failure(&e, "client_credentials")),
        Ok((Err(e), _))
            if matches!(&e.kind, ErrorKind::OAuth(err)
                if err.error == "unauthorized_client"
                    || err.diagnosis.as_deref() == Some("grant_type.not_allowed")) =>
        {
            // The client is known and authenticated, but this grant is not one of its own (a
            // web application's client uses authorization_code): nothing is wrong with it.
            g.informational = true;
            g.lines.push(format!(
                "skipped: '{client_id}' may not use client_credentials (the token endpoint said unauthorized_client); its credentials were accepted. Pass --redirect-uri to check its authorization requests instead"
            ));
        }
        Ok((Err(e), _)) => {
            let f = match &e.kind {
                ErrorKind::OAuth(err) => explain::oauth_error_finding(
                    err,
                    "The token endpoint refused the client_credentials request",
                )
                .step("client_credentials"),
                _ => client_failure(&e, "client_credentials"),
            };
            g.findings.push(f);
        }
        Ok((Ok(tokens), _)) => {
            g.lines.push(format!("token issued: {}", tokens.summary()));
            let at = tokens.access_token.expose();
            if candor_proto::jose::looks_like_jwt(at)
                && let Ok(d) = id_token::decode_unverified(at)
            {
                let mut line = format!(
                    "the access token is a JWT: alg {}, iss {}, aud {}",
                    d.alg().unwrap_or("?"),
                    d.claims
                        .get("iss")
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "(none)".into()),
                    d.claims
                        .get("aud")
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "(none)".into()),
                );
                if let Some(j) = jwks {
                    let sets = [&j.jwks];
                    let checks = Checks {
                        keys: Keys::Sets(&sets),
                        unverifiable: Unverifiable::Fails,
                        // An access token's claims are the resource server's to check.
                        claims: None,
                    };
                    let place = |_: Part<'_>, f: Finding| {
                        f.step("client_credentials")
                            .fix("Tokens must verify with the keys the provider publishes: check the JWKS and the signing key.")
                    };
                    let checked = crate::id_token::check(at, &checks, place, &mut g.findings);
                    if checked.is_some_and(|c| matches!(c.signature, Signature::Verified { .. })) {
                        line.push_str("; its signature verifies with the JWKS");
                    }
                }
                g.lines.push(line);
            }
        }
    }
}
