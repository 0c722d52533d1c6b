//! What providers say when they refuse, mapped to catalogue codes: one row per phrase.
//!
//! The RFC `error` values are few and broad (`invalid_grant` covers a wrong, expired or reused
//! code, a redirect_uri mismatch and a failed PKCE check), but most providers also say *which*
//! in their own words: an `error_description`, a number (Microsoft Entra's AADSTS codes), a
//! provider-specific `error` (GitHub's `bad_verification_code`), or the text of an error page.
//! This table reads those words. Each row names its source (the provider's documentation, or
//! the file of its source code that produces the phrase) so that a reader can check it, and a
//! test per row (`tests` below) holds the table to real or documented bodies.
//!
//! A phrase that several causes share (node oidc-provider's `grant request is invalid`) has no
//! row: the doctor then names the cause from the capture (a redirect_uri or PKCE comparison, a
//! code posted twice, the time since the callback), never from a guess.

use candor_proto::Code;

mod states;
mod structure;

/// What a row matches. Text comparisons ignore ASCII case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matcher {
    /// The `error` value alone: a provider-specific value no RFC defines.
    Error(&'static str),
    /// A phrase in `error_description` (or in the callback's), with this `error` value when
    /// one is given.
    Description {
        error: Option<&'static str>,
        contains: &'static str,
    },
    /// The whole `error_description` (trimmed, ASCII case ignored), for a provider whose
    /// short phrase is a prefix of others' (node oidc-provider's "client authentication
    /// failed" begins fosite's longer description).
    Exact {
        error: &'static str,
        description: &'static str,
    },
    /// A Microsoft Entra ID `AADSTS<n>:` number, in an `error_description` or on a page.
    Aadsts(u32),
    /// A phrase on the provider's HTML error page (the authorization endpoint's, mostly). Pages
    /// are also searched for the description phrases: many providers print those there.
    Page(&'static str),
    /// Not a phrase: what a description says of what, read by its structure when no row
    /// knows its words ([`structure`]).
    Structure {
        object: &'static str,
        condition: &'static str,
    },
}

/// Which value a phrase carries, and how to cut it out of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offending {
    /// What the value is: `redirect_uri`, `scope`, `client_id`, `parameter`.
    pub what: &'static str,
    /// The text right before the value.
    pub after: &'static str,
    /// The text right after it (the value ends at the first occurrence); `""`: the end of the
    /// text or of its line.
    pub before: &'static str,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phrase {
    /// The provider whose words these are.
    pub provider: &'static str,
    pub matcher: Matcher,
    pub code: Code,
    /// The code when the refused request was a refresh (the phrase is about "the grant").
    pub refresh_code: Option<Code>,
    /// The value the provider names, when it names one.
    pub offending: Option<Offending>,
    /// What the reader should know about the phrase: when it is broader than its code.
    pub note: Option<&'static str>,
    /// When the words alone leave several causes: the candidates, most likely first (the first
    /// is `code`). A finding then names none of them on the words alone; the request's own
    /// evidence (the method it authenticated with, the grant) may single one out.
    pub candidates: &'static [Code],
    /// Where the phrase comes from: a documentation URL, or `owner/repo:path` of the source.
    pub source: &'static str,
}

const fn row(provider: &'static str, matcher: Matcher, code: Code, source: &'static str) -> Phrase {
    Phrase {
        provider,
        matcher,
        code,
        refresh_code: None,
        offending: None,
        note: None,
        candidates: &[],
        source,
    }
}

impl Phrase {
    const fn refresh(mut self, code: Code) -> Self {
        self.refresh_code = Some(code);
        self
    }

    const fn value(
        mut self,
        what: &'static str,
        after: &'static str,
        before: &'static str,
    ) -> Self {
        self.offending = Some(Offending {
            what,
            after,
            before,
        });
        self
    }

    const fn note(mut self, note: &'static str) -> Self {
        self.note = Some(note);
        self
    }

    /// The words leave these causes (the row's code first).
    const fn candidates(mut self, codes: &'static [Code]) -> Self {
        self.candidates = codes;
        self
    }
}

const fn desc(error: &'static str, contains: &'static str) -> Matcher {
    Matcher::Description {
        error: Some(error),
        contains,
    }
}

const fn any_desc(contains: &'static str) -> Matcher {
    Matcher::Description {
        error: None,
        contains,
    }
}

const NODE_OIDC_PROVIDER: &str = "node oidc-provider";
const KEYCLOAK: &str = "Keycloak";
const AUTH0: &str = "Auth0";
const OKTA: &str = "Okta";
const ENTRA: &str = "Microsoft Entra ID";
const GOOGLE: &str = "Google";
const GITHUB: &str = "GitHub";
const COGNITO: &str = "Amazon Cognito";
const HYDRA: &str = "ORY Hydra (fosite)";
const AUTHLIB: &str = "Authlib";
const SPRING: &str = "Spring Authorization Server";

const OIDC_PROVIDER_ERRORS: &str = "panva/node-oidc-provider:lib/helpers/errors.js";
const ENTRA_CODES: &str =
    "https://learn.microsoft.com/entra/identity-platform/reference-error-codes";
const GITHUB_TOKEN_ERRORS: &str = "https://docs.github.com/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";
const GITHUB_AUTHZ_ERRORS: &str = "https://docs.github.com/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-authorization-request-errors";
const KEYCLOAK_CODE_GRANT: &str = "keycloak/keycloak:services/src/main/java/org/keycloak/protocol/oidc/grants/AuthorizationCodeGrantType.java";
const KEYCLOAK_PKCE: &str =
    "keycloak/keycloak:services/src/main/java/org/keycloak/protocol/oidc/utils/PkceUtils.java";
const KEYCLOAK_AUTHZ: &str = "keycloak/keycloak:services/src/main/java/org/keycloak/protocol/oidc/endpoints/AuthorizationEndpointChecker.java";
const KEYCLOAK_CLIENT_AUTH: &str = "keycloak/keycloak:services/src/main/java/org/keycloak/authentication/authenticators/client/ClientIdAndSecretAuthenticator.java";
const FOSITE_CODE: &str = "ory/fosite:handler/oauth2/flow_generic_code_token.go";
const FOSITE_PKCE: &str = "ory/fosite:handler/pkce/handler.go";
const FOSITE_AUTHZ: &str = "ory/fosite:authorize_request_handler.go";
const FOSITE_CODE_STRATEGY: &str = "ory/fosite:handler/oauth2/strategy_hmacsha.go";
const FOSITE_CLIENT: &str = "ory/fosite:client_authentication.go";
const AUTHLIB_CODE: &str = "authlib/authlib:authlib/oauth2/rfc6749/grants/authorization_code.py";
const AUTHLIB_BASE: &str = "authlib/authlib:authlib/oauth2/rfc6749/grants/base.py";
const AUTHLIB_PKCE: &str = "authlib/authlib:authlib/oauth2/rfc7636/challenge.py";
const AUTHLIB_CLIENT_AUTH: &str = "authlib/authlib:authlib/oauth2/rfc6749/authenticate_client.py";
const AUTHLIB_ERRORS: &str = "authlib/authlib:authlib/oauth2/rfc6749/errors.py";
const SPRING_AUTHZ: &str = "spring-projects/spring-authorization-server:oauth2-authorization-server/src/main/java/org/springframework/security/oauth2/server/authorization/authentication/OAuth2AuthorizationCodeRequestAuthenticationValidator.java";
const SPRING_CLIENT_AUTH: &str = "spring-projects/spring-authorization-server:oauth2-authorization-server/src/main/java/org/springframework/security/oauth2/server/authorization/authentication/ClientSecretAuthenticationProvider.java";
const SPRING_PKCE: &str = "spring-projects/spring-authorization-server:oauth2-authorization-server/src/main/java/org/springframework/security/oauth2/server/authorization/authentication/CodeVerifierAuthenticator.java";
const SLACK: &str = "Slack";
const KEYCLOAK_TOKEN_MANAGER: &str =
    "keycloak/keycloak:services/src/main/java/org/keycloak/protocol/oidc/TokenManager.java";
const GITHUB_DEVICE: &str = "https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow";
const AUTHLIB_CLIENT_APPS: &str = "authlib/authlib:authlib/integrations/base_client/errors.py";
const FOSITE_ERRORS: &str = "ory/fosite:errors.go";
const FOSITE_ACCESS_REQUEST: &str = "ory/fosite:access_request_handler.go";
const FOSITE_REFRESH: &str = "ory/fosite:handler/oauth2/flow_refresh.go";
const OIDC_PROVIDER_PKCE: &str = "panva/node-oidc-provider:lib/actions/authorization/check_pkce.js";
const KEYCLOAK_CLIENT_CREDENTIALS: &str = "keycloak/keycloak:services/src/main/java/org/keycloak/protocol/oidc/grants/ClientCredentialsGrantType.java";
const KEYCLOAK_DEVICE_GRANT: &str = "keycloak/keycloak:services/src/main/java/org/keycloak/protocol/oidc/grants/device/DeviceGrantType.java";
const OIDC_PROVIDER_JWT_AUTH: &str = "panva/node-oidc-provider:lib/shared/token_jwt_auth.js";
const OIDC_PROVIDER_RESOURCE: &str = "panva/node-oidc-provider:lib/shared/check_resource.js";
const OIDC_PROVIDER_PRESENCE: &str = "panva/node-oidc-provider:lib/helpers/validate_presence.js";
const FOSITE_PASSWORD: &str = "ory/fosite:handler/oauth2/flow_resource_owner.go";
const ZITADEL: &str = "Zitadel (zitadel/oidc)";
const ZITADEL_CODE: &str = "zitadel/oidc:pkg/op/token_code.go";
const ZITADEL_CLIENT_CREDENTIALS: &str = "zitadel/oidc:pkg/op/token_client_credentials.go";
const SPRING_JWT_ASSERTION: &str = "spring-projects/spring-authorization-server:oauth2-authorization-server/src/main/java/org/springframework/security/oauth2/server/authorization/authentication/JwtClientAssertionDecoderFactory.java";
/// A verifier refused by comparing it with the challenge: Entra says "does not match" also
/// when no code_verifier was sent (or an empty one), which only the request shows.
const VERIFIER_REFUSED_BY_COMPARISON: &[Code] =
    &[Code::PkceVerifierMismatch, Code::PkceVerifierMissing];
const ENTRA_VERIFIER_NOTE: &str = "Entra says this when the code_verifier differs from the challenge's and when the token request carries none (a back end redeeming a code a browser library obtained, a library that drops or renames it)";
/// A code the provider does not hold (any more): it does not say whether it never issued it,
/// the code expired, or it was redeemed already.
const CODE_REFUSED: &[Code] = &[Code::CodeUnknown, Code::CodeExpired, Code::CodeReused];
const COGNITO_TOKEN: &str =
    "https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html";

