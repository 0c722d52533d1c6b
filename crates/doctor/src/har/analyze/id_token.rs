//! Checks of an id_token a token response issued: [`crate::id_token::check`] with the JWKS
//! responses of the capture, the discovery document's issuer, the authorization request's
//! client and nonce, and the time the capture received the response.

use candor_client::id_token::{Expectations, IdTokenError};
use candor_proto::jose::JwkSet;
use serde_json::Value;

use super::Analysis;
use super::correlate::Flow;
use super::entry::{entry_ref, iso, quote};
use super::params::token_client_id;
use crate::finding::{Finding, Group, Source};
use crate::har::load::Entry;
use crate::id_token::{Checks, Keys, Part, Signature, Unverifiable};

impl Analysis<'_> {
    /// Checks the id_token that the token response of `e` issued with `access_token`.
    pub(super) fn check_id_token(
        &self,
        e: &Entry,
        flow: &Flow,
        token: &str,
        access_token: &str,
        src: &Source,
        g: &mut Group,
    ) {
        let authz = flow.authz.as_ref();
        let client = authz
            .and_then(|z| z.get("client_id").map(str::to_string))
            .or_else(|| token_client_id(e));
        let issuer = if self.known.issuers.len() == 1 {
            self.known.issuers.first().cloned()
        } else {
            None
        };
        let sets: Vec<&JwkSet> = self.jwks.iter().map(|(_, parsed)| &parsed.jwks).collect();
        let checks = Checks {
            keys: Keys::Sets(&sets),
            // A capture holds no client secret to check an HS256 signature with.
            unverifiable: Unverifiable::NotChecked,
            claims: Some(Expectations {
                issuer: issuer.clone(),
                audience: client,
                nonce: authz.and_then(|z| z.get("nonce").map(str::to_string)),
                access_token: Some(access_token.to_string()),
                now: e.finished_ms().div_euclid(1000),
                leeway: self.opts.leeway,
                require_id_token_claims: true,
            }),
        };
        let place = |part: Part<'_>, f: Finding| {
            let mut f = f.source(src.clone());
            match part {
                Part::Signature { set } => {
                    if let Some(j) = self
                        .jwks
                        .get(set)
                        .and_then(|(index, _)| self.capture.entry(*index))
                    {
                        f = f.expected_from(entry_ref(j));
                    }
                }
                Part::Claim(
                    IdTokenError::Expired { .. }
                    | IdTokenError::IatFuture { .. }
                    | IdTokenError::NotYetValid { .. },
                ) => {
                    f.message = format!(
                        "{} (the check time is when the capture received the token response, {}; leeway {} s).",
                        f.message,
                        iso(e.finished_ms()),
                        self.opts.leeway
                    );
                }
                Part::Claim(IdTokenError::NonceMismatch { .. }) => {
                    if let Some(z) = authz.and_then(|z| self.capture.entry(z.entry)) {
                        f = f.expected_from(entry_ref(z));
                    }
                }
                _ => {}
            }
            f
        };
        let Some(checked) = crate::id_token::check(token, &checks, place, &mut g.findings) else {
            return;
        };
        let decoded = &checked.decoded;
        let claims = &decoded.claims;
        let s = |k: &str| {
            claims.get(k).map(|v| match v {
                Value::String(s) => quote(s),
                other => other.to_string(),
            })
        };
        g.lines.push(format!(
            "  id_token: alg {}, kid {}, iss {}, aud {}, sub {}",
            decoded.alg().unwrap_or("?"),
            decoded.kid().map(quote).unwrap_or_else(|| "(none)".into()),
            s("iss").unwrap_or_else(|| "(none)".into()),
            s("aud").unwrap_or_else(|| "(none)".into()),
            s("sub").unwrap_or_else(|| "(none)".into()),
        ));
        match &checked.signature {
            Signature::NotChecked => g
                .lines
                .push("  id_token signature: not checked (no JWKS response in the capture)".into()),
            Signature::Verified { set } => {
                if let Some((index, _)) = self.jwks.get(*set) {
                    g.lines.push(format!(
                        "  id_token signature: verified with the JWKS of log.entries[{index}]"
                    ));
                }
            }
            Signature::Unverifiable { alg } => g.lines.push(format!(
                "  id_token signature: not checked ({alg} is keyed with the client secret, which a capture does not hold)"
            )),
            Signature::Unsigned | Signature::Failed => {}
        }
        if issuer.is_none() {
            g.lines
                .push("  id_token iss: not compared (no discovery document in the capture)".into());
        }
    }
}
