//! Access tokens: RFC 9068 JWT claims, and opaque tokens.

use serde::{Deserialize, Serialize};

use crate::diagnosis::Code;
use crate::error::quote;

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

/// What a resource server (the gateway) expects of an access token's header and claims.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// The issuer the token's `iss` was matched to (exact string).
    pub issuer: &'a str,
    /// Accepted audiences; empty accepts any (the issuer is trusted to scope its tokens).
    pub audiences: &'a [String],
    /// Accepted JOSE `typ` values (`at+jwt`; `application/` prefixes are ignored, case too).
    pub token_types: &'a [String],
    pub now: i64,
    pub leeway: i64,
}

/// What an access token says, once its header and claims pass (RFC 9068 §2.2, §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub sub: String,
    /// `client_id`, else `azp` (OIDC providers that predate RFC 9068), else `cid` (Okta).
    pub client_id: Option<String>,
    /// `scope` (space-separated), else `scp` (a string or an array: Entra ID, Okta).
    pub scopes: Vec<String>,
    pub jti: Option<String>,
    pub exp: i64,
    pub iat: Option<i64>,
    pub auth_time: Option<i64>,
    /// Candor's grant (code or refresh family) id.
    pub grant_id: Option<String>,
}

/// Why an access token's header or claims are refused; each case is one diagnosis code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// `typ` is not one of the accepted types (an id_token, say).
    Type {
        received: Option<String>,
    },
    /// A required claim is absent or of the wrong JSON type.
    Claim {
        claim: &'static str,
    },
    Issuer {
        received: String,
    },
    Audience {
        received: Vec<String>,
    },
    Expired {
        exp: i64,
    },
    NotYetValid {
        claim: &'static str,
        at: i64,
    },
}

impl TokenError {
    pub fn code(&self) -> Code {
        match self {
            TokenError::Type { .. } => Code::TokenType,
            TokenError::Claim { .. } => Code::TokenMalformed,
            TokenError::Issuer { .. } => Code::TokenIssuer,
            TokenError::Audience { .. } => Code::TokenAudience,
            TokenError::Expired { .. } => Code::TokenExpired,
            TokenError::NotYetValid { .. } => Code::TokenNotYetValid,
        }
    }

    /// The error description: what was expected, what was received.
    pub fn describe(&self, expect: &Expect<'_>) -> String {
        match self {
            TokenError::Type { received } => format!(
                "the token's typ is {}, expected {} (an id_token is not an access token)",
                received
                    .as_deref()
                    .map(quote)
                    .unwrap_or_else(|| "absent".into()),
                expect.token_types.join(" or ")
            ),
            TokenError::Claim { claim } => {
                format!("the token has no usable '{claim}' claim (RFC 9068 section 2.2)")
            }
            TokenError::Issuer { received } => format!(
                "the token's iss {} is not {}",
                quote(received),
                quote(expect.issuer)
            ),
            TokenError::Audience { received } => format!(
                "the token's aud {} names none of the audiences this API accepts ({})",
                quote(&received.join(" ")),
                expect.audiences.join(" ")
            ),
            TokenError::Expired { exp } => format!(
                "the token expired {}s ago (exp {exp}, leeway {}s)",
                expect.now - exp,
                expect.leeway
            ),
            TokenError::NotYetValid { claim, at } => format!(
                "the token's {claim} is {}s in the future (leeway {}s): a clock is off",
                at - expect.now,
                expect.leeway
            ),
        }
    }
}

fn type_matches(received: &str, accepted: &str) -> bool {
    let norm = |t: &str| {
        let t = t.trim();
        let t = t
            .get(..12)
            .filter(|p| p.eq_ignore_ascii_case("application/"))
            .map_or(t, |_| t.get(12..).unwrap_or(""));
        t.to_ascii_lowercase()
    };
    norm(received) == norm(accepted)
}