/// The table. Of the rows that match, the most specific wins: a provider's own error value, an
/// AADSTS number or a whole description before a phrase, a longer phrase before a shorter one
/// (fosite's "...Client ID from this request does not match..." before its redirect_uri
/// variant), the earlier row on a tie.
pub static PHRASES: &[Phrase] = &[
    // --- node oidc-provider (panva), version 9.
    row(
        NODE_OIDC_PROVIDER,
        any_desc("redirect_uri did not match any of the client's registered redirect_uris"),
        Code::RedirectUriNotRegistered,
        OIDC_PROVIDER_ERRORS,
    ),
    row(
        NODE_OIDC_PROVIDER,
        Matcher::Exact {
            error: "invalid_client",
            description: "client authentication failed",
        },
        Code::ClientAuthSecretMismatch,
        OIDC_PROVIDER_ERRORS,
    )
    .note("node oidc-provider answers this for every failed client authentication: a wrong secret, most often, but also another authentication method than the registered one, or a client assertion it refuses")
    .candidates(&[Code::ClientAuthSecretMismatch, Code::ClientAuthMethodMismatch, Code::ClientAuthAssertionInvalid]),
    row(
        NODE_OIDC_PROVIDER,
        Matcher::Exact {
            error: "invalid_client",
            description: "client is invalid",
        },
        Code::ClientUnknown,
        "panva/node-oidc-provider:lib/shared/client_auth.js",
    ),
    row(
        NODE_OIDC_PROVIDER,
        desc("invalid_request", "content-type bodies are supported"),
        Code::TokenRequestUnsupportedContentType,
        "panva/node-oidc-provider:lib/shared/selective_body.js",
    ),
    row(
        NODE_OIDC_PROVIDER,
        desc("invalid_scope", "requested scope is not allowed"),
        Code::ScopeNotAllowed,
        "panva/node-oidc-provider:lib/helpers/grant_authorization.js",
    ),
    row(
        NODE_OIDC_PROVIDER,
        desc("unsupported_grant_type", "unsupported grant_type requested"),
        Code::GrantTypeUnsupported,
        OIDC_PROVIDER_ERRORS,
    ),
    row(
        NODE_OIDC_PROVIDER,
        desc("unsupported_response_type", "unsupported response_type requested"),
        Code::ResponseTypeUnsupported,
        OIDC_PROVIDER_ERRORS,
    ),
    // --- Keycloak.
    row(
        KEYCLOAK,
        desc("invalid_grant", "Code is expired"),
        Code::CodeExpired,
        KEYCLOAK_CODE_GRANT,
    ),
    row(
        KEYCLOAK,
        desc("invalid_grant", "Code not valid"),
        Code::CodeUnknown,
        KEYCLOAK_CODE_GRANT,
    )
    .note("Keycloak says this for a code it does not know and for a code already redeemed (it then also ends the session the first redemption started)")
    .candidates(&[Code::CodeUnknown, Code::CodeReused]),
    row(
        KEYCLOAK,
        desc("invalid_grant", "Incorrect redirect_uri"),
        Code::RedirectUriMismatch,
        KEYCLOAK_CODE_GRANT,
    ),
    row(
        KEYCLOAK,
        desc("invalid_grant", "PKCE code verifier not specified"),
        Code::PkceVerifierMissing,
        KEYCLOAK_PKCE,
    ),
    // Okta uses the same words (https://github.com/okta/okta-oidc-js/issues/839).
    row(
        "Keycloak, Okta",
        desc("invalid_grant", "PKCE verification failed"),
        Code::PkceVerifierMismatch,
        KEYCLOAK_PKCE,
    )
    .note("Keycloak's PkceUtils opens every refused verifier with these words: one that does not match the challenge, a malformed one, or a challenge method it cannot compute")
    .candidates(&[Code::PkceVerifierMismatch, Code::PkceVerifierMalformed, Code::PkceMethodUnsupported]),
    row(
        KEYCLOAK,
        any_desc("Invalid client or Invalid client credentials"),
        Code::ClientAuthSecretMismatch,
        KEYCLOAK_CLIENT_AUTH,
    )
    .note("Keycloak says this for an unknown client_id too")
    .candidates(&[Code::ClientAuthSecretMismatch, Code::ClientUnknown, Code::ClientAuthMethodMismatch]),
    row(
        KEYCLOAK,
        any_desc("Invalid client credentials"),
        Code::ClientAuthSecretMismatch,
        KEYCLOAK_CLIENT_AUTH,
    ),
    row(
        KEYCLOAK,
        Matcher::Page("Invalid parameter: redirect_uri"),
        Code::RedirectUriNotRegistered,
        KEYCLOAK_AUTHZ,
    ),
    row(
        KEYCLOAK,
        Matcher::Page("Client not found."),
        Code::ClientUnknown,
        "keycloak/keycloak:services/src/main/java/org/keycloak/protocol/oidc/endpoints/AuthorizationEndpoint.java",
    ),
    row(
        KEYCLOAK,
        desc("invalid_scope", "Invalid scopes: "),
        Code::ScopeUnknown,
        KEYCLOAK_AUTHZ,
    )
    .value("scope", "Invalid scopes: ", ""),
    // --- Auth0.
    row(
        AUTH0,
        desc("invalid_grant", "Invalid authorization code"),
        Code::CodeUnknown,
        "https://community.auth0.com/t/authorisation-code-flow-error-403/73029",
    )
    .note("Auth0 says this for an expired, already used or unknown code, and for one issued with another redirect_uri")
    .candidates(&[Code::CodeUnknown, Code::CodeExpired, Code::CodeReused, Code::RedirectUriMismatch]),
    row(
        AUTH0,
        Matcher::Exact {
            error: "access_denied",
            description: "Unauthorized",
        },
        Code::ClientAuthSecretMismatch,
        "https://github.com/auth0/nextjs-auth0/issues/467",
    )
    .note("Auth0's token endpoint answers a wrong client secret (or client_id) with access_denied 'Unauthorized'")
    .candidates(&[Code::ClientAuthSecretMismatch, Code::ClientUnknown]),
    row(
        AUTH0,
        Matcher::Page("is not in the list of allowed callback URLs"),
        Code::RedirectUriNotRegistered,
        "https://community.auth0.com/t/callback-url-mismatch-error-url-is-not-in-the-list-of-allowed-callback-urls/123044",
    )
    .value("redirect_uri", "Callback URL mismatch. ", " is not in the list"),
    // --- Okta.
    row(
        OKTA,
        any_desc("The 'redirect_uri' parameter must be a Login redirect URI in the client app settings"),
        Code::RedirectUriNotRegistered,
        "https://support.okta.com/help/s/article/okta-error-400-bad-request-the-redirect-uri-parameter-must-be-a-login-redirect-uri-in-the-client-app-settings",
    ),
    row(
        OKTA,
        desc("invalid_grant", "The authorization code is invalid or has expired"),
        Code::CodeUnknown,
        "https://github.com/oktadev/okta-smartfhir-docs/issues/13",
    )
    .note("Okta says this for an expired code and for one already used")
    .candidates(&[Code::CodeExpired, Code::CodeReused, Code::CodeUnknown]),
    // --- Microsoft Entra ID: AADSTS numbers.
    row(ENTRA, Matcher::Aadsts(50011), Code::RedirectUriNotRegistered, ENTRA_CODES)
        .value("redirect_uri", "redirect URI '", "'"),
    row(ENTRA, Matcher::Aadsts(700016), Code::ClientUnknown, ENTRA_CODES)
        .value("client_id", "identifier '", "'"),
    row(ENTRA, Matcher::Aadsts(7000215), Code::ClientAuthSecretMismatch, ENTRA_CODES)
        .note("Entra says this for a wrong secret (its ID sent for its value, another app's, an expired one) and for a secret sent by an app that authenticates otherwise (a certificate); the request, which a response alone lacks, tells them apart")
        .candidates(&[Code::ClientAuthSecretMismatch, Code::ClientAuthMethodMismatch]),
    row(ENTRA, Matcher::Aadsts(7000222), Code::ClientAuthSecretMismatch, ENTRA_CODES)
        .note("AADSTS7000222: the client secret has expired; create a new one in the app registration"),
    row(ENTRA, Matcher::Aadsts(7000218), Code::ClientAuthMissing, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70008), Code::CodeExpired, ENTRA_CODES)
        .refresh(Code::RefreshTokenExpired),
    row(ENTRA, Matcher::Aadsts(54005), Code::CodeReused, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70000), Code::CodeUnknown, ENTRA_CODES)
        .refresh(Code::RefreshTokenUnknown),
    row(ENTRA, Matcher::Aadsts(501481), Code::PkceVerifierMismatch, ENTRA_CODES)
        .note(ENTRA_VERIFIER_NOTE)
        .candidates(VERIFIER_REFUSED_BY_COMPARISON),
    // The same sentence under its older number (corpus/providers/dev: django-allauth#2916).
    row(ENTRA, Matcher::Aadsts(50148), Code::PkceVerifierMismatch, ENTRA_CODES)
        .note(ENTRA_VERIFIER_NOTE)
        .candidates(VERIFIER_REFUSED_BY_COMPARISON),
    row(ENTRA, Matcher::Aadsts(9002325), Code::PkceVerifierMissing, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70011), Code::ScopeUnknown, ENTRA_CODES)
        .value("scope", "The scope ", " is"),
    row(ENTRA, Matcher::Aadsts(900144), Code::TokenRequestMissingParameter, ENTRA_CODES)
        .value("parameter", "parameter: '", "'"),
    row(ENTRA, Matcher::Aadsts(700082), Code::RefreshTokenExpired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(65001), Code::PromptConsentRequired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50058), Code::PromptLoginRequired, ENTRA_CODES),
    // --- Google.
    row(
        GOOGLE,
        Matcher::Page("redirect_uri_mismatch"),
        Code::RedirectUriNotRegistered,
        "https://developers.google.com/identity/protocols/oauth2/web-server#authorization-errors-redirect-uri-mismatch",
    ),
    row(
        GOOGLE,
        desc("invalid_grant", "Malformed auth code"),
        Code::CodeUnknown,
        "https://github.com/googleworkspace/go-samples/issues/85",
    )
    .note("Google says this most often for a code sent still percent-encoded (4%2F... instead of 4/...)"),
    row(
        GOOGLE,
        desc("invalid_grant", "Invalid code verifier"),
        Code::PkceVerifierMismatch,
        "https://github.com/googleapis/google-api-java-client/issues/1479",
    ),
    row(
        GOOGLE,
        desc("invalid_grant", "Missing code verifier"),
        Code::PkceVerifierMissing,
        "https://github.com/googleapis/google-api-php-client/issues/2669",
    ),
    row(
        GOOGLE,
        desc("invalid_grant", "code_verifier or verifier is not needed"),
        Code::PkceVerifierUnexpected,
        "https://github.com/googleapis/google-api-nodejs-client/issues/3680",
    ),
    // --- GitHub: its own error values.
    row(GITHUB, Matcher::Error("bad_verification_code"), Code::CodeUnknown, GITHUB_TOKEN_ERRORS)
        .note("GitHub says this for an incorrect or expired code, or one issued for another redirect")
        .candidates(&[Code::CodeUnknown, Code::CodeExpired, Code::RedirectUriMismatch]),
    row(
        GITHUB,
        Matcher::Error("incorrect_client_credentials"),
        Code::ClientAuthSecretMismatch,
        GITHUB_TOKEN_ERRORS,
    )
    .note("GitHub says this when the client_id or the client_secret is wrong")
    .candidates(&[Code::ClientAuthSecretMismatch, Code::ClientUnknown]),
    row(
        GITHUB,
        Matcher::Error("redirect_uri_mismatch"),
        Code::RedirectUriNotRegistered,
        GITHUB_AUTHZ_ERRORS,
    ),
    // --- Amazon Cognito.
    row(
        COGNITO,
        Matcher::Page("redirect_mismatch"),
        Code::RedirectUriNotRegistered,
        "https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html",
    ),
    row(
        COGNITO,
        Matcher::Error("redirect_mismatch"),
        Code::RedirectUriNotRegistered,
        "https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html",
    ),
    // --- ORY Hydra: fosite's hints, appended to the RFC description.
    row(
        HYDRA,
        desc("invalid_grant", "The authorization code has already been used"),
        Code::CodeReused,
        FOSITE_CODE,
    ),
    row(
        HYDRA,
        desc("invalid_grant", "The PKCE code challenge did not match the code verifier"),
        Code::PkceVerifierMismatch,
        FOSITE_PKCE,
    ),
    row(
        HYDRA,
        desc("invalid_grant", "The OAuth 2.0 Client ID from this request does not match the one from the authorize request"),
        Code::CodeClientMismatch,
        FOSITE_CODE,
    ),
    row(
        HYDRA,
        desc("invalid_grant", "from this request does not match the one from the authorize request"),
        Code::RedirectUriMismatch,
        FOSITE_CODE,
    ),
    row(
        HYDRA,
        any_desc("Authorize code expired at"),
        Code::CodeExpired,
        FOSITE_CODE_STRATEGY,
    ),
    row(
        HYDRA,
        any_desc("The requested OAuth 2.0 Client does not exist"),
        Code::ClientUnknown,
        FOSITE_CLIENT,
    ),
    row(
        HYDRA,
        any_desc("does not match any of the OAuth 2.0 Client's pre-registered redirect urls"),
        Code::RedirectUriNotRegistered,
        FOSITE_AUTHZ,
    ),
    row(
        HYDRA,
        any_desc("The OAuth 2.0 Client is not allowed to request scope '"),
        Code::ScopeNotAllowed,
        "ory/fosite:handler/oauth2/flow_authorize_code_auth.go",
    )
    .value("scope", "request scope '", "'"),
    // --- Authlib (1.6).
    row(
        AUTHLIB,
        desc("invalid_grant", "Invalid 'code' in request"),
        Code::CodeUnknown,
        AUTHLIB_CODE,
    )
    .note("Authlib says this for every code it does not hold any more: unknown, already redeemed, or expired (query_authorization_code returns nothing for all three)")
    .candidates(CODE_REFUSED),
    row(
        AUTHLIB,
        desc("invalid_grant", "Invalid 'redirect_uri' in request"),
        Code::RedirectUriMismatch,
        AUTHLIB_CODE,
    ),
    row(
        AUTHLIB,
        desc("invalid_grant", "Code challenge failed"),
        Code::PkceVerifierMismatch,
        AUTHLIB_PKCE,
    ),
    row(
        AUTHLIB,
        desc("invalid_request", "Missing 'code_verifier'"),
        Code::PkceVerifierMissing,
        AUTHLIB_PKCE,
    ),
    row(
        AUTHLIB,
        desc("invalid_request", "Invalid 'code_verifier'"),
        Code::PkceVerifierMalformed,
        AUTHLIB_PKCE,
    ),
    row(
        AUTHLIB,
        desc("invalid_request", "Missing 'code_challenge'"),
        Code::PkceChallengeMissing,
        AUTHLIB_PKCE,
    ),
    row(
        AUTHLIB,
        desc("invalid_request", "Unsupported 'code_challenge_method'"),
        Code::PkceMethodUnsupported,
        AUTHLIB_PKCE,
    ),
    row(
        AUTHLIB,
        desc("invalid_client", "The client does not exist on this server"),
        Code::ClientUnknown,
        AUTHLIB_CLIENT_AUTH,
    ),
    row(
        AUTHLIB,
        desc("invalid_client", "The client cannot authenticate with methods"),
        Code::ClientAuthSecretMismatch,
        AUTHLIB_CLIENT_AUTH,
    )
    .note("Authlib says this when no allowed method authenticates the client: a wrong secret, or a secret sent by another method than the client's")
    .candidates(&[Code::ClientAuthSecretMismatch, Code::ClientAuthMethodMismatch]),
    row(
        AUTHLIB,
        desc("invalid_request", " is not supported by client"),
        Code::RedirectUriNotRegistered,
        AUTHLIB_BASE,
    )
    .value("redirect_uri", "Redirect URI ", " is not supported by client"),
    row(
        AUTHLIB,
        desc("invalid_scope", "The requested scope is invalid, unknown, or malformed"),
        Code::ScopeUnknown,
        AUTHLIB_ERRORS,
    ),
    // --- Spring Authorization Server: "OAuth 2.0 Parameter: <name>" names the parameter.
    row(
        SPRING,
        desc("invalid_request", "OAuth 2.0 Parameter: redirect_uri"),
        Code::RedirectUriNotRegistered,
        SPRING_AUTHZ,
    ),
    row(
        SPRING,
        desc("invalid_scope", "OAuth 2.0 Parameter: scope"),
        Code::ScopeUnknown,
        SPRING_AUTHZ,
    ),
    row(
        SPRING,
        desc("invalid_request", "OAuth 2.0 Parameter: code_challenge_method"),
        Code::PkceMethodUnsupported,
        SPRING_AUTHZ,
    ),
    row(
        SPRING,
        desc("invalid_request", "OAuth 2.0 Parameter: code_challenge"),
        Code::PkceChallengeMissing,
        SPRING_AUTHZ,
    ),
    row(
        SPRING,
        desc("invalid_request", "OAuth 2.0 Parameter: client_id"),
        Code::ClientUnknown,
        SPRING_AUTHZ,
    ),
    row(
        SPRING,
        desc("invalid_grant", "Client authentication failed: code_verifier"),
        Code::PkceVerifierMismatch,
        SPRING_PKCE,
    ),
    row(
        SPRING,
        desc("invalid_client", "Client authentication failed: client_secret"),
        Code::ClientAuthSecretMismatch,
        SPRING_CLIENT_AUTH,
    ),
    row(
        SPRING,
        desc("invalid_client", "Client authentication failed: client_id"),
        Code::ClientUnknown,
        SPRING_CLIENT_AUTH,
    ),
    // --- Rows written from the provider corpus's dev part (corpus/providers/dev/): the
    // providers' real words, each row's source the page, thread or file that shows them.
    // Okta.
    row(
        OKTA,
        any_desc("The client secret supplied for a confidential client is invalid"),
        Code::ClientAuthSecretMismatch,
        "https://developer.okta.com/docs/reference/api/oidc/#token",
    ),
    row(
        OKTA,
        any_desc("The 'redirect_uri' does not match the redirection URI used in the authorization request"),
        Code::RedirectUriMismatch,
        "https://github.com/okta/okta-aspnet/issues/130",
    ),
    row(
        OKTA,
        any_desc("Cannot supply multiple client credentials"),
        Code::ClientAuthMultipleMethods,
        "https://github.com/boylesoftware/tomcat-oidcauth/issues/6",
    ),
    row(
        OKTA,
        any_desc("Client authentication failed. Either the client or the client credentials are invalid"),
        Code::ClientAuthSecretMismatch,
        "https://github.com/okta/okta-auth-js/issues/455",
    )
    .note("Okta says this for a wrong secret, an unknown client, and a browser app using a Web application's client_id (a SPA registration is needed)")
    .candidates(&[
        Code::ClientAuthSecretMismatch,
        Code::ClientUnknown,
        Code::ClientPlatformMismatch,
        Code::ClientAuthMethodMismatch,
    ]),
    // Keycloak: AuthorizationCodeGrantType and TokenManager.
    row(KEYCLOAK, any_desc("Missing parameter: code"), Code::TokenRequestMissingParameter, KEYCLOAK_CODE_GRANT)
        .value("parameter", "Missing parameter: ", ""),
    row(
        KEYCLOAK,
        any_desc("Found different client_id in clientSession"),
        Code::CodeClientMismatch,
        KEYCLOAK_CODE_GRANT,
    ),
    row(KEYCLOAK, any_desc("Client not allowed to exchange code"), Code::GrantTypeNotAllowed, KEYCLOAK_CODE_GRANT),
    row(KEYCLOAK, any_desc("Session not active"), Code::RefreshTokenExpired, KEYCLOAK_TOKEN_MANAGER)
        .refresh(Code::RefreshTokenExpired)
        .note("Keycloak says this when the user's session behind the grant has ended (idle or maximum time): at a refresh, the refresh token has expired with it; at a code redemption, the login the code came from has")
        .candidates(&[Code::RefreshTokenExpired, Code::LoginRequestExpired]),
    row(KEYCLOAK, any_desc("Token is not active"), Code::RefreshTokenExpired, KEYCLOAK_TOKEN_MANAGER)
        .note("Keycloak says this for a refresh token past its expiry (or not yet valid)"),
    row(KEYCLOAK, any_desc("Offline session not active"), Code::RefreshTokenExpired, KEYCLOAK_TOKEN_MANAGER),
    row(KEYCLOAK, any_desc("Client session not active"), Code::RefreshTokenExpired, KEYCLOAK_TOKEN_MANAGER),
    row(KEYCLOAK, any_desc("Offline user session not found"), Code::RefreshTokenRevoked, KEYCLOAK_TOKEN_MANAGER),
    row(
        KEYCLOAK,
        any_desc("Refresh token issued before the user session started"),
        Code::RefreshTokenRevoked,
        KEYCLOAK_TOKEN_MANAGER,
    ),
    row(KEYCLOAK, any_desc("Session doesn't have required client"), Code::RefreshTokenRevoked, KEYCLOAK_TOKEN_MANAGER),
    row(KEYCLOAK, any_desc("Stale token"), Code::RefreshTokenRevoked, KEYCLOAK_TOKEN_MANAGER),
    row(
        KEYCLOAK,
        any_desc("Maximum allowed refresh token reuse exceeded"),
        Code::RefreshTokenReused,
        KEYCLOAK_TOKEN_MANAGER,
    ),
    row(
        KEYCLOAK,
        any_desc("offline access not granted anymore"),
        Code::RefreshTokenRevoked,
        KEYCLOAK_TOKEN_MANAGER,
    ),
    row(KEYCLOAK, any_desc("Unmatching clients"), Code::RefreshTokenClientMismatch, KEYCLOAK_TOKEN_MANAGER),
    row(
        KEYCLOAK,
        any_desc("Token client and authorized client don't match"),
        Code::RefreshTokenClientMismatch,
        KEYCLOAK_TOKEN_MANAGER,
    ),
    row(
        KEYCLOAK,
        any_desc("Client no longer has requested consent from user"),
        Code::PromptConsentRequired,
        KEYCLOAK_CODE_GRANT,
    ),
    // Google.
    row(
        GOOGLE,
        any_desc("The OAuth client was not found"),
        Code::ClientUnknown,
        "https://github.com/simonrob/email-oauth2-proxy/issues/362",
    ),
    row(
        GOOGLE,
        any_desc("Token has been expired or revoked"),
        Code::RefreshTokenRevoked,
        "https://developers.google.com/identity/protocols/oauth2#expiration",
    )
    .note("Google says this for a refresh token revoked by the user, expired (7 days for a 'Testing' app), or dropped past the limit of 100 per account and client")
    .candidates(&[Code::RefreshTokenRevoked, Code::RefreshTokenExpired]),
    // Facebook.
    row(
        "Facebook",
        any_desc("Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"),
        Code::RedirectUriMismatch,
        "https://github.com/facebookarchive/php-graph-sdk/issues/980",
    ),
    row(
        "Facebook",
        any_desc("This authorization code has been used"),
        Code::CodeReused,
        "https://github.com/facebookarchive/php-graph-sdk/issues/1254",
    ),
    row(
        "Facebook",
        any_desc("This authorization code has expired"),
        Code::CodeExpired,
        "https://github.com/facebookarchive/php-graph-sdk/issues/1124",
    )
    .note("reporters see Facebook say this with no time between the callback and the redemption: a code redeemed twice, or a clock, may be behind it"),
    row(
        GOOGLE,
        Matcher::Exact {
            error: "unauthorized_client",
            description: "Unauthorized",
        },
        Code::CodeClientMismatch,
        "https://github.com/googleapis/google-api-dotnet-client/issues/2802",
    )
    .refresh(Code::RefreshTokenClientMismatch)
    .note("Google answers this when a refresh token (or code) is redeemed with the credentials of another OAuth client than the one it was issued to; the RFC's meaning, a grant the client may not use, is the other possibility")
    .candidates(&[
        Code::CodeClientMismatch,
        Code::RefreshTokenClientMismatch,
        Code::GrantTypeNotAllowed,
    ]),
    // GitHub: device flow error values.
    row(GITHUB, Matcher::Error("incorrect_device_code"), Code::CodeUnknown, GITHUB_DEVICE),
    row(GITHUB, Matcher::Error("device_flow_disabled"), Code::GrantTypeNotAllowed, GITHUB_DEVICE),
    // Slack: its own error values ({"ok":false,"error":...}).
    row(SLACK, Matcher::Error("bad_redirect_uri"), Code::RedirectUriMismatch, "https://github.com/slackapi/python-slack-sdk/issues/791")
        .note("Slack says this when the token request's redirect_uri is not the one the authorization request used, and when the token request has none")
        .candidates(&[Code::RedirectUriMismatch, Code::RedirectUriMissing]),
    row(SLACK, Matcher::Error("invalid_code"), Code::CodeUnknown, "https://github.com/krishamoud/meteor-slack-api/issues/7")
        .note("Slack says this for an unknown, expired or already used code")
        .candidates(CODE_REFUSED),
    // Discord answers with Authlib's words.
    row(
        "Discord (Authlib)",
        any_desc("Invalid \"code\" in request"),
        Code::CodeUnknown,
        "https://github.com/discord/discord-api-docs/issues/5579",
    )
    .note("Discord says this for every code it does not hold any more: unknown, already redeemed, or expired")
    .candidates(CODE_REFUSED),
    // Twitter / X.
    row(
        "Twitter / X",
        any_desc("Value passed for the authorization code was invalid"),
        Code::CodeUnknown,
        "https://github.com/plhery/node-twitter-api-v2/issues/496",
    )
    .note("X says this for an unknown, expired or already used code")
    .candidates(CODE_REFUSED),
    row(
        "Twitter / X",
        any_desc("Missing valid authorization header"),
        Code::ClientAuthMissing,
        "https://github.com/xdevplatform/oauth2.0-bot/pull/2",
    )
    .note("X requires a confidential client to authenticate with a Basic header; a public client that gets this is registered as the other type (its Type of App)")
    .candidates(&[Code::ClientAuthMissing, Code::ClientPlatformMismatch]),
    row(
        "Twitter / X (oauthlib)",
        any_desc("Missing required parameter [code_verifier]"),
        Code::PkceVerifierMissing,
        "https://github.com/tweepy/tweepy/issues/2021",
    ),
    // FusionAuth, login.gov, SimpleLogin, Zitadel, MITREid.
    row("SimpleLogin", any_desc("no such authorization code"), Code::CodeUnknown, "https://github.com/simple-login/app/issues/2754"),
    row("SimpleLogin", any_desc("already expired"), Code::CodeExpired, "https://github.com/simple-login/app/issues/2754")
        .refresh(Code::RefreshTokenExpired),
    row(
        "Spotify",
        desc("invalid_grant", "Invalid redirect URI"),
        Code::RedirectUriMismatch,
        "https://github.com/univrsal/tuna/issues/118",
    ),
    row("Zitadel", any_desc("Errors.User.Code.Invalid"), Code::CodeUnknown, "https://github.com/zitadel/zitadel/issues/11892"),
    // Rows of the corpus's third pass, written from its dev part only (corpus/providers/README.md,
    // "Third pass"): each source file's own words for one condition.
    // node oidc-provider 4.x: the client assertion's checks, each its own description.
    row(NODE_OIDC_PROVIDER, any_desc("client_assertion must be provided"), Code::ClientAuthMissing, OIDC_PROVIDER_JWT_AUTH)
        .note("the client is registered for client_secret_jwt or private_key_jwt and sent no client_assertion"),
    row(NODE_OIDC_PROVIDER, any_desc("client_assertion_type must have value"), Code::ClientAuthAssertionInvalid, OIDC_PROVIDER_JWT_AUTH),
    row(NODE_OIDC_PROVIDER, any_desc("client_assertion could not be decoded"), Code::ClientAuthAssertionInvalid, OIDC_PROVIDER_JWT_AUTH),
    row(NODE_OIDC_PROVIDER, any_desc("must be provided in the client_assertion JWT"), Code::ClientAuthAssertionInvalid, OIDC_PROVIDER_JWT_AUTH)
        .note("a claim the assertion must carry (jti, iss, aud, sub) is absent"),
    row(NODE_OIDC_PROVIDER, any_desc("expiration must be specified in the client_assertion JWT"), Code::ClientAuthAssertionInvalid, OIDC_PROVIDER_JWT_AUTH)
        .note("the assertion carries no exp"),
    row(NODE_OIDC_PROVIDER, any_desc("issuer (iss) must be the client id"), Code::ClientAuthAssertionInvalid, OIDC_PROVIDER_JWT_AUTH),
    row(NODE_OIDC_PROVIDER, any_desc("sub (JWT subject) must be the client id"), Code::ClientAuthAssertionInvalid, OIDC_PROVIDER_JWT_AUTH),
    row(NODE_OIDC_PROVIDER, any_desc("(aud) must equal the endpoint url"), Code::ClientAuthAssertionInvalid, OIDC_PROVIDER_JWT_AUTH)
        .note("the assertion's aud must be the token endpoint's URL itself"),
    row(NODE_OIDC_PROVIDER, any_desc("(aud) must include the endpoint url"), Code::ClientAuthAssertionInvalid, OIDC_PROVIDER_JWT_AUTH),
    row(NODE_OIDC_PROVIDER, any_desc("jwt-bearer tokens must only be used once"), Code::ClientAuthAssertionInvalid, OIDC_PROVIDER_JWT_AUTH)
        .note("the assertion's jti was seen before: a new assertion is needed for every request"),
    // "alg mismatch" is the whole description: as a phrase it would match other texts.
    row(
        NODE_OIDC_PROVIDER,
        Matcher::Exact {
            error: "invalid_request",
            description: "alg mismatch",
        },
        Code::ClientAuthAssertionInvalid,
        OIDC_PROVIDER_JWT_AUTH,
    )
    .note("the assertion is signed with an algorithm the client is not registered for"),
    row(NODE_OIDC_PROVIDER, any_desc("resource indicator must be an absolute URI"), Code::TokenRequestInvalidParameter, OIDC_PROVIDER_RESOURCE),
    row(NODE_OIDC_PROVIDER, any_desc("resource indicator must not contain a fragment"), Code::TokenRequestInvalidParameter, OIDC_PROVIDER_RESOURCE),
    // With the quote that opens the parameter's name: without it the words are also the
    // RFC's generic invalid_request sentence, which LinkedIn and others answer with.
    row(NODE_OIDC_PROVIDER, any_desc("missing required parameter '"), Code::TokenRequestMissingParameter, OIDC_PROVIDER_PRESENCE)
        .value("parameter", "missing required parameter '", "'"),
    row(NODE_OIDC_PROVIDER, any_desc("missing required parameters '"), Code::TokenRequestMissingParameter, OIDC_PROVIDER_PRESENCE)
        .value("parameter", "missing required parameters '", "'"),
    // fosite's password grant (its debug texts, shown when Hydra exposes them).
    row(HYDRA, any_desc("The client is not allowed to use grant type password"), Code::GrantTypeNotAllowed, FOSITE_PASSWORD),
    row(HYDRA, any_desc("Username or password missing"), Code::TokenRequestMissingParameter, FOSITE_PASSWORD),
    row(HYDRA, any_desc("The client is not allowed to request scope"), Code::ScopeNotAllowed, FOSITE_PASSWORD),
    // zitadel/oidc, ZITADEL's OpenID provider library: short descriptions, the shortest whole.
    row(ZITADEL, Matcher::Exact { error: "invalid_request", description: "code missing" }, Code::TokenRequestMissingParameter, ZITADEL_CODE),
    row(ZITADEL, any_desc("client missing grant type"), Code::GrantTypeNotAllowed, ZITADEL_CODE),
    row(ZITADEL, any_desc("redirect_uri does not correspond"), Code::RedirectUriMismatch, ZITADEL_CODE),
    row(ZITADEL, any_desc("auth_method private_key_jwt not supported"), Code::ClientAuthMethodMismatch, ZITADEL_CODE)
        .note("a client_assertion was sent, and this provider does not take private_key_jwt"),
    row(ZITADEL, any_desc("private_key_jwt not allowed for this client"), Code::ClientAuthMethodMismatch, ZITADEL_CODE)
        .note("the client is registered for private_key_jwt and sent a client_id and secret instead"),
    row(ZITADEL, any_desc("auth_method post not supported"), Code::ClientAuthMethodMismatch, ZITADEL_CODE)
        .note("the client is registered for client_secret_post, which this provider does not take"),
    row(ZITADEL, Matcher::Exact { error: "invalid_request", description: "PKCE required" }, Code::PkceChallengeMissing, ZITADEL_CODE)
        .note("a public client redeemed a code whose authorization request had no code_challenge"),
    row(ZITADEL, Matcher::Exact { error: "invalid_grant", description: "invalid code" }, Code::CodeUnknown, ZITADEL_CODE)
        .note("the provider has no authorization request for this code: a wrong code, or one expired or already redeemed")
        .candidates(CODE_REFUSED),
    row(ZITADEL, any_desc("client_credentials grant not supported"), Code::GrantTypeUnsupported, ZITADEL_CLIENT_CREDENTIALS),
    row(ZITADEL, Matcher::Exact { error: "invalid_request", description: "error decoding form" }, Code::TokenRequestMalformedBody, ZITADEL_CLIENT_CREDENTIALS),
    // Spring Authorization Server: a JWT-authenticating client registered without its key.
    row(SPRING, any_desc("Failed to find a Signature Verifier for Client"), Code::ClientMisconfigured, SPRING_JWT_ASSERTION)
        .note("the client's registration lacks what verifies its assertion: a JWK Set URL (private_key_jwt), a secret (client_secret_jwt) or a valid signing algorithm"),
    // Keycloak's grant types: a client not allowed the grant it asked for.
    row(KEYCLOAK, any_desc("not allowed to retrieve service account"), Code::GrantTypeNotAllowed, KEYCLOAK_CLIENT_CREDENTIALS)
        .note("a public or bearer-only client cannot use client_credentials: make it confidential with service accounts enabled"),
    row(KEYCLOAK, any_desc("Client not enabled to retrieve service account"), Code::GrantTypeNotAllowed, KEYCLOAK_CLIENT_CREDENTIALS)
        .note("the client's 'Service accounts roles' (service accounts) setting is off"),
    row(KEYCLOAK, any_desc("Client not allowed OAuth 2.0 Device Authorization Grant"), Code::GrantTypeNotAllowed, KEYCLOAK_DEVICE_GRANT),
    row(KEYCLOAK, any_desc("Missing parameter: device_code"), Code::TokenRequestMissingParameter, KEYCLOAK_DEVICE_GRANT)
        .value("parameter", "Missing parameter: ", ""),
    // Keycloak 19 fails with a NullPointerException where it reads the form of a POST that
    // has none (an empty body, or another Content-Type): its 500 names the form, not a fault.
    row(
        KEYCLOAK,
        any_desc("BaseHttpRequest.getFormParameters"),
        Code::TokenRequestUnsupportedContentType,
        "https://github.com/keycloak/keycloak/issues/14045",
    )
    .note("Keycloak could not read a form in the request's body: send grant_type and the other parameters as application/x-www-form-urlencoded"),
    // Keycloak: the user session behind a code is gone (logout, idle or maximum time).
    row(KEYCLOAK, any_desc("User session not found"), Code::LoginRequestExpired, KEYCLOAK_CODE_GRANT)
        .refresh(Code::RefreshTokenExpired)
        .note("the user's Keycloak session ended (logout, idle or maximum lifetime) between the login and the code's redemption"),
    // wicked.haufe.io before 1.0.0-rc1 answered an unknown code with server_error and these
    // words: the words name the cause the error value hides.
    row(
        "wicked.haufe.io",
        any_desc("could not retrieve user profile for given authorization code"),
        Code::CodeUnknown,
        "https://github.com/Haufe-Lexware/wicked.haufe.io/issues/131",
    ),
    // login.gov's own explanation of its code refusal.
    row("login.gov", any_desc("Code is invalid because doesn"), Code::CodeReused, "https://github.com/GSA-TTS/identity-dev-docs/pull/393")
        .note("login.gov says this for a code it cannot match to a sign-in: most often one already redeemed, or none sent")
        .candidates(&[Code::CodeReused, Code::CodeUnknown, Code::TokenRequestMissingParameter]),
    row(
        "MITREid Connect",
        any_desc("ID token did not contain a nonce claim"),
        Code::IdTokenNonceMismatch,
        "https://github.com/mitreid-connect/OpenID-Connect-Java-Spring-Server/issues/464",
    ),
    row("ASP.NET", any_desc("OICE_20004"), Code::IdTokenNonceMismatch, "https://github.com/Azure-Samples/active-directory-dotnet-webapp-webapi-oauth2-appidentity/issues/1"),
    // Client libraries: state checks.
    row(
        "openid-client / Auth.js",
        any_desc("checks.state argument is missing"),
        Code::StateMismatch,
        "https://github.com/auth0/nextjs-auth0/issues/635",
    )
    .note("the state cookie or session the callback needs was not there: another domain, a cookie blocked or expired"),
    row("Auth.js", any_desc("State cookie was missing"), Code::StateMismatch, "https://github.com/market-dot-dev/studio/issues/236"),
    row(AUTHLIB, any_desc("State not equal in request and response"), Code::StateMismatch, AUTHLIB_CLIENT_APPS),
    // Authlib (server).
    row(AUTHLIB, any_desc("Missing 'code' in request"), Code::TokenRequestMissingParameter, AUTHLIB_CODE)
        .value("parameter", "Missing '", "'"),
    row(AUTHLIB, any_desc("Missing 'redirect_uri' in request"), Code::RedirectUriMissing, AUTHLIB_CODE),
    row(AUTHLIB, any_desc("There is no 'user' for this code"), Code::UserNotFound, AUTHLIB_CODE)
        .note("the user the code was issued for no longer exists on the server"),
    row(AUTHLIB, any_desc("Invalid 'code_challenge'"), Code::PkceChallengeMalformed, AUTHLIB_PKCE),
    row(AUTHLIB, any_desc("The client is not authorized to use 'grant_type="), Code::GrantTypeNotAllowed, AUTHLIB_CODE),
    row(AUTHLIB, Matcher::Description { error: None, contains: "Multiple '" }, Code::TokenRequestDuplicateParameter, AUTHLIB_BASE)
        .value("parameter", "Multiple '", "'"),
    row(AUTHLIB, any_desc("Missing 'access_token' in response"), Code::ResponseMissingAccessToken, AUTHLIB_CLIENT_APPS),
    // ORY Hydra / fosite: the RFC descriptions that name one cause, and the hints.
    row(HYDRA, any_desc("The client is not authorized to request a token using this method"), Code::GrantTypeNotAllowed, FOSITE_ERRORS),
    row(HYDRA, any_desc("does not support obtaining a token using this method"), Code::ResponseTypeUnsupported, FOSITE_ERRORS),
    row(HYDRA, any_desc("The authorization grant type is not supported by the authorization server"), Code::GrantTypeUnsupported, FOSITE_ERRORS),
    row(HYDRA, any_desc("encountered an unexpected condition that prevented it from fulfilling the request"), Code::ServerInternal, FOSITE_ERRORS),
    row(HYDRA, any_desc("The Authorization Server requires End-User authentication"), Code::PromptLoginRequired, FOSITE_ERRORS),
    row(HYDRA, any_desc("The Authorization Server requires End-User consent"), Code::PromptConsentRequired, FOSITE_ERRORS),
    row(HYDRA, any_desc("The jti was already used"), Code::ClientAuthAssertionInvalid, FOSITE_ERRORS),
    row(HYDRA, any_desc("Token expired"), Code::TokenExpired, FOSITE_ERRORS),
    row(HYDRA, any_desc("Token is inactive because it is malformed, expired or otherwise invalid"), Code::TokenUnknown, FOSITE_ERRORS),
    row(HYDRA, any_desc("expected 'POST'"), Code::TokenRequestNotPost, FOSITE_ACCESS_REQUEST),
    row(HYDRA, any_desc("make sure to send a properly formatted form request body"), Code::TokenRequestUnsupportedContentType, FOSITE_ACCESS_REQUEST),
    row(HYDRA, any_desc("The POST body can not be empty"), Code::TokenRequestUnsupportedContentType, FOSITE_ACCESS_REQUEST)
        .note("fosite found no form body: a JSON body, another Content-Type, or none"),
    row(HYDRA, any_desc("Request parameter 'grant_type' is missing"), Code::TokenRequestMissingParameter, FOSITE_ACCESS_REQUEST)
        .note("every client library sends grant_type: when it is missing, the body was most often not read as a form (JSON, another Content-Type)")
        .candidates(&[Code::TokenRequestMissingParameter, Code::TokenRequestUnsupportedContentType, Code::TokenRequestJsonBody]),
    row(HYDRA, any_desc("plain is not allowed"), Code::PkcePlainRefused, FOSITE_PKCE),
    row(HYDRA, any_desc("The code_challenge_method is not supported"), Code::PkceMethodUnsupported, FOSITE_PKCE),
    row(HYDRA, any_desc("must include a code_challenge when performing the authorize code flow"), Code::PkceChallengeMissing, FOSITE_PKCE),
    row(HYDRA, any_desc("but the code challenge was absent from the authorization request"), Code::PkceVerifierUnexpected, FOSITE_PKCE)
        .note("a code_verifier at the token endpoint for a code whose authorization request had no code_challenge: either send the challenge at authorize or no verifier")
        .candidates(&[Code::PkceVerifierUnexpected, Code::PkceChallengeMissing]),
    row(HYDRA, any_desc("The PKCE code verifier must be at least 43 characters"), Code::PkceVerifierMalformed, FOSITE_PKCE),
    row(HYDRA, any_desc("The PKCE code verifier can not be longer than 128 characters"), Code::PkceVerifierMalformed, FOSITE_PKCE),
    row(HYDRA, any_desc("The PKCE code verifier must only contain"), Code::PkceVerifierMalformed, FOSITE_PKCE),
    row(HYDRA, any_desc("is not allowed to use authorization grant"), Code::GrantTypeNotAllowed, FOSITE_REFRESH),
    row(HYDRA, any_desc("The refresh token was already used"), Code::RefreshTokenReused, FOSITE_REFRESH),
    row(HYDRA, any_desc("The refresh token expired"), Code::RefreshTokenExpired, FOSITE_REFRESH),
    row(HYDRA, any_desc("The refresh token is malformed or not valid"), Code::RefreshTokenUnknown, FOSITE_REFRESH),
    row(HYDRA, any_desc("does not match the ID during the initial token issuance"), Code::RefreshTokenClientMismatch, FOSITE_REFRESH),
    row(HYDRA, any_desc("Failed to refresh token because of multiple concurrent requests using the same token"), Code::RefreshTokenReused, FOSITE_REFRESH)
        .note("two refreshes raced with the same refresh token; retry once with the token the winner received"),
    row(HYDRA, any_desc("another request is competing for the same resource"), Code::CodeReused, FOSITE_ERRORS)
        .refresh(Code::RefreshTokenReused)
        .note("two requests raced with the same code or refresh token"),
    // node oidc-provider.
    row(NODE_OIDC_PROVIDER, any_desc("failed to parse the request body"), Code::TokenRequestMalformedBody, "panva/node-oidc-provider:lib/shared/selective_body.js"),
    row(NODE_OIDC_PROVIDER, any_desc("not supported value of code_challenge_method"), Code::PkceMethodUnsupported, OIDC_PROVIDER_PKCE),
    row(NODE_OIDC_PROVIDER, any_desc("code_challenge_method must be provided"), Code::PkceMethodUnsupported, OIDC_PROVIDER_PKCE),
    row(NODE_OIDC_PROVIDER, any_desc("code_challenge must be provided with code_challenge_method"), Code::PkceChallengeMissing, OIDC_PROVIDER_PKCE),
    row(NODE_OIDC_PROVIDER, any_desc("policy requires PKCE to be used for this request"), Code::PkceChallengeMissing, OIDC_PROVIDER_PKCE),
    row(NODE_OIDC_PROVIDER, any_desc("requested response_type is not allowed for this client"), Code::ResponseTypeUnsupported, "panva/node-oidc-provider:lib/actions/authorization/check_response_type.js"),
    row(NODE_OIDC_PROVIDER, any_desc("scope contains invalid characters"), Code::ScopeMalformed, "panva/node-oidc-provider:lib/actions/authorization/check_scope.js"),
    row(NODE_OIDC_PROVIDER, any_desc("invalid token provided"), Code::TokenUnknown, OIDC_PROVIDER_ERRORS),
    // Spring Authorization Server: "Client authentication failed: <parameter>".
    row(SPRING, any_desc("Client authentication failed: authentication_method"), Code::ClientAuthMethodMismatch, SPRING_CLIENT_AUTH),
    row(SPRING, any_desc("Client authentication failed: credentials"), Code::ClientAuthMissing, SPRING_CLIENT_AUTH),
    row(SPRING, any_desc("Client authentication failed: client_secret_expires_at"), Code::ClientAuthSecretMismatch, SPRING_CLIENT_AUTH)
        .note("the client secret has expired (client_secret_expires_at): issue a new one"),
    row(SPRING, any_desc("Client authentication failed: code_challenge"), Code::PkceChallengeMissing, SPRING_PKCE),
    row(SPRING, any_desc("Client authentication failed: code"), Code::CodeUnknown, SPRING_PKCE)
        .note("Spring says this for a code it does not hold: unknown, already redeemed or expired")
        .candidates(CODE_REFUSED),
    row(
        "Spring Security OAuth (legacy)",
        any_desc("Request method 'GET' not support"),
        Code::TokenRequestNotPost,
        "https://github.com/rajithd/spring-boot-oauth2/issues/6",
    ),
    row(
        "Spring",
        any_desc("HttpRequestMethodNotSupportedException"),
        Code::TokenRequestNotPost,
        "https://github.com/malike/sso-auth/issues/7",
    ),
    row(
        "Keycloak (RESTEasy)",
        any_desc("Could not find message body reader for type"),
        Code::TokenRequestUnsupportedContentType,
        "https://github.com/keycloak/keycloak/issues/13475",
    ),
    // Cognito's documented token errors.
    row(COGNITO, any_desc("Client is not allowed for code grant flow or for refreshing tokens"), Code::GrantTypeNotAllowed, COGNITO_TOKEN),
    row(COGNITO, any_desc("Returned if `grant_type` is anything other than"), Code::GrantTypeUnsupported, COGNITO_TOKEN),
    // Microsoft Entra ID: more numbers of the reference, each by its own words.
    row(ENTRA, Matcher::Aadsts(70002), Code::ClientAuthSecretMismatch, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(700011), Code::ClientUnknown, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(700025), Code::ClientAuthMethodMismatch, ENTRA_CODES)
        .note("the client is registered as public: it must send neither client_secret nor client_assertion"),
    row(ENTRA, Matcher::Aadsts(700027), Code::ClientAuthAssertionInvalid, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(700030), Code::ClientAuthAssertionInvalid, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50012), Code::ClientAuthAssertionInvalid, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50027), Code::ClientAuthAssertionInvalid, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50048), Code::ClientAuthAssertionInvalid, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70003), Code::GrantTypeUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70004), Code::RedirectUriNotRegistered, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(900971), Code::RedirectUriMissing, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70005), Code::ResponseTypeUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(700054), Code::ResponseTypeUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(28002), Code::ScopeUnknown, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(650057), Code::ScopeNotAllowed, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(700022), Code::ScopeMalformed, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(700023), Code::ScopeMalformed, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50147), Code::PkceChallengeMalformed, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(501491), Code::PkceChallengeMalformed, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50173), Code::RefreshTokenRevoked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50132), Code::RefreshTokenRevoked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50133), Code::RefreshTokenRevoked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(700084), Code::RefreshTokenExpired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70043), Code::RefreshTokenExpired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(65004), Code::ConsentDenied, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90008), Code::PromptConsentRequired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90094), Code::PromptConsentRequired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90095), Code::PromptConsentRequired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(9002341), Code::PromptConsentRequired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(700020), Code::PromptConsentRequired, ENTRA_CODES)
        .note("the grant needs the user again (consent or sign-in): send an interactive request"),
    row(ENTRA, Matcher::Aadsts(900561), Code::TokenRequestNotPost, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90014), Code::TokenRequestMissingParameter, ENTRA_CODES)
        .value("parameter", "parameter: '", "'"),
    row(ENTRA, Matcher::Aadsts(90100), Code::TokenRequestInvalidParameter, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90102), Code::TokenRequestInvalidParameter, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(901002), Code::TokenRequestInvalidParameter, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70007), Code::AuthorizationRequestInvalidParameter, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90004), Code::TokenRequestMalformedBody, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90015), Code::TokenRequestMalformedBody, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50000), Code::ServerInternal, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(900384), Code::TokenSignature, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(500133), Code::TokenExpired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90055), Code::RateLimitExceeded, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50196), Code::RateLimitExceeded, ENTRA_CODES),
];

