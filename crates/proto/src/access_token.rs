//! Access tokens: RFC 9068 JWT claims, and opaque tokens.

use serde::{Deserialize, Serialize};

/// `typ` header of RFC 9068 access tokens.
pub const JWT_TYP: &str = "at+jwt";

/// The format a client's access tokens take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A signed RFC 9068 JWT: resource servers validate it locally against the JWKS.
    Jwt,
    /// A random string: resource servers must introspect it.
    Opaque,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jwt => "jwt",
            Format::Opaque => "opaque",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jwt" => Ok(Format::Jwt),
            "opaque" => Ok(Format::Opaque),
            other => Err(format!(
                "unknown access token format '{other}': expected jwt or opaque"
            )),
        }
    }
}

/// One audience or several; serialized as a string when there is one (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn from_list(mut list: Vec<String>) -> Audience {
        if list.len() == 1 {
            Audience::One(list.remove(0))
        } else {
            Audience::Many(list)
        }
    }

    pub fn to_list(&self) -> Vec<String> {
        match self {
            Audience::One(a) => vec![a.clone()],
            Audience::Many(v) => v.clone(),
        }
    }

    pub fn contains(&self, value: &str) -> bool {
        match self {
            Audience::One(a) => a == value,
            Audience::Many(v) => v.iter().any(|a| a == value),
        }
    }
}

/// The claims of an RFC 9068 access token (§2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user, or the client_id for `client_credentials` (RFC 9068 §2.2).
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The grant (code or refresh family) the token came from; revoking the grant revokes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_serializes_as_string_when_single() {
        let one = serde_json::to_string(&Audience::from_list(vec!["a".into()])).unwrap_or_default();
        assert_eq!(one, "\"a\"");
        let many = serde_json::to_string(&Audience::from_list(vec!["a".into(), "b".into()]))
            .unwrap_or_default();
        assert_eq!(many, "[\"a\",\"b\"]");
        let parsed: Audience = serde_json::from_str("[\"x\"]").unwrap_or(Audience::Many(vec![]));
        assert!(parsed.contains("x"));
    }
}
