//! Reading a description by its structure when no row knows its words: which object it names
//! (the client, its secret, the redirect_uri, the code, the refresh token, the PKCE verifier,
//! the grant type, the scope, the user…) and what it says of that object (missing, unknown,
//! invalid, malformed, expired, revoked, used, mismatching, another client's, not allowed,
//! not supported, disabled).
//!
//! The rows of the table are one provider's exact phrases, so a provider's *other* source file
//! (its refresh grant after its code grant) is not read at all. Providers build their sentences
//! from the same few parts — "Authorization code expired.", "RefreshToken does not exist",
//! "Unknown Grant Type, x", "The redirect_uri … does not match any of the Client's
//! pre-registered redirect_uris." — and those parts name the cause. Written from the provider
//! corpus's `dev/` part only.
//!
//! Evidence honesty: a pair (object, condition) names a code only when that pair means one
//! cause; a pair that leaves several ("invalid code") gives the candidates; a text that lists
//! three or more conditions is an enumeration of possibilities (the RFC's own sentences) and
//! names nothing; parenthesised examples ("e.g., unknown client, …") are not read.

use candor_proto::Code;

use super::{Match, Matcher, Phrase, row};

/// What a description talks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Object {
    Client,
    /// The client's identifier itself (`client_id`): "invalid" of it is an identifier the
    /// provider does not know, not a failed authentication.
    ClientId,
    /// A request parameter named as such ("duplicated parameter").
    Parameter,
    /// The request's body as a whole ("error parsing form").
    Body,
    ClientCredentials,
    Secret,
    Assertion,
    RedirectUri,
    AuthorizationCode,
    RefreshToken,
    DeviceCode,
    Verifier,
    Challenge,
    ChallengeMethod,
    Scope,
    ResponseType,
    GrantType,
    User,
    UserCredentials,
    Session,
    /// The way the client authenticated (`client_secret_post`, `private_key_jwt`, …).
    AuthMethod,
    /// PKCE as a whole ("PKCE required").
    Pkce,
    /// A flow named as a whole ("the authorization code flow"): no cause of its own, but it
    /// keeps its words from being read as the code.
    Flow,
}

/// What it says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    Missing,
    Duplicate,
    NotFound,
    Invalid,
    Malformed,
    Expired,
    Revoked,
    Used,
    Mismatch,
    OtherClient,
    NotAllowed,
    NotSupported,
    Disabled,
}

/// The words for each object, as lower-case word sequences (punctuation and apostrophes
/// removed). The longest match wins, so "client secret" is the secret, not the client.
const OBJECTS: &[(&str, Object)] = &[
    ("code_verifier", Object::Verifier),
    ("code verifier", Object::Verifier),
    ("pkce verifier", Object::Verifier),
    ("verifier", Object::Verifier),
    ("code_challenge_method", Object::ChallengeMethod),
    ("code challenge method", Object::ChallengeMethod),
    ("challenge method", Object::ChallengeMethod),
    ("code_challenge", Object::Challenge),
    ("code challenge", Object::Challenge),
    ("redirect_uri", Object::RedirectUri),
    ("redirect_uris", Object::RedirectUri),
    ("redirect uri", Object::RedirectUri),
    ("redirect uris", Object::RedirectUri),
    ("redirect url", Object::RedirectUri),
    ("redirect_url", Object::RedirectUri),
    ("redirection uri", Object::RedirectUri),
    ("redirection url", Object::RedirectUri),
    ("callback url", Object::RedirectUri),
    ("redirect", Object::RedirectUri),
    ("refresh_token", Object::RefreshToken),
    ("refresh token", Object::RefreshToken),
    ("refreshtoken", Object::RefreshToken),
    ("device_code", Object::DeviceCode),
    ("device code", Object::DeviceCode),
    ("authorization_code", Object::AuthorizationCode),
    ("authorization code", Object::AuthorizationCode),
    ("authorisation code", Object::AuthorizationCode),
    ("auth code", Object::AuthorizationCode),
    ("authcode", Object::AuthorizationCode),
    ("code", Object::AuthorizationCode),
    ("client_assertion", Object::Assertion),
    ("client assertion", Object::Assertion),
    ("assertion", Object::Assertion),
    ("client_secret", Object::Secret),
    ("client secret", Object::Secret),
    ("secret", Object::Secret),
    ("client credentials grant", Object::GrantType),
    ("client credentials", Object::ClientCredentials),
    ("client credential", Object::ClientCredentials),
    ("client_id", Object::ClientId),
    ("client id", Object::ClientId),
    ("clientid", Object::ClientId),
    ("client", Object::Client),
    ("form", Object::Body),
    ("form body", Object::Body),
    ("request body", Object::Body),
    ("post body", Object::Body),
    ("body", Object::Body),
    ("parameter", Object::Parameter),
    ("parameters", Object::Parameter),
    ("scope", Object::Scope),
    ("scopes", Object::Scope),
    ("response_type", Object::ResponseType),
    ("response type", Object::ResponseType),
    ("grant_type", Object::GrantType),
    ("grant type", Object::GrantType),
    ("grant types", Object::GrantType),
    ("granttype", Object::GrantType),
    ("password grant", Object::GrantType),
    ("refresh token grant", Object::GrantType),
    ("user credentials", Object::UserCredentials),
    ("resource owner credentials", Object::UserCredentials),
    ("username", Object::UserCredentials),
    ("password", Object::UserCredentials),
    ("user", Object::User),
    ("account", Object::User),
    ("end user", Object::User),
    ("session", Object::Session),
    ("service account", Object::User),
    ("auth_method", Object::AuthMethod),
    ("authentication method", Object::AuthMethod),
    ("authentication_method", Object::AuthMethod),
    ("token_endpoint_auth_method", Object::AuthMethod),
    ("client_secret_post", Object::AuthMethod),
    ("client_secret_basic", Object::AuthMethod),
    ("client_secret_jwt", Object::AuthMethod),
    ("private_key_jwt", Object::AuthMethod),
    ("pkce", Object::Pkce),
    ("client_credentials grant", Object::GrantType),
    ("authorization_code grant", Object::GrantType),
    ("refresh_token grant", Object::GrantType),
    ("device authorization grant", Object::GrantType),
    ("code flow", Object::Flow),
    ("authorization code flow", Object::Flow),
    ("authorize code flow", Object::Flow),
    ("code grant flow", Object::Flow),
    ("authorization code grant", Object::Flow),
];

