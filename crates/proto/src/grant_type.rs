//! The grant types Candor implements (RFC 6749 §4, OAuth 2.1 §4): what a client registers
//! for, what a token request names in `grant_type`, what discovery advertises.
//!
//! Adding a grant: a case here, and the compiler then names every place that must handle it
//! (registration defaults, the token endpoint's dispatch, discovery).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    /// Every grant type, in the order lists show them.
    pub const ALL: &'static [GrantType] = &[
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
    ];

    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    /// `authorization_code, client_credentials, refresh_token`: for messages.
    pub fn list() -> String {
        GrantType::ALL
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GrantType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GrantType::ALL
            .iter()
            .copied()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "grant type '{s}' is not supported; expected one of {}",
                    GrantType::list()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_refused() {
        for g in GrantType::ALL {
            assert_eq!(g.as_str().parse::<GrantType>(), Ok(*g));
        }
        // Exact match: the RFC values are case-sensitive.
        assert!("Authorization_Code".parse::<GrantType>().is_err());
        assert!("password".parse::<GrantType>().is_err());
        assert!(
            "urn:ietf:params:oauth:grant-type:device_code"
                .parse::<GrantType>()
                .is_err()
        );
    }
}
