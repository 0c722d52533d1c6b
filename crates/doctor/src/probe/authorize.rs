//! Step 9: the authorization endpoint: does it accept the client and its redirect URI (a
//! login page, or a redirect back), or answer with an error page?

use candor_client::error::ErrorKind;
use candor_client::http::HttpClient;
use candor_client::response::html_title;
use candor_proto::Code;
use candor_proto::secret::random_token;
use url::Url;

use super::{ProbeOptions, client_failure, finding};
use crate::explain::{self, page_cause};
use crate::finding::{Finding, Group, Severity};
use crate::prose::sentence;

pub(super) async fn authorize_step(
    http: &HttpClient,
    endpoint: &str,
    client_id: &str,
    redirect: &str,
    opts: &ProbeOptions,
    g: &mut Group,
) {
    let verifier = random_token();
    let Ok(mut url) = Url::parse(endpoint) else {
        g.findings.push(finding(
            &ErrorKind::InvalidUrl {
                url: endpoint.into(),
                reason: "does not parse".into(),
            },
            "authorize",
        ));
        return;
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", opts.scope.as_deref().unwrap_or("openid"))
        .append_pair("state", "candor-doctor-probe")
        .append_pair("code_challenge", &crate::pkce::s256(verifier.expose()))
        .append_pair("code_challenge_method", "S256");
    g.lines.push(format!(
        "GET {endpoint} with client_id '{client_id}' and redirect_uri '{redirect}'"
    ));
    let raw = match http
        .get(url.as_str(), vec![("Accept".into(), "text/html".into())])
        .await
    {
        Ok(r) => r,
        Err(e) => {
            g.findings.push(client_failure(&e, "authorize"));
            return;
        }
    };
    let text = raw.text();
    if (300..400).contains(&raw.status) {
        let loc = raw.location().unwrap_or("");
        let target = url
            .join(loc)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| loc.to_string());
        if target.starts_with(redirect) {
            let params: Vec<(String, String)> = Url::parse(&target)
                .map(|u| {
                    u.query_pairs()
                        .map(|(a, b)| (a.into_owned(), b.into_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            match get("error") {
                Some(err) => {
                    let resp = candor_client::OAuthErrorResponse {
                        status: raw.status,
                        error: err,
                        description: get("error_description"),
                        uri: get("error_uri"),
                        diagnosis: get("diagnosis"),
                    };
                    g.lines.push("the redirect URI is accepted (the provider redirects to it)".into());
                    let mut f = explain::oauth_error_finding(&resp, "The authorization endpoint redirected back with an error").step("authorize");
                    if f.code == Code::ResponseOAuthError {
                        f.code = Code::CallbackError;
                    }
                    g.findings.push(f);
                }
                None => g.lines.push("the provider redirected straight back to the redirect URI (an existing session): it is accepted".into()),
            }
        } else {
            g.lines.push(format!(
                "HTTP {}: redirects to {} (a login page): the client_id and redirect URI are accepted",
                raw.status,
                candor_client::redact::url(&target)
            ));
        }
        return;
    }
    if (200..300).contains(&raw.status) {
        let lower = text.to_ascii_lowercase();
        if lower.contains("type=\"password\"")
            || lower.contains("type=password")
            || lower.contains("name=\"password\"")
        {
            g.lines.push(format!(
                "HTTP {}: a login page{}: the client_id and redirect URI are accepted",
                raw.status,
                html_title(&text)
                    .map(|t| format!(" ('{t}')"))
                    .unwrap_or_default()
            ));
        } else {
            g.lines.push(format!(
                "HTTP {}: a page{} without a password field; cannot tell whether it is a login or an error",
                raw.status,
                html_title(&text).map(|t| format!(" ('{t}')")).unwrap_or_default()
            ));
        }
        return;
    }
    let named = page_cause(&text);
    let title = html_title(&text);
    g.findings.push(
        Finding::new(
            named.as_ref().map(|n| n.0).unwrap_or(Code::AuthorizationErrorPage),
            Severity::Error,
            format!(
                "{}{}",
                sentence(&format!(
                    "the authorization endpoint answered HTTP {} with an error page{} instead of a login: users following this client's login link are stuck there",
                    raw.status,
                    title.map(|t| format!(" ('{t}')")).unwrap_or_default(),
                )),
                named.as_ref().map(|n| format!(" {}", n.1)).unwrap_or_default()
            ),
        )
        .expected(format!("a login page, or a redirect to '{redirect}'"))
        .received(format!("HTTP {}", raw.status))
        .fix(named.map(|n| n.0.entry().fix.to_string()).unwrap_or_else(|| {
            "Register this redirect URI for the client exactly as sent (scheme, host, port, path, trailing slash), and check the client_id.".into()
        }))
        .step("authorize"),
    );
}