/// Every row: the request-level table above, then the rows for states outside the request
/// (the user, the tenant, a policy, the device flow; [`states`]).
pub fn rows() -> impl Iterator<Item = &'static Phrase> {
    PHRASES.iter().chain(states::ROWS.iter())
}

/// Words that correct a row's code when they follow it: a provider's error value or number
/// is broader than one cause, and the sentence after it says which. Each entry: the row's
/// code, the words, the code they mean.
const REFINEMENTS: &[(Code, &str, Code)] = &[
    // "PKCE verification failed: Code mismatch": the verifier does not match the challenge.
    (
        Code::PkceVerifierMismatch,
        "mismatch",
        Code::PkceVerifierMismatch,
    ),
    // Slack's bad_redirect_uri, with its warning that the URL must use https.
    (
        Code::RedirectUriMismatch,
        "must use https",
        Code::RedirectUriScheme,
    ),
    // AADSTS90023 (an invalid request) with the cross-origin sentence of AADSTS9002326.
    (
        Code::TokenRequestMalformedBody,
        "Cross-origin token redemption",
        Code::ClientPlatformMismatch,
    ),
];

/// A phrase found in a provider's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub phrase: &'static Phrase,
    /// The code, for the grant of the refused request.
    pub code: Code,
    /// What the provider names as offending: (what, value).
    pub offending: Option<(&'static str, String)>,
    /// The words after the row's match named one cause (see `REFINEMENTS`): the row's
    /// candidates no longer apply.
    pub refined: bool,
    /// A structural reading's causes when its statements leave several (most likely first).
    pub several: Vec<Code>,
}

