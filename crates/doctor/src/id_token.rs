//! The checks of a JWT, in the order OpenID Connect Core §3.1.3.7 gives them: it decodes, it
//! is signed (`alg` is not `none`), the signature verifies with the provider's keys, the
//! claims hold. Every command that meets an id_token (or a JWT access token) runs this one
//! sequence; each says where its findings stand (a HAR entry, a claim, a probe step) and
//! words what passed in its own lines.

use candor_client::ErrorKind;
use candor_client::id_token::{
    Decoded, Expectations, IdTokenError, check_claims, check_signature, decode_unverified,
};
use candor_proto::Code;
use candor_proto::jose::JwkSet;

use crate::explain::finding_from_kind;
use crate::finding::{Finding, Severity};

/// The keys to verify the signature with.
#[derive(Debug, Clone, Copy)]
pub enum Keys<'a> {
    /// None: the signature is not checked.
    None,
    /// The keys could not be had; this finding says why, in the signature's place.
    Unusable(&'a Finding),
    /// Key sets, oldest first (a capture may hold several JWKS responses). The newest that
    /// verifies the token wins; when none does, the failure reported is a signature that
    /// does not verify over any other (a kid that is unknown, say).
    Sets(&'a [&'a JwkSet]),
}

/// What an alg that no JWKS can verify means (HS256 is keyed with the client secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverifiable {
    /// A failure: the caller was given keys to verify the token with.
    Fails,
    /// Not checkable with what the input holds (a capture holds no client secret).
    NotChecked,
}

/// What to check a token with.
#[derive(Debug, Clone)]
pub struct Checks<'a> {
    pub keys: Keys<'a>,
    pub unverifiable: Unverifiable,
    /// What the claims must match; `None` checks the signature only. Without
    /// `require_id_token_claims` (a JWT of any kind), the claims compared must be present
    /// and a token without `exp` is a warning.
    pub claims: Option<Expectations>,
}

/// What a finding is about, for the caller to say where it stands.
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    /// The token as a whole: it does not decode.
    Token,
    /// The header's alg (`none`).
    Alg,
    /// The signature, checked with the key set at this position of [`Keys::Sets`].
    Signature { set: usize },
    /// A claim, and the check it fails.
    Claim(&'a IdTokenError),
}

/// How the signature check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// `alg` is `none` (a finding).
    Unsigned,
    /// No keys to check it with (or a finding says why they could not be had).
    NotChecked,
    /// Verified with the key set at this position of [`Keys::Sets`].
    Verified { set: usize },
    /// `alg` cannot be verified with a JWKS, and [`Unverifiable::NotChecked`] says that is
    /// no failure.
    Unverifiable { alg: String },
    /// It does not verify (a finding).
    Failed,
}

/// What the checks saw, for the caller's lines.
#[derive(Debug, Clone)]
pub struct Checked {
    pub decoded: Decoded,
    pub signature: Signature,
    /// The failures of the claims against [`Checks::claims`] (each also a finding).
    pub claim_failures: Vec<IdTokenError>,
}

fn failure(err: IdTokenError) -> Finding {
    finding_from_kind(&ErrorKind::IdToken(err), Severity::Error)
}

/// Checks `token`, pushing a finding per failure, in order, each placed by `place`; `None`
/// when it does not decode.
pub fn check(
    token: &str,
    checks: &Checks<'_>,
    place: impl Fn(Part<'_>, Finding) -> Finding,
    findings: &mut Vec<Finding>,
) -> Option<Checked> {
    let decoded = match decode_unverified(token) {
        Ok(d) => d,
        Err(err) => {
            findings.push(place(Part::Token, failure(err)));
            return None;
        }
    };
    let signature = if decoded
        .alg()
        .is_some_and(|a| a.eq_ignore_ascii_case("none"))
    {
        findings.push(place(Part::Alg, failure(IdTokenError::AlgNone)));
        Signature::Unsigned
    } else {
        match checks.keys {
            Keys::None => Signature::NotChecked,
            Keys::Unusable(why) => {
                findings.push(why.clone());
                Signature::NotChecked
            }
            Keys::Sets(sets) => verify(token, sets, checks.unverifiable, &place, findings),
        }
    };
    let mut claim_failures = Vec::new();
    if let Some(expect) = &checks.claims {
        if !expect.require_id_token_claims {
            presence(&decoded, expect, &place, findings);
        }
        claim_failures = check_claims(&decoded, expect);
        for err in &claim_failures {
            findings.push(place(Part::Claim(err), failure(err.clone())));
        }
    }
    Some(Checked {
        decoded,
        signature,
        claim_failures,
    })
}

fn verify(
    token: &str,
    sets: &[&JwkSet],
    unverifiable: Unverifiable,
    place: &impl Fn(Part<'_>, Finding) -> Finding,
    findings: &mut Vec<Finding>,
) -> Signature {
    let mut result = None;
    for (set, jwks) in sets.iter().enumerate().rev() {
        match check_signature(token, jwks) {
            Ok(_) => {
                result = Some(Ok(set));
                break;
            }
            Err(err) => {
                if result.is_none() || matches!(err, IdTokenError::Signature { .. }) {
                    result = Some(Err((err, set)));
                }
            }
        }
    }
    match result {
        None => Signature::NotChecked,
        Some(Ok(set)) => Signature::Verified { set },
        Some(Err((IdTokenError::UnsupportedAlg { alg }, _)))
            if unverifiable == Unverifiable::NotChecked =>
        {
            Signature::Unverifiable { alg }
        }
        Some(Err((err, set))) => {
            findings.push(place(Part::Signature { set }, failure(err)));
            Signature::Failed
        }
    }
}

/// For a JWT of any kind: the claims the caller compares must be there, and one without
/// `exp` never expires. (An id_token's required claims are [`check_claims`]' to name.)
fn presence(
    decoded: &Decoded,
    expect: &Expectations,
    place: &impl Fn(Part<'_>, Finding) -> Finding,
    findings: &mut Vec<Finding>,
) {
    let claims = &decoded.claims;
    for (asked, claim) in [
        (expect.issuer.is_some(), "iss"),
        (expect.audience.is_some(), "aud"),
    ] {
        if asked && claims.get(claim).is_none() {
            let err = IdTokenError::MissingClaim { claim };
            findings.push(place(Part::Claim(&err), failure(err.clone())));
        }
    }
    if claims.get("exp").is_none() {
        let err = IdTokenError::MissingClaim { claim: "exp" };
        findings.push(place(
            Part::Claim(&err),
            Finding::new(
                Code::IdTokenMissingClaim,
                Severity::Warning,
                "The token has no exp: it never expires, and OpenID Connect requires exp in id_tokens.",
            )
            .expected("an exp claim")
            .received("none"),
        ));
    }
}
