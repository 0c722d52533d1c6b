//! How rows become model values and back, shared by both backends.
//!
//! A [`Columns`] implementation reads one typed column of a row; the `*_from_row` functions build
//! the model types from it. A value that does not decode (a list column whose JSON does not
//! parse, an unknown revocation kind, a column of the wrong type) is [`StoreError::Corrupt`],
//! never a panic.

use crate::sql::query::Row;
use crate::{
    AccessTokenRecord, AuthorizationCodeRecord, Client, PreviousSecret, RefreshTokenRecord,
    Revocation, RevocationKind, SessionRecord, SigningKeyRecord, StoreError, User,
};

/// Typed access to the columns of a row, by name.
pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError>;
    fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;

    /// A list column: a JSON array of strings kept as text.
    fn list(&self, column: &str) -> Result<Vec<String>, StoreError> {
        decode_list(column, &self.text(column)?)
    }
}

impl Columns for Row {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.get(column)
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.get(column)
    }
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        self.get(column)
    }
    fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(column)
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        self.get(column)
    }
}

/// `Row::try_get`, with a value that does not decode reported as [`StoreError::Corrupt`].
pub(crate) fn get<'r, R, T>(row: &'r R, column: &str) -> Result<T, StoreError>
where
    R: sqlx::Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    row.try_get(column).map_err(|err| match err {
        sqlx::Error::ColumnDecode { index, source } => {
            StoreError::Corrupt(format!("column {index}: {source}"))
        }
        sqlx::Error::ColumnNotFound(name) => {
            StoreError::Corrupt(format!("column {name} is missing"))
        }
        other => StoreError::Database(other),
    })
}

/// Encodes a list column.
pub(crate) fn encode_list(list: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(list)
        .map_err(|err| StoreError::Corrupt(format!("cannot encode a list as JSON: {err}")))
}

/// Decodes a list column; anything but a JSON array of strings is corrupt.
pub(crate) fn decode_list(column: &str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|err| {
        StoreError::Corrupt(format!(
            "column {column} is not a JSON array of strings: {err}"
        ))
    })
}

/// Maps a unique violation to [`StoreError::Conflict`] naming `what`; other errors pass.
pub(crate) fn conflict(err: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        _ => StoreError::Database(err),
    }
}

/// A column holding the text form of one of proto's enums, decoded.
fn parsed<T>(column: &str, text: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("column {column} holds '{text}': {e}")))
}

fn parsed_list<T>(column: &str, list: &[String]) -> Result<Vec<T>, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    list.iter().map(|v| parsed(column, v)).collect()
}

/// The text form of a list of proto's enums, as [`encode_list`] stores it.
pub(crate) fn encode_names<T: std::fmt::Display>(list: &[T]) -> Result<String, StoreError> {
    encode_list(&list.iter().map(ToString::to_string).collect::<Vec<_>>())
}

