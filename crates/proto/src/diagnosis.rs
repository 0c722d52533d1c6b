//! The diagnosis catalogue: every failure Candor can name, as data.
//!
//! Each entry has a stable dotted code (`redirect_uri.trailing_slash`), the RFC 6749 `error`
//! value and HTTP status the server answers with, a one-line title, an explanation and a fix.
//! The server's error responses, the gateway's refusals, the doctor's findings, the
//! `/docs/errors/<code>` pages and `docs/errors.md` are all generated from this one table.
//!
//! Codes are part of the public contract: never rename or remove one; add new ones.

use std::fmt;

/// Who meets a failure: the server refuses a request, or a client sees a bad response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Returned by Candor's endpoints (and the gateway) to a client.
    Server,
    /// Seen by a client (or the doctor) in what some provider returned.
    Client,
}

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub code: &'static str,
    pub side: Side,
    /// The RFC 6749 / 6750 / 7009 / 8707 `error` value, for server-side codes.
    pub error: Option<&'static str>,
    /// The HTTP status the server answers with, for server-side codes.
    pub status: Option<u16>,
    pub title: &'static str,
    pub explanation: &'static str,
    pub fix: &'static str,
}

macro_rules! catalogue {
    ($( $variant:ident => $code:literal, $side:ident, $error:expr, $status:expr,
        $title:literal, $explanation:literal, $fix:literal; )*) => {
        /// A diagnosis code. `Code::X.entry()` gives its catalogue entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $( $variant, )* }

        impl Code {
            /// Every code, in catalogue order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// This code's catalogue entry.
            pub fn entry(self) -> &'static Entry {
                match self {
                    $( Code::$variant => {
                        const ENTRY: Entry = Entry {
                            code: $code,
                            side: Side::$side,
                            error: $error,
                            status: $status,
                            title: $title,
                            explanation: $explanation,
                            fix: $fix,
                        };
                        &ENTRY
                    } )*
                }
            }
        }
    };
}

