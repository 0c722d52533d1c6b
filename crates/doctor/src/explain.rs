//! Explaining an OAuth error response by what its `error` value means in the RFCs, and by the
//! provider's own diagnosis when it sends one (Candor does).

use candor_client::OAuthErrorResponse;
use candor_proto::Code;

use crate::finding::{Finding, Severity};

/// A finding for an RFC 6749 §5.2 (or RFC 6750 §3) error response.
pub fn oauth_error_finding(err: &OAuthErrorResponse, what: &str) -> Finding {
    let code = err.code();
    let meaning = err.meaning();
    let mut message = format!("{what}: HTTP {}, error '{}'", err.status, err.error);
    if let Some(d) = &err.description {
        message.push_str(&format!(" ('{d}')"));
    }
    message.push('.');
    match meaning {
        Some(m) => message.push_str(&format!(" In {}, '{}' means: {}.", m.source, m.error, m.meaning)),
        None => message.push_str(" This error value is not defined by the OAuth or OpenID Connect specifications; it is the provider's own."),
    }
    if code != Code::ResponseOAuthError {
        message.push_str(&format!(
            " The provider names the cause: {} ({}).",
            code,
            code.entry().title
        ));
    }
    let received = match &err.description {
        Some(d) => format!("error '{}', error_description '{d}'", err.error),
        None => format!("error '{}' without error_description", err.error),
    };
    let mut f = Finding::new(code, Severity::Error, message)
        .expected("a successful response")
        .received(received)
        .provider_docs(err.uri.clone());
    if code == Code::ResponseOAuthError
        && let Some(m) = meaning
    {
        let mut fix = m.fix.to_string();
        if let Some(first) = fix.get(..1) {
            fix = first.to_uppercase() + fix.get(1..).unwrap_or("");
        }
        f = f.fix(format!("{fix}."));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_meaning_and_provider_diagnosis() {
        let e = OAuthErrorResponse {
            status: 400,
            error: "invalid_grant".into(),
            description: Some("redirect_uri differs".into()),
            uri: Some("https://idp/docs/errors/redirect_uri.trailing_slash".into()),
            diagnosis: Some("redirect_uri.trailing_slash".into()),
        };
        let f = oauth_error_finding(&e, "The token endpoint refused the request");
        assert_eq!(f.code, Code::RedirectUriTrailingSlash);
        assert!(f.message.contains("RFC 6749 section 5.2"));
        assert!(f.message.contains("The provider names the cause"));
        let e = OAuthErrorResponse {
            status: 401,
            error: "invalid_client".into(),
            description: None,
            uri: None,
            diagnosis: None,
        };
        let f = oauth_error_finding(&e, "x");
        assert_eq!(f.code, Code::ResponseOAuthError);
        assert!(f.fix.starts_with("Check client_id"), "{}", f.fix);
    }
}
