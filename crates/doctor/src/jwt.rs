//! `candor doctor jwt TOKEN`: decode a JWT, explain each header member and claim, and check
//! what the caller asks for (signature with `--jwks`, `--issuer`, `--audience`, `--nonce`,
//! times with `--leeway`).

use candor_client::id_token::{self, Decoded, Expectations, IdTokenError, ParsedJwks};
use candor_proto::Code;
use candor_proto::secret::hint;
use serde_json::Value;

use crate::finding::{Finding, Group, Report, Source};
use crate::id_token::{Checks, Keys, Part, Signature, Unverifiable};
use crate::input::InputError;

/// What to check a token against.
#[derive(Debug, Clone, Default)]
pub struct JwtOptions {
    /// The key set (already loaded), or the finding that says why it could not be.
    pub jwks: Option<Result<ParsedJwks, Finding>>,
    /// Where the key set came from, for messages.
    pub jwks_source: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
    pub access_token: Option<String>,
    pub leeway: i64,
    pub now: i64,
}

/// The claim a failed check is about.
fn claim_of(e: &IdTokenError) -> &'static str {
    match e {
        IdTokenError::MissingClaim { claim } => claim,
        IdTokenError::IssMismatch { .. } => "iss",
        IdTokenError::AudMismatch { .. } => "aud",
        IdTokenError::Expired { .. } => "exp",
        IdTokenError::NotYetValid { .. } => "nbf",
        IdTokenError::IatFuture { .. } => "iat",
        IdTokenError::NonceMismatch { .. } => "nonce",
        IdTokenError::AtHashMismatch { .. } => "at_hash",
        _ => "token",
    }
}

fn relative(t: i64, now: i64) -> String {
    let d = t - now;
    let (n, unit) = {
        let a = d.abs();
        if a < 120 {
            (a, "s")
        } else if a < 7200 {
            (a / 60, "min")
        } else if a < 172_800 {
            (a / 3600, "h")
        } else {
            (a / 86400, "days")
        }
    };
    if d >= 0 {
        format!("in {n} {unit}")
    } else {
        format!("{n} {unit} ago")
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", crate::redact::cut(s, 120)),
        other => crate::redact::cut(&other.to_string(), 160),
    }
}

/// What a registered claim means.
fn claim_meaning(name: &str) -> Option<&'static str> {
    Some(match name {
        "iss" => "issuer: the provider that made the token; must equal the issuer exactly",
        "sub" => "subject: the user (or client) the token is about, unique within the issuer",
        "aud" => "audience: who the token is for; an id_token's aud contains the client_id",
        "exp" => "expiry",
        "iat" => "issued at",
        "nbf" => "not valid before",
        "auth_time" => "when the user authenticated",
        "nonce" => "the nonce of the authorization request, binding the token to it",
        "at_hash" => "left half of the hash of the access token issued with this id_token",
        "c_hash" => "left half of the hash of the authorization code",
        "azp" => "authorized party: the client the token was issued to",
        "acr" => "authentication context class reference",
        "amr" => "authentication methods used",
        "sid" => "session id at the provider",
        "jti" => "unique token id",
        "scope" | "scp" => "scopes granted",
        "client_id" => "the client the token was issued to (RFC 9068)",
        "email" | "email_verified" | "name" | "preferred_username" | "given_name"
        | "family_name" | "picture" | "locale" => "profile claim",
        _ => return None,
    })
}

const TIME_CLAIMS: &[&str] = &["exp", "iat", "nbf", "auth_time"];

/// Reads the token from the argument: strips a `Bearer ` prefix and whitespace.
pub fn clean_token(raw: &str) -> String {
    let t = raw.trim();
    let t = t
        .strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("bearer "))
        .unwrap_or(t);
    t.trim().trim_matches('"').to_string()
}

