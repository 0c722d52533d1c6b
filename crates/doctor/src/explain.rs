//! Explaining failures as findings: a client-side failure kind by its catalogue entry, an
//! OAuth error response by what its `error` value means in the RFCs and by the provider's own
//! diagnosis when it sends one (Candor does) or by its own words ([`crate::phrases`]), an error
//! page by the catalogue code or the provider phrase it holds.

use candor_client::{ErrorKind, OAuthErrorResponse};
use candor_proto::Code;
use candor_proto::diagnosis::Side;

use crate::finding::{Finding, Severity};
use crate::phrases;
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

/// What an error page says is wrong: a catalogue code it names (a Candor page), else the
/// provider's own phrase ([`crate::phrases`]); with the sentence that says so.
pub fn page_cause(body: &str) -> Option<(Code, String)> {
    if let Some(c) = server_code_in(body) {
        return Some((
            c,
            format!("The provider names the cause: {c} ({}).", c.entry().title),
        ));
    }
    phrases::in_page(body).map(|m| (m.code, m.sentence()))
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
    oauth_error_finding_at(err, what, None)
}

/// A finding for an error response to a request of `grant` (a token request's grant_type):
/// the provider's diagnosis when it sends one (Candor does), else its own words when the
/// phrase table knows them, else what the RFC says the error value means.
pub fn oauth_error_finding_at(
    err: &OAuthErrorResponse,
    what: &str,
    grant: Option<&str>,
) -> Finding {
    let phrase = (err.code() == Code::ResponseOAuthError)
        .then(|| phrases::in_error(&err.error, err.description.as_deref(), grant))
        .flatten();
    // An error value whose RFC meaning is one cause names it when no phrase says more.
    // Unless the words say another parameter is what is wrong (zitadel/oidc answers an
    // invalid id_token_hint with login_required).
    let by_value = (err.code() == Code::ResponseOAuthError
        && phrase.is_none()
        && !err
            .description
            .as_deref()
            .is_some_and(phrases::states_other_parameter_defect))
    .then(|| cause_of_error_value_at(&err.error, grant))
    .flatten();
    // Words that leave several causes name none of them, unless the grant of the request
    // singles one out (a refresh).
    let candidates: &[Code] = match &phrase {
        Some(m) if !m.candidates().is_empty() => {
            let resolved = grant == Some("refresh_token") && m.phrase.refresh_code.is_some();
            if resolved { &[] } else { m.candidates() }
        }
        Some(_) => &[],
        None if err.code() == Code::ResponseOAuthError && err.error == "invalid_client" => {
            INVALID_CLIENT_CANDIDATES
        }
        // A bare unsupported_grant_type to a request whose grant_type is not known: several
        // providers (IdentityServer, Authlib) answer a *missing* grant_type with it, which is
        // most often a body they could not read as a form.
        None if err.code() == Code::ResponseOAuthError
            && err.error == "unsupported_grant_type"
            && grant.is_none()
            && err
                .description
                .as_deref()
                .is_none_or(|d| d.trim().is_empty()) =>
        {
            UNSUPPORTED_GRANT_TYPE_CANDIDATES
        }
        None => &[],
    };
    let code = if !candidates.is_empty() {
        Code::ResponseOAuthError
    } else {
        phrase
            .as_ref()
            .map(|m| m.code)
            .or(by_value)
            .unwrap_or(err.code())
    };
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
    if !candidates.is_empty() {
        message.push(' ');
        message.push_str(&candidates_sentence(phrase.as_ref(), candidates));
    } else if let Some(m) = &phrase {
        message.push(' ');
        message.push_str(&m.sentence());
    } else if let Some(c) = by_value {
        message.push_str(&format!(
            " The error value itself names the cause: {c} ({}).",
            c.entry().title
        ));
    } else if code != Code::ResponseOAuthError {
        message.push_str(&format!(
            " The provider names the cause: {} ({}).",
            code,
            code.entry().title
        ));
    }
    let mut received = match &err.description {
        Some(d) => format!("error '{}', error_description '{d}'", err.error),
        None => format!("error '{}' without error_description", err.error),
    };
    if let Some((what, v)) = phrase.as_ref().and_then(|m| m.offending.as_ref()) {
        received.push_str(&format!("; the {what} refused: '{v}'"));
    }
    // The provider's own link first; else the page the phrase table read it from.
    let docs = err.uri.clone().or_else(|| {
        phrase
            .as_ref()
            .map(|m| m.phrase.source)
            .filter(|s| s.starts_with("https://"))
            .map(str::to_string)
    });
    let mut f = Finding::new(code, severity_of(code), message)
        .expected("a successful response")
        .received(received)
        .provider_docs(docs);
    f.provider_error = Some(err.error.clone());
    f.candidates = candidates.to_vec();
    if code == Code::ResponseOAuthError
        && let Some(m) = meaning
    {
        f = f.fix(format!("{}.", capitalise(m.fix)));
    }
    f
}