/// Conditions that precede what they are said of ("must include a code_challenge"): never
/// said of an object already named.
const AHEAD: &[(&str, Condition)] = &[
    ("must include", Condition::Missing),
    ("must contain", Condition::Missing),
    ("must send", Condition::Missing),
];

/// The words for each condition.
const CONDITIONS: &[(&str, Condition)] = &[
    ("missing", Condition::Missing),
    // Absent from the client's registration, not from the request.
    ("missing in the client configuration", Condition::NotFound),
    ("missing from the client configuration", Condition::NotFound),
    ("not in the client configuration", Condition::NotFound),
    ("duplicated", Condition::Duplicate),
    ("duplicate", Condition::Duplicate),
    ("repeated", Condition::Duplicate),
    ("more than once", Condition::Duplicate),
    ("required", Condition::Missing),
    ("absent", Condition::Missing),
    ("not provided", Condition::Missing),
    ("not present", Condition::Missing),
    ("must be provided", Condition::Missing),
    ("empty", Condition::Missing),
    ("not found", Condition::NotFound),
    ("does not exist", Condition::NotFound),
    ("doesnt exist", Condition::NotFound),
    ("do not exist", Condition::NotFound),
    ("could not be found", Condition::NotFound),
    ("cannot be found", Condition::NotFound),
    ("unknown", Condition::NotFound),
    ("no such", Condition::NotFound),
    ("not registered", Condition::NotFound),
    ("not recognized", Condition::NotFound),
    ("invalid", Condition::Invalid),
    ("incorrect", Condition::Invalid),
    ("wrong", Condition::Invalid),
    ("not valid", Condition::Invalid),
    ("verification failed", Condition::Invalid),
    ("validation failed", Condition::Invalid),
    ("malformed", Condition::Malformed),
    ("could not be parsed", Condition::Malformed),
    ("cannot be parsed", Condition::Malformed),
    ("failed to parse", Condition::Malformed),
    ("error parsing", Condition::Malformed),
    ("error decoding", Condition::Malformed),
    ("cannot parse", Condition::Malformed),
    ("can not parse", Condition::Malformed),
    ("could not parse", Condition::Malformed),
    ("unable to parse", Condition::Malformed),
    ("could not decode", Condition::Malformed),
    ("failed to decode", Condition::Malformed),
    ("too short", Condition::Malformed),
    ("too long", Condition::Malformed),
    ("invalid format", Condition::Malformed),
    ("invalid characters", Condition::Malformed),
    ("invalid character", Condition::Malformed),
    ("at least", Condition::Malformed),
    ("longer than", Condition::Malformed),
    ("shorter than", Condition::Malformed),
    ("expired", Condition::Expired),
    ("expiration", Condition::Expired),
    ("no longer valid", Condition::Expired),
    ("revoked", Condition::Revoked),
    ("already used", Condition::Used),
    ("already been used", Condition::Used),
    ("has been used", Condition::Used),
    ("already redeemed", Condition::Used),
    ("already exchanged", Condition::Used),
    ("reused", Condition::Used),
    ("does not match", Condition::Mismatch),
    ("doesnt match", Condition::Mismatch),
    ("did not match", Condition::Mismatch),
    ("do not match", Condition::Mismatch),
    ("not match", Condition::Mismatch),
    ("mismatch", Condition::Mismatch),
    ("mismatched", Condition::Mismatch),
    ("mismatching", Condition::Mismatch),
    ("does not correspond", Condition::Mismatch),
    ("another client", Condition::OtherClient),
    ("a different client", Condition::OtherClient),
    ("different client", Condition::OtherClient),
    ("other client", Condition::OtherClient),
    ("not allowed", Condition::NotAllowed),
    ("not authorized", Condition::NotAllowed),
    ("not authorised", Condition::NotAllowed),
    ("unauthorized", Condition::NotAllowed),
    ("not permitted", Condition::NotAllowed),
    ("not enabled", Condition::NotAllowed),
    ("disallowed", Condition::NotAllowed),
    ("not supported", Condition::NotSupported),
    ("unsupported", Condition::NotSupported),
    ("does not support", Condition::NotSupported),
    ("doesnt support", Condition::NotSupported),
    ("disabled", Condition::Disabled),
    ("inactive", Condition::Disabled),
    ("not active", Condition::Disabled),
    ("locked", Condition::Disabled),
    ("suspended", Condition::Disabled),
    ("deactivated", Condition::Disabled),
];

