//! `/admin/api/v1/clients`: list, register, show, change, rotate the secret, delete.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use candor_admin::{AdminAuth, AdminJson};
use candor_proto::Code;
use serde::Serialize;
use serde_json::Value;

use super::{Answer, Changer, ListQuery, Refused, page, respond, view};
use crate::app::App;
use crate::clients::{self, ClientPatch, ClientRegistration, ClientView, Warning};

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
#[utoipa::path(post, path = "/admin/api/v1/clients", tag = "clients", request_body = ClientRegistration,
    responses((status = 201, body = ClientAnswer), (status = 400, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody)))]
pub(super) async fn create(
    who: Changer,
    State(app): State<App>,
    AdminJson(input): AdminJson<ClientRegistration>,
) -> Response {
    let answer: Answer<ClientAnswer> = async {
        name_free(&app, &input.client_name, None).await?;
        let new = input.into_new()?;
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
        let change = patch.into_change()?;
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
        who.record_effect(&app, "client.rotate_secret", &object)
            .await;
        Ok((StatusCode::OK, answer(&r.client, r.secret.as_ref())))
    };
    respond(&app, answer.await)
}
