//! Who a route lets through: `auth` (whether a token is needed), `scopes` (for every method
//! or per method) and `claims` (values the token must hold).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::matching::METHODS;
use super::{ConfigError, err};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Required,
    /// A token is checked when present; requests without one go through anonymously.
    Optional,
    None,
}

/// `scopes = ["a"]` for every method, or `scopes = { GET = ["a"], POST = ["b"] }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ScopesFile {
    All(Vec<String>),
    PerMethod(BTreeMap<String, Vec<String>>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimFile {
    /// The claim (a string, or an array of strings) must hold this value.
    pub contains: Option<String>,
    /// The claim must be exactly this string.
    pub equals: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRule {
    pub claim: String,
    pub check: ClaimCheck,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimCheck {
    Contains(String),
    Equals(String),
}

/// The scopes every method needs, and those a method needs besides (keys upper case).
pub(super) type Scopes = (Vec<String>, BTreeMap<String, Vec<String>>);

/// `auth` of the route at `key` (default `required`).
pub(super) fn auth_mode(value: Option<&str>, key: &str) -> Result<AuthMode, ConfigError> {
    match value.unwrap_or("required") {
        "required" => Ok(AuthMode::Required),
        "optional" => Ok(AuthMode::Optional),
        "none" => Ok(AuthMode::None),
        other => Err(err(
            format!("{key}.auth"),
            format!("'{other}' is not one of required, optional, none"),
        )),
    }
}

/// `scopes` of the route at `key`: method names known, each scope one word, and none on a
/// route that checks no token (they could never be met).
pub(super) fn scopes(
    value: Option<&ScopesFile>,
    auth: AuthMode,
    key: &str,
) -> Result<Scopes, ConfigError> {
    let (all, by_method) = match value {
        None => (Vec::new(), BTreeMap::new()),
        Some(ScopesFile::All(list)) => (list.clone(), BTreeMap::new()),
        Some(ScopesFile::PerMethod(map)) => (Vec::new(), per_method(map, key)?),
    };
    for s in all.iter().chain(by_method.values().flatten()) {
        if s.is_empty() || s.contains(' ') {
            return Err(err(
                format!("{key}.scopes"),
                format!("'{s}' is not one scope"),
            ));
        }
    }
    if auth == AuthMode::None && (!all.is_empty() || !by_method.is_empty()) {
        return Err(err(
            format!("{key}.scopes"),
            "the route has auth = \"none\": it cannot require scopes",
        ));
    }
    Ok((all, by_method))
}

/// `scopes = { GET = […] }`, keyed by the method in upper case.
fn per_method(
    map: &BTreeMap<String, Vec<String>>,
    key: &str,
) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
    let mut out = BTreeMap::new();
    for (m, list) in map {
        let upper = m.to_ascii_uppercase();
        if !METHODS.contains(&upper.as_str()) {
            return Err(err(
                format!("{key}.scopes"),
                format!("'{m}' is not an HTTP method"),
            ));
        }
        out.insert(upper, list.clone());
    }
    Ok(out)
}

/// `claims` of the route at `key`: each with exactly one check.
pub(super) fn claims(
    value: &BTreeMap<String, ClaimFile>,
    key: &str,
) -> Result<Vec<ClaimRule>, ConfigError> {
    value
        .iter()
        .map(|(claim, rule)| {
            let check = match (&rule.contains, &rule.equals) {
                (Some(v), None) => ClaimCheck::Contains(v.clone()),
                (None, Some(v)) => ClaimCheck::Equals(v.clone()),
                _ => {
                    return Err(err(
                        format!("{key}.claims.{claim}"),
                        "needs exactly one of contains, equals",
                    ));
                }
            };
            Ok(ClaimRule {
                claim: claim.clone(),
                check,
            })
        })
        .collect()
}