/// The severity a discovery document's missing member deserves (docs/doctor.md, "Severity"):
/// an error for the members every client needs to run a flow, a warning naming the clients
/// that refuse the document for the members the others do without.
pub fn missing_field_severity(field: &str) -> (Severity, Option<&'static str>) {
    match field {
        "response_types_supported"
        | "subject_types_supported"
        | "id_token_signing_alg_values_supported" => (
            Severity::Warning,
            Some(
                "OpenID Connect Discovery requires it, but openid-client, oauth4webapi, Authlib's client and MSAL run the flow without it; clients whose parser requires it refuse the whole document: Spring Security (Nimbus OIDCProviderMetadata) and the Rust openidconnect crate",
            ),
        ),
        _ => (Severity::Error, None),
    }
}

/// The finding for a problem of a discovery document, at the severity it deserves.
pub fn discovery_problem(kind: &ErrorKind) -> Finding {
    if let ErrorKind::DiscoveryMissingField { field } = kind {
        let (severity, who) = missing_field_severity(field);
        let mut f = finding_from_kind(kind, severity);
        if let Some(who) = who {
            f.message.push_str(&format!(" {}.", capitalise(who)));
        }
        return f;
    }
    finding_from_kind(kind, Severity::Error)
}

/// What an `invalid_client` without distinguishing words may mean, most likely first.
pub const INVALID_CLIENT_CANDIDATES: &[Code] = &[
    Code::ClientAuthSecretMismatch,
    Code::ClientUnknown,
    Code::ClientAuthMethodMismatch,
    Code::ClientAuthMissing,
];

/// A bare `unsupported_grant_type`: a grant_type the provider does not know, or none it
/// could read.
pub const UNSUPPORTED_GRANT_TYPE_CANDIDATES: &[Code] = &[
    Code::GrantTypeUnsupported,
    Code::TokenRequestMissingParameter,
    Code::TokenRequestUnsupportedContentType,
];

/// The cause an RFC error value names by itself: only the values whose meaning is one cause
/// (RFC 6749 section 5.2, OpenID Connect Core 3.1.2.6, RFC 8628 section 3.5).
pub fn cause_of_error_value(error: &str) -> Option<Code> {
    Some(match error {
        "unsupported_grant_type" => Code::GrantTypeUnsupported,
        "unsupported_response_type" => Code::ResponseTypeUnsupported,
        "invalid_scope" => Code::ScopeUnknown,
        "consent_required" => Code::PromptConsentRequired,
        "login_required" => Code::PromptLoginRequired,
        // RFC 8628 section 3.5: the device flow's states.
        "authorization_pending" => Code::DeviceAuthorizationPending,
        "slow_down" => Code::DeviceSlowDown,
        "expired_token" => Code::DeviceCodeExpired,
        "temporarily_unavailable" => Code::ProviderUnavailable,
        _ => return None,
    })
}

/// The severity of a provider's answer: a device flow's "not yet" is how polling works (RFC
/// 8628 section 3.5), not a failure, and a clean device login holds several; "slow down" is
/// the client polling faster than asked, which works but should not. Every other refusal is an
/// error.
pub fn severity_of(code: Code) -> Severity {
    match code {
        Code::DeviceAuthorizationPending => Severity::Info,
        Code::DeviceSlowDown => Severity::Warning,
        _ => Severity::Error,
    }
}