const STRUCTURE: &str = "the words' structure";
const SOURCE: &str = "crates/doctor/src/phrases/structure.rs";

/// A missing grant_type: most often a body the provider could not read (as the row table's
/// own rule for a named grant_type parameter).
const GRANT_TYPE_MISSING: &[Code] = &[
    Code::TokenRequestMissingParameter,
    Code::TokenRequestUnsupportedContentType,
    Code::TokenRequestJsonBody,
];
const CODE_REFUSED: &[Code] = &[Code::CodeUnknown, Code::CodeExpired, Code::CodeReused];
const REFRESH_REFUSED: &[Code] = &[
    Code::RefreshTokenUnknown,
    Code::RefreshTokenExpired,
    Code::RefreshTokenRevoked,
];
const VERIFIER_REFUSED: &[Code] = &[Code::PkceVerifierMismatch, Code::PkceVerifierMalformed];
const REDIRECT_REFUSED: &[Code] = &[Code::RedirectUriMismatch, Code::RedirectUriUnsafe];
/// A secret refused, in words that do not say whether the provider checked the method first:
/// a wrong secret, or a secret sent by a client registered for another method.
const SECRET_REFUSED: &[Code] = &[
    Code::ClientAuthSecretMismatch,
    Code::ClientAuthMethodMismatch,
];
const CLIENT_CREDENTIALS_REFUSED: &[Code] = &[Code::ClientAuthSecretMismatch, Code::ClientUnknown];
/// "Invalid client": the RFC's invalid_client, every way a client fails to authenticate.
const CLIENT_REFUSED: &[Code] = &[
    Code::ClientUnknown,
    Code::ClientAuthSecretMismatch,
    Code::ClientAuthMethodMismatch,
];
const CLIENT_MISSING: &[Code] = &[Code::ClientAuthMissing, Code::TokenRequestMissingParameter];
/// PKCE missing: the challenge at authorize, or the verifier at the token endpoint.
const PKCE_MISSING: &[Code] = &[Code::PkceChallengeMissing, Code::PkceVerifierMissing];
/// A session that ended: the sign-in's, or the one a refresh token was bound to.
const SESSION_ENDED: &[Code] = &[
    Code::LoginRequestExpired,
    Code::RefreshTokenExpired,
    Code::RefreshTokenRevoked,
];

/// One reading: the object and condition, as the sentence says them, and the row.
const fn reading(
    object: Object,
    what: &'static str,
    condition: Condition,
    said: &'static str,
    code: Code,
) -> (Object, Condition, Phrase) {
    (
        object,
        condition,
        row(
            STRUCTURE,
            Matcher::Structure {
                object: what,
                condition: said,
            },
            code,
            SOURCE,
        ),
    )
}

const fn several(
    object: Object,
    what: &'static str,
    condition: Condition,
    said: &'static str,
    codes: &'static [Code],
) -> (Object, Condition, Phrase) {
    let (o, c, p) = reading(
        object,
        what,
        condition,
        said,
        match codes.first() {
            Some(c) => *c,
            None => Code::ResponseOAuthError,
        },
    );
    (o, c, p.candidates(codes))
}

