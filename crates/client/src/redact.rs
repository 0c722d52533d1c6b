//! Redaction: what of a secret may be shown.
//!
//! Client secrets, passwords, authorization codes, PKCE verifiers, tokens and assertions are
//! never printed in full; they are replaced by [`hint`] (a short prefix and the length), so a
//! reader can still tell two values apart. Everything that leaves this crate in an error — the
//! recorded [`Exchange`](crate::Exchange) — goes through these functions.

pub use candor_proto::secret::hint;
use serde_json::Value;

/// Parameter, JSON member and cookie names whose values are secret.
pub const SENSITIVE: &[&str] = &[
    "code",
    "client_secret",
    "code_verifier",
    "password",
    "access_token",
    "refresh_token",
    "id_token",
    "client_assertion",
    "assertion",
    "token",
    "device_code",
    "subject_token",
    "actor_token",
    "logout_token",
    "session_state",
    "jwt",
];

/// Whether a parameter named `name` holds a secret.
pub fn is_sensitive(name: &str) -> bool {
    SENSITIVE.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// A form body (or query string) with every sensitive value replaced by its hint.
pub fn form(body: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(body.as_bytes()) {
        if is_sensitive(&name) {
            out.append_pair(&name, &hint(&value));
        } else {
            out.append_pair(&name, &value);
        }
    }
    out.finish()
}

/// A URL with sensitive query parameters (and any userinfo password) redacted, for display:
/// the hints are not percent-encoded.
pub fn url(raw: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(raw) else {
        return cut(raw, 200);
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("REDACTED"));
    }
    let query = parsed.query().map(str::to_string);
    let fragment = parsed.fragment().map(str::to_string);
    parsed.set_query(None);
    parsed.set_fragment(None);
    let mut out = parsed.to_string();
    if let Some(q) = query {
        out.push('?');
        out.push_str(&raw_pairs(&q));
    }
    if let Some(f) = fragment {
        out.push('#');
        if f.contains('=') {
            out.push_str(&raw_pairs(&f));
        } else {
            out.push_str(&f);
        }
    }
    out
}

/// A raw query string with the values of sensitive parameters replaced by hints; the other
/// pairs are kept as written.
fn raw_pairs(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => {
                let decoded_name: String = form_urlencoded::parse(name.as_bytes())
                    .next()
                    .map(|(n, _)| n.into_owned())
                    .unwrap_or_default();
                if is_sensitive(&decoded_name) {
                    let decoded_value: String =
                        form_urlencoded::parse(format!("x={value}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default();
                    format!("{name}={}", hint(&decoded_value))
                } else {
                    pair.to_string()
                }
            }
            None => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A header value with credentials redacted: `Authorization`, `Cookie`, `Set-Cookie`,
/// `Proxy-Authorization`, `DPoP` and API-key style headers.
pub fn header(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "authorization" | "proxy-authorization" => match value.split_once(' ') {
            Some((scheme, rest)) => format!("{scheme} {}", hint(rest.trim())),
            None => hint(value),
        },
        "cookie" => value
            .split(';')
            .map(|pair| match pair.split_once('=') {
                Some((n, v)) => format!("{}={}", n.trim(), hint(v.trim())),
                None => pair.trim().to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        "set-cookie" => match value.split_once('=') {
            Some((n, rest)) => {
                let (v, attrs) = rest.split_once(';').unwrap_or((rest, ""));
                if attrs.is_empty() {
                    format!("{n}={}", hint(v))
                } else {
                    format!("{n}={};{attrs}", hint(v))
                }
            }
            None => value.to_string(),
        },
        "dpop" | "x-api-key" | "api-key" => hint(value),
        _ => value.to_string(),
    }
}

/// A JSON value with sensitive members (at any depth) replaced by their hints.
pub fn json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if is_sensitive(k) => Value::String(hint(s)),
                        other => json(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        other => other.clone(),
    }
}

/// A response or request body for display: JSON and forms are redacted member by member,
/// anything else is cut to `limit` characters. JWT-shaped words are always hinted.
pub fn body(text: &str, limit: usize) -> String {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(v) = serde_json::from_str::<Value>(trimmed)
    {
        let out = serde_json::to_string(&json(&v)).unwrap_or_default();
        return cut(&out, limit);
    }
    if looks_like_form(trimmed) {
        return cut(&form(trimmed.trim_end()), limit);
    }
    let words: Vec<String> = text
        .split(' ')
        .map(|w| {
            if candor_proto::jose::looks_like_jwt(w.trim()) {
                hint(w)
            } else {
                w.to_string()
            }
        })
        .collect();
    cut(&words.join(" "), limit)
}

fn looks_like_form(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(char::is_whitespace)
        && text.contains('=')
        && text
            .split('&')
            .all(|pair| pair.split_once('=').is_some_and(|(n, _)| !n.is_empty()))
}

/// `text` cut to at most `limit` characters, with a note of how much was left out.
pub fn cut(text: &str, limit: usize) -> String {
    let count = text.chars().count();
    if count <= limit {
        return text.to_string();
    }
    let head: String = text.chars().take(limit).collect();
    format!("{head}... ({} more characters)", count - limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_urls_hide_secrets() {
        let f = form("grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&client_id=web");
        assert!(f.contains("grant_type=authorization_code"));
        assert!(f.contains("client_id=web"));
        assert!(!f.contains("SplxlOBeZQQYbYS6WxSbIA"));
        assert!(f.contains("Splx"));
        let u = url("https://app.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz");
        assert!(!u.contains("SplxlOBeZQQYbYS6WxSbIA"));
        assert!(u.contains("state=xyz"));
    }

    #[test]
    fn headers_hide_credentials() {
        assert_eq!(
            header("Authorization", "Basic d2ViOnNlY3JldA=="),
            "Basic d2Vi...(16 chars)"
        );
        assert!(!header("Cookie", "sid=abcdefgh; x=1").contains("abcdefgh"));
        assert_eq!(header("Content-Type", "text/html"), "text/html");
        let sc = header("Set-Cookie", "sid=abcdefgh; Path=/; HttpOnly");
        assert!(sc.ends_with("; Path=/; HttpOnly"), "{sc}");
        assert!(!sc.contains("abcdefgh"));
    }

    #[test]
    fn json_bodies_hide_tokens() {
        let b = body(
            r#"{"access_token":"eyJhbGciOi.eyJzdWIi.c2ln","token_type":"Bearer","nested":{"refresh_token":"rrrrrrrrrrrr"}}"#,
            1000,
        );
        assert!(b.contains("Bearer"));
        assert!(!b.contains("rrrrrrrrrrrr"));
        assert!(!b.contains("eyJzdWIi"));
        assert!(cut("abcdef", 3).starts_with("abc..."));
    }
}
