//! Server metadata: OpenID Connect Discovery 1.0 and RFC 8414, one document for both.

use candor_proto::client_auth::AuthMethod;
use candor_proto::grant_type::GrantType;
use candor_proto::jose::SigningAlg;
use candor_proto::scope::ADVERTISED_SCOPES;
use serde_json::{Value, json};

use crate::app::App;

/// The metadata document.
pub fn metadata(app: &App) -> Value {
    let iss = app.issuer();
    let auth_methods: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    let confidential_methods: Vec<&str> = AuthMethod::ALL
        .iter()
        .filter(|m| **m != AuthMethod::None)
        .map(|m| m.as_str())
        .collect();
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    let assertion_algs = ["RS256", "PS256", "ES256", "EdDSA", "HS256"];
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": app.settings().token_endpoint(),
        "jwks_uri": format!("{iss}/jwks"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "end_session_endpoint": format!("{iss}/logout"),
        "introspection_endpoint": crate::introspection::endpoint(app),
        "revocation_endpoint": crate::revocation::endpoint(app),
        "revocation_feed_endpoint": crate::feed::endpoint(app),
        "service_documentation": format!("{iss}/docs/errors"),
        "scopes_supported": ADVERTISED_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GrantType::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": confidential_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr",
                             "name", "preferred_username", "email", "email_verified"],
    })
}