/// The grant_type of a device flow's token poll (RFC 8628 section 3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The cause an error value names at a request of `grant`: at a device flow's poll,
/// `access_denied` is the user declining on the verification page (RFC 8628 section 3.5);
/// elsewhere it may be the user or a rule of the provider.
pub fn cause_of_error_value_at(error: &str, grant: Option<&str>) -> Option<Code> {
    if grant == Some(DEVICE_CODE_GRANT) && error == "access_denied" {
        return Some(Code::DeviceDenied);
    }
    cause_of_error_value(error)
}

/// What tells the candidates apart, by the family they belong to.
fn discriminators(candidates: &[Code]) -> &'static str {
    use Code::*;
    if candidates.iter().any(|c| {
        matches!(
            c,
            ClientAuthSecretMismatch | ClientAuthMethodMismatch | ClientUnknown | ClientAuthMissing
        )
    }) {
        "the method the client authenticated with (a Basic header, client_secret in the form, a client_assertion) against the provider's token_endpoint_auth_methods_supported and the method the client is registered for; whether the client_id exists on this provider and environment; whether the secret was rotated or has expired (`candor doctor har` compares the method with discovery when the capture holds both)"
    } else if candidates.iter().any(|c| {
        matches!(
            c,
            TokenRequestMissingParameter
                | TokenRequestUnsupportedContentType
                | TokenRequestJsonBody
        )
    }) {
        "the request's Content-Type and body: a form (application/x-www-form-urlencoded) with grant_type, or JSON or nothing the provider could read"
    } else {
        "the grant of the request (an authorization code or a refresh token) and the times of the user's session; a capture of the exchange (`candor doctor har`) holds both"
    }
}

/// The sentence for words that leave several causes: the candidates, most likely first, and
/// what tells them apart.
fn candidates_sentence(phrase: Option<&phrases::Match>, candidates: &[Code]) -> String {
    let list: Vec<String> = candidates
        .iter()
        .map(|c| format!("{c} ({})", c.entry().title.trim_end_matches('.')))
        .collect();
    let whose = match phrase {
        Some(m) => {
            let mut s = format!("These words ({}) leave several causes", m.phrase.provider);
            if let Some(n) = m.phrase.note {
                s.push_str(&format!(" ({n})"));
            }
            s
        }
        None => "Without words that say more, this error leaves several causes".to_string(),
    };
    format!(
        "{whose}, most likely first: {}. What tells them apart: {}.",
        list.join("; "),
        discriminators(candidates)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_unsupported_grant_type_names_a_cause_only_with_the_grant() {
        let e = OAuthErrorResponse {
            status: 400,
            error: "unsupported_grant_type".into(),
            description: None,
            uri: None,
            diagnosis: None,
        };
        // A response alone: an unknown grant_type, or none the provider could read.
        let f = oauth_error_finding(&e, "x");
        assert_eq!(f.code, Code::ResponseOAuthError);
        assert_eq!(f.candidates, UNSUPPORTED_GRANT_TYPE_CANDIDATES);
        // The request sent a grant_type: the provider does not support that value.
        let f = oauth_error_finding_at(&e, "x", Some("authorisation_code"));
        assert_eq!(f.code, Code::GrantTypeUnsupported);
        assert!(f.candidates.is_empty());
    }

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
    fn device_flow_states_by_error_value_and_grant() {
        assert_eq!(
            cause_of_error_value_at("access_denied", Some(DEVICE_CODE_GRANT)),
            Some(Code::DeviceDenied)
        );
        assert_eq!(cause_of_error_value_at("access_denied", None), None);
        assert_eq!(
            cause_of_error_value("slow_down"),
            Some(Code::DeviceSlowDown)
        );
        // Polling before the user approved is how the flow works: a note, not an error.
        let e = OAuthErrorResponse {
            status: 400,
            error: "authorization_pending".into(),
            description: None,
            uri: None,
            diagnosis: None,
        };
        let f = oauth_error_finding_at(&e, "x", Some(DEVICE_CODE_GRANT));
        assert_eq!(
            (f.code, f.severity),
            (Code::DeviceAuthorizationPending, Severity::Info)
        );
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