/// Decodes and checks `token`.
pub fn explain(token: &str, opts: &JwtOptions) -> Result<Report, InputError> {
    let token = clean_token(token);
    if token.is_empty() {
        return Err(InputError::new("the token is empty"));
    }
    let decoded = id_token::decode_unverified(&token).map_err(|e| {
        InputError::new(format!(
            "{} is not a JWT: {e}{}",
            hint(&token),
            if candor_proto::jose::looks_like_jwt(&token) {
                ""
            } else {
                " (opaque tokens can only be checked by the provider, e.g. with token introspection)"
            }
        ))
    })?;
    let mut report = Report {
        subject: format!("JWT {}", hint(&token)),
        ..Report::default()
    };
    report.summary.push(format!(
        "a {}-part JWS, {} characters; times checked at {} with {} s leeway",
        token.split('.').count(),
        token.chars().count(),
        id_token::time(opts.now),
        opts.leeway
    ));
    report.groups.push(header_group(&decoded));
    report.groups.push(claims_group(&decoded, opts));
    report.groups.push(checks_group(&token, &decoded, opts));
    Ok(report)
}

fn header_group(d: &Decoded) -> Group {
    let mut g = Group::info("Header");
    if let Some(obj) = d.header.as_object() {
        for (k, v) in obj {
            let meaning = match k.as_str() {
                "alg" => " (signature algorithm)",
                "kid" => " (which key of the JWKS signed it)",
                "typ" => match v.as_str() {
                    Some("at+jwt") | Some("application/at+jwt") => " (an RFC 9068 access token)",
                    Some("JWT") => " (a JWT; id_tokens usually say this)",
                    _ => " (token type)",
                },
                "jku" | "x5u" => " (a key URL: never fetch keys from a URL the token itself names)",
                _ => "",
            };
            g.lines.push(format!("{k}: {}{meaning}", show(v)));
        }
    }
    g
}

fn claims_group(d: &Decoded, opts: &JwtOptions) -> Group {
    let mut g = Group::info("Claims");
    if let Some(obj) = d.claims.as_object() {
        for (k, v) in obj {
            let mut line = format!("{k}: {}", show(v));
            if TIME_CLAIMS.contains(&k.as_str())
                && let Some(t) = v.as_i64()
            {
                line = format!("{k}: {} ({})", id_token::time(t), relative(t, opts.now));
            }
            match claim_meaning(k) {
                Some(m) => line.push_str(&format!("  -- {m}")),
                None => line.push_str("  -- a claim of the provider's own"),
            }
            g.lines.push(line);
        }
        if let (Some(exp), Some(iat)) = (
            obj.get("exp").and_then(Value::as_i64),
            obj.get("iat").and_then(Value::as_i64),
        ) {
            g.lines.push(format!("lifetime: {} s", exp - iat));
        }
    }
    g
}