/// A missing grant_type: every client library sends one, so the provider most often could not
/// read the body (JSON, another Content-Type) rather than found it without grant_type.
const GRANT_TYPE_MISSING: &[Code] = &[
    Code::TokenRequestMissingParameter,
    Code::TokenRequestUnsupportedContentType,
    Code::TokenRequestJsonBody,
];

impl Match {
    /// The causes the words leave, most likely first; empty when they name one.
    pub fn candidates(&self) -> &[Code] {
        if self.refined {
            return &[];
        }
        if !self.several.is_empty() {
            return &self.several;
        }
        if !self.phrase.candidates.is_empty() {
            return self.phrase.candidates;
        }
        match &self.offending {
            Some(("parameter", v)) if v == "grant_type" => GRANT_TYPE_MISSING,
            _ => &[],
        }
    }

    /// One sentence that says whose words these are, what they name, and the offending value.
    pub fn sentence(&self) -> String {
        let said = match self.phrase.matcher {
            Matcher::Error(e) => format!("The error value '{e}'"),
            Matcher::Description { contains, .. } | Matcher::Page(contains) => {
                format!("The phrase '{}'", contains.trim())
            }
            Matcher::Exact { description, .. } => format!("The phrase '{description}'"),
            Matcher::Aadsts(n) => format!("AADSTS{n}"),
            Matcher::Structure { object, condition } => {
                format!("The description, read by its structure (the {object}: {condition}),")
            }
        };
        let mut s = format!(
            "{said} ({}) names the cause: {} ({})",
            self.phrase.provider,
            self.code,
            self.code.entry().title.trim_end_matches('.')
        );
        if let Some((what, v)) = &self.offending {
            s.push_str(&format!("; the {what} it refuses: '{v}'"));
        }
        s.push('.');
        if let Some(n) = self.phrase.note {
            s.push_str(&format!(" Note: {n}."));
        }
        s
    }
}

