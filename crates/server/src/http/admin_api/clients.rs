//! `/admin/api/v1/clients`: list, register, show, change, rotate the secret, delete.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use candor_admin::{AdminAuth, AdminJson};
use candor_proto::Code;
use candor_proto::access_token::Format;
use candor_proto::client_auth::AuthMethod;
use candor_proto::grant_type::GrantType;
use candor_proto::jose::SigningAlg;
use serde::{Deserialize, Serialize};

use super::{Answer, Changer, ListQuery, Refused, page, respond, view};
use crate::app::App;
use crate::clients::{self, ClientChange, ClientView, NewClient, Warning};
use serde_json::Value;

/// A page of clients.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ClientList {
    clients: Vec<ClientView>,
    /// Pass as `after` for the next page; absent on the last.
    next: Option<String>,
}

/// A client as registered, and what in its registration will make requests fail later.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ClientAnswer {
    #[serde(flatten)]
    client: ClientView,
    warnings: Vec<Warning>,
}

/// A registration. Only `client_name` is required; see docs/admin-api.md for the defaults.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ClientInput {
    client_name: String,
    /// Chosen client_id (1 to 128 of letters, digits, `-._~`); generated when absent.
    client_id: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// Default: `authorization_code` and `refresh_token` with redirect URIs, else
    /// `client_credentials`.
    #[serde(default)]
    grant_types: Vec<String>,
    /// Space-separated scopes the client may ask for.
    scope: Option<String>,
    #[serde(default)]
    audiences: Vec<String>,
    /// Default `client_secret_basic`; `none` registers a public client.
    token_endpoint_auth_method: Option<String>,
    /// `jwt` (default) or `opaque`.
    access_token_format: Option<String>,
    /// The client's public keys (a JWK Set), for `private_key_jwt`.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// Default true (always true for public clients).
    require_pkce: Option<bool>,
    id_token_signed_response_alg: Option<String>,
}

/// A change: every field is optional, and a field left out stays as it is.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ClientPatch {
    client_name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    scope: Option<String>,
    audiences: Option<Vec<String>>,
    /// A change to a method that needs a secret the client has not got issues one, returned once.
    token_endpoint_auth_method: Option<String>,
    access_token_format: Option<String>,
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    require_pkce: Option<bool>,
    id_token_signed_response_alg: Option<String>,
}

fn bad(field: &str, why: impl std::fmt::Display) -> Refused {
    Refused::new(Code::AdminInvalidRequest, format!("{field}: {why}"))
}

fn grants(field: &str, names: &[String]) -> Result<Vec<GrantType>, Refused> {
    names
        .iter()
        .map(|g| g.parse::<GrantType>().map_err(|e| bad(field, e)))
        .collect()
}

fn scopes(value: &str) -> Result<Vec<String>, Refused> {
    candor_proto::scope::parse(value).map_err(|e| bad("scope", e.description))
}

fn method(value: &str) -> Result<AuthMethod, Refused> {
    value
        .parse::<AuthMethod>()
        .map_err(|e| bad("token_endpoint_auth_method", e))
}

fn format(value: &str) -> Result<Format, Refused> {
    value
        .parse::<Format>()
        .map_err(|e| bad("access_token_format", e))
}

fn alg(value: &str) -> Result<SigningAlg, Refused> {
    value
        .parse::<SigningAlg>()
        .map_err(|e| bad("id_token_signed_response_alg", e))
}

fn jwks(value: &serde_json::Value) -> String {
    value.to_string()
}

/// Refuses a second client with the name of another: names label clients in the call log,
/// metrics and consent pages (as `candor client create` does).
async fn name_free(app: &App, name: &str, except: Option<&str>) -> Result<(), Refused> {
    match clients::named(app.store(), name.trim()).await? {
        Some(twin) if Some(twin.client_id.as_str()) != except => Err(Refused::new(
            Code::AdminConflict,
            format!(
                "a client named '{}' is registered already (client_id '{}')",
                twin.name, twin.client_id
            ),
        )),
        _ => Ok(()),
    }
}

fn answer(
    client: &candor_store::Client,
    secret: Option<&candor_proto::secret::Secret>,
) -> ClientAnswer {
    ClientAnswer {
        client: ClientView::of(client, secret),
        warnings: clients::warnings(client),
    }
}

/// The registered clients, sorted by client_id.
#[utoipa::path(get, path = "/admin/api/v1/clients", tag = "clients", params(ListQuery),
    responses((status = 200, body = ClientList), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody)))]
pub(super) async fn list(
    _: AdminAuth,
    State(app): State<App>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let answer = async {
        let Query(q) = query?;
        let all = app.store().list_clients().await?;
        let (chosen, next) = page(all, &q, |c| &c.client_id, |c| &c.name)?;
        Ok((
            StatusCode::OK,
            ClientList {
                clients: chosen.iter().map(|c| ClientView::of(c, None)).collect(),
                next,
            },
        ))
    };
    respond(&app, answer.await)
}

/// Registers a client; its secret (when its method has one) is in this answer only.
#[utoipa::path(post, path = "/admin/api/v1/clients", tag = "clients", request_body = ClientInput,
    responses((status = 201, body = ClientAnswer), (status = 400, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody)))]
