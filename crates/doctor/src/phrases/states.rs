//! Rows for causes that lie outside the request: the user's account, the tenant, a policy,
//! the client's registration, the device flow's states and the provider's availability.
//!
//! These are what a provider says when the request itself was well formed: a disabled user,
//! a conditional-access policy, a tenant that does not exist, a device code not approved yet.
//! Written from the provider corpus's `dev/` part (corpus/providers/README.md): Microsoft's
//! AADSTS reference rows that occur in OAuth flows, and the providers' own source strings.

use candor_proto::Code;

use super::{
    ENTRA, ENTRA_CODES, FOSITE_ERRORS, FOSITE_REFRESH, GITHUB, GITHUB_DEVICE, GITHUB_TOKEN_ERRORS,
    GOOGLE, HYDRA, KEYCLOAK, KEYCLOAK_CLIENT_CREDENTIALS, KEYCLOAK_CODE_GRANT,
    KEYCLOAK_DEVICE_GRANT, Matcher, NODE_OIDC_PROVIDER, OIDC_PROVIDER_ERRORS, Phrase, any_desc,
    desc, row,
};

const KEYCLOAK_AUTH_PROCESSOR: &str = "keycloak/keycloak:services/src/main/java/org/keycloak/authentication/AuthenticationProcessor.java";
const GOOGLE_EMBEDDED: &str = "https://developers.google.com/identity/protocols/oauth2/web-server#authorization-errors-disallowed-useragent";
const B2C_SPA: &str =
    "https://github.com/AzureAD/microsoft-authentication-library-for-js/issues/5196";
const SPA_SERVER_SIDE: &str = "https://github.com/clocked0ne/passport-outlook/issues/16";