/// What each pair means. A pair without a reading says nothing on its own (the condition is
/// then tried on the next object: "the client is not authorized to use this grant type").
static READINGS: &[(Object, Condition, Phrase)] = {
    use Condition::*;
    use Object::*;
    &[
        reading(Client, "client", NotFound, "unknown", Code::ClientUnknown),
        reading(
            ClientId,
            "client_id",
            NotFound,
            "unknown",
            Code::ClientUnknown,
        ),
        reading(
            ClientId,
            "client_id",
            Invalid,
            "invalid",
            Code::ClientUnknown,
        ),
        reading(
            ClientId,
            "client_id",
            Disabled,
            "disabled",
            Code::ClientDisabled,
        ),
        several(ClientId, "client_id", Missing, "missing", CLIENT_MISSING),
        reading(
            Body,
            "request body",
            Malformed,
            "could not be parsed",
            Code::TokenRequestMalformedBody,
        ),
        reading(
            Parameter,
            "parameter",
            Duplicate,
            "sent more than once",
            Code::TokenRequestDuplicateParameter,
        ),
        reading(Client, "client", Disabled, "disabled", Code::ClientDisabled),
        several(Client, "client_id", Missing, "missing", CLIENT_MISSING),
        several(Client, "client", Invalid, "invalid", CLIENT_REFUSED),
        several(
            ClientCredentials,
            "client credentials",
            Invalid,
            "invalid",
            CLIENT_CREDENTIALS_REFUSED,
        ),
        several(
            ClientCredentials,
            "client credentials",
            NotFound,
            "not found",
            CLIENT_CREDENTIALS_REFUSED,
        ),
        several(Secret, "client secret", Invalid, "invalid", SECRET_REFUSED),
        reading(
            Secret,
            "client secret",
            Mismatch,
            "does not match",
            Code::ClientAuthSecretMismatch,
        ),
        reading(
            Secret,
            "client secret",
            Expired,
            "expired",
            Code::ClientAuthSecretMismatch,
        ),
        reading(
            Secret,
            "client secret",
            Missing,
            "missing",
            Code::ClientAuthMissing,
        ),
        reading(
            Assertion,
            "client assertion",
            Invalid,
            "invalid",
            Code::ClientAuthAssertionInvalid,
        ),
        reading(
            Assertion,
            "client assertion",
            Malformed,
            "malformed",
            Code::ClientAuthAssertionInvalid,
        ),
        reading(
            Assertion,
            "client assertion",
            Expired,
            "expired",
            Code::ClientAuthAssertionInvalid,
        ),
        reading(
            Assertion,
            "client assertion",
            Mismatch,
            "does not match",
            Code::ClientAuthAssertionInvalid,
        ),
        reading(
            Assertion,
            "client assertion",
            Missing,
            "missing",
            Code::ClientAuthMissing,
        ),
        reading(
            RedirectUri,
            "redirect_uri",
            Mismatch,
            "does not match",
            Code::RedirectUriMismatch,
        ),
        reading(
            RedirectUri,
            "redirect_uri",
            NotFound,
            "not registered",
            Code::RedirectUriMismatch,
        ),
        reading(
            RedirectUri,
            "redirect_uri",
            Missing,
            "missing",
            Code::RedirectUriMissing,
        ),
        reading(
            RedirectUri,
            "redirect_uri",
            Malformed,
            "malformed",
            Code::RedirectUriUnsafe,
        ),
        several(
            RedirectUri,
            "redirect_uri",
            Invalid,
            "invalid",
            REDIRECT_REFUSED,
        ),
        reading(
            AuthorizationCode,
            "authorization code",
            Expired,
            "expired",
            Code::CodeExpired,
        ),
        reading(
            AuthorizationCode,
            "authorization code",
            Used,
            "already used",
            Code::CodeReused,
        ),
        reading(
            AuthorizationCode,
            "authorization code",
            NotFound,
            "unknown",
            Code::CodeUnknown,
        ),
        reading(
            AuthorizationCode,
            "authorization code",
            Malformed,
            "malformed",
            Code::CodeUnknown,
        ),
        reading(
            AuthorizationCode,
            "authorization code",
            Revoked,
            "revoked",
            Code::CodeRevoked,
        ),
        reading(
            AuthorizationCode,
            "authorization code",
            OtherClient,
            "issued to another client",
            Code::CodeClientMismatch,
        ),
        reading(
            AuthorizationCode,
            "code",
            Missing,
            "missing",
            Code::TokenRequestMissingParameter,
        ),
        several(
            AuthorizationCode,
            "authorization code",
            Invalid,
            "invalid",
            CODE_REFUSED,
        ),
        reading(
            RefreshToken,
            "refresh token",
            Expired,
            "expired",
            Code::RefreshTokenExpired,
        ),
        reading(
            RefreshToken,
            "refresh token",
            Revoked,
            "revoked",
            Code::RefreshTokenRevoked,
        ),
        reading(
            RefreshToken,
            "refresh token",
            Used,
            "already used",
            Code::RefreshTokenReused,
        ),
        reading(
            RefreshToken,
            "refresh token",
            NotFound,
            "unknown",
            Code::RefreshTokenUnknown,
        ),
        reading(
            RefreshToken,
            "refresh token",
            Malformed,
            "malformed",
            Code::RefreshTokenUnknown,
        ),
        reading(
            RefreshToken,
            "refresh token",
            OtherClient,
            "issued to another client",
            Code::RefreshTokenClientMismatch,
        ),
        reading(
            RefreshToken,
            "refresh_token",
            Missing,
            "missing",
            Code::TokenRequestMissingParameter,
        ),
        several(
            RefreshToken,
            "refresh token",
            Invalid,
            "invalid",
            REFRESH_REFUSED,
        ),
        reading(
            DeviceCode,
            "device code",
            Expired,
            "expired",
            Code::DeviceCodeExpired,
        ),
        reading(
            DeviceCode,
            "device_code",
            Missing,
            "missing",
            Code::TokenRequestMissingParameter,
        ),
        reading(
            Verifier,
            "code_verifier",
            Missing,
            "missing",
            Code::PkceVerifierMissing,
        ),
        reading(
            Verifier,
            "code_verifier",
            Mismatch,
            "does not match",
            Code::PkceVerifierMismatch,
        ),
        reading(
            Verifier,
            "code_verifier",
            Malformed,
            "malformed",
            Code::PkceVerifierMalformed,
        ),
        several(
            Verifier,
            "code_verifier",
            Invalid,
            "invalid",
            VERIFIER_REFUSED,
        ),
        reading(
            Challenge,
            "code_challenge",
            Missing,
            "missing",
            Code::PkceChallengeMissing,
        ),
        reading(
            Challenge,
            "code_challenge",
            Malformed,
            "malformed",
            Code::PkceChallengeMalformed,
        ),
        reading(
            ChallengeMethod,
            "code_challenge_method",
            NotSupported,
            "not supported",
            Code::PkceMethodUnsupported,
        ),
        reading(
            ChallengeMethod,
            "code_challenge_method",
            Invalid,
            "invalid",
            Code::PkceMethodUnsupported,
        ),
        reading(
            ChallengeMethod,
            "code_challenge_method",
            NotAllowed,
            "not allowed",
            Code::PkceMethodUnsupported,
        ),
        reading(Scope, "scope", Invalid, "invalid", Code::ScopeUnknown),
        reading(Scope, "scope", NotFound, "unknown", Code::ScopeUnknown),
        reading(
            Scope,
            "scope",
            NotSupported,
            "not supported",
            Code::ScopeUnknown,
        ),
        reading(
            Scope,
            "scope",
            NotAllowed,
            "not allowed",
            Code::ScopeNotAllowed,
        ),
        reading(Scope, "scope", Malformed, "malformed", Code::ScopeMalformed),
        reading(Scope, "scope", Missing, "missing", Code::ScopeMissing),
        reading(
            ResponseType,
            "response_type",
            NotSupported,
            "not supported",
            Code::ResponseTypeUnsupported,
        ),
        reading(
            ResponseType,
            "response_type",
            NotAllowed,
            "not allowed",
            Code::ResponseTypeUnsupported,
        ),
        reading(
            ResponseType,
            "response_type",
            Invalid,
            "invalid",
            Code::ResponseTypeUnsupported,
        ),
        reading(
            ResponseType,
            "response_type",
            NotFound,
            "not configured for the client",
            Code::ResponseTypeUnsupported,
        ),
        reading(
            ResponseType,
            "response_type",
            Missing,
            "missing",
            Code::AuthorizationRequestMissingParameter,
        ),
        reading(
            GrantType,
            "grant type",
            NotSupported,
            "not supported",
            Code::GrantTypeUnsupported,
        ),
        reading(
            GrantType,
            "grant type",
            NotFound,
            "unknown",
            Code::GrantTypeUnsupported,
        ),
        reading(
            GrantType,
            "grant type",
            Invalid,
            "invalid",
            Code::GrantTypeUnsupported,
        ),
        reading(
            GrantType,
            "grant type",
            NotAllowed,
            "not allowed",
            Code::GrantTypeNotAllowed,
        ),
        several(
            GrantType,
            "grant_type",
            Missing,
            "missing",
            GRANT_TYPE_MISSING,
        ),
        reading(User, "user", Disabled, "disabled", Code::UserDisabled),
        reading(User, "user", NotFound, "not found", Code::UserNotFound),
        reading(
            UserCredentials,
            "user credentials",
            Invalid,
            "invalid",
            Code::UserCredentialsInvalid,
        ),
        reading(
            UserCredentials,
            "user credentials",
            Mismatch,
            "do not match",
            Code::UserCredentialsInvalid,
        ),
        reading(
            UserCredentials,
            "password",
            Expired,
            "expired",
            Code::UserPasswordExpired,
        ),
        several(Session, "session", Expired, "expired", SESSION_ENDED),
        several(Session, "session", Disabled, "not active", SESSION_ENDED),
        several(Session, "session", NotFound, "not found", SESSION_ENDED),
        reading(
            AuthMethod,
            "authentication method",
            NotSupported,
            "not supported",
            Code::ClientAuthMethodMismatch,
        ),
        reading(
            AuthMethod,
            "authentication method",
            NotAllowed,
            "not allowed",
            Code::ClientAuthMethodMismatch,
        ),
        reading(
            AuthMethod,
            "authentication method",
            Mismatch,
            "does not match",
            Code::ClientAuthMethodMismatch,
        ),
        several(Pkce, "PKCE", Missing, "missing", PKCE_MISSING),
        reading(
            AuthorizationCode,
            "authorization code",
            NotAllowed,
            "not allowed (to exchange)",
            Code::GrantTypeNotAllowed,
        ),
    ]
};