/// Checks an access token's JOSE header and claims (the signature is the caller's, before).
pub fn validate(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    expect: &Expect<'_>,
) -> Result<Validated, TokenError> {
    use crate::jose::{after, expired_at, numeric_date, whole_seconds};
    use serde_json::Value;
    let typ = header.get("typ").and_then(Value::as_str);
    if !expect
        .token_types
        .iter()
        .any(|t| typ.is_some_and(|r| type_matches(r, t)))
    {
        return Err(TokenError::Type {
            received: typ.map(str::to_string),
        });
    }
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(TokenError::Claim { claim: "iss" })?;
    if iss != expect.issuer {
        return Err(TokenError::Issuer {
            received: iss.to_string(),
        });
    }
    // NumericDates (RFC 7519 §2) may be non-integer: compared as numbers; a string is
    // malformed, never ignored.
    let date =
        |claim: &'static str| numeric_date(claims, claim).map_err(|_| TokenError::Claim { claim });
    let exp = date("exp")?.ok_or(TokenError::Claim { claim: "exp" })?;
    if expired_at(exp, expect.now, expect.leeway) {
        return Err(TokenError::Expired {
            exp: whole_seconds(exp),
        });
    }
    let iat = date("iat")?;
    for (claim, at) in [("nbf", date("nbf")?), ("iat", iat)] {
        if let Some(at) = at
            && after(at, expect.now, expect.leeway)
        {
            return Err(TokenError::NotYetValid {
                claim,
                at: whole_seconds(at),
            });
        }
    }
    let aud: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    if !expect.audiences.is_empty() && !aud.iter().any(|a| expect.audiences.contains(a)) {
        return Err(TokenError::Audience { received: aud });
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(TokenError::Claim { claim: "sub" })?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    let scopes = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) | (None, Some(Value::String(s))) => s
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        (None, Some(Value::Array(list))) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Validated {
        sub: sub.to_string(),
        client_id: text("client_id")
            .or_else(|| text("azp"))
            .or_else(|| text("cid")),
        scopes,
        jti: text("jti"),
        // Rounded up: whatever keeps the token until its exp keeps it long enough.
        exp: whole_seconds(exp.ceil()),
        iat: iat.map(whole_seconds),
        auth_time: numeric_date(claims, "auth_time")
            .ok()
            .flatten()
            .map(whole_seconds),
        grant_id: text("grant_id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc_9068_checks_name_each_failure() {
        let aud = vec!["https://api.example".to_string()];
        let types = vec!["at+jwt".to_string()];
        let expect = Expect {
            issuer: "https://as.example",
            audiences: &aud,
            token_types: &types,
            now: 1000,
            leeway: 60,
        };
        let header = json!({"typ": "at+jwt", "alg": "ES256"});
        let good = json!({"iss": "https://as.example", "sub": "u", "aud": ["x", "https://api.example"],
            "exp": 2000, "iat": 990, "client_id": "c", "scope": "a b", "jti": "j"});
        let v = validate(&header, &good, &expect).unwrap();
        assert_eq!(v.scopes, vec!["a", "b"]);
        assert_eq!(v.client_id.as_deref(), Some("c"));
        assert!(validate(&json!({"typ": "application/AT+JWT"}), &good, &expect).is_ok());
        let with = |k: &str, val: serde_json::Value| {
            let mut c = good.clone();
            c[k] = val;
            validate(&header, &c, &expect).err().map(|e| e.code())
        };
        assert_eq!(
            with("iss", json!("https://as.example/")),
            Some(Code::TokenIssuer)
        );
        assert_eq!(
            with("aud", json!("https://other.example")),
            Some(Code::TokenAudience)
        );
        assert_eq!(with("exp", json!(939)), Some(Code::TokenExpired));
        assert_eq!(with("exp", json!("soon")), Some(Code::TokenMalformed));
        assert_eq!(with("iat", json!(1061)), Some(Code::TokenNotYetValid));
        assert_eq!(with("nbf", json!(1100)), Some(Code::TokenNotYetValid));
        // NumericDate (RFC 7519 §2) may be non-integer: compared, not ignored; a string is
        // malformed.
        assert_eq!(with("nbf", json!(1e12)), Some(Code::TokenNotYetValid));
        assert_eq!(
            with("iat", json!(9999999999.5)),
            Some(Code::TokenNotYetValid)
        );
        assert_eq!(with("nbf", json!(1000.5)), None);
        assert_eq!(with("exp", json!("2000")), Some(Code::TokenMalformed));
        assert_eq!(with("nbf", json!("9999999999")), Some(Code::TokenMalformed));
        assert_eq!(with("iat", json!(null)), Some(Code::TokenMalformed));
        assert_eq!(with("exp", json!(939.9)), Some(Code::TokenExpired));
        assert_eq!(with("exp", json!(940.5)), None);
        let mut c = good.clone();
        c["exp"] = json!(1700.9);
        let v = validate(&header, &c, &expect).unwrap();
        assert_eq!(v.exp, 1701);
        let later = Expect {
            now: 1_700_000_060,
            ..expect
        };
        let mut c = good.clone();
        c["exp"] = json!(1700000000.9);
        c["iat"] = json!(1700000000);
        assert!(validate(&header, &c, &later).is_ok(), "0.9 s left");
        let past = Expect {
            now: 1_700_000_061,
            ..later
        };
        assert_eq!(
            validate(&header, &c, &past).err().map(|e| e.code()),
            Some(Code::TokenExpired)
        );
        assert_eq!(with("sub", json!(7)), Some(Code::TokenMalformed));
        assert_eq!(
            validate(&json!({"typ": "JWT"}), &good, &expect)
                .err()
                .map(|e| e.code()),
            Some(Code::TokenType)
        );
        assert_eq!(
            validate(&json!({}), &good, &expect).err().map(|e| e.code()),
            Some(Code::TokenType)
        );
        // scp as an array (Entra ID, Okta).
        let mut scp = good.clone();
        scp.as_object_mut().map(|o| o.remove("scope"));
        scp["scp"] = json!(["x", "y"]);
        assert_eq!(
            validate(&header, &scp, &expect).map(|v| v.scopes).ok(),
            Some(vec!["x".into(), "y".into()])
        );
    }

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