/// Whether `hay` holds `needle`, ignoring ASCII case and how many spaces or line breaks
/// separate words (pasted bodies double spaces and wrap lines).
fn contains_ci(hay: &str, needle: &str) -> bool {
    squeeze(hay).contains(&squeeze(needle))
}

/// Lower case, every run of whitespace one space.
fn squeeze(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The numbers of the `AADSTS<n>` codes in a text.
fn aadsts_numbers(text: &str) -> Vec<u32> {
    text.match_indices("AADSTS")
        .filter_map(|(i, m)| {
            let digits: String = text
                .get(i + m.len()..)?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// The value between `o.after` and `o.before` in `text`, trimmed of quotes; `None` when the
/// text does not hold it.
fn cut(text: &str, o: &Offending) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find(&o.after.to_ascii_lowercase())? + o.after.len();
    let rest = text.get(start..)?;
    let end = if o.before.is_empty() {
        rest.find(['\r', '\n', '<']).unwrap_or(rest.len())
    } else {
        rest.to_ascii_lowercase()
            .find(&o.before.to_ascii_lowercase())?
    };
    let v = rest
        .get(..end)?
        .trim()
        .trim_matches(['\'', '"', '.'])
        .trim();
    // A value is a token, a URL or a scope list: never a paragraph.
    (!v.is_empty() && v.len() <= 300).then(|| v.to_string())
}

/// How specific a row's matcher is, for choosing among rows that match.
fn specificity(m: &Matcher) -> usize {
    match m {
        Matcher::Error(_) | Matcher::Aadsts(_) | Matcher::Exact { .. } => usize::MAX,
        Matcher::Description { contains, .. } | Matcher::Page(contains) => contains.len(),
        Matcher::Structure { .. } => 0,
    }
}

/// The most specific row for which `hit` holds (the first on a tie).
fn best(hit: impl Fn(&Matcher) -> bool) -> Option<&'static Phrase> {
    let mut found: Option<&'static Phrase> = None;
    for p in rows().filter(|p| hit(&p.matcher)) {
        if found.is_none_or(|f| specificity(&p.matcher) > specificity(&f.matcher)) {
            found = Some(p);
        }
    }
    found
}

/// Whether the words are about a refresh token rather than a code: they name a refresh token
/// and not an authorization code.
fn about_refresh(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    (t.contains("refresh token") || t.contains("refresh_token"))
        && !t.contains("authorization code")
        && !t.contains("'code'")
}

/// An AADSTS number is mapped by the number, then corrected by the words after it: Entra
/// reuses numbers across related causes (AADSTS70000 for an unknown *and* an expired code,
/// AADSTS70008 for an expired *and* a revoked grant), and its sentence says which.
fn corrected_by_words(code: Code, text: &str, refresh: bool) -> Code {
    use Code::*;
    let family = matches!(
        code,
        CodeUnknown
            | CodeExpired
            | CodeReused
            | RefreshTokenUnknown
            | RefreshTokenExpired
            | RefreshTokenRevoked
    );
    if !family {
        return code;
    }
    let t = text
        .to_ascii_lowercase()
        .replace("expiredorrevokedgrant", "");
    if t.contains("already redeemed") || t.contains("already used") {
        return if refresh {
            RefreshTokenReused
        } else {
            CodeReused
        };
    }
    if t.contains("revoked") && !t.contains("expired or revoked") {
        return if refresh {
            RefreshTokenRevoked
        } else {
            CodeRevoked
        };
    }
    if t.contains("expired") {
        return if refresh {
            RefreshTokenExpired
        } else {
            CodeExpired
        };
    }
    code
}

fn matched(p: &'static Phrase, text: &str, grant: Option<&str>) -> Match {
    let refresh_only = matches!(
        p.code,
        Code::RefreshTokenUnknown
            | Code::RefreshTokenExpired
            | Code::RefreshTokenRevoked
            | Code::RefreshTokenReused
    );
    let refresh = match grant {
        Some(g) => g == "refresh_token",
        None => refresh_only || (p.refresh_code.is_some() && about_refresh(text)),
    };
    let mut code = match (refresh, p.refresh_code) {
        (true, Some(c)) => c,
        _ => p.code,
    };
    // Only the numbers Entra uses for more than one cause are corrected by their words.
    if let Matcher::Aadsts(_) = p.matcher
        && matches!(p.code, Code::CodeUnknown | Code::CodeExpired)
    {
        code = corrected_by_words(code, text, refresh);
    }
    let refinement = REFINEMENTS
        .iter()
        .find(|(from, words, _)| *from == code && contains_ci(text, words));
    let refined = refinement.is_some();
    if let Some((_, _, to)) = refinement {
        code = *to;
    }
    let offending = p
        .offending
        .as_ref()
        .and_then(|o| cut(text, o).map(|v| (o.what, v)));
    // A missing parameter that is the client's credential is missing client authentication
    // (Entra's "must contain the following parameter: 'client_secret or client_assertion'").
    if code == Code::TokenRequestMissingParameter
        && let Some(("parameter", v)) = &offending
        && CREDENTIAL_PARAMETERS.iter().any(|c| has_token(v, c))
    {
        code = Code::ClientAuthMissing;
    }
    Match {
        phrase: p,
        code,
        refined,
        several: Vec::new(),
        offending,
    }
}

/// The request parameters that carry the client's credential.
const CREDENTIAL_PARAMETERS: &[&str] = &["client_secret", "client_assertion"];

/// The phrase of an OAuth error response (`error`, `error_description`) at a request of
/// `grant` (its grant_type, for token requests).
pub fn in_error(error: &str, description: Option<&str>, grant: Option<&str>) -> Option<Match> {
    let d = description.unwrap_or("");
    let numbers = aadsts_numbers(d);
    if !numbers.is_empty() {
        return best(|m| matches!(*m, Matcher::Aadsts(n) if numbers.contains(&n)))
            .map(|p| matched(p, d, grant));
    }
    best(|m| match *m {
        Matcher::Error(e) => e == error,
        Matcher::Exact {
            error: want,
            description,
        } => want == error && d.trim().eq_ignore_ascii_case(description),
        Matcher::Description {
            error: want,
            contains,
        } => want.is_none_or(|w| w == error) && contains_ci(d, contains),
        Matcher::Aadsts(n) => numbers.contains(&n),
        Matcher::Page(_) | Matcher::Structure { .. } => false,
    })
    .map(|p| matched(p, d, grant))
    // No row knows the words: what they say of what, when they say it of one thing.
    .or_else(|| structure::read(d))
}

/// Whether a description says a request parameter without a phrase or object of its own is
/// wrong ("The id_token_hint is invalid"): then the error value's general meaning names no
/// cause.
pub fn states_other_parameter_defect(description: &str) -> bool {
    structure::states_other_parameter_defect(description)
}

/// The entities error pages use for quotes and markup characters, decoded: the phrases are
/// plain text (node oidc-provider writes "client&#39;s").
fn unescape(text: &str) -> String {
    text.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The phrase of a provider's error page (HTML or text).
pub fn in_page(page: &str) -> Option<Match> {
    let text = unescape(page);
    let text = text.as_str();
    let numbers = aadsts_numbers(text);
    best(|m| match *m {
        Matcher::Page(s) => contains_ci(text, s),
        Matcher::Aadsts(n) => numbers.contains(&n),
        // Descriptions a provider also shows on its page (node oidc-provider renders
        // error_description into its error page).
        Matcher::Description { contains, .. } => contains_ci(text, contains),
        // A page holds more than the description; its phrase still counts.
        Matcher::Exact { description, .. } => contains_ci(text, description),
        Matcher::Error(_) | Matcher::Structure { .. } => false,
    })
    .map(|p| matched(p, text, None))
}

/// Whether `word` occurs in `text` as a whole token (not inside a longer identifier).
fn has_token(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text.get(..i).and_then(|t| t.chars().next_back());
        let after = text.get(i + word.len()..).and_then(|t| t.chars().next());
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The phrase in a body that is not an RFC 6749 error object: plain text, a client library's
/// exception or log line that quotes the provider, a page. Every kind of row is looked for: a
/// provider's own error value as a whole word, a number, a phrase; a row that must be the
/// whole description only when it is the whole text.
pub fn in_text(body: &str) -> Option<Match> {
    let text = unescape(body);
    let text = text.as_str();
    let whole = text.trim().trim_matches(['"', '\'', '.', ' ']);
    let numbers = aadsts_numbers(text);
    // Entra's words are read by their number: a number without a row names nothing, rather
    // than a phrase of another provider that its sentence happens to contain.
    if !numbers.is_empty() {
        return best(|m| matches!(*m, Matcher::Aadsts(n) if numbers.contains(&n)))
            .map(|p| matched(p, text, None));
    }
    // A provider's words before an error value found as a word: in a text, an error value may
    // be another provider's (Slack's `invalid_code` in Facebook's WWW-Authenticate header)
    // while a phrase is the sentence the provider wrote.
    best(|m| match *m {
        Matcher::Page(s) => contains_ci(text, s),
        Matcher::Aadsts(n) => numbers.contains(&n),
        Matcher::Description { contains, .. } => contains_ci(text, contains),
        Matcher::Exact { description, .. } => whole.eq_ignore_ascii_case(description),
        Matcher::Error(_) | Matcher::Structure { .. } => false,
    })
    .or_else(|| best(|m| matches!(*m, Matcher::Error(e) if has_token(text, e))))
    .map(|p| matched(p, text, None))
    // A short text (a library's one-line message) is read by its structure too; a long one
    // (a log, a stack trace) holds too many sentences that are not the provider's answer.
    .or_else(|| {
        (text.len() <= STRUCTURE_TEXT_MAX)
            .then(|| structure::read(text))
            .flatten()
    })
}

/// The longest plain text read by its structure.
const STRUCTURE_TEXT_MAX: usize = 300;

#[cfg(test)]
mod tests {
    //! One test per row: each body is either produced here by the provider itself (the corpus's
    //! captures, `crates/doctor/corpus/`), or the provider's documented example (its source
    //! above). A row that stops matching its body fails here.

    use super::*;

    /// (provider, error, description, grant_type, page text, expected code, offending value)
    type Case = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Code,
        Option<&'static str>,
    );

    const CASES: &[Case] = &[
        // The third pass's dev sources (corpus/providers/dev/): each file's own text.
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some("expiration must be specified in the client_assertion JWT"),
            None,
            None,
            Code::ClientAuthAssertionInvalid,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some("unique jti (JWT ID) must be provided in the client_assertion JWT"),
            None,
            None,
            Code::ClientAuthAssertionInvalid,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some("issuer (iss) must be the client id"),
            None,
            None,
            Code::ClientAuthAssertionInvalid,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some("sub (JWT subject) must be the client id"),
            None,
            None,
            Code::ClientAuthAssertionInvalid,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some("list of audience (aud) must include the endpoint url"),
            None,
            None,
            Code::ClientAuthAssertionInvalid,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some("alg mismatch"),
            None,
            None,
            Code::ClientAuthAssertionInvalid,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some("client_assertion must be provided"),
            None,
            None,
            Code::ClientAuthMissing,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some("missing required parameter 'code'"),
            None,
            None,
            Code::TokenRequestMissingParameter,
            Some("code"),
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some("missing required parameters 'code' and 'redirect_uri'"),
            None,
            None,
            Code::TokenRequestMissingParameter,
            Some("code"),
        ),
        (
            HYDRA,
            "invalid_request",
            Some("Username or password missing"),
            Some("password"),
            None,
            Code::TokenRequestMissingParameter,
            None,
        ),
        (
            ZITADEL,
            "invalid_grant",
            Some("redirect_uri does not correspond"),
            Some("authorization_code"),
            None,
            Code::RedirectUriMismatch,
            None,
        ),
        (
            ZITADEL,
            "invalid_request",
            Some("PKCE required"),
            Some("authorization_code"),
            None,
            Code::PkceChallengeMissing,
            None,
        ),
        (
            ZITADEL,
            "invalid_client",
            Some("private_key_jwt not allowed for this client"),
            Some("authorization_code"),
            None,
            Code::ClientAuthMethodMismatch,
            None,
        ),
        (
            SPRING,
            "invalid_client",
            Some(
                "Failed to find a Signature Verifier for Client: 'c1'. Check to ensure you have configured the JWK Set URL.",
            ),
            Some("client_credentials"),
            None,
            Code::ClientMisconfigured,
            None,
        ),
        (
            KEYCLOAK,
            "invalid_grant",
            Some("User session not found"),
            Some("authorization_code"),
            None,
            Code::LoginRequestExpired,
            None,
        ),
        // Google: a refresh token redeemed with another client's credentials (dev:
        // google-api-dotnet-client#2802); at a refresh the grant singles the cause out.
        (
            GOOGLE,
            "unauthorized_client",
            Some("Unauthorized"),
            Some("refresh_token"),
            None,
            Code::RefreshTokenClientMismatch,
            None,
        ),
        // node oidc-provider 9.13.3: bodies from the corpus captures.
        (
            NODE_OIDC_PROVIDER,
            "invalid_redirect_uri",
            Some("redirect_uri did not match any of the client's registered redirect_uris"),
            None,
            None,
            Code::RedirectUriNotRegistered,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "",
            None,
            None,
            Some(
                "<pre><strong>error_description</strong>: redirect_uri did not match any of the client&#39;s registered redirect_uris</pre>",
            ),
            Code::RedirectUriNotRegistered,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_client",
            Some("client authentication failed"),
            Some("authorization_code"),
            None,
            Code::ClientAuthSecretMismatch,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_client",
            Some("client is invalid"),
            None,
            None,
            Code::ClientUnknown,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_request",
            Some(
                "only application/x-www-form-urlencoded content-type bodies are supported on POST /token",
            ),
            None,
            None,
            Code::TokenRequestUnsupportedContentType,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "invalid_scope",
            Some("requested scope is not allowed"),
            None,
            None,
            Code::ScopeNotAllowed,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "unsupported_grant_type",
            Some("unsupported grant_type requested"),
            None,
            None,
            Code::GrantTypeUnsupported,
            None,
        ),
        (
            NODE_OIDC_PROVIDER,
            "unsupported_response_type",
            Some("unsupported response_type requested"),
            None,
            None,
            Code::ResponseTypeUnsupported,
            None,
        ),
        // Keycloak: the descriptions its source sends.
        (
            KEYCLOAK,
            "invalid_grant",
            Some("Code is expired"),
            None,
            None,
            Code::CodeExpired,
            None,
        ),
        (
            KEYCLOAK,
            "invalid_grant",
            Some("Code not valid"),
            None,
            None,
            Code::CodeUnknown,
            None,
        ),
        (
            KEYCLOAK,
            "invalid_grant",
            Some("Incorrect redirect_uri"),
            None,
            None,
            Code::RedirectUriMismatch,
            None,
        ),
        (
            KEYCLOAK,
            "invalid_grant",
            Some("PKCE code verifier not specified"),
            None,
            None,
            Code::PkceVerifierMissing,
            None,
        ),
        (
            "Keycloak, Okta",
            "invalid_grant",
            Some("PKCE verification failed: Code mismatch"),
            None,
            None,
            Code::PkceVerifierMismatch,
            None,
        ),
        (
            KEYCLOAK,
            "unauthorized_client",
            Some("Invalid client or Invalid client credentials"),
            None,
            None,
            Code::ClientAuthSecretMismatch,
            None,
        ),
        (
            KEYCLOAK,
            "unauthorized_client",
            Some("Invalid client credentials"),
            None,
            None,
            Code::ClientAuthSecretMismatch,
            None,
        ),
        (
            KEYCLOAK,
            "",
            None,
            None,
            Some("<p class=\"instruction\">Invalid parameter: redirect_uri</p>"),
            Code::RedirectUriNotRegistered,
            None,
        ),
        (
            KEYCLOAK,
            "",
            None,
            None,
            Some("<p>We are sorry...</p><p>Client not found.</p>"),
            Code::ClientUnknown,
            None,
        ),
        (
            KEYCLOAK,
            "invalid_scope",
            Some("Invalid scopes: openid admin"),
            None,
            None,
            Code::ScopeUnknown,
            Some("openid admin"),
        ),
        // Auth0: documented and reported bodies.
        (
            AUTH0,
            "invalid_grant",
            Some("Invalid authorization code"),
            None,
            None,
            Code::CodeUnknown,
            None,
        ),
        (
            AUTH0,
            "access_denied",
            Some("Unauthorized"),
            None,
            None,
            Code::ClientAuthSecretMismatch,
            None,
        ),
        (
            AUTH0,
            "",
            None,
            None,
            Some(
                "Callback URL mismatch. https://app.example/callback/ is not in the list of allowed callback URLs",
            ),
            Code::RedirectUriNotRegistered,
            Some("https://app.example/callback/"),
        ),
        // Okta.
        (
            OKTA,
            "invalid_request",
            Some(
                "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings: https://example.okta.com/...",
            ),
            None,
            None,
            Code::RedirectUriNotRegistered,
            None,
        ),
        (
            OKTA,
            "",
            None,
            None,
            Some(
                "<h1>400 Bad Request</h1><p>The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.</p>",
            ),
            Code::RedirectUriNotRegistered,
            None,
        ),
        (
            OKTA,
            "invalid_grant",
            Some("The authorization code is invalid or has expired."),
            None,
            None,
            Code::CodeUnknown,
            None,
        ),
        (
            "Keycloak, Okta",
            "invalid_grant",
            Some("PKCE verification failed."),
            None,
            None,
            Code::PkceVerifierMismatch,
            None,
        ),
        // Microsoft Entra ID: the reference's examples.
        (
            ENTRA,
            "invalid_request",
            Some(
                "AADSTS50011: The redirect URI 'http://localhost:3000/cb/' specified in the request does not match the redirect URIs configured for the application '00001111-aaaa-2222-bbbb-3333cccc4444'.",
            ),
            None,
            None,
            Code::RedirectUriNotRegistered,
            Some("http://localhost:3000/cb/"),
        ),
        (
            ENTRA,
            "unauthorized_client",
            Some(
                "AADSTS700016: Application with identifier '00001111-aaaa-2222-bbbb-3333cccc4444' was not found in the directory 'contoso'.",
            ),
            None,
            None,
            Code::ClientUnknown,
            Some("00001111-aaaa-2222-bbbb-3333cccc4444"),
        ),
        (
            ENTRA,
            "invalid_client",
            Some(
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: x",
            ),
            None,
            None,
            Code::ClientAuthSecretMismatch,
            None,
        ),
        (
            ENTRA,
            "invalid_client",
            Some("AADSTS7000222: The provided client secret keys for app '0000' are expired."),
            None,
            None,
            Code::ClientAuthSecretMismatch,
            None,
        ),
        (
            ENTRA,
            "invalid_client",
            Some(
                "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ),
            None,
            None,
            Code::ClientAuthMissing,
            None,
        ),
        (
            ENTRA,
            "invalid_grant",
            Some(
                "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
            ),
            Some("authorization_code"),
            None,
            Code::CodeExpired,
            None,
        ),
        (
            ENTRA,
            "invalid_grant",
            Some(
                "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
            ),
            Some("refresh_token"),
            None,
            Code::RefreshTokenExpired,
            None,
        ),
        (
            ENTRA,
            "invalid_grant",
            Some(
                "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            ),
            None,
            None,
            Code::CodeReused,
            None,
        ),
        (
            ENTRA,
            "invalid_grant",
            Some("AADSTS70000: The provided value for the 'code' parameter is not valid."),
            None,
            None,
            Code::CodeUnknown,
            None,
        ),
        (
            ENTRA,
            "invalid_grant",
            Some(
                "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ),
            None,
            None,
            Code::PkceVerifierMismatch,
            None,
        ),
        (
            ENTRA,
            "invalid_request",
            Some(
                "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
            ),
            None,
            None,
            Code::PkceVerifierMissing,
            None,
        ),
        (
            ENTRA,
            "invalid_scope",
            Some(
                "AADSTS70011: The provided value for the input parameter 'scope' isn't valid. The scope https://example.contoso.com/activity.read isn't valid.\r\nTrace ID: 0000",
            ),
            None,
            None,
            Code::ScopeUnknown,
            Some("https://example.contoso.com/activity.read"),
        ),
        (
            ENTRA,
            "invalid_request",
            Some(
                "AADSTS900144: The request body must contain the following parameter: 'grant_type'.",
            ),
            None,
            None,
            Code::TokenRequestMissingParameter,
            Some("grant_type"),
        ),
        (
            ENTRA,
            "invalid_grant",
            Some("AADSTS700082: The refresh token has expired due to inactivity."),
            Some("refresh_token"),
            None,
            Code::RefreshTokenExpired,
            None,
        ),
        (
            ENTRA,
            "invalid_grant",
            Some(
                "AADSTS65001: The user or administrator has not consented to use the application.",
            ),
            None,
            None,
            Code::PromptConsentRequired,
            None,
        ),
        (
            ENTRA,
            "interaction_required",
            Some("AADSTS50058: A silent sign-in request was sent but no user is signed in."),
            None,
            None,
            Code::PromptLoginRequired,
            None,
        ),
        // Google.
        (
            GOOGLE,
            "",
            None,
            None,
            Some("<p>Error 400: redirect_uri_mismatch</p>"),
            Code::RedirectUriNotRegistered,
            None,
        ),
        (
            GOOGLE,
            "invalid_grant",
            Some("Malformed auth code."),
            None,
            None,
            Code::CodeUnknown,
            None,
        ),
        (
            GOOGLE,
            "invalid_grant",
            Some("Invalid code verifier."),
            None,
            None,
            Code::PkceVerifierMismatch,
            None,
        ),
        (
            GOOGLE,
            "invalid_grant",
            Some("Missing code verifier."),
            None,
            None,
            Code::PkceVerifierMissing,
            None,
        ),
        (
            GOOGLE,
            "invalid_grant",
            Some("code_verifier or verifier is not needed"),
            None,
            None,
            Code::PkceVerifierUnexpected,
            None,
        ),
        // GitHub: the documented bodies.
        (
            GITHUB,
            "bad_verification_code",
            Some("The code passed is incorrect or expired."),
            None,
            None,
            Code::CodeUnknown,
            None,
        ),
        (
            GITHUB,
            "incorrect_client_credentials",
            Some("The client_id and/or client_secret passed are incorrect."),
            None,
            None,
            Code::ClientAuthSecretMismatch,
            None,
        ),
        (
            GITHUB,
            "redirect_uri_mismatch",
            Some("The redirect_uri MUST match the registered callback URL for this application."),
            None,
            None,
            Code::RedirectUriNotRegistered,
            None,
        ),
        // Amazon Cognito.
        (
            COGNITO,
            "",
            None,
            None,
            Some(
                "https://auth.example.auth.us-east-1.amazoncognito.com/error?error=redirect_mismatch&client_id=abc",
            ),
            Code::RedirectUriNotRegistered,
            None,
        ),
        (
            COGNITO,
            "redirect_mismatch",
            None,
            None,
            None,
            Code::RedirectUriNotRegistered,
            None,
        ),
        // ORY Hydra (fosite): the RFC description followed by the hint.
        (
            HYDRA,
            "invalid_grant",
            Some(
                "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client. The authorization code has already been used.",
            ),
            None,
            None,
            Code::CodeReused,
            None,
        ),
        (
            HYDRA,
            "invalid_grant",
            Some(
                "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client. The PKCE code challenge did not match the code verifier.",
            ),
            None,
            None,
            Code::PkceVerifierMismatch,
            None,
        ),
        (
            HYDRA,
            "invalid_grant",
            Some(
                "The provided authorization grant (...) was issued to another client. The \"redirect_uri\" from this request does not match the one from the authorize request.",
            ),
            None,
            None,
            Code::RedirectUriMismatch,
            None,
        ),
        (
            HYDRA,
            "invalid_grant",
            Some(
                "The provided authorization grant (...) was issued to another client. The OAuth 2.0 Client ID from this request does not match the one from the authorize request.",
            ),
            None,
            None,
            Code::CodeClientMismatch,
            None,
        ),
        (
            HYDRA,
            "invalid_token",
            Some("Token expired. Authorize code expired at '2024-05-01 10:00:00 +0000 UTC'."),
            None,
            None,
            Code::CodeExpired,
            None,
        ),
        (
            HYDRA,
            "invalid_client",
            Some(
                "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method). The requested OAuth 2.0 Client does not exist.",
            ),
            None,
            None,
            Code::ClientUnknown,
            None,
        ),
        (
            HYDRA,
            "invalid_request",
            Some(
                "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed. The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.",
            ),
            None,
            None,
            Code::RedirectUriNotRegistered,
            None,
        ),
        (
            HYDRA,
            "invalid_scope",
            Some(
                "The requested scope is invalid, unknown, or malformed. The OAuth 2.0 Client is not allowed to request scope 'admin'.",
            ),
            None,
            None,
            Code::ScopeNotAllowed,
            Some("admin"),
        ),
        // Authlib 1.6.12: bodies from the corpus captures, and from its source.
        (
            AUTHLIB,
            "invalid_grant",
            Some("Invalid 'code' in request."),
            None,
            None,
            Code::CodeUnknown,
            None,
        ),
        (
            AUTHLIB,
            "invalid_grant",
            Some("Invalid 'redirect_uri' in request."),
            None,
            None,
            Code::RedirectUriMismatch,
            None,
        ),
        (
            AUTHLIB,
            "invalid_grant",
            Some("Code challenge failed."),
            None,
            None,
            Code::PkceVerifierMismatch,
            None,
        ),
        (
            AUTHLIB,
            "invalid_request",
            Some("Missing 'code_verifier'"),
            None,
            None,
            Code::PkceVerifierMissing,
            None,
        ),
        (
            AUTHLIB,
            "invalid_request",
            Some("Invalid 'code_verifier'"),
            None,
            None,
            Code::PkceVerifierMalformed,
            None,
        ),
        (
            AUTHLIB,
            "invalid_request",
            Some("Missing 'code_challenge'"),
            None,
            None,
            Code::PkceChallengeMissing,
            None,
        ),
        (
            AUTHLIB,
            "invalid_request",
            Some("Unsupported 'code_challenge_method'"),
            None,
            None,
            Code::PkceMethodUnsupported,
            None,
        ),
        (
            AUTHLIB,
            "invalid_client",
            Some("The client does not exist on this server."),
            None,
            None,
            Code::ClientUnknown,
            None,
        ),
        (
            AUTHLIB,
            "invalid_client",
            Some("The client cannot authenticate with methods: ['client_secret_basic']"),
            None,
            None,
            Code::ClientAuthSecretMismatch,
            None,
        ),
        (
            AUTHLIB,
            "invalid_request",
            Some("Redirect URI http://127.0.0.1:7001/cb/ is not supported by client."),
            None,
            None,
            Code::RedirectUriNotRegistered,
            Some("http://127.0.0.1:7001/cb/"),
        ),
        (
            AUTHLIB,
            "invalid_scope",
            Some("The requested scope is invalid, unknown, or malformed."),
            None,
            None,
            Code::ScopeUnknown,
            None,
        ),
        // Spring Authorization Server.
        (
            SPRING,
            "invalid_request",
            Some("OAuth 2.0 Parameter: redirect_uri"),
            None,
            None,
            Code::RedirectUriNotRegistered,
            None,
        ),
        (
            SPRING,
            "invalid_scope",
            Some("OAuth 2.0 Parameter: scope"),
            None,
            None,
            Code::ScopeUnknown,
            None,
        ),
        (
            SPRING,
            "invalid_request",
            Some("OAuth 2.0 Parameter: code_challenge_method"),
            None,
            None,
            Code::PkceMethodUnsupported,
            None,
        ),
        (
            SPRING,
            "invalid_request",
            Some("OAuth 2.0 Parameter: code_challenge"),
            None,
            None,
            Code::PkceChallengeMissing,
            None,
        ),
        (
            SPRING,
            "invalid_request",
            Some("OAuth 2.0 Parameter: client_id"),
            None,
            None,
            Code::ClientUnknown,
            None,
        ),
        (
            SPRING,
            "invalid_grant",
            Some("Client authentication failed: code_verifier"),
            None,
            None,
            Code::PkceVerifierMismatch,
            None,
        ),
        (
            SPRING,
            "invalid_client",
            Some("Client authentication failed: client_secret"),
            None,
            None,
            Code::ClientAuthSecretMismatch,
            None,
        ),
        (
            SPRING,
            "invalid_client",
            Some("Client authentication failed: client_id"),
            None,
            None,
            Code::ClientUnknown,
            None,
        ),
    ];

    fn lookup(c: &Case) -> Option<Match> {
        match c.4 {
            Some(page) => in_page(page),
            None => in_error(c.1, c.2, c.3),
        }
    }

    #[test]
    fn every_case_names_its_code_and_value() {
        for c in CASES {
            let m = lookup(c).unwrap_or_else(|| panic!("no phrase matches {c:?}"));
            assert_eq!(m.phrase.provider, c.0, "{c:?} matched {:?}", m.phrase);
            assert_eq!(m.code, c.5, "{c:?}");
            assert_eq!(m.offending.as_ref().map(|(_, v)| v.as_str()), c.6, "{c:?}");
        }
    }

    /// The bodies of the provider corpus's dev part (corpus/providers/dev/), which the rows
    /// after the first ones were written from: each such row is held to a body there.
    fn dev_bodies() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/providers/dev");
        let mut out = Vec::new();
        for f in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            let v: toml::Value = toml::from_str(&text).unwrap();
            for c in v.get("case").and_then(|c| c.as_array()).unwrap() {
                out.push(c.get("body").and_then(|b| b.as_str()).unwrap().to_string());
            }
        }
        out
    }

    /// Rows whose words are documented but not in the dev part: their documented bodies.
    const DOCUMENTED: &[&str] = &[
        "{\"error\":\"invalid_client\",\"error_description\":\"The client secret supplied for a confidential client is invalid.\"}",
        "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired or revoked.\"}",
        "{\"error\":\"invalid_grant\",\"error_description\":\"Token is not active\"}",
    ];

    #[test]
    fn every_row_has_a_case_and_a_source() {
        let mut bodies = dev_bodies();
        bodies.extend(DOCUMENTED.iter().map(|s| s.to_string()));
        let mut missing = Vec::new();
        for (i, p) in rows().enumerate() {
            assert!(
                p.source.starts_with("https://") || p.source.contains(':'),
                "row {i} has no source"
            );
            let covered = CASES
                .iter()
                .any(|c| lookup(c).is_some_and(|m| std::ptr::eq(m.phrase, p)))
                || bodies
                    .iter()
                    .any(|b| in_text(b).is_some_and(|m| std::ptr::eq(m.phrase, p)));
            if !covered {
                missing.push(format!("row {i} ({} {:?})", p.provider, p.matcher));
            }
        }
        assert!(missing.is_empty(), "rows without a test case: {missing:#?}");
    }

    /// One line of docs/doctor.md's table of rows ("Providers' own words").
    fn table_line(p: &Phrase) -> String {
        let esc = |t: &str| t.replace('|', "\\|");
        let said = match p.matcher {
            Matcher::Error(e) => format!("error `{e}`"),
            Matcher::Description {
                error: Some(e),
                contains,
            } => format!("`{e}`: \"{}\"", esc(contains.trim())),
            Matcher::Description {
                error: None,
                contains,
            } => format!("\"{}\"", esc(contains.trim())),
            Matcher::Exact { error, description } => {
                format!("`{error}`: exactly \"{}\"", esc(description))
            }
            Matcher::Aadsts(n) => format!("AADSTS{n}"),
            Matcher::Page(t) => format!("page: \"{}\"", esc(t.trim())),
            Matcher::Structure { object, condition } => format!("the {object}: {condition}"),
        };
        let code = if p.candidates.is_empty() {
            match p.refresh_code {
                Some(r) if r != p.code => format!("`{}` (refresh: `{r}`)", p.code),
                _ => format!("`{}`", p.code),
            }
        } else {
            let list: Vec<String> = p.candidates.iter().map(|c| format!("`{c}`")).collect();
            format!("candidates: {}", list.join(", "))
        };
        let value = p.offending.map(|o| o.what).unwrap_or("");
        format!("| {} | {said} | {code} | {value} |", p.provider)
    }

    /// docs/doctor.md lists every row as the table says it: a row added, changed or removed
    /// without the documentation fails here. `CANDOR_PRINT_PHRASE_TABLE=1` prints the table
    /// to paste between the markers.
    #[test]
    fn the_documentation_lists_every_row() {
        let mut table =
            String::from("| provider | what it says | code | value named |\n|---|---|---|---|\n");
        for p in rows() {
            table.push_str(&table_line(p));
            table.push('\n');
        }
        if std::env::var_os("CANDOR_PRINT_PHRASE_TABLE").is_some() {
            println!("{table}");
        }
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/doctor.md"),
        )
        .unwrap();
        let block = docs
            .split_once("<!-- phrase-table:begin -->\n")
            .and_then(|(_, rest)| rest.split_once("<!-- phrase-table:end -->"))
            .map(|(b, _)| b)
            .expect("docs/doctor.md has the phrase-table markers");
        assert_eq!(
            block, table,
            "docs/doctor.md's table of rows is out of date"
        );
    }

    /// Words a provider says for several causes list them (issue 23: no confident wrong
    /// answer), and the words after them or the value they name narrow them when they can.
    #[test]
    fn words_of_several_causes_list_them() {
        let cands = |e: &str, d: &str| {
            in_error(e, Some(d), None)
                .map(|m| m.candidates().to_vec())
                .unwrap_or_default()
        };
        // A code the provider does not hold: unknown, expired or already redeemed.
        assert_eq!(
            cands("invalid_grant", "Invalid \"code\" in request."),
            CODE_REFUSED
        );
        // Entra's refused secret: the request tells a wrong secret from another method.
        assert_eq!(
            cands(
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."
            ),
            [
                Code::ClientAuthSecretMismatch,
                Code::ClientAuthMethodMismatch
            ]
        );
        // Keycloak's PKCE refusal: the words after it narrow it.
        assert_eq!(cands("invalid_grant", "PKCE verification failed").len(), 3);
        let m = in_error(
            "invalid_grant",
            Some("PKCE verification failed: Code mismatch"),
            None,
        )
        .unwrap();
        assert!(m.candidates().is_empty());
        assert_eq!(m.code, Code::PkceVerifierMismatch);
        // A missing parameter that is the client's credential.
        let m = in_error(
            "invalid_request",
            Some("AADSTS90014: The request body must contain the following parameter: 'client_secret or client_assertion'."),
            None,
        )
        .unwrap();
        assert_eq!(m.code, Code::ClientAuthMissing);
        let m = in_error(
            "invalid_request",
            Some(
                "AADSTS90014: The request body must contain the following parameter: 'grant_type'.",
            ),
            None,
        )
        .unwrap();
        assert_eq!(m.code, Code::TokenRequestMissingParameter);
    }

    /// In a text, a provider's sentence outweighs an error value found as a word (which may
    /// be another provider's).
    #[test]
    fn a_sentence_before_an_error_value_in_text() {
        let m = in_text("WWW-Authenticate: OAuth \"invalid_code\" \"Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request\"").unwrap();
        assert_eq!(m.code, Code::RedirectUriMismatch);
        // Alone, the error value is still read.
        let m = in_text("SlackAPIError: invalid_code").unwrap();
        assert_eq!(m.candidates(), CODE_REFUSED);
    }

    #[test]
    fn shared_phrases_name_nothing() {
        // Phrases that several causes share are not guessed at.
        assert_eq!(
            in_error("invalid_grant", Some("grant request is invalid"), None),
            None
        );
        assert_eq!(in_error("invalid_grant", None, None), None);
        assert_eq!(
            in_error(
                "invalid_grant",
                Some(
                    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
                ),
                None
            ),
            None
        );
        assert_eq!(in_page("<h1>Something went wrong</h1>"), None);
        // The RFC's generic invalid_request sentence, as LinkedIn words it, is not node
        // oidc-provider's "missing required parameter 'x'".
        assert!(
            in_text("invalid_request: missing required parameters, includes an invalid parameter value, parameter more than once.")
                .is_none_or(|m| m.code != Code::TokenRequestMissingParameter)
        );
        // An error value alone does not match a description row of another error.
        assert_eq!(in_error("invalid_grant", Some("Unauthorized"), None), None);
    }

    #[test]
    fn values_are_cut_without_panicking_on_odd_text() {
        let o = Offending {
            what: "x",
            after: "é'",
            before: "'",
        };
        for t in ["", "é'", "é''", "ééé'abc", "\u{10ffff}é'v'"] {
            let _ = cut(t, &o);
        }
        assert_eq!(cut("é'v'", &o).as_deref(), Some("v"));
        assert_eq!(aadsts_numbers("AADSTS AADSTS12x AADSTS"), vec![12]);
    }
}