impl Code {
    /// The codes only the doctor names: what it reads in a capture (a browser's state, a
    /// sanitized export, a provider's error page), which no live request to Candor's server,
    /// gateway or client produces. Every other code is produced outside the doctor; a test
    /// (`crates/cli/tests/catalogue.rs`) holds both halves of that to the sources.
    pub const DOCTOR_ONLY: &'static [Code] = &[
        Code::StateMissing,
        Code::StateMismatch,
        Code::ClockSkew,
        Code::ClientSecretInBrowser,
        Code::HarSanitized,
        Code::CallbackError,
        Code::CallbackIssMismatch,
        Code::AuthorizationErrorPage,
        Code::JwksAlgMismatch,
        Code::HarBodyMissing,
        Code::HarNoFlow,
        Code::DiscoveryEndpointMismatch,
        Code::TokenEndpointNotFound,
        Code::ProxyBlocked,
        Code::ProviderUnavailable,
        Code::ClientDisabled,
        Code::ClientPlatformMismatch,
        Code::ClientMisconfigured,
        Code::UserNotFound,
        Code::UserDisabled,
        Code::UserCredentialsInvalid,
        Code::UserPasswordExpired,
        Code::UserNotAssigned,
        Code::MfaRequired,
        Code::TenantUnknown,
        Code::TenantMismatch,
        Code::PolicyBlocked,
        Code::AuthorityUnsupported,
        Code::ResourceUnknown,
        Code::ScopeMissing,
        Code::DeviceAuthorizationPending,
        Code::DeviceSlowDown,
        Code::DeviceCodeExpired,
        Code::DeviceDenied,
    ];

    /// The dotted code, e.g. `redirect_uri.trailing_slash`.
    pub fn as_str(self) -> &'static str {
        self.entry().code
    }

    /// Finds a code by its dotted name.
    pub fn parse(code: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// The RFC `error` value; `server_error` for a client-side code used on the server.
    pub fn error(self) -> &'static str {
        self.entry().error.unwrap_or("server_error")
    }

    /// The HTTP status; 500 for a client-side code used on the server.
    pub fn status(self) -> u16 {
        self.entry().status.unwrap_or(500)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const IR: Option<&str> = Some("invalid_request");
const IC: Option<&str> = Some("invalid_client");
const IG: Option<&str> = Some("invalid_grant");
const IS: Option<&str> = Some("invalid_scope");
const IT: Option<&str> = Some("invalid_token");
const NONE: Option<&str> = None;

catalogue! {
    // ---- requests to back-channel endpoints (token, introspection, revocation) ----------
    TokenRequestNotPost => "token_request.not_post", Server, IR, Some(405),
        "The endpoint was called with a method other than POST",
        "The token, introspection and revocation endpoints accept only POST with an \
         application/x-www-form-urlencoded body (RFC 6749 section 3.2). A GET usually means a \
         browser was sent to the endpoint, or a client library was pointed at the wrong URL.",
        "Send a POST request. If a browser ended up here, the redirect that led to it is wrong: \
         browsers go to the authorization endpoint, back-ends call the token endpoint.";
    TokenRequestJsonBody => "token_request.json_body", Server, IR, Some(400),
        "The request body is JSON, but OAuth expects a form",
        "RFC 6749 section 3.2 requires the parameters of a token request in an \
         application/x-www-form-urlencoded body. Many HTTP libraries send JSON by default.",
        "Send Content-Type: application/x-www-form-urlencoded and encode the parameters as a \
         form (grant_type=client_credentials&scope=...). In JavaScript use URLSearchParams; in \
         Python requests use data= rather than json=.";
    TokenRequestUnsupportedContentType => "token_request.unsupported_content_type", Server, IR, Some(400),
        "The request body has a Content-Type other than a form",
        "Only application/x-www-form-urlencoded bodies are accepted (RFC 6749 section 3.2); \
         multipart forms, XML, plain text and missing Content-Type headers are refused.",
        "Send Content-Type: application/x-www-form-urlencoded with a form-encoded body.";
    TokenRequestMalformedBody => "token_request.malformed_body", Server, IR, Some(400),
        "The form body cannot be decoded",
        "The body is not valid application/x-www-form-urlencoded data: it has bytes that are \
         not UTF-8 once percent-decoded, or a broken percent escape.",
        "Let your HTTP library encode the form for you rather than building the string by hand, \
         and encode values as UTF-8.";
    TokenRequestTooLarge => "token_request.too_large", Server, IR, Some(413),
        "The request body is larger than the server accepts",
        "Back-channel requests are small; a body over the limit (64 KiB) is refused before it \
         is read, to protect the server.",
        "Send only the OAuth parameters. If a client assertion or a scope list is genuinely this \
         large, something upstream is generating it wrongly.";
    TokenRequestMissingParameter => "token_request.missing_parameter", Server, IR, Some(400),
        "A required parameter is absent or empty",
        "Every grant has required parameters (grant_type always; the token for introspection \
         and revocation). The error description names the parameter that is missing.",
        "Add the parameter named in the error description to the form body.";
    TokenRequestInvalidParameter => "token_request.invalid_parameter", Server, IR, Some(400),
        "A parameter has a value the endpoint does not accept",
        "The description names the parameter and what it must be (a number, say).",
        "Send the parameter in the form the description gives.";
    TokenRequestDuplicateParameter => "token_request.duplicate_parameter", Server, IR, Some(400),
        "A parameter was sent more than once",
        "RFC 6749 section 3.2: request parameters must not be included more than once. A \
         duplicate often comes from a library that adds a parameter the caller also added by \
         hand (client_id, scope, grant_type).",
        "Send each parameter once. Check whether your library already adds it.";

    // ---- grant types ----------------------------------------------------------------------
    GrantTypeUnsupported => "grant_type.unsupported", Server, Some("unsupported_grant_type"), Some(400),
        "The grant_type is not one this server supports",
        "Candor supports client_credentials, authorization_code and refresh_token (OAuth 2.1). \
         The implicit and password grants were removed from OAuth 2.1 and are not offered.",
        "Use one of the grant types listed in grant_types_supported in the server metadata.";
    GrantTypeNotAllowed => "grant_type.not_allowed", Server, Some("unauthorized_client"), Some(400),
        "This client is not registered for the grant type",
        "Each client is registered with the grant types it may use; this one asked for a grant \
         outside that list.",
        "Register the grant type for the client (candor client create --grant-type ...), or use \
         a client that has it.";

    // ---- client authentication ------------------------------------------------------------
    AuthorizationHeaderInvalid => "authorization_header.invalid", Server, IR, Some(400),
        "The Authorization header was sent twice, or holds bytes that are not visible ASCII",
        "A request carries at most one Authorization header (RFC 9110 section 11.6.2). Two of \
         them usually mean a proxy and the client each added one; which should count would be \
         a guess, so neither does. A value with control or non-ASCII bytes cannot be a Basic \
         or Bearer credential.",
        "Send one Authorization header. If a proxy adds credentials, make it replace the \
         client's header rather than append a second one.";
    ClientAuthMissing => "client_auth.missing", Server, IC, Some(401),
        "A confidential client sent no credentials",
        "The client is registered as confidential, but the request carried neither an \
         Authorization: Basic header, nor client_secret in the body, nor a client assertion.",
        "Authenticate with the method the client is registered for (token_endpoint_auth_method), \
         for example an Authorization: Basic header with client_id:client_secret.";
    ClientAuthUnknownClient => "client_auth.unknown_client", Server, IC, Some(401),
        "No client with this client_id exists",
        "The client_id in the request matches no registered client. Typical causes are a typo, \
         a client registered on another environment, or a client_id that was URL-encoded twice.",
        "Check the client_id against `candor client list` on the server you are calling.";
    ClientAuthSecretMismatch => "client_auth.secret_mismatch", Server, IC, Some(401),
        "The client secret is wrong",
        "The client exists, but the secret presented does not match the registered one. The \
         secret may have been rotated, copied with whitespace, or (in a Basic header) not \
         form-encoded before base64 as RFC 6749 section 2.3.1 requires.",
        "Use the current secret (candor client rotate-secret prints a new one). In a Basic \
         header, form-encode client_id and secret before joining them with ':' and base64.";
    ClientAuthClientDisabled => "client_auth.client_disabled", Server, IC, Some(401),
        "The client is disabled",
        "The client authenticated correctly, but an administrator disabled it: Candor issues \
         nothing to a disabled client, and every token it held was revoked when it was \
         disabled (gateways learn it from the revocation feed).",
        "If it should work, enable it again: `candor client enable ID`, the console's Clients \
         page, or POST /admin/api/v1/clients/{client_id}/enable. Otherwise the application \
         must stop using this client.";
    ClientAuthMethodMismatch => "client_auth.method_mismatch", Server, IC, Some(401),
        "The client authenticated with a method other than the registered one",
        "Each client is registered for exactly one authentication method \
         (token_endpoint_auth_method). Presenting a valid credential by another method is \
         refused, so that a client's weaker method cannot be used to impersonate it.",
        "Authenticate with the registered method, which the error description names, or \
         re-register the client with the method you use.";
    ClientAuthMultipleMethods => "client_auth.multiple_methods", Server, IR, Some(400),
        "The request used more than one client authentication method",
        "RFC 6749 section 2.3: a client must not use more than one authentication method in \
         each request, for example a Basic header and client_secret in the body.",
        "Send the credentials one way only: remove the body parameter or the header.";
    ClientAuthBasicMalformed => "client_auth.basic_malformed", Server, IC, Some(401),
        "The Authorization: Basic header cannot be decoded",
        "The header is not 'Basic ' followed by base64 of 'client_id:client_secret', or the \
         decoded parts are not valid form-encoded UTF-8 (RFC 6749 section 2.3.1).",
        "Build the header as 'Basic ' + base64(urlencode(client_id) + ':' + \
         urlencode(client_secret)).";
    ClientAuthAssertionInvalid => "client_auth.assertion_invalid", Server, IC, Some(401),
        "The client assertion JWT was refused",
        "private_key_jwt and client_secret_jwt clients authenticate with a signed JWT (RFC \
         7523). The description says which check failed: signature, algorithm, iss or sub not \
         equal to the client_id, aud not naming this server, exp missing or past, or a jti \
         that was used before.",
        "Sign a fresh assertion for every request with iss = sub = client_id, aud = the token \
         endpoint URL (or the issuer), a short exp and a unique jti.";
    ClientAuthPublicClientForbidden => "client_auth.public_client_forbidden", Server, IC, Some(401),
        "A public client called an endpoint reserved to confidential clients",
        "Introspection is for resource servers and confidential clients; a public client \
         (token_endpoint_auth_method none) cannot authenticate, so it may not introspect.",
        "Introspect from a confidential client, for example one registered for the resource \
         server.";

    // ---- scopes and resources -------------------------------------------------------------
    ScopeUnknown => "scope.unknown", Server, IS, Some(400),
        "A requested scope is not known to this server",
        "The scope is neither an OpenID Connect scope nor registered for any client, so it is \
         most likely a typo or a scope from another provider.",
        "Check the spelling, or register the scope for the client (--scope).";
    ScopeNotAllowed => "scope.not_allowed", Server, IS, Some(400),
        "A requested scope is not registered for this client",
        "The scope exists on this server but this client may not request it.",
        "Register the scope for the client, or stop requesting it.";
    ScopeExceedsGrant => "scope.exceeds_grant", Server, IS, Some(400),
        "A refresh asked for more scope than the grant holds",
        "A refresh request may narrow the scope of the original grant but never widen it \
         (RFC 6749 section 6).",
        "Request a subset of the scopes originally granted, or run a new authorization.";
    ScopeMalformed => "scope.malformed", Server, IS, Some(400),
        "The scope parameter has characters a scope may not contain",
        "RFC 6749 section 3.3: scopes are separated by single spaces and made of printable \
         ASCII without double quote and backslash.",
        "Separate scopes with spaces (not commas or '+' after decoding) and use only printable \
         ASCII.";
    ResourceInvalid => "resource.invalid", Server, Some("invalid_target"), Some(400),
        "The resource parameter is not an absolute URI",
        "RFC 8707: a resource indicator is an absolute URI without a fragment.",
        "Send the resource server's absolute URI, e.g. https://api.example.com.";
    ResourceNotAllowed => "resource.not_allowed", Server, Some("invalid_target"), Some(400),
        "The resource is not an audience registered for this client",
        "Access tokens carry only audiences registered for the client (--audience).",
        "Register the audience for the client, or request one it has.";

    // ---- redirect URIs ----------------------------------------------------------------------
    RedirectUriTrailingSlash => "redirect_uri.trailing_slash", Server, IG, Some(400),
        "The redirect_uri differs only by a trailing slash",
        "Redirect URIs are compared as exact strings (RFC 9700 section 4.1.3): \
         'https://app.example/cb/' and 'https://app.example/cb' are different URIs.",
        "Use exactly the registered redirect_uri, character for character, in both the \
         authorization request and the token request.";
    RedirectUriScheme => "redirect_uri.scheme", Server, IG, Some(400),
        "The redirect_uri differs only in its scheme (http vs https)",
        "An app behind a TLS-terminating proxy often builds its own URL as http:// while the \
         registered URI is https://.",
        "Configure the application (or its framework's trusted-proxy setting) to build https:// \
         URLs, or register the URI it actually uses.";
    RedirectUriCase => "redirect_uri.case", Server, IG, Some(400),
        "The redirect_uri differs only in letter case",
        "Redirect URIs are compared as exact strings; paths are case-sensitive.",
        "Use the registered redirect_uri with the same capitalisation.";
    RedirectUriPort => "redirect_uri.port", Server, IG, Some(400),
        "The redirect_uri differs only in its port",
        "The port is part of the comparison, and an explicit default port (':443') differs \
         from none. Only loopback redirects for native apps may vary the port (RFC 8252 \
         section 7.3).",
        "Use the registered port, or register the URI with the port the app listens on.";
    RedirectUriLoopbackAlias => "redirect_uri.loopback_alias", Server, IG, Some(400),
        "The redirect_uri uses another name for the loopback host",
        "'localhost', '127.0.0.1' and '[::1]' all reach this machine but are different strings; \
         RFC 8252 section 8.3 recommends the IP literal over 'localhost'.",
        "Use the same host as the registered URI, preferably http://127.0.0.1.";
    RedirectUriPath => "redirect_uri.path", Server, IG, Some(400),
        "The redirect_uri differs in its path",
        "The scheme, host and port match a registered URI but the path does not.",
        "Use the registered path, or register the path the app uses.";
    RedirectUriQuery => "redirect_uri.query", Server, IG, Some(400),
        "The redirect_uri differs in its query string",
        "The query is part of the exact comparison; extra or reordered query parameters make \
         a different URI.",
        "Put per-request data in 'state', not in the redirect_uri's query.";
    RedirectUriMismatch => "redirect_uri.mismatch", Server, IG, Some(400),
        "The redirect_uri differs from the one in the authorization request",
        "RFC 6749 section 4.1.3: the token request must repeat the redirect_uri of the \
         authorization request exactly. The description lists the components that differ.",
        "Send the same redirect_uri in the token request as in the authorization request.";
    RedirectUriNotRegistered => "redirect_uri.not_registered", Server, IR, Some(400),
        "The redirect_uri is not registered for this client",
        "An authorization request may only redirect to a registered URI; anything else would \
         let an attacker receive the code. Candor shows an error page instead of redirecting.",
        "Register the URI for the client (--redirect-uri), or fix the one the app sends.";
    RedirectUriMissing => "redirect_uri.missing", Server, IR, Some(400),
        "The redirect_uri is required but absent",
        "A redirect_uri is required when the client has several registered, and at the token \
         endpoint when one was sent in the authorization request.",
        "Send the redirect_uri parameter.";

    RedirectUriUnsafe => "redirect_uri.unsafe", Server, IR, Some(400),
        "The redirect_uri holds something browsers and servers may read differently",
        "Candor refuses a redirect_uri with userinfo ('user@'), a backslash, whitespace, a control \
         or non-ASCII character, a percent-encoded delimiter before the query ('%2F', '%5C', \
         '%40', '%2E'...), a '.' or '..' segment, or a fragment, before comparing it with \
         anything: such a URI can pass a server's check and still send the browser, and the \
         code, to another host (the description names what was found). It is refused with an \
         error page, never a redirect.",
        "Send the registered redirect_uri exactly, as plain ASCII: an IDN host as punycode \
         (xn--...), no credentials, no fragment. If the app builds it, check the framework \
         does not append anything.";

    // ---- authorization requests -------------------------------------------------------------
    ClientUnknown => "client.unknown", Server, Some("invalid_client"), Some(400),
        "The authorization request names an unknown client_id",
        "No client with this client_id is registered; Candor cannot know where to redirect, so \
         it shows an error page.",
        "Check the client_id the app sends against `candor client list`.";
    AuthorizationRequestClientDisabled => "authorization_request.client_disabled", Server, Some("unauthorized_client"), Some(400),
        "The authorization request names a disabled client",
        "An administrator disabled this client: Candor starts no sign-in for it, and shows an \
         error page rather than redirecting to the application.",
        "If it should work, enable it again: `candor client enable ID`, the console's Clients \
         page, or POST /admin/api/v1/clients/{client_id}/enable.";
    ResponseTypeUnsupported => "response_type.unsupported", Server, Some("unsupported_response_type"), Some(400),
        "The response_type is not supported",
        "OAuth 2.1 keeps only response_type=code; the implicit flow (token, id_token) is gone.",
        "Use response_type=code with PKCE.";

    AuthorizationRequestMissingParameter => "authorization_request.missing_parameter", Server, IR, Some(400),
        "A required parameter of the authorization request is absent",
        "response_type and client_id are always required; redirect_uri when the client has \
         several registered. The description names the parameter.",
        "Add the parameter named in the error description to the authorization URL.";
    AuthorizationRequestDuplicateParameter => "authorization_request.duplicate_parameter", Server, IR, Some(400),
        "A parameter of the authorization request was sent more than once",
        "RFC 6749 section 3.1: request parameters must not be included more than once.",
        "Build the authorization URL with each parameter once.";
    AuthorizationRequestInvalidParameter => "authorization_request.invalid_parameter", Server, IR, Some(400),
        "A parameter of the authorization request has an invalid value",
        "For example max_age that is not a non-negative integer, prompt=none combined with \
         other prompt values, or an unknown prompt value.",
        "Fix the value named in the error description.";
    AuthorizationRequestObjectUnsupported => "authorization_request.request_object_unsupported", Server, Some("request_not_supported"), Some(400),
        "Request objects are not supported",
        "The request and request_uri parameters (JAR, PAR) are not supported by this server.",
        "Send the parameters in the authorization URL itself.";
    PromptLoginRequired => "prompt.login_required", Server, Some("login_required"), Some(400),
        "prompt=none, but the user is not logged in",
        "With prompt=none the server must not show a page; the user has no session (or one \
         older than max_age), so it cannot answer silently.",
        "Retry without prompt=none so that the user can log in.";
    PromptConsentRequired => "prompt.consent_required", Server, Some("consent_required"), Some(400),
        "prompt=none, but the user has not consented",
        "With prompt=none the server must not show a page; the user has not granted these \
         scopes to this client yet.",
        "Retry without prompt=none so that the user can consent.";
    ConsentDenied => "consent.denied", Server, Some("access_denied"), Some(400),
        "The user denied the request",
        "The user pressed Deny on the consent page, or Cancel on the sign-in page.",
        "Nothing is broken: handle access_denied in the client by showing a friendly message.";
    LoginCsrf => "login.csrf", Server, IR, Some(400),
        "The login or consent form was not sent by this browser's session",
        "The form's anti-forgery token is missing, does not match this browser's cookie, or \
         belongs to another request. A common benign cause is a form kept open for a long \
         time, or cookies blocked for this site.",
        "Start the sign-in again from the application. Allow cookies for the sign-in site.";
    LoginRequestExpired => "login.request_expired", Server, IR, Some(400),
        "The sign-in request has expired or was already completed",
        "Authorization requests wait at most 10 minutes for the user, and each completes once; \
         a reloaded or resubmitted form refers to a request that no longer exists.",
        "Start the sign-in again from the application.";
    LoginRequestMismatch => "login.request_mismatch", Server, IR, Some(400),
        "The form belongs to another step or another session of the sign-in",
        "Each sign-in request moves through its steps in order (sign in, then consent), and a \
         consent form can be answered only by the session that signed in for it. A sign-in \
         form posted as a consent, or a consent form of another session, would skip the \
         password (prompt=login, max_age); it is refused.",
        "Start the sign-in again from the application.";
    LoginAccountDisabled => "login.account_disabled", Server, Some("access_denied"), Some(403),
        "The account is disabled",
        "The username and password were right, but an administrator disabled the account: it \
         cannot sign in, and its sessions and tokens were ended when it was disabled. Only \
         someone who typed the right password learns that the account is disabled.",
        "Ask an administrator to enable it: `candor user enable NAME`, the console's Users \
         page, or POST /admin/api/v1/users/{username}/enable.";
    LoginThrottled => "login.throttled", Server, IR, Some(429),
        "Too many sign-in attempts for this account, from this network or to this application",
        "After repeated wrong passwords an account is locked for a while to stop password \
         guessing. Sign-in attempts are also limited per client address (an IPv6 /64) and per \
         application, which stops one guess sprayed at many accounts ([login] in the \
         configuration sets the rates).",
        "Wait until the time shown, then try again; reset the password if it is forgotten. \
         Behind a reverse proxy, list it in [server] trusted_proxies so that users are told \
         apart by their own addresses.";
    LoginInvalidPassword => "login.invalid_password", Server, IR, Some(401),
        "The password is not the user's",
        "A sign-in named an existing user with another password. The sign-in page shows the \
         form again (with HTTP 200) and says only that the username or password is incorrect, \
         never which: the cause is recorded for administrators in the identity event \
         signin.failed, counted with this status. Repeated failures lock the account \
         (login.locked).",
        "The user retypes the password, or an administrator resets it. Many of these for one \
         account from many addresses is a guessing attack: the lock stops it.";
    LoginUnknownUser => "login.unknown_user", Server, IR, Some(401),
        "No user has this username",
        "A sign-in named a username no user has. The sign-in page answers exactly as for a \
         wrong password (the same words, the same work), so that usernames cannot be \
         discovered; the cause is recorded for administrators in the identity event \
         signin.failed, without the username typed.",
        "Check the username (a typo, another directory's name); create the user if it should \
         exist. Many of these from one address is someone trying names.";
    LoginLocked => "login.locked", Server, IR, Some(429),
        "The account is locked after too many failed sign-ins",
        "After [login] max_failures failed sign-ins within failure_window, the account refuses \
         every sign-in, even with the right password, until the window is over. The page \
         says so with HTTP 429; the identity events lockout.started and signin.failed record \
         it.",
        "Wait until the time shown; an administrator can unlock the account at once \
         (candor user unlock, or the admin API).";
    LogoutRedirectNotRegistered => "logout.redirect_not_registered", Server, IR, Some(400),
        "The post_logout_redirect_uri is not registered for the client",
        "RP-initiated logout redirects only to URIs registered for the client \
         (--post-logout-redirect-uri), identified by id_token_hint or client_id.",
        "Register the URI for the client, or send id_token_hint so the client is known.";
    LogoutIdTokenHintInvalid => "logout.id_token_hint_invalid", Server, IR, Some(400),
        "The id_token_hint is not an id_token of this server",
        "The hint does not verify with this server's keys or names another issuer.",
        "Send the id_token this server issued to the client (it may be expired).";

    // ---- authorization codes ----------------------------------------------------------------
    CodeUnknown => "code.unknown", Server, IG, Some(400),
        "The authorization code is not known",
        "No such code was issued by this server: it may be truncated, double-encoded, or from \
         another server.",
        "Send the code exactly as received in the callback, once.";
    CodeExpired => "code.expired", Server, IG, Some(400),
        "The authorization code has expired",
        "Codes live for authorization_code_ttl (60 s by default); the exchange came too late, or \
         the client's clock or queue delayed it.",
        "Exchange the code immediately when the callback arrives.";
    CodeReused => "code.reused", Server, IG, Some(400),
        "The authorization code was already used",
        "Codes are single-use (RFC 6749 section 4.1.2). A second redemption also revokes every \
         token issued from the first, since the code may have been stolen. A common benign \
         cause is a callback handler that runs twice (a page reload, a retrying proxy).",
        "Redeem each code once; make the callback handler idempotent.";
    CodeRevoked => "code.revoked", Server, IG, Some(400),
        "The authorization code belongs to a user whose sessions were ended",
        "The user's password was changed, the user was deleted, or an operator ran `candor user \
         revoke-sessions` after the user signed in for this code: everything authenticated \
         before that is void.",
        "Run a new authorization; the user signs in again.";
    CodeClientMismatch => "code.client_mismatch", Server, IG, Some(400),
        "The authorization code was issued to another client",
        "A code may only be redeemed by the client it was issued to.",
        "Use the same client_id for the authorization and the token request.";

    // ---- PKCE ----------------------------------------------------------------------------------
    PkceChallengeMissing => "pkce.challenge_missing", Server, IR, Some(400),
        "The authorization request has no code_challenge",
        "PKCE (RFC 7636) is required for public clients and, by default, for all clients \
         (OAuth 2.1).",
        "Send code_challenge=BASE64URL(SHA256(code_verifier)) and code_challenge_method=S256.";
    PkcePlainRefused => "pkce.plain_refused", Server, IR, Some(400),
        "code_challenge_method=plain is refused",
        "The plain method sends the verifier itself and protects nothing against an attacker \
         who sees the authorization request; only S256 is accepted.",
        "Use code_challenge_method=S256.";
    PkceMethodUnsupported => "pkce.method_unsupported", Server, IR, Some(400),
        "The code_challenge_method is not one this server knows",
        "Only S256 is supported (RFC 7636; plain is refused).",
        "Send code_challenge_method=S256.";
    PkceChallengeMalformed => "pkce.challenge_malformed", Server, IR, Some(400),
        "The code_challenge is not a base64url SHA-256 value",
        "An S256 challenge is BASE64URL(SHA256(code_verifier)) without padding: exactly 43 \
         characters from A-Z a-z 0-9 - _.",
        "Compute the challenge from the verifier with SHA-256 and base64url without '=' padding.";
    PkceVerifierMissing => "pkce.verifier_missing", Server, IG, Some(400),
        "The token request has no code_verifier",
        "The code was issued with a code_challenge, so the token request must prove possession \
         with the matching code_verifier.",
        "Send the code_verifier your client generated for this authorization request.";
    PkceVerifierMismatch => "pkce.verifier_mismatch", Server, IG, Some(400),
        "The code_verifier does not match the code_challenge",
        "BASE64URL(SHA256(code_verifier)) differs from the challenge of the authorization \
         request. The usual cause is a verifier stored per user session but overwritten by a \
         second login in another tab.",
        "Keep the verifier with the state of the authorization request it belongs to.";
    PkceVerifierMalformed => "pkce.verifier_malformed", Server, IR, Some(400),
        "The code_verifier is not 43 to 128 unreserved characters",
        "RFC 7636 section 4.1: a verifier is 43 to 128 characters from A-Z a-z 0-9 - . _ ~.",
        "Generate the verifier as 32 random bytes, base64url-encoded without padding.";
    PkceVerifierUnexpected => "pkce.verifier_unexpected", Server, IG, Some(400),
        "A code_verifier was sent for a code issued without a challenge",
        "RFC 9700 section 2.1.1: a verifier for a code that had no challenge indicates a PKCE \
         downgrade attempt, and is refused.",
        "Send the code_challenge in the authorization request whenever you send a verifier.";

    // ---- refresh tokens ------------------------------------------------------------------------
    RefreshTokenUnknown => "refresh_token.unknown", Server, IG, Some(400),
        "The refresh token is not known",
        "No such refresh token was issued by this server.",
        "Use the latest refresh token the server returned, exactly as received.";
    RefreshTokenExpired => "refresh_token.expired", Server, IG, Some(400),
        "The refresh token has expired",
        "Refresh tokens have an absolute lifetime (refresh_token_ttl) and an idle lifetime.",
        "Run a new authorization to get a new refresh token.";
    RefreshTokenRevoked => "refresh_token.revoked", Server, IG, Some(400),
        "The refresh token was revoked",
        "It was revoked explicitly (any token of its family revokes the family), its family was \
         revoked after a reuse was detected, or the user's sessions were ended (a password \
         change, a deletion, `candor user revoke-sessions`).",
        "Run a new authorization.";
    RefreshTokenReused => "refresh_token.reused", Server, IG, Some(400),
        "A rotated refresh token was used again",
        "Refresh tokens rotate on every use; using an old one means two parties hold it, so the \
         whole family is revoked (RFC 9700 section 4.14). A benign cause is two requests \
         refreshing at once from the same client.",
        "Store the new refresh token from every response and serialise refreshes in the client.";
    RefreshTokenClientMismatch => "refresh_token.client_mismatch", Server, IG, Some(400),
        "The refresh token was issued to another client",
        "A refresh token may only be used by the client it was issued to.",
        "Use the client that obtained the token.";

    // ---- bearer tokens (userinfo, gateway) -------------------------------------------------
    TokenMissing => "token.missing", Server, IT, Some(401),
        "No bearer token was sent",
        "The request had no Authorization: Bearer header (RFC 6750 section 2.1).",
        "Send Authorization: Bearer <access_token>.";
    TokenMalformed => "token.malformed", Server, IT, Some(401),
        "The bearer token cannot be parsed",
        "The Authorization header is not 'Bearer <token>', or the token is not a well-formed \
         JWT or opaque token of this server: a claim it needs is absent or of the wrong type \
         (exp, nbf and iat are numbers, RFC 7519 section 2 - a string '2000' is refused, a \
         fraction is compared), or its header has a crit naming an extension the verifier \
         does not understand (RFC 7515 section 4.1.11: refused before the signature is checked).",
        "Send the access_token exactly as the token endpoint returned it.";
    TokenExpired => "token.expired", Server, IT, Some(401),
        "The access token has expired",
        "The token's exp is in the past (beyond the allowed clock leeway).",
        "Refresh the token or request a new one.";
    TokenRevoked => "token.revoked", Server, IT, Some(401),
        "The access token was revoked",
        "The token was revoked (RFC 7009), or the grant it came from was revoked after a code \
         or refresh-token reuse.",
        "Request a new token.";
    TokenUnknown => "token.unknown", Server, IT, Some(401),
        "The access token was not issued by this server",
        "The signature does not verify with any of the server's keys, or no opaque token with \
         this value exists.",
        "Check that the token comes from this issuer.";
    TokenInsufficientScope => "token.insufficient_scope", Server, Some("insufficient_scope"), Some(403),
        "The access token lacks a required scope",
        "The token is valid but does not carry the scope this resource requires (RFC 6750 \
         section 3.1).",
        "Request the scope named in the error when obtaining the token.";
    TokenSignature => "token.signature", Server, IT, Some(401),
        "The access token's signature does not verify",
        "The token names a key of its issuer, but the signature does not verify with it: the \
         token was altered, or signed by someone else with the same kid.",
        "Send the access_token exactly as the token endpoint returned it.";
    TokenKidUnknown => "token.kid_unknown", Server, IT, Some(401),
        "The access token names a key its issuer does not publish",
        "The token's kid is not in the issuer's JWKS, even after the gateway fetched it again. \
         A token signed by a key that was rotated out long ago, or by another issuer with the \
         same iss, looks like this.",
        "Get a new token from the issuer; check the gateway's issuer matches the token's.";
    TokenIssuer => "token.issuer", Server, IT, Some(401),
        "The access token comes from an issuer this gateway does not trust",
        "The token's iss is not one of the configured [[gateway.issuers]] (compared as exact \
         strings: a trailing slash or http vs https makes another issuer).",
        "Configure the issuer, or get the token from one that is configured.";
    TokenAudience => "token.audience", Server, IT, Some(401),
        "The access token is not meant for this API",
        "None of the token's aud values is an audience the gateway accepts for its issuer \
         (audiences = [...]); a token for one API must not open another (RFC 9068 section 4).",
        "Request the token with resource=<the API's audience> (RFC 8707), or register the \
         audience for the client.";
    TokenType => "token.type", Server, IT, Some(401),
        "The token is not an access token",
        "Its JOSE typ header is not one the issuer's token_types allow (RFC 9068 wants \
         at+jwt). An id_token sent as a bearer token looks like this.",
        "Send the access_token, not the id_token; for a provider that types its access tokens \
         'JWT', add it to token_types.";
    TokenAlgNotAllowed => "token.alg_not_allowed", Server, IT, Some(401),
        "The access token is signed with an algorithm the gateway does not allow",
        "The token's alg is not in the issuer's algorithms allow-list. 'none' and HMAC \
         algorithms are never accepted with a public key.",
        "Have the issuer sign access tokens with an allowed algorithm, or allow it.";
    TokenNotYetValid => "token.not_yet_valid", Server, IT, Some(401),
        "The access token is not valid yet",
        "Its nbf or iat lies in the future beyond the clock leeway: the issuer's clock or the \
         gateway's is off.",
        "Synchronise the clocks (NTP).";
    TokenClaimMismatch => "token.claim_mismatch", Server, Some("insufficient_scope"), Some(403),
        "The access token lacks a claim value the route requires",
        "The route requires a claim (groups, roles, tenant...) to hold a value, and the token's \
         does not; the description names the claim and what was expected.",
        "Give the user or client the required claim value at the issuer.";
    RouteNotFound => "route.not_found", Server, Some("not_found"), Some(404),
        "No gateway route matches the request",
        "Routes match by path prefix (longest first), then host, then method; none matched \
         this request.",
        "Check the path and Host against the configured [[gateway.routes]].";
    RouteMethodNotAllowed => "route.method_not_allowed", Server, IR, Some(405),
        "The route does not accept this method",
        "A route matches the path and host but lists other methods.",
        "Use one of the methods in the Allow header, or add the method to the route.";
    UpstreamConnect => "upstream.connect", Server, Some("server_error"), Some(502),
        "The gateway could not connect to the upstream",
        "Every upstream tried refused the connection or could not be reached; idempotent \
         requests were retried on another upstream first.",
        "Check that the upstream service runs and listens where the route says.";
    UpstreamTimeout => "upstream.timeout", Server, Some("server_error"), Some(504),
        "The upstream did not answer in time",
        "The upstream accepted the request but sent no response head within the route's \
         response timeout.",
        "Make the upstream faster, or raise timeouts.response for the route.";
    UpstreamUnhealthy => "upstream.unhealthy", Server, Some("server_error"), Some(503),
        "Every upstream of the route is marked unhealthy",
        "Active health checks or consecutive failures took every upstream out of rotation.",
        "Bring an upstream back; the gateway returns it to rotation once it passes its checks.";
    RoutePathAmbiguous => "route.path_ambiguous", Server, IR, Some(400),
        "The request path can be read more than one way",
        "The gateway matches routes on the path in normal form (escapes of letters and digits \
         decoded, dot segments removed) and forwards that form. A path that servers read \
         differently cannot be matched safely: a backslash, an encoded NUL, a double-encoded \
         character ('%2561'), an empty segment ('//'), or — unless the route allows it — a ';' \
         (matrix parameters: '/admin;x/' is '/admin/' to Tomcat) or an encoded '/' ('%2F').",
        "Send the path in its plain form. If the upstream needs ';' or '%2F' in paths, set \
         match.allow_matrix_params or match.allow_encoded_slash on its route.";
    RouteUpgradeNotAllowed => "route.upgrade_not_allowed", Server, IR, Some(400),
        "The route does not allow this protocol upgrade",
        "The request asks to switch protocols (Upgrade) to one the route does not list in \
         upgrades (default: websocket). Once upgraded, a connection carries bytes the gateway \
         no longer reads, so only the protocols a route names are spliced through. An h2c \
         upgrade is never honoured: the request is served as HTTP/1.1.",
        "Use a protocol the route allows, or add it to the route's upgrades.";
    UpstreamProtocol => "upstream.protocol", Server, Some("server_error"), Some(502),
        "The upstream switched protocols without being asked",
        "The upstream answered 101 Switching Protocols to a request that did not ask to \
         upgrade, or to another protocol than the one asked. The gateway does not splice a \
         connection it did not agree to.",
        "Fix the upstream: it must switch protocols only when the request asks.";
    UpstreamBusy => "upstream.busy", Server, Some("temporarily_unavailable"), Some(503),
        "Every connection the upstream may have is in use",
        "The upstream's max_connections connections are all busy and none came free within \
         the route's connect timeout.",
        "Retry later; raise the upstream's max_connections if it can serve more at once, or \
         add upstreams.";
    TunnelsExhausted => "gateway.tunnels_exhausted", Server, Some("temporarily_unavailable"), Some(503),
        "The gateway holds as many upgraded connections as it may",
        "Upgraded connections (WebSocket tunnels) are counted against gateway.max_tunnels; \
         every slot is taken.",
        "Retry later; raise gateway.max_tunnels (and the open-file limit) if the load is \
         legitimate, or shorten routes' tunnel.idle_timeout.";
    RequestBodyTimeout => "request.body_timeout", Server, IR, Some(408),
        "The request body arrived too slowly",
        "The gateway waits for a request body at most body_read_timeout, plus a second for \
         every body_min_rate bytes received (by default 20 s, then 500 bytes per second); \
         this body fell behind, so the request was ended.",
        "Send the body at once and at network speed; a client on a very slow link needs a \
         lower gateway.body_min_rate.";
    IssuerUnavailable => "issuer.unavailable", Server, Some("temporarily_unavailable"), Some(503),
        "The token's issuer cannot be reached to check it",
        "The gateway has no keys (or no introspection answer) for the issuer: its JWKS or \
         introspection endpoint does not answer. This is not the token's fault.",
        "Check the issuer is up and reachable from the gateway.";
    RevocationFeedStale => "revocation_feed.stale", Server, Some("temporarily_unavailable"), Some(503),
        "The gateway has lost touch with its issuer's revocation feed",
        "It cannot tell whether the token was revoked in the last max_feed_lag, and the \
         issuer's policy (on_feed_stale = \"refuse\") says to refuse rather than guess.",
        "Check the issuer is up; the gateway recovers as soon as the feed answers again.";
    RateLimitExceeded => "rate_limit.exceeded", Server, Some("temporarily_unavailable"), Some(429),
        "Too many requests: the caller is over its rate limit",
        "The route or endpoint allows this caller (by client_id, subject, API key or address, \
         as configured) a rate with a burst; this request came when the budget was spent. The \
         RateLimit-Policy and RateLimit headers give the policy and what is left, Retry-After \
         the seconds until the next request is allowed.",
        "Wait the Retry-After seconds and retry with backoff; spread requests out, cache \
         tokens instead of fetching one per call, or ask for a higher limit.";
    TokenClientMismatch => "token.client_mismatch", Server, Some("unauthorized_client"), Some(400),
        "The token was issued to another client",
        "RFC 7009 section 2.1: a client may only revoke its own tokens.",
        "Revoke the token with the client it was issued to.";

    AdminUnauthorized => "admin.unauthorized", Server, IT, Some(401),
        "The admin API needs the admin credential",
        "The admin API (/admin/api/v1/…, /admin/calls) answers only requests that send the \
         admin token configured in [admin] (token_env or token_file) as Authorization: \
         Bearer; this request sent none, or another.",
        "Send Authorization: Bearer with the configured admin token. Without an [admin] \
         section the API is off; /metrics, /healthz and /readyz need no credential.";

    AdminQueryInvalid => "admin.query_invalid", Server, IR, Some(400),
        "The admin API query cannot be answered as asked",
        "A parameter of /admin/calls or /admin/calls/stats is unknown, repeated or malformed \
         (a time, a dimension, a status filter, a limit); the description names it.",
        "Fix the parameter as the description says; docs/calls.md lists every parameter.";

    AdminForbidden => "admin.forbidden", Server, Some("insufficient_scope"), Some(403),
        "The caller may read the admin API but not change anything",
        "The request carried an access token with the candor:admin:read scope (the viewer \
         role), and asked for a change: creating, changing, rotating or deleting needs the \
         candor:admin scope (the admin role) or the static admin token.",
        "Use a client granted the candor:admin scope for changes; keep candor:admin:read for \
         dashboards and reports.";

    AdminMethodNotAllowed => "admin.method_not_allowed", Server, IR, Some(405),
        "The admin API path does not take this method",
        "The path names a resource of /admin/api/v1, but not with this HTTP method (a PUT \
         where the API changes with PATCH, a DELETE on a list).",
        "Use one of the methods in the Allow header; the OpenAPI document at \
         /admin/api/v1/openapi.json lists each path's operations.";

    AdminInvalidRequest => "admin.invalid_request", Server, IR, Some(400),
        "The admin API request cannot be read or asks for something invalid",
        "A request to /admin/api/v1 was refused before it changed anything: its body is not \
         JSON (or not sent as application/json), names a field the resource does not have, \
         has a value of the wrong type or out of bounds, or asks for a registration the \
         server's own rules refuse (a redirect URI that is not canonical, a public client with \
         client_credentials, a short password). The description names the field and the rule.",
        "Fix the field the description names; docs/admin-api.md lists every resource's fields \
         and /admin/api/v1/openapi.json describes them.";

    AdminNotFound => "admin.not_found", Server, Some("not_found"), Some(404),
        "No such client, user or key",
        "The admin API was asked about a client_id, username or key that this server does not \
         hold: it was never created, was deleted, or is spelled differently (client_ids and \
         usernames are case-sensitive).",
        "List the resource (GET /admin/api/v1/clients, /users, /keys) and use an id it shows.";

    AdminConflict => "admin.conflict", Server, Some("conflict"), Some(409),
        "The name or id is taken",
        "A client_id, client name or username given to the admin API belongs to another \
         client or user already. Names label clients in the call log, metrics and consent \
         pages, so two clients with one name are refused.",
        "Choose another client_id, name or username, or change the existing one.";

    // ---- the server itself -------------------------------------------------------------------
    ServerInternal => "server.internal", Server, Some("server_error"), Some(500),
        "The server failed to process the request",
        "An unexpected error happened on the server (for example the database did not answer). \
         The request id in the logs identifies it.",
        "Retry later; if it persists, look up the request id in the server's logs.";
    ServerNotFound => "server.not_found", Server, Some("not_found"), Some(404),
        "No such endpoint",
        "The path does not name an endpoint of this server.",
        "Take endpoint URLs from the discovery document (/.well-known/openid-configuration).";

    // ---- what a client sees in a provider's response (client, doctor) ---------------------
    ResponseHtml => "response.html", Client, NONE, None,
        "An HTML page came back where JSON was expected",
        "The token endpoint answered with HTML: usually a login page (the request was sent to \
         the wrong URL or through a proxy that requires a session), or an error page of a load \
         balancer or web server in front of the provider.",
        "Check the token endpoint URL against the discovery document and call it directly from \
         the back-end, not through a browser session.";
    ResponseEmpty => "response.empty", Client, NONE, None,
        "The response body is empty",
        "A token or error response must have a JSON body; an empty one usually comes from a \
         proxy or a misrouted request.",
        "Look at the status code and the path; check for a proxy between client and provider.";
    ResponseMalformedJson => "response.malformed_json", Client, NONE, None,
        "The response claims to be JSON but does not parse",
        "The body is truncated or not JSON despite its Content-Type.",
        "Check for truncation by a proxy, or a provider bug.";
    ResponseNotJson => "response.not_json", Client, NONE, None,
        "The response is not JSON",
        "RFC 6749 section 5.1 requires application/json for token responses; some old providers \
         answer with a form-encoded body.",
        "Use a client that accepts the provider's format, or fix the provider.";
    ResponseMissingAccessToken => "response.missing_access_token", Client, NONE, None,
        "The token response has no access_token",
        "A successful token response must contain access_token (RFC 6749 section 5.1).",
        "Check the status code: a 200 without a token is a provider bug or a proxy answering.";
    ResponseMissingTokenType => "response.missing_token_type", Client, NONE, None,
        "The token response has no token_type",
        "token_type is required (RFC 6749 section 5.1); strict clients refuse a response \
         without it.",
        "Fix the provider to return token_type (normally 'Bearer').";
    ResponseErrorWithoutBody => "response.error_without_body", Client, NONE, None,
        "An error status came without an RFC 6749 error body",
        "A 4xx or 5xx response should carry a JSON object with 'error' (RFC 6749 section 5.2); \
         without one the client cannot say what went wrong.",
        "Look at the provider's logs for this request.";
    StateMissing => "state.missing", Client, NONE, None,
        "The callback has no state",
        "The client sent state in the authorization request but the callback came back without \
         it, so CSRF protection cannot work.",
        "Check that the provider echoes state and that nothing strips the query string.";
    StateMismatch => "state.mismatch", Client, NONE, None,
        "The callback's state differs from the one sent",
        "The state that came back is not the one this session sent: another tab's login, a \
         lost session cookie, or a CSRF attempt.",
        "Keep state per authorization request, and check the session cookie survives the \
         redirect (SameSite=Lax, same host).";
    IdTokenSignature => "id_token.signature", Client, NONE, None,
        "The id_token signature does not verify",
        "The signature does not verify with the key named by kid in the provider's JWKS.",
        "Fetch the JWKS from the provider's jwks_uri; check the token was not modified.";
    IdTokenAlgNone => "id_token.alg_none", Client, NONE, None,
        "The id_token is unsigned (alg none)",
        "An unsigned id_token cannot be trusted from the front channel.",
        "Configure the provider to sign id_tokens (RS256).";
    IdTokenKidUnknown => "id_token.kid_unknown", Client, NONE, None,
        "The id_token's kid is not in the JWKS",
        "The signing key is not published: a key rotation the client has not picked up, or a \
         token from another provider.",
        "Refetch the JWKS; check the issuer.";
    IdTokenIssMismatch => "id_token.iss_mismatch", Client, NONE, None,
        "The id_token's iss differs from the issuer",
        "iss must equal the issuer of the discovery document exactly, including any trailing \
         slash.",
        "Configure the client with the issuer exactly as the provider states it.";
    IdTokenAudMismatch => "id_token.aud_mismatch", Client, NONE, None,
        "The id_token's aud does not contain the client_id",
        "The id_token was issued to another client.",
        "Use the client_id the token was issued to.";
    IdTokenExpired => "id_token.expired", Client, NONE, None,
        "The id_token has expired",
        "exp is in the past, beyond the allowed leeway.",
        "Check the client's clock; request a new token.";
    IdTokenIatFuture => "id_token.iat_future", Client, NONE, None,
        "The id_token was issued in the future",
        "iat is later than the client's clock: one of the two clocks is wrong.",
        "Synchronise clocks with NTP.";
    IdTokenNonceMismatch => "id_token.nonce_mismatch", Client, NONE, None,
        "The id_token's nonce differs from the one sent",
        "The nonce binds the id_token to the authorization request; a mismatch means another \
         request's token or a replay.",
        "Keep the nonce per authorization request.";
    IdTokenAtHashMismatch => "id_token.at_hash_mismatch", Client, NONE, None,
        "The id_token's at_hash does not match the access token",
        "at_hash is the left half of the hash of the access token; a mismatch means the access \
         token was swapped.",
        "Use the access token from the same response as the id_token.";
    ClockSkew => "clock.skew", Client, NONE, None,
        "The clocks of client and provider disagree",
        "The provider's Date header or token timestamps differ from the client's clock by more \
         than the leeway.",
        "Synchronise clocks with NTP.";
    ClientSecretInBrowser => "client_secret.in_browser", Client, NONE, None,
        "A client secret was sent from a browser",
        "A secret in front-channel traffic is visible to every user: the client must be a \
         public client with PKCE.",
        "Register the browser app as a public client (--public) and drop the secret.";
    TransportDns => "transport.dns", Client, NONE, None,
        "The host name does not resolve",
        "DNS resolution of the provider's host failed.",
        "Check the URL and the resolver.";
    TransportConnect => "transport.connect", Client, NONE, None,
        "The connection was refused or unreachable",
        "Nothing accepted the TCP connection at that address and port.",
        "Check the port and that the server runs.";
    TransportTls => "transport.tls", Client, NONE, None,
        "The TLS handshake failed",
        "The certificate is expired, self-signed, or for another host name.",
        "Fix the certificate, or trust its CA explicitly.";
    TransportTimeout => "transport.timeout", Client, NONE, None,
        "The request timed out",
        "No answer arrived within the time limit.",
        "Check network paths and the provider's health.";
    TransportInsecureHttp => "transport.insecure_http", Client, NONE, None,
        "An OAuth endpoint is plain http off loopback",
        "Tokens and codes over plain http can be read by anyone on the path.",
        "Serve the endpoint over https.";
    HarSanitized => "har.sanitized", Client, NONE, None,
        "The capture has its Authorization and Cookie headers stripped",
        "Browsers export sanitized HAR files by default; what those headers held is unknown, \
         and the doctor does not guess.",
        "Export the HAR 'with sensitive data' if you need those checks (and share it with care).";
    DiscoveryIssuerMismatch => "discovery.issuer_mismatch", Client, NONE, None,
        "The discovery document's issuer differs from the URL it was fetched for",
        "OpenID Connect Discovery section 4.3: issuer must equal the issuer URL exactly.",
        "Configure the client with the issuer the document states, or fix the provider.";
    DiscoveryNotJson => "discovery.not_json", Client, NONE, None,
        "The discovery document is not JSON",
        "The well-known URL returned something else, often an HTML page.",
        "Check the issuer URL.";
    DiscoveryMissingField => "discovery.missing_field", Client, NONE, None,
        "The discovery document lacks a required field",
        "issuer, authorization_endpoint, token_endpoint, jwks_uri, response_types_supported, \
         subject_types_supported and id_token_signing_alg_values_supported are required.",
        "Fix the provider's metadata.";
    DiscoveryEndpointMismatch => "discovery.endpoint_mismatch", Client, NONE, None,
        "A request went to another URL than the one the discovery document names",
        "The provider's discovery document names its token endpoint (and the others); the client \
         sent its request somewhere else — a hand-configured URL, another realm or tenant, a \
         missing path prefix. A 404 or 405 there is the usual result.",
        "Take the endpoint from the discovery document (most libraries do when given the \
         issuer), or fix the configured URL to the one the document names.";
    DiscoveryHttpStatus => "discovery.http_status", Client, NONE, None,
        "The discovery URL did not answer with 200",
        "The well-known URL answered with an error or a redirect instead of the metadata \
         document: the issuer URL is wrong (a missing or extra path such as /realms/NAME), or the \
         provider publishes only RFC 8414 metadata at /.well-known/oauth-authorization-server.",
        "Check the issuer URL: the document lives at <issuer>/.well-known/openid-configuration.";
    ResponseOAuthError => "response.oauth_error", Client, NONE, None,
        "The provider answered with an OAuth error",
        "The body is an RFC 6749 section 5.2 error object: the request reached the endpoint and \
         was refused. Its 'error' value says which rule the request broke; the doctor explains \
         it, and names the provider's own diagnosis when it sends one.",
        "Read error and error_description in the finding; the fix depends on the error value.";
    CallbackError => "callback.error", Client, NONE, None,
        "The authorization server redirected back with an error",
        "The callback carries error= instead of code= (RFC 6749 section 4.1.2.1): the user \
         denied consent, the request was invalid, or (OpenID Connect) a login was required but \
         prompt=none forbade it.",
        "Read error and error_description in the callback; the fix depends on the error value.";
    CallbackIssMismatch => "callback.iss_mismatch", Client, NONE, None,
        "The callback's iss differs from the issuer the request was sent to",
        "RFC 9207: the iss parameter of the authorization response names the server that \
         issued the code. A different value means the response came from another provider \
         than the one the client sent the user to (a mix-up attack, or two providers configured \
         with one redirect URI).",
        "Give each provider its own redirect URI, and compare iss with the expected issuer.";
    AuthorizationErrorPage => "authorization.error_page", Client, NONE, None,
        "The authorization endpoint showed an error page instead of a login",
        "Errors that must not be redirected (an unknown client_id, a redirect_uri that is not \
         registered) are shown to the user as a page (RFC 6749 section 4.1.2.1), and the \
         client never hears of them.",
        "Register the redirect URI exactly as the client sends it, and check the client_id.";
    IdTokenMalformed => "id_token.malformed", Client, NONE, None,
        "The id_token is not a well-formed JWT",
        "An id_token is a signed JWT: three base64url parts separated by dots, with JSON header \
         and claims. This one does not decode (truncated, double-encoded, or an encrypted JWE \
         the client has no key for), has a time claim that is not a number (exp, nbf and iat \
         are NumericDates, RFC 7519 section 2), or has a crit header naming an extension the \
         client does not understand (RFC 7515 section 4.1.11).",
        "Pass the id_token exactly as the token response returned it.";
    IdTokenMissingClaim => "id_token.missing_claim", Client, NONE, None,
        "The id_token lacks a required claim",
        "OpenID Connect Core section 2 requires iss, sub, aud, exp and iat in every id_token.",
        "Fix the provider to include the claim.";
    IdTokenNotYetValid => "id_token.not_yet_valid", Client, NONE, None,
        "The id_token is not valid yet",
        "nbf is later than the client's clock, beyond the leeway: one of the two clocks is \
         wrong.",
        "Synchronise clocks with NTP.";
    JwksUnavailable => "jwks.unavailable", Client, NONE, None,
        "The JWKS URL did not answer with a key set",
        "jwks_uri answered with an error status, so no signature can be verified.",
        "Check jwks_uri in the discovery document and that the provider serves it.";
    JwksMalformed => "jwks.malformed", Client, NONE, None,
        "The JWKS is not a usable JWK Set",
        "The body is not a JSON object with a 'keys' array, or a key in it does not parse \
         (RFC 7517): a client cannot verify signatures with it.",
        "Fix the provider's JWKS; each key needs kty, kid and its public parameters.";
    JwksAlgMismatch => "jwks.alg_mismatch", Client, NONE, None,
        "No key in the JWKS can verify an algorithm the provider advertises",
        "id_token_signing_alg_values_supported names an algorithm (for example RS256) but the \
         JWKS has no key of that type, so tokens signed that way cannot be verified.",
        "Publish a key for every advertised algorithm, or stop advertising the algorithm.";
    // ---- causes only a provider's refusal names: its account, tenant, policy and device-flow
    // states, and what answered in its place (the doctor reads them in providers' words) ----
    TokenEndpointNotFound => "token_endpoint.not_found", Client, NONE, None,
        "The URL the token request went to is not the token endpoint",
        "The request reached a server, but nothing there takes token requests: a 404 (or a 405 \
         to a POST), or the provider's own words that this is not its token endpoint. A typo \
         in the path, a missing tenant or realm segment, another host, or an authorization \
         endpoint used as the token endpoint.",
        "Take token_endpoint from the provider's discovery document \
         (<issuer>/.well-known/openid-configuration) instead of building the URL by hand.";
    ProxyBlocked => "proxy.blocked", Client, NONE, None,
        "A WAF, CDN or proxy in front of the provider refused the request",
        "The answer is the page of a product in front of the provider (Cloudflare, an AWS load \
         balancer or CloudFront, Akamai, nginx), not the provider's: a firewall rule, a bot \
         challenge or an access list stopped the request before it reached the token endpoint. \
         An HTTP client cannot pass a browser challenge.",
        "Ask the provider's operators to exempt the token endpoint from the rule (the page's ray \
         or reference id identifies the block), or call it from an allowed address.";
    ProviderUnavailable => "provider.unavailable", Client, NONE, None,
        "The provider (or a gateway before it) is down, overloaded or timed out",
        "A 502, 503 or 504, or the provider's own words (temporarily_unavailable, a \
         transient error, a timeout calling another service): the request was not judged, it \
         was not served.",
        "Retry with backoff; if it persists, check the provider's status page.";
    ClientDisabled => "client.disabled", Client, NONE, None,
        "The client exists but is disabled",
        "The provider knows the client_id, but the application is disabled, suspended or not \
         allowed to sign in at the moment (by its owner or an administrator).",
        "Enable the application in the provider's console, or ask the administrator why it was \
         disabled.";
    ClientPlatformMismatch => "client.platform_mismatch", Client, NONE, None,
        "The client's registered platform does not fit how the request is made",
        "Providers register a client as a web (confidential), single-page or native (public) \
         application and check requests against it: a browser redeeming a code of a Web \
         platform registration (Microsoft Entra's cross-origin rule), a server redeeming a \
         single-page one, a public client asked for a Basic header.",
        "Register the platform that matches where the token request is made (a browser: \
         single-page application with PKCE and no secret; a back end: web, with a secret).";
    ClientMisconfigured => "client.misconfigured", Client, NONE, None,
        "The client's registration lacks something the flow needs",
        "The provider found the client but its registration does not allow this request: \
         permissions it never listed, a credential type it was never given, a setting the \
         flow depends on.",
        "Complete the application's registration as the provider's message says (its API \
         permissions, credentials or flow settings).";
    UserNotFound => "user.not_found", Client, NONE, None,
        "The user does not exist where the request looked",
        "The account the user signed in with is not in this tenant, realm or directory: a \
         wrong tenant in the URL, a guest not yet added, a mistyped name.",
        "Sign in to the tenant the user belongs to (or add the user there as a guest).";
    UserDisabled => "user.disabled", Client, NONE, None,
        "The user's account is disabled, locked or blocked",
        "The provider refused to issue tokens for this user: the account is disabled or \
         locked by an administrator, or lacks a state the provider requires (a verified \
         email).",
        "An administrator enables or unlocks the account; the user completes what the \
         provider asks (verifying the email).";
    UserCredentialsInvalid => "user.credentials_invalid", Client, NONE, None,
        "The user's name or password is wrong",
        "A password grant (ROPC) or a sign-in was refused because the user's credentials do \
         not match.",
        "Check the username and password; prefer the authorization code flow to the password \
         grant.";
    UserPasswordExpired => "user.password_expired", Client, NONE, None,
        "The user's password has expired",
        "The provider requires the user to change the password before it issues tokens; a \
         non-interactive grant cannot do that.",
        "Have the user sign in interactively and change the password (or an admin reset it).";
    UserNotAssigned => "user.not_assigned", Client, NONE, None,
        "The user is not assigned to the application",
        "The application requires assignment, and this user (or their group) was not \
         assigned to it.",
        "Assign the user or a group of theirs to the application in the provider's console.";
    MfaRequired => "mfa.required", Client, NONE, None,
        "Multi-factor authentication is required",
        "A policy (conditional access, per-user enforcement) requires a second factor that \
         this sign-in did not present, or presented too long ago; a non-interactive grant \
         cannot satisfy it.",
        "Sign in interactively so that the user can complete the second factor.";
    TenantUnknown => "tenant.unknown", Client, NONE, None,
        "The tenant, realm or authority in the URL does not exist",
        "The provider could not find the tenant (or realm, or domain) the request named, or \
         found none in the request at all.",
        "Use the tenant id or realm name exactly as the provider shows it, in the authority \
         URL the discovery document names.";
    TenantMismatch => "tenant.mismatch", Client, NONE, None,
        "The request went to another tenant than the one the user, code or client belongs to",
        "A code acquired in one tenant redeemed in another, a session of one tenant used for \
         another: the provider keeps tenants apart.",
        "Use the same authority (tenant) for the authorization and the token request.";
    PolicyBlocked => "policy.blocked", Client, NONE, None,
        "A policy of the provider blocked the request",
        "Conditional access, a device-compliance rule, tenant restrictions, an IP or \
         user-agent rule (an embedded web view) refused the sign-in; the request itself is \
         well formed.",
        "Read the policy the provider names with its administrator; meet it (a compliant \
         device, a system browser) or have it changed.";
    AuthorityUnsupported => "authority.unsupported", Client, NONE, None,
        "This application or grant cannot use the authority it was sent to",
        "Multi-tenant authorities (/common, /consumers, /organizations), a national cloud, or \
         an API version the application's registration does not support for this account \
         type or grant.",
        "Send the request to the tenant-specific authority (or register the application for \
         the account types it signs in).";
    ResourceUnknown => "resource.unknown", Client, NONE, None,
        "The requested resource or API does not exist in the tenant",
        "The resource (audience, API, scope's application) the request names is not \
         provisioned where the request was made: not installed, not consented, removed, or \
         mistyped.",
        "Check the resource or scope URI; have an administrator add (consent to) the API in \
         the tenant.";
    ScopeMissing => "scope.missing", Client, NONE, None,
        "A scope the provider requires is absent",
        "The request has no scope (or lacks one the grant needs, such as openid), and the \
         provider requires it.",
        "Send the scope parameter with the scopes the provider's message names.";
    DeviceAuthorizationPending => "device.authorization_pending", Client, NONE, None,
        "Device flow: the user has not approved yet",
        "RFC 8628 section 3.5: authorization_pending is not a failure; the user has not yet \
         entered the code or approved.",
        "Keep polling at the interval the device authorization response gave.";
    DeviceSlowDown => "device.slow_down", Client, NONE, None,
        "Device flow: polling too fast",
        "RFC 8628 section 3.5: slow_down asks the client to add 5 seconds to its polling \
         interval.",
        "Add 5 seconds to the interval for this and every later poll.";
    DeviceCodeExpired => "device.expired", Client, NONE, None,
        "Device flow: the device code has expired",
        "RFC 8628 section 3.5: expired_token, the user did not approve within the device \
         code's lifetime.",
        "Start a new device authorization request and show the user the new code.";
    DeviceDenied => "device.denied", Client, NONE, None,
        "Device flow: the user denied the request",
        "RFC 8628 section 3.5: access_denied, the user declined on the verification page.",
        "Stop polling; tell the user the request was declined.";
    HarBodyMissing => "har.body_missing", Client, NONE, None,
        "A body the checks need is not in the capture",
        "Browsers leave some bodies out of HAR exports (redirects, responses of pages that \
         navigated away, very large bodies). What the body held is unknown, and the doctor \
         does not guess.",
        "Record again with 'Preserve log' on, and export after the flow has finished.";
    HarNoFlow => "har.no_flow", Client, NONE, None,
        "The capture has no OAuth traffic",
        "No discovery, authorization, callback, token, userinfo or JWKS request was found.",
        "Start the recording before the login (enable 'Preserve log') and export all entries.";
}

/// The entry for a dotted code, if it exists.
pub fn lookup(code: &str) -> Option<&'static Entry> {
    Code::parse(code).map(Code::entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_dotted_and_lowercase() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.contains('.'), "{s} is not dotted");
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{s} has characters outside [a-z._]"
            );
        }
    }

    #[test]
    fn server_codes_have_an_error_and_a_status() {
        for code in Code::ALL {
            let e = code.entry();
            if e.side == Side::Server {
                assert!(e.error.is_some(), "{} has no RFC error", e.code);
                assert!(
                    matches!(e.status, Some(400..=599)),
                    "{} has no error status",
                    e.code
                );
            }
            assert!(!e.title.is_empty() && !e.explanation.is_empty() && !e.fix.is_empty());
        }
    }

    #[test]
    fn parse_round_trips() {
        for code in Code::ALL {
            assert_eq!(Code::parse(code.as_str()), Some(*code));
        }
        assert_eq!(Code::parse("no.such_code"), None);
        assert_eq!(
            lookup("redirect_uri.trailing_slash").map(|e| e.error),
            Some(Some("invalid_grant"))
        );
    }
}