fn checks_group(token: &str, d: &Decoded, opts: &JwtOptions) -> Group {
    let mut g = Group::new("Checks");
    let sets;
    let keys = match &opts.jwks {
        None => Keys::None,
        Some(Err(why)) => Keys::Unusable(why),
        Some(Ok(parsed)) => {
            sets = [&parsed.jwks];
            Keys::Sets(&sets)
        }
    };
    let checks = Checks {
        keys,
        // The caller gave a JWKS to verify with: a token it cannot verify fails.
        unverifiable: Unverifiable::Fails,
        claims: Some(Expectations {
            issuer: opts.issuer.clone(),
            audience: opts.audience.clone(),
            nonce: opts.nonce.clone(),
            access_token: opts.access_token.clone(),
            now: opts.now,
            leeway: opts.leeway,
            require_id_token_claims: false,
        }),
    };
    let place = |part: Part<'_>, f: Finding| {
        let name = match part {
            Part::Token => "token".to_string(),
            Part::Alg => "header alg".to_string(),
            Part::Signature { .. } => "signature".to_string(),
            Part::Claim(e) => format!("claim {}", claim_of(e)),
        };
        f.source(Source::Input { name })
    };
    let Some(checked) = crate::id_token::check(token, &checks, place, &mut g.findings) else {
        return g;
    };
    match checked.signature {
        Signature::NotChecked if opts.jwks.is_none() => g
            .lines
            .push("signature: not checked (pass --jwks URL or FILE)".into()),
        Signature::Verified { .. } => g.lines.push(format!(
            "signature: verified ({}, kid {}) with {}",
            d.alg().unwrap_or(""),
            d.kid()
                .map(|k| format!("'{k}'"))
                .unwrap_or_else(|| "(none)".into()),
            opts.jwks_source.as_deref().unwrap_or("the JWKS")
        )),
        _ => {}
    }
    let claims = &d.claims;
    let failures = &checked.claim_failures;
    let failed = |c: Code| failures.iter().any(|f| f.code() == c);
    let mut ok = Vec::new();
    if opts.issuer.is_some() && claims.get("iss").is_some() && !failed(Code::IdTokenIssMismatch) {
        ok.push("iss matches --issuer");
    }
    if opts.audience.is_some() && claims.get("aud").is_some() && !failed(Code::IdTokenAudMismatch) {
        ok.push("aud contains --audience");
    }
    if opts.nonce.is_some() && !failed(Code::IdTokenNonceMismatch) {
        ok.push("nonce matches --nonce");
    }
    if claims.get("exp").is_some() && !failed(Code::IdTokenExpired) {
        ok.push("not expired");
    }
    if !failed(Code::IdTokenIatFuture) && !failed(Code::IdTokenNotYetValid) {
        ok.push("not issued in the future");
    }
    if opts.access_token.is_some()
        && claims.get("at_hash").is_some()
        && !failed(Code::IdTokenAtHashMismatch)
    {
        ok.push("at_hash matches --access-token");
    }
    if !ok.is_empty() {
        g.lines.push(format!("passed: {}", ok.join(", ")));
    }
    let mut skipped = Vec::new();
    if opts.issuer.is_none() {
        skipped.push("iss (--issuer)");
    }
    if opts.audience.is_none() {
        skipped.push("aud (--audience)");
    }
    if opts.nonce.is_none() && claims.get("nonce").is_some() {
        skipped.push("nonce (--nonce)");
    }
    if opts.access_token.is_none() && claims.get("at_hash").is_some() {
        skipped.push("at_hash (--access-token)");
    }
    if !skipped.is_empty() {
        g.lines.push(format!("not checked: {}", skipped.join(", ")));
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_proto::jose::{JwkSet, SigningAlg, SigningKey};
    use serde_json::json;

    #[test]
    fn explains_and_checks() {
        let now = 1_700_000_000;
        let (k, _) = SigningKey::generate(SigningAlg::Es256).unwrap();
        let token = k
            .sign("JWT", &json!({"iss": "https://idp.example", "sub": "u", "aud": "web", "exp": now - 3600, "iat": now - 7200, "nonce": "n"}))
            .unwrap();
        let jwks = ParsedJwks {
            jwks: JwkSet {
                keys: vec![k.public_jwk().clone()],
            },
            skipped: vec![],
        };
        let opts = JwtOptions {
            jwks: Some(Ok(jwks)),
            issuer: Some("https://idp.example/".into()),
            audience: Some("web".into()),
            nonce: Some("n".into()),
            leeway: 60,
            now,
            ..JwtOptions::default()
        };
        let r = explain(&format!("Bearer {token}"), &opts).unwrap();
        assert_eq!(
            r.codes(),
            vec![Code::IdTokenIssMismatch, Code::IdTokenExpired]
        );
        let text = crate::render::text(&r, false);
        assert!(text.contains("signature: verified"), "{text}");
        assert!(text.contains("60 min ago"), "{text}");
        assert!(!text.contains(&token));
        assert!(explain("opaque-token", &opts).is_err());
        assert!(explain("", &opts).is_err());
    }
}