pub(super) static ROWS: &[Phrase] = &[
    // --- Microsoft Entra ID: the reference's numbers for the user, tenant, policy, resource,
    // client state and service availability.
    row(ENTRA, Matcher::Aadsts(16000), Code::UserNotFound, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50014), Code::UserNotFound, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50034), Code::UserNotFound, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(51004), Code::UserNotFound, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90072), Code::UserNotFound, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50057), Code::UserDisabled, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50126), Code::UserCredentialsInvalid, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50055), Code::UserPasswordExpired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50144), Code::UserPasswordExpired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50105), Code::UserNotAssigned, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50076), Code::MfaRequired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50078), Code::MfaRequired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50079), Code::MfaRequired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50158), Code::MfaRequired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50059), Code::TenantUnknown, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50128), Code::TenantUnknown, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90002), Code::TenantUnknown, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90019), Code::TenantUnknown, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50143), Code::TenantMismatch, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(700005), Code::TenantMismatch, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50002), Code::PolicyBlocked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(500021), Code::PolicyBlocked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50131), Code::PolicyBlocked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(53000), Code::PolicyBlocked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(53003), Code::PolicyBlocked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(530032), Code::PolicyBlocked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(530035), Code::PolicyBlocked, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50049), Code::AuthorityUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50194), Code::AuthorityUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(9001023), Code::AuthorityUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(9002332), Code::AuthorityUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90038), Code::AuthorityUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90124), Code::AuthorityUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90130), Code::AuthorityUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(500201), Code::AuthorityUnsupported, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50001), Code::ResourceUnknown, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(500011), Code::ResourceUnknown, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(650054), Code::ResourceUnknown, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(65005), Code::ClientMisconfigured, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(650056), Code::ClientMisconfigured, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70001), Code::ClientDisabled, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(1000031), Code::ClientDisabled, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(7000112), Code::ClientDisabled, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(7000114), Code::GrantTypeNotAllowed, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(28003), Code::ScopeMissing, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(50089), Code::LoginRequestExpired, ENTRA_CODES)
        .note("the sign-in flow's own token expired: start the sign-in again"),
    row(ENTRA, Matcher::Aadsts(90056), Code::TokenEndpointNotFound, ENTRA_CODES)
        .note("a code is redeemed with a POST to the /token endpoint, not the authorize endpoint"),
    row(ENTRA, Matcher::Aadsts(240002), Code::TokenRequestInvalidParameter, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(9002326), Code::ClientPlatformMismatch, ENTRA_CODES)
        .note("a browser redeemed a code of an app registered as Web: register the redirect URI under 'Single-page application'"),
    row(ENTRA, Matcher::Aadsts(90023), Code::TokenRequestMalformedBody, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(9002313), Code::TokenRequestMalformedBody, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90006), Code::ProviderUnavailable, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90012), Code::ProviderUnavailable, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90024), Code::ProviderUnavailable, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(90033), Code::ProviderUnavailable, ENTRA_CODES),
    // Entra's device flow numbers.
    row(ENTRA, Matcher::Aadsts(70016), Code::DeviceAuthorizationPending, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70019), Code::DeviceCodeExpired, ENTRA_CODES),
    row(ENTRA, Matcher::Aadsts(70018), Code::CodeUnknown, ENTRA_CODES)
        .note("device flow: the user typed a wrong user code"),
    // The same words without their number (Azure AD B2C, MSAL's own message).
    row(
        "Microsoft Entra ID / Azure AD B2C",
        any_desc("Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type"),
        Code::ClientPlatformMismatch,
        B2C_SPA,
    ),
    row(
        ENTRA,
        any_desc("Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests"),
        Code::ClientPlatformMismatch,
        SPA_SERVER_SIDE,
    )
    .note("a back end redeemed a code issued for a 'Single-page application' redirect URI: register the URI under Web, or redeem it from the browser"),
    // --- RFC 8628 (device flow) error values: each names one state.
    row("RFC 8628", Matcher::Error("authorization_pending"), Code::DeviceAuthorizationPending, GITHUB_DEVICE),
    row("RFC 8628", Matcher::Error("slow_down"), Code::DeviceSlowDown, GITHUB_DEVICE),
    row("RFC 8628", Matcher::Error("expired_token"), Code::DeviceCodeExpired, GITHUB_DEVICE),
    row(HYDRA, any_desc("The authorization request is still pending"), Code::DeviceAuthorizationPending, FOSITE_ERRORS),
    row(NODE_OIDC_PROVIDER, any_desc("authorization request is still pending"), Code::DeviceAuthorizationPending, OIDC_PROVIDER_ERRORS),
    // --- Availability.
    row(
        HYDRA,
        any_desc("is currently unable to handle the request due to a temporary overloading or maintenance"),
        Code::ProviderUnavailable,
        FOSITE_ERRORS,
    ),
    // --- fosite's other single-cause descriptions.
    row(HYDRA, any_desc("The state is missing or does not have enough characters"), Code::AuthorizationRequestInvalidParameter, FOSITE_ERRORS),
    row(HYDRA, any_desc("does not support obtaining a response using this response mode"), Code::AuthorizationRequestInvalidParameter, FOSITE_ERRORS),
    row(HYDRA, any_desc("The Authorization Server requires End-User interaction of some form to proceed"), Code::PromptLoginRequired, FOSITE_ERRORS)
        .note("with prompt=none the provider could not answer silently: a login, a consent or another step is needed"),
    row(HYDRA, any_desc("was not granted scope"), Code::ScopeMissing, FOSITE_REFRESH)
        .note("a refresh needs the scope (offline_access, or offline) granted at authorize"),
    // The RFC's own access_denied sentence: the user, or the server.
    row(HYDRA, any_desc("The resource owner or authorization server denied the request"), Code::ConsentDenied, FOSITE_ERRORS)
        .note("the RFC's access_denied sentence: the user declined, or a rule of the provider refused")
        .candidates(&[Code::ConsentDenied, Code::PolicyBlocked]),
    // --- Keycloak.
    row(KEYCLOAK, desc("invalid_grant", "User disabled"), Code::UserDisabled, KEYCLOAK_CODE_GRANT),
    // The password grant's answers for the user.
    row(KEYCLOAK, any_desc("Account disabled"), Code::UserDisabled, "https://github.com/Nerzal/gocloak/issues/427"),
    row(
        KEYCLOAK,
        any_desc("Invalid user credentials"),
        Code::UserCredentialsInvalid,
        "https://github.com/wpic/sample-keycloak-getting-token/issues/1",
    ),
    row(KEYCLOAK, any_desc("Client credentials setup required"), Code::ClientMisconfigured, KEYCLOAK_AUTH_PROCESSOR),
    // The client credentials grant's user is the client's service account.
    row(KEYCLOAK, any_desc("The associated service account for the client does not exist"), Code::UserNotFound, KEYCLOAK_CLIENT_CREDENTIALS)
        .note("the client's service-account user is missing: turn 'Service accounts roles' off and on again in the client's settings"),
    // The device grant's states, in Keycloak's words (its description names the state even
    // where a body lost the error value).
    row(KEYCLOAK, any_desc("Device code is expired"), Code::DeviceCodeExpired, KEYCLOAK_DEVICE_GRANT),
    row(KEYCLOAK, Matcher::Exact { error: "slow_down", description: "Slow down" }, Code::DeviceSlowDown, KEYCLOAK_DEVICE_GRANT),
    row(KEYCLOAK, any_desc("The end user denied the authorization request"), Code::DeviceDenied, KEYCLOAK_DEVICE_GRANT),
    row(KEYCLOAK, any_desc("Unexpected error when authenticating client"), Code::ServerInternal, KEYCLOAK_AUTH_PROCESSOR),
    // --- GitHub: its own error value for a user state.
    row(GITHUB, Matcher::Error("unverified_user_email"), Code::UserDisabled, GITHUB_TOKEN_ERRORS)
        .note("GitHub issues tokens only to users with a verified primary email"),
    // --- Google: its embedded web view policy.
    row(GOOGLE, Matcher::Page("disallowed_useragent"), Code::PolicyBlocked, GOOGLE_EMBEDDED)
        .note("Google refuses sign-in from embedded web views: open the authorization URL in the system browser"),
];
