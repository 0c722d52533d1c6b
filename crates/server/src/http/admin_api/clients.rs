//! `/admin/api/v1/clients`: list, register, show, change, rotate the secret, delete.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use candor_admin::{AdminAuth, AdminJson};
use candor_proto::Code;
use serde::Serialize;

use super::{Answer, Changer, ListQuery, Refused, page, respond};
use crate::app::App;
use crate::clients::{self, ClientPatch, ClientRegistration, ClientView, Warning};
use crate::manage;

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
        let r = manage::create_client(&app, &who.0, input.into_new()?).await?;
        Ok((StatusCode::CREATED, answer(&r.client, r.secret.as_ref())))
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
        let r = manage::update_client(&app, &who.0, &client_id, patch.into_change()?).await?;
        Ok((StatusCode::OK, answer(&r.client, r.secret.as_ref())))
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
        manage::delete_client(&app, &who.0, &client_id).await?;
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

/// How a secret is rotated.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RotateSecretInput {
    /// How long the previous secret keeps working beside the new one, in seconds (at most
    /// 2592000, 30 days). Absent or 0: it stops working at once.
    #[serde(default)]
    overlap_seconds: u64,
}

/// Issues a new secret (in this answer only). The previous one stops working at once, or
/// after `overlap_seconds` so that every instance of the application can move to the new one.
#[utoipa::path(post, path = "/admin/api/v1/clients/{client_id}/secret", tag = "clients",
    params(("client_id" = String, Path)), request_body(content = RotateSecretInput,
    description = "Optional: without a body the previous secret stops working at once."),
    responses((status = 200, body = ClientAnswer), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody)))]
pub(super) async fn rotate_secret(
    who: Changer,
    State(app): State<App>,
    Path(client_id): Path<String>,
    AdminJson(input): AdminJson<RotateSecretInput>,
) -> Response {
    let answer = async {
        let overlap = std::time::Duration::from_secs(input.overlap_seconds);
        let r = manage::rotate_secret(&app, &who.0, &client_id, overlap).await?;
        Ok((StatusCode::OK, answer(&r.client, r.secret.as_ref())))
    };
    respond(&app, answer.await)
}

/// Disables the client: nothing more is issued to it, and every token it holds is revoked
/// (gateways learn it from the revocation feed within a second).
#[utoipa::path(post, path = "/admin/api/v1/clients/{client_id}/disable", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientAnswer), (status = 404, body = super::ErrorBody)))]
pub(super) async fn disable(
    who: Changer,
    State(app): State<App>,
    Path(client_id): Path<String>,
) -> Response {
    let answer = async {
        let client = manage::set_client_disabled(&app, &who.0, &client_id, true).await?;
        Ok((StatusCode::OK, answer(&client, None)))
    };
    respond(&app, answer.await)
}

/// Enables a disabled client; the tokens revoked when it was disabled stay revoked.
#[utoipa::path(post, path = "/admin/api/v1/clients/{client_id}/enable", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientAnswer), (status = 404, body = super::ErrorBody)))]
pub(super) async fn enable(
    who: Changer,
    State(app): State<App>,
    Path(client_id): Path<String>,
) -> Response {
    let answer = async {
        let client = manage::set_client_disabled(&app, &who.0, &client_id, false).await?;
        Ok((StatusCode::OK, answer(&client, None)))
    };
    respond(&app, answer.await)
}
