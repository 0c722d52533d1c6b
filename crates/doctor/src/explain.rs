//! Explaining failures as findings: a client-side failure kind by its catalogue entry, an
//! OAuth error response by what its `error` value means in the RFCs and by the provider's own
//! diagnosis when it sends one (Candor does), an error page by the catalogue code it names.

use candor_client::{ErrorKind, OAuthErrorResponse};
use candor_proto::Code;
use candor_proto::diagnosis::Side;

use crate::finding::{Finding, Severity};
use crate::prose::{capitalise, sentence};

/// A finding from a client-side failure kind.
pub fn finding_from_kind(kind: &ErrorKind, severity: Severity) -> Finding {
    if let ErrorKind::OAuth(err) = kind {
        return oauth_error_finding(err, "The endpoint refused the request");
    }
    Finding::new(kind.code(), severity, sentence(&kind.to_string()))
        .maybe_expected(kind.expected())
        .maybe_received(kind.received())
}

/// A server-side catalogue code named in an error page, if any.
pub fn server_code_in(body: &str) -> Option<Code> {
    Code::ALL
        .iter()
        .copied()
        .filter(|c| c.entry().side == Side::Server && body.contains(c.as_str()))
        .max_by_key(|c| c.as_str().len())
}

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
    f.provider_error = Some(err.error.clone());
    if code == Code::ResponseOAuthError
        && let Some(m) = meaning
    {
        f = f.fix(format!("{}.", capitalise(m.fix)));
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

    #[test]
    fn server_codes_in_pages() {
        assert_eq!(
            server_code_in("<p>diagnosis: redirect_uri.not_registered</p>"),
            Some(Code::RedirectUriNotRegistered)
        );
        assert_eq!(server_code_in("<p>nothing</p>"), None);
    }
}