fn lookup(object: Object, condition: Condition) -> Option<&'static Phrase> {
    READINGS
        .iter()
        .find(|(o, c, _)| *o == object && *c == condition)
        .map(|(_, _, p)| p)
}

/// The text as clauses of lower-case words: parenthesised asides, URLs and template
/// placeholders removed; apostrophes dropped ("doesn't" → "doesnt"); every other character
/// that is not a letter, a digit or `_` separates words.
fn clauses(text: &str) -> Vec<Vec<String>> {
    let mut plain = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let mut out = Vec::new();
    // A clause ends at a sentence's end or a line's; a dot inside a word (a host, a version)
    // does not end one.
    for sentence in plain.replace('\\', "").split(['\n', ';', '!', '?']) {
        for clause in sentence.split(". ") {
            let mut words: Vec<String> = clause
                .split_whitespace()
                .filter(|w| !w.contains("://") && !w.contains('$') && !w.contains('%'))
                .flat_map(|w| {
                    w.replace(['\'', '’'], "")
                        .to_lowercase()
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect();
            // What follows "for example" is a case that may occur, not one that did.
            if let Some(at) = words
                .windows(2)
                .position(|w| matches!(w, [a, b] if EXAMPLE.contains(&[a.as_str(), b.as_str()])))
            {
                words.truncate(at);
            }
            if !words.is_empty() {
                out.push(words);
            }
        }
    }
    out
}

/// Prepositions that name where something is.
const LOCATIVE: &[&str] = &["in", "from", "at", "within", "inside"];

/// Two words that open an example.
const EXAMPLE: &[[&str; 2]] = &[
    ["for", "example"],
    ["for", "instance"],
    ["such", "as"],
    ["e", "g"],
];

/// The longest entry of `table` whose words start at `words[i..]`: its length and value.
fn longest<T: Copy>(words: &[String], i: usize, table: &[(&str, T)]) -> Option<(usize, T)> {
    let rest = words.get(i..)?;
    table
        .iter()
        .filter_map(|(phrase, v)| {
            let want: Vec<&str> = phrase.split(' ').collect();
            let n = want.len();
            let here = rest.get(..n)?;
            here.iter()
                .zip(&want)
                .all(|(a, b)| a == b)
                .then_some((n, *v))
        })
        .max_by_key(|(n, _)| *n)
}

/// Whether the word at `i` follows a preposition, articles and the like skipped.
fn after_preposition(words: &[String], i: usize) -> bool {
    const SKIP: &[&str] = &[
        "the", "a", "an", "this", "that", "its", "their", "any", "valid",
    ];
    const PREPOSITIONS: &[&str] = &["for", "of", "in", "to", "from", "with", "by", "on"];
    words
        .get(..i)
        .unwrap_or_default()
        .iter()
        .rev()
        .find(|w| !SKIP.contains(&w.as_str()))
        .is_some_and(|w| PREPOSITIONS.contains(&w.as_str()))
}

/// The pairs (object, condition) a text states, in order, and how many distinct conditions
/// it names.
fn pairs(text: &str) -> (Vec<&'static Phrase>, usize) {
    let mut found = Vec::new();
    let mut conditions: Vec<Condition> = Vec::new();
    for words in clauses(text) {
        // The objects named so far in the clause, the latest last, each with whether a
        // preposition put it there ("the service account *for the client*"): what a
        // condition is said of is the sentence's subject before such a modifier.
        let mut seen: Vec<(Object, bool)> = Vec::new();
        // Conditions said ahead of their object ("invalid or unknown client").
        let mut pending: Vec<Condition> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            // A condition said of the clause's subject that has no reading for it does not
            // pass to a place named after it ("credentials missing or malformed *in* the
            // Authorization header and the POST body" is not a malformed body).
            if !seen.is_empty() && words.get(i).is_some_and(|w| LOCATIVE.contains(&w.as_str())) {
                pending.clear();
            }
            if let Some((n, c)) = longest(&words, i, AHEAD) {
                pending.push(c);
                i += n;
                continue;
            }
            let object = longest(&words, i, OBJECTS).or_else(|| {
                // "challenge" alone is PKCE's only in a clause about PKCE ("PKCE code
                // verifier specified but challenge not present"); elsewhere it may be a
                // sign-in's (an MFA challenge).
                (words.get(i).is_some_and(|w| w == "challenge")
                    && seen
                        .iter()
                        .any(|(o, _)| matches!(o, Object::Pkce | Object::Verifier)))
                .then_some((1, Object::Challenge))
            });
            let condition = longest(&words, i, CONDITIONS);
            match (object, condition) {
                (Some((n, o)), c) if c.is_none_or(|(m, _)| n >= m) => {
                    let fits: Vec<&'static Phrase> =
                        pending.iter().filter_map(|c| lookup(o, *c)).collect();
                    if !fits.is_empty() {
                        found.extend(fits);
                        pending.clear();
                    }
                    seen.push((o, after_preposition(&words, i)));
                    i += n;
                }
                (_, Some((n, c))) => {
                    if !conditions.contains(&c) {
                        conditions.push(c);
                    }
                    // Said of the latest object it fits ("a code_challenge … in the code
                    // flow, but it is missing"); of none yet: of the next one ("Invalid
                    // redirect", "the client is not authorized to use this grant type").
                    let subjects = seen.iter().rev().filter(|(_, m)| !m);
                    let modifiers = seen.iter().rev().filter(|(_, m)| *m);
                    match subjects.chain(modifiers).find_map(|(o, _)| lookup(*o, c)) {
                        Some(p) => found.push(p),
                        None => pending.push(c),
                    }
                    i += n;
                }
                _ => i += 1,
            }
        }
    }
    (found, conditions.len())
}

/// Request parameters that have no object of their own here: words that say one of them is
/// wrong say what is wrong, whatever the error value's general meaning.
/// Only names no sentence uses as plain words ("resource owner", "prompt", "display" are).
const OTHER_PARAMETERS: &[&str] = &[
    "id_token_hint",
    "login_hint",
    "max_age",
    "request_uri",
    "acr_values",
    "ui_locales",
    "response_mode",
];

/// Whether the words state a condition (invalid, missing, …) of a request parameter that has
/// no object of its own ("The id_token_hint is invalid"): the error value they come with
/// (zitadel/oidc sends `login_required` then) does not name the cause.
pub(super) fn states_other_parameter_defect(text: &str) -> bool {
    let (_, conditions) = pairs(text);
    conditions > 0
        && clauses(text)
            .iter()
            .flatten()
            .any(|w| OTHER_PARAMETERS.contains(&w.as_str()))
}

/// The causes a row leaves: its candidates, or its one code.
fn causes(p: &Phrase) -> Vec<Code> {
    if p.candidates.is_empty() {
        vec![p.code]
    } else {
        p.candidates.to_vec()
    }
}

/// The reading of a description by its structure, when it states what happened to what.
pub(super) fn read(text: &str) -> Option<Match> {
    let (found, conditions) = pairs(text);
    // Three conditions or more: a list of what may have gone wrong, not what did.
    if conditions >= 3 {
        return None;
    }
    let first = *found.first()?;
    // "X is invalid or expired" leaves either; "Invalid redirect: X does not match …" says
    // both of one value, and the narrower statement holds.
    let either = clauses(text).iter().flatten().any(|w| w == "or");
    let mut codes = causes(first);
    for p in found.iter().skip(1) {
        let more = causes(p);
        if either {
            for c in more {
                if !codes.contains(&c) {
                    codes.push(c);
                }
            }
        } else {
            let both: Vec<Code> = codes.iter().copied().filter(|c| more.contains(c)).collect();
            codes = if both.is_empty() {
                let mut all = codes.clone();
                all.extend(more.into_iter().filter(|c| !codes.contains(c)));
                all
            } else {
                both
            };
        }
    }
    let (code, several) = match codes.as_slice() {
        [one] => (*one, Vec::new()),
        many if many.len() <= 4 => (first.code, many.to_vec()),
        _ => return None,
    };
    // The row that says the one cause, when one does; else the statements together narrowed
    // the first row's candidates to one (`refined`).
    let phrase = found
        .iter()
        .copied()
        .find(|p| several.is_empty() && p.candidates.is_empty() && p.code == code)
        .unwrap_or(first);
    Some(Match {
        phrase,
        code,
        offending: None,
        refined: several.is_empty() && !phrase.candidates.is_empty(),
        several,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn named(text: &str) -> Option<Code> {
        read(text)
            .filter(|m| m.candidates().is_empty())
            .map(|m| m.code)
    }

    fn candidates(text: &str) -> Vec<Code> {
        read(text)
            .map(|m| m.candidates().to_vec())
            .unwrap_or_default()
    }

    /// Sentences of the dev corpus's providers, each with the one cause it states.
    #[test]
    fn one_object_one_condition_names_the_cause() {
        for (text, code) in [
            ("Authorization code expired.", Code::CodeExpired),
            ("Authorization code doesn't exist.", Code::CodeUnknown),
            (
                "code is a required parameter",
                Code::TokenRequestMissingParameter,
            ),
            ("RefreshToken does not exist", Code::RefreshTokenUnknown),
            (
                "Unknown Grant Type, ${grantType}",
                Code::GrantTypeUnsupported,
            ),
            (
                "The authenticated client is not authorized to use this authorization grant type.",
                Code::GrantTypeNotAllowed,
            ),
            (
                "The client is disabled and can't request an access token using this method.",
                Code::ClientDisabled,
            ),
            (
                "A valid OAuth client could not be found for client_id: w_sNIcatiDplDKRibkIWgSH8w00b",
                Code::ClientUnknown,
            ),
            (
                "The redirect_uri in the Authorization Request does not match any of the Client's pre-registered redirect_uris.",
                Code::RedirectUriMismatch,
            ),
            (
                "Invalid redirect: http://192.168.1.111:8087/login does not match one of the registered values.",
                Code::RedirectUriMismatch,
            ),
            (
                "The PKCE code verifier was provided but the code challenge was absent from the authorization request.",
                Code::PkceChallengeMissing,
            ),
            ("User 'alice' disabled", Code::UserDisabled),
            (
                "This client must include a code_challenge when performing the authorize code flow, but it is missing.",
                Code::PkceChallengeMissing,
            ),
            (
                "auth_method private_key_jwt not supported",
                Code::ClientAuthMethodMismatch,
            ),
            (
                "client_credentials grant not supported",
                Code::GrantTypeUnsupported,
            ),
            (
                "Missing required parameter [code_verifier]",
                Code::PkceVerifierMissing,
            ),
            (
                "The PKCE code verifier must be at least 43 characters.",
                Code::PkceVerifierMalformed,
            ),
            (
                "The associated service account for the client does not exist",
                Code::UserNotFound,
            ),
            (
                "The authorization grant type is not supported by the authorization server.",
                Code::GrantTypeUnsupported,
            ),
        ] {
            assert_eq!(named(text), Some(code), "{text}");
        }
    }

    /// Words that leave several causes list them and name none.
    #[test]
    fn a_broad_condition_lists_candidates() {
        assert_eq!(
            candidates("Invalid authorization code received from token request"),
            CODE_REFUSED
        );
        assert_eq!(
            candidates("Client credentials are invalid."),
            CLIENT_CREDENTIALS_REFUSED
        );
        assert_eq!(candidates("Session not active"), SESSION_ENDED);
        assert_eq!(
            candidates("Invalid or unknown client for this token"),
            CLIENT_REFUSED
        );
        // An example is not a statement: Cognito's invalid_client text names no client.
        assert!(read("Client authentication failed. For example, when the client includes `client_id` and `client_secret` in the authorization header, but there's no such client with that `client_id` and `client_secret`.").is_none());
        assert_eq!(named("Session not active"), None);
        // A refused secret, in words that do not say the method was checked first.
        assert_eq!(candidates("The client secret is invalid"), SECRET_REFUSED);
        // "or" joins what may have happened: both stay.
        let either = candidates("The authorization code is expired or revoked");
        assert!(either.contains(&Code::CodeExpired) && either.contains(&Code::CodeRevoked));
    }

    /// The RFC's sentences and their kin list every cause: nothing is read from them, and an
    /// aside's examples are not statements.
    #[test]
    fn enumerations_and_examples_name_nothing() {
        for text in [
            "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
            "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)",
            "The provided access grant is invalid, expired, or revoked.",
            "Missing valid authorization header",
            "Persisted access token data not found",
            "The client is not authorized to request an access token using this method.",
        ] {
            assert!(
                read(text).is_none(),
                "{text}: {:?}",
                read(text).map(|m| m.code)
            );
        }
    }

    /// A condition is said of the object it follows, and "challenge" alone is PKCE's only
    /// in a clause about PKCE.
    #[test]
    fn a_bare_challenge_in_a_pkce_clause() {
        assert_eq!(
            named("code_verifier sent, but the challenge is absent"),
            Some(Code::PkceChallengeMissing)
        );
        assert_eq!(named("MFA challenge required"), None);
    }

    /// The identifier itself, a parameter sent twice, a value missing from the client's
    /// configuration rather than from the request.
    #[test]
    fn identifiers_duplicates_and_configuration() {
        assert_eq!(
            named("Invalid value for 'client_id' parameter."),
            Some(Code::ClientUnknown)
        );
        assert_eq!(
            named("error parsing form"),
            Some(Code::TokenRequestMalformedBody)
        );
        // What the subject is said to be is not said of a place named after it.
        assert_eq!(
            named("The client secret is missing or malformed in the request body."),
            Some(Code::ClientAuthMissing)
        );
        assert_eq!(
            named("duplicated parameter"),
            Some(Code::TokenRequestDuplicateParameter)
        );
        assert_eq!(
            named("The requested redirect_uri is missing in the client configuration."),
            Some(Code::RedirectUriMismatch)
        );
        assert_eq!(
            named("The requested response type is missing in the client configuration."),
            Some(Code::ResponseTypeUnsupported)
        );
        // Missing from the request stays missing.
        assert_eq!(
            named("The redirect_uri is missing in the request."),
            Some(Code::RedirectUriMissing)
        );
        assert!(states_other_parameter_defect(
            "The id_token_hint is invalid."
        ));
        assert!(!states_other_parameter_defect("The user is not logged in"));
    }

    #[test]
    fn odd_text_does_not_panic() {
        for text in ["", "((((", ")))) code expired", "é’'\u{0}", ". . .", "code"] {
            let _ = read(text);
        }
    }
}