pub(super) async fn create(
    who: Changer,
    State(app): State<App>,
    AdminJson(input): AdminJson<ClientInput>,
) -> Response {
    let answer: Answer<ClientAnswer> = async {
        name_free(&app, &input.client_name, None).await?;
        let mut new = NewClient::new(input.client_name);
        new.client_id = input.client_id;
        new.redirect_uris = input.redirect_uris;
        new.post_logout_redirect_uris = input.post_logout_redirect_uris;
        new.grant_types = grants("grant_types", &input.grant_types)?;
        new.scopes = input
            .scope
            .as_deref()
            .map(scopes)
            .transpose()?
            .unwrap_or_default();
        new.audiences = input.audiences;
        if let Some(m) = &input.token_endpoint_auth_method {
            new.auth_method = method(m)?;
        }
        if let Some(f) = &input.access_token_format {
            new.access_token_format = format(f)?;
        }
        new.jwks = input.jwks.as_ref().map(jwks);
        new.require_pkce = input.require_pkce.unwrap_or(true);
        new.id_token_signed_response_alg = input
            .id_token_signed_response_alg
            .as_deref()
            .map(alg)
            .transpose()?;
        let registered = clients::create(app.store(), app.master(), new, app.now()).await?;
        let object = format!("client:{}", registered.client.client_id);
        let after = view(&ClientView::of(&registered.client, None));
        who.record(&app, "client.create", &object, &Value::Null, &after)
            .await;
        Ok((
            StatusCode::CREATED,
            answer(&registered.client, registered.secret.as_ref()),
        ))
    }
    .await;
    respond(&app, answer)
}

/// One client.
#[utoipa::path(get, path = "/admin/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientAnswer), (status = 404, body = super::ErrorBody)))]
pub(super) async fn show(
    _: AdminAuth,
    State(app): State<App>,
    Path(client_id): Path<String>,
) -> Response {
    let answer = async {
        let client =
            app.store().get_client(&client_id).await?.ok_or_else(|| {
                Refused::new(Code::AdminNotFound, format!("no client '{client_id}'"))
            })?;
        Ok((StatusCode::OK, answer(&client, None)))
    };
    respond(&app, answer.await)
}

/// Changes a client in place: its client_id, secret and tokens stay.
#[utoipa::path(patch, path = "/admin/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)), request_body = ClientPatch,
    responses((status = 200, body = ClientAnswer), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub(super) async fn update(
    who: Changer,
    State(app): State<App>,
    Path(client_id): Path<String>,
    AdminJson(patch): AdminJson<ClientPatch>,
) -> Response {
    let answer = async {
        if let Some(name) = &patch.client_name {
            name_free(&app, name, Some(&client_id)).await?;
        }
        let change = ClientChange {
            name: patch.client_name,
            redirect_uris: patch.redirect_uris,
            post_logout_redirect_uris: patch.post_logout_redirect_uris,
            grant_types: patch
                .grant_types
                .as_deref()
                .map(|g| grants("grant_types", g))
                .transpose()?,
            scopes: patch.scope.as_deref().map(scopes).transpose()?,
            audiences: patch.audiences,
            auth_method: patch
                .token_endpoint_auth_method
                .as_deref()
                .map(method)
                .transpose()?,
            access_token_format: patch
                .access_token_format
                .as_deref()
                .map(format)
                .transpose()?,
            jwks: patch.jwks.as_ref().map(|j| (!j.is_null()).then(|| jwks(j))),
            require_pkce: patch.require_pkce,
            id_token_signed_response_alg: patch
                .id_token_signed_response_alg
                .as_deref()
                .map(|a| {
                    if a == "default" {
                        Ok(None)
                    } else {
                        alg(a).map(Some)
                    }
                })
                .transpose()?,
        };
        let before = app.store().get_client(&client_id).await?;
        let updated =
            clients::update(app.store(), app.master(), &client_id, change, app.now()).await?;
        app.clients().forget(&client_id);
        let before = before.map_or(Value::Null, |c| view(&ClientView::of(&c, None)));
        let after = view(&ClientView::of(&updated.client, None));
        let object = format!("client:{client_id}");
        who.record(&app, "client.update", &object, &before, &after)
            .await;
        Ok((
            StatusCode::OK,
            answer(&updated.client, updated.secret.as_ref()),
        ))
    };
    respond(&app, answer.await)
}

/// What a deletion did.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Deleted {
    deleted: String,
    /// Every token issued to the client is void (the revocation feed says so to gateways).
    tokens_revoked: bool,
}

/// Deletes a client after voiding every token issued to it.
#[utoipa::path(delete, path = "/admin/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 404, body = super::ErrorBody)))]
pub(super) async fn delete(
    who: Changer,
    State(app): State<App>,
    Path(client_id): Path<String>,
) -> Response {
    let answer = async {
        let before = app.store().get_client(&client_id).await?;
        if !clients::delete(app.store(), app.settings(), &client_id, app.now()).await? {
            return Err(Refused::new(
                Code::AdminNotFound,
                format!("no client '{client_id}'"),
            ));
        }
        app.clients().forget(&client_id);
        let before = before.map_or(Value::Null, |c| view(&ClientView::of(&c, None)));
        let object = format!("client:{client_id}");
        who.record(&app, "client.delete", &object, &before, &Value::Null)
            .await;
        Ok((
            StatusCode::OK,
            Deleted {
                deleted: client_id.clone(),
                tokens_revoked: true,
            },
        ))
    };
    respond(&app, answer.await)
}

/// Issues a new secret (in this answer only); the old one stops working at once.
#[utoipa::path(post, path = "/admin/api/v1/clients/{client_id}/secret", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientAnswer), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody)))]
pub(super) async fn rotate_secret(
    who: Changer,
    State(app): State<App>,
    Path(client_id): Path<String>,
) -> Response {
    let answer = async {
        let r = clients::rotate_secret(app.store(), app.master(), &client_id, app.now()).await?;
        app.clients().forget(&client_id);
        let object = format!("client:{client_id}");
        let after = serde_json::json!({"secret": "rotated"});
        who.record(&app, "client.rotate_secret", &object, &Value::Null, &after)
            .await;
        Ok((StatusCode::OK, answer(&r.client, r.secret.as_ref())))
    };
    respond(&app, answer.await)
}
