//! `/admin/api/v1/keys`: the signing keys with their state, and rotation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use candor_admin::{AdminAuth, AdminJson};
use candor_proto::Code;
use candor_proto::jose::SigningAlg;
use serde::{Deserialize, Serialize};

use super::{Changer, Refused, respond, view};
use crate::app::App;
use crate::keys;

/// A signing key; never its private half.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct KeyView {
    kid: String,
    alg: String,
    /// `pending` (published, not signing yet), `active`, `retiring` (signing until a newer key
    /// activates) or `retired` (published until `published_until`, signing nothing).
    status: String,
    created_at: i64,
    activates_at: i64,
    retired_at: Option<i64>,
    published_until: Option<i64>,
    #[schema(value_type = Object)]
    public_jwk: serde_json::Value,
}

/// The keys, oldest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct KeyList {
    keys: Vec<KeyView>,
}

/// A rotation: which algorithm (default: every algorithm in use), and when the new key
/// starts signing.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RotateInput {
    alg: Option<String>,
    /// Seconds from now until the new key signs (default 120: clients that cache the JWKS
    /// fetch the new key first). Ignored with `immediately`.
    activate_in: Option<u32>,
    /// Sign with the new key at once (after a compromise).
    #[serde(default)]
    immediately: bool,
}

/// What rotations did, one per algorithm.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Rotated {
    #[schema(value_type = Vec<Object>)]
    rotations: Vec<keys::Rotation>,
}

/// The signing keys with their state now.
#[utoipa::path(get, path = "/admin/api/v1/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = 401, body = super::ErrorBody)))]
pub(super) async fn list(_: AdminAuth, State(app): State<App>) -> Response {
    let answer = async {
        let now = app.now();
        let all = app.store().list_signing_keys().await?;
        let keys = all
            .iter()
            .map(|k| KeyView {
                kid: k.kid.clone(),
                alg: k.alg.as_str().to_string(),
                status: keys::status_at(k, now).to_string(),
                created_at: k.created_at,
                activates_at: k.activates_at,
                retired_at: k.retired_at,
                published_until: k.publish_until,
                public_jwk: serde_json::from_str(&k.public_jwk).unwrap_or_default(),
            })
            .collect();
        Ok((StatusCode::OK, KeyList { keys }))
    };
    respond(&app, answer.await)
}

/// Rotates: a new key is published now and signs from `activate_in`; the keys it replaces
/// stay published as long as a token they signed can live.
#[utoipa::path(post, path = "/admin/api/v1/keys/rotate", tag = "keys", request_body = RotateInput,
    responses((status = 200, body = Rotated), (status = 400, body = super::ErrorBody)))]
pub(super) async fn rotate(
    who: Changer,
    State(app): State<App>,
    AdminJson(input): AdminJson<RotateInput>,
) -> Response {
    let answer = async {
        let now = app.now();
        let algs: Vec<SigningAlg> = match &input.alg {
            Some(a) => vec![
                a.parse::<SigningAlg>()
                    .map_err(|e| Refused::new(Code::AdminInvalidRequest, format!("alg: {e}")))?,
            ],
            None => {
                let mut in_use: Vec<SigningAlg> = app
                    .store()
                    .list_signing_keys()
                    .await?
                    .iter()
                    .filter(|k| k.retired_at.is_none())
                    .map(|k| k.alg)
                    .collect();
                in_use.sort_by_key(|a| a.as_str());
                in_use.dedup();
                in_use
            }
        };
        let delay = if input.immediately {
            0
        } else {
            i64::from(input.activate_in.unwrap_or(120))
        };
        let publish_for = app.settings().longest_token_ttl().as_secs() as i64;
        let mut rotations = Vec::new();
        for alg in algs {
            let rotation = keys::rotate(
                app.store(),
                app.master(),
                alg,
                now,
                now + delay,
                publish_for,
            )
            .await?;
            let object = format!("key:{}", alg.as_str());
            let after = view(&rotation);
            who.record(
                &app,
                "key.rotate",
                &object,
                &serde_json::Value::Null,
                &after,
            )
            .await;
            crate::events::key_rotated(&app, &who.0, &rotation);
            rotations.push(rotation);
        }
        // This node signs with the new key on time without waiting for its next refresh.
        app.keys().reload_at(now).await?;
        Ok((StatusCode::OK, Rotated { rotations }))
    };
    respond(&app, answer.await)
}