pub(crate) fn client_from_row(row: &impl Columns) -> Result<Client, StoreError> {
    Ok(Client {
        client_id: row.text("client_id")?,
        name: row.text("name")?,
        secret_digest: row.opt_bytes("secret_digest")?,
        secret_sealed: row.opt_bytes("secret_sealed")?,
        auth_method: parsed("auth_method", &row.text("auth_method")?)?,
        redirect_uris: row.list("redirect_uris")?,
        post_logout_redirect_uris: row.list("post_logout_redirect_uris")?,
        grant_types: parsed_list("grant_types", &row.list("grant_types")?)?,
        scopes: row.list("scopes")?,
        audiences: row.list("audiences")?,
        access_token_format: parsed("access_token_format", &row.text("access_token_format")?)?,
        jwks: row.opt_text("jwks")?,
        require_pkce: row.flag("require_pkce")?,
        id_token_signed_response_alg: row
            .opt_text("id_token_signed_response_alg")?
            .map(|a| parsed("id_token_signed_response_alg", &a))
            .transpose()?,
        disabled_at: row.opt_int("disabled_at")?,
        previous_secret: match (
            row.opt_bytes("previous_secret_digest")?,
            row.opt_int("previous_secret_until")?,
        ) {
            (Some(digest), Some(until)) => Some(PreviousSecret {
                digest,
                sealed: row.opt_bytes("previous_secret_sealed")?,
                until,
            }),
            _ => None,
        },
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub(crate) fn user_from_row(row: &impl Columns) -> Result<User, StoreError> {
    Ok(User {
        id: row.text("id")?,
        username: row.text("username")?,
        password_hash: row.text("password_hash")?,
        email: row.opt_text("email")?,
        name: row.opt_text("name")?,
        roles: row
            .text("roles")?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        disabled_at: row.opt_int("disabled_at")?,
        created_at: row.int("created_at")?,
    })
}

pub(crate) fn signing_key_from_row(row: &impl Columns) -> Result<SigningKeyRecord, StoreError> {
    Ok(SigningKeyRecord {
        kid: row.text("kid")?,
        alg: parsed("alg", &row.text("alg")?)?,
        private_sealed: row.bytes("private_sealed")?,
        public_jwk: row.text("public_jwk")?,
        created_at: row.int("created_at")?,
        activates_at: row.int("activates_at")?,
        retired_at: row.opt_int("retired_at")?,
        publish_until: row.opt_int("publish_until")?,
    })
}

pub(crate) fn access_token_from_row(row: &impl Columns) -> Result<AccessTokenRecord, StoreError> {
    Ok(AccessTokenRecord {
        digest: row.bytes("digest")?,
        jti: row.text("jti")?,
        client_id: row.text("client_id")?,
        subject: row.opt_text("subject")?,
        scope: row.text("scope")?,
        audiences: row.list("audiences")?,
        issued_at: row.int("issued_at")?,
        expires_at: row.int("expires_at")?,
        grant_id: row.opt_text("grant_id")?,
        revoked_at: row.opt_int("revoked_at")?,
    })
}

pub(crate) fn revocation_from_row(row: &impl Columns) -> Result<Revocation, StoreError> {
    let kind = row.text("kind")?;
    Ok(Revocation {
        seq: row.int("seq")?,
        kind: RevocationKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown revocation kind '{kind}'")))?,
        id: row.text("id")?,
        expires_at: row.int("expires_at")?,
        revoked_at: row.int("revoked_at")?,
    })
}

pub(crate) fn code_from_row(row: &impl Columns) -> Result<AuthorizationCodeRecord, StoreError> {
    Ok(AuthorizationCodeRecord {
        digest: row.bytes("digest")?,
        client_id: row.text("client_id")?,
        user_id: row.text("user_id")?,
        redirect_uri: row.text("redirect_uri")?,
        redirect_uri_sent: row.flag("redirect_uri_sent")?,
        scope: row.text("scope")?,
        nonce: row.opt_text("nonce")?,
        code_challenge: row.opt_text("code_challenge")?,
        auth_time: row.int("auth_time")?,
        sid: row.opt_text("sid")?,
        amr: row.list("amr")?,
        grant_id: row.text("grant_id")?,
        issued_at: row.int("issued_at")?,
        expires_at: row.int("expires_at")?,
        used_at: row.opt_int("used_at")?,
    })
}

pub(crate) fn refresh_token_from_row(row: &impl Columns) -> Result<RefreshTokenRecord, StoreError> {
    Ok(RefreshTokenRecord {
        digest: row.bytes("digest")?,
        family_id: row.text("family_id")?,
        client_id: row.text("client_id")?,
        user_id: row.text("user_id")?,
        scope: row.text("scope")?,
        auth_time: row.int("auth_time")?,
        sid: row.opt_text("sid")?,
        amr: row.list("amr")?,
        issued_at: row.int("issued_at")?,
        expires_at: row.int("expires_at")?,
        idle_expires_at: row.int("idle_expires_at")?,
        used_at: row.opt_int("used_at")?,
        revoked_at: row.opt_int("revoked_at")?,
    })
}

pub(crate) fn session_from_row(row: &impl Columns) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        digest: row.bytes("digest")?,
        sid: row.text("sid")?,
        user_id: row.text("user_id")?,
        auth_time: row.int("auth_time")?,
        amr: row.list("amr")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
    })
}

/// A failure count as the API reports it; a count beyond `u32` (it never gets there) saturates.
pub(crate) fn failure_count(row: &impl Columns) -> Result<u32, StoreError> {
    let failures = row.int("failures")?;
    if failures < 0 {
        return Err(StoreError::Corrupt(format!(
            "column failures is negative: {failures}"
        )));
    }
    Ok(u32::try_from(failures).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip() {
        let list = vec![
            String::new(),
            "a \"b\" 'c'; --".to_string(),
            "ünï 🦀".to_string(),
        ];
        let text = encode_list(&list);
        assert!(
            matches!(text, Ok(ref t) if matches!(decode_list("c", t), Ok(ref l) if *l == list))
        );
    }

    #[test]
    fn an_unknown_enum_value_is_corrupt_and_names_its_column() {
        use candor_proto::client_auth::AuthMethod;
        use candor_proto::grant_type::GrantType;
        assert_eq!(
            parsed::<AuthMethod>("auth_method", "client_secret_basic").ok(),
            Some(AuthMethod::ClientSecretBasic)
        );
        let e = parsed::<AuthMethod>("auth_method", "client_secret_carrier_pigeon");
        assert!(
            matches!(&e, Err(StoreError::Corrupt(m)) if m.contains("auth_method") && m.contains("carrier_pigeon")),
            "{e:?}"
        );
        let names = ["authorization_code".to_string(), "password".to_string()];
        assert!(matches!(
            parsed_list::<GrantType>("grant_types", &names),
            Err(StoreError::Corrupt(m)) if m.contains("grant_types") && m.contains("password")
        ));
        assert_eq!(
            encode_names(&[GrantType::AuthorizationCode, GrantType::RefreshToken]).ok(),
            Some(r#"["authorization_code","refresh_token"]"#.to_string())
        );
    }

    #[test]
    fn a_list_that_is_not_json_is_corrupt() {
        for bad in ["", "[", "{}", "[1]", "null", "\"x\"", "[\"a\", null]"] {
            assert!(
                matches!(decode_list("scopes", bad), Err(StoreError::Corrupt(_))),
                "{bad:?}"
            );
        }
    }
}
