//! The admin API over what the authorization server holds — clients, users, signing keys —
//! under `/admin/api/v1/` (docs/admin-api.md). Every handler takes `AdminAuth` first: nothing
//! is read or answered before the admin credential is checked. Handlers are thin: the rules
//! are the ones the CLI and the server use (`clients`, `users`, `keys`).

mod clients;
mod events;
mod keys;
mod users;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use candor_proto::{Code, OAuthError};
use serde::Serialize;
use serde_json::Value;
use utoipa::OpenApi;

use crate::app::App;
use crate::error::ServerError;

/// The admin API's routes over what the server holds.
pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/admin/api/v1/openapi.json", get(openapi))
        .route(
            "/admin/api/v1/clients",
            get(clients::list).post(clients::create),
        )
        .route(
            "/admin/api/v1/clients/{client_id}",
            get(clients::show)
                .patch(clients::update)
                .delete(clients::delete),
        )
        .route(
            "/admin/api/v1/clients/{client_id}/secret",
            post(clients::rotate_secret),
        )
        .route(
            "/admin/api/v1/clients/{client_id}/disable",
            post(clients::disable),
        )
        .route(
            "/admin/api/v1/clients/{client_id}/enable",
            post(clients::enable),
        )
        .route("/admin/api/v1/users", get(users::list).post(users::create))
        .route(
            "/admin/api/v1/users/{username}",
            get(users::show).patch(users::update).delete(users::delete),
        )
        .route(
            "/admin/api/v1/users/{username}/password",
            post(users::set_password),
        )
        .route("/admin/api/v1/users/{username}/unlock", post(users::unlock))
        .route(
            "/admin/api/v1/users/{username}/sessions/revoke",
            post(users::revoke_sessions),
        )
        .route(
            "/admin/api/v1/users/{username}/disable",
            post(users::disable),
        )
        .route("/admin/api/v1/users/{username}/enable", post(users::enable))
        .route(
            "/admin/api/v1/users/{username}/sessions",
            get(users::sessions),
        )
        .route(
            "/admin/api/v1/users/{username}/sessions/{sid}",
            delete(users::end_session),
        )
        .route(
            "/admin/api/v1/users/{username}/consents",
            get(users::consents),
        )
        .route(
            "/admin/api/v1/users/{username}/consents/{client_id}",
            delete(users::revoke_consent),
        )
        .route("/admin/api/v1/keys", get(keys::list))
        .route("/admin/api/v1/keys/rotate", post(keys::rotate))
        .route("/admin/api/v1/events", get(events::list))
        .route("/admin/api/v1/events/stats", get(events::stats))
}

/// What every admin API answer holds to, whatever the router or an extractor says on its
/// own: a refusal that is not the catalogue's JSON — a 405 for a method a path does not take,
/// axum's plain-text 400 for a path parameter that is not UTF-8 once percent-decoded — is
/// rewritten as the catalogue's body (the Allow header kept). Run after the handler's own
/// extractors, so a request without a credential still meets the credential check first.
pub(super) async fn well_formed(
    axum::extract::State(app): axum::extract::State<App>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = req.method().clone();
    let answer = next.run(req).await;
    let status = answer.status();
    let is_json = answer
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return answer;
    }
    let allow = answer.headers().get(header::ALLOW).cloned();
    let (code, why) = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = allow.as_ref().and_then(|v| v.to_str().ok());
        (
            Code::AdminMethodNotAllowed,
            format!(
                "this path does not take {method}; it takes {}",
                allowed.unwrap_or("other methods")
            ),
        )
    } else {
        let (_, body) = answer.into_parts();
        let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        (
            Code::AdminInvalidRequest,
            format!("the request cannot be read: {}", text.trim()),
        )
    };
    let mut refused = candor_admin::error_response(
        &OAuthError::new(code, why),
        Some(&candor_proto::error::docs_base(app.issuer())),
    );
    if let Some(allow) = allow {
        refused.headers_mut().insert(header::ALLOW, allow);
    }
    refused
}

/// The OpenAPI 3.1 description of the admin API, from the handlers' own annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Candor admin API",
        description = "Clients, users, signing keys and the call log of a Candor server. Every endpoint but this document needs the admin credential: Authorization: Bearer <the [admin] token>. Errors are the diagnosis catalogue's JSON body (error, error_description, error_uri, diagnosis)."
    ),
    paths(
        clients::list, clients::create, clients::show, clients::update, clients::delete,
        clients::rotate_secret, clients::disable, clients::enable,
        users::list, users::create, users::show, users::update, users::delete, users::set_password,
        users::unlock, users::revoke_sessions, users::disable, users::enable, users::sessions,
        users::end_session, users::consents, users::revoke_consent,
        keys::list, keys::rotate,
        events::list, events::stats,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    security(("admin_token" = [])),
)]
struct ApiDoc;

/// The catalogue's error body, as the OpenAPI document describes it.
#[derive(Serialize, utoipa::ToSchema)]
struct ErrorBody {
    error: String,
    error_description: String,
    error_uri: Option<String>,
    /// The catalogue code (`admin.invalid_request`…): its page is under /docs/errors/.
    diagnosis: String,
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document, with the call log's endpoints (served by `candor-admin`) beside ours.
pub(super) fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(candor_admin::openapi());
    describe_refusals(&mut doc);
    doc
}

/// Every operation can be refused for its credential (401 `admin.unauthorized`), and every
/// change for a viewer's (403 `admin.forbidden`): said once here rather than on each handler.
fn describe_refusals(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
    let refusal = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                )
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ];
        for (operation, changes) in operations {
            let Some(operation) = operation.as_mut() else {
                continue;
            };
            let responses = &mut operation.responses.responses;
            responses.entry("401".into()).or_insert_with(|| {
                refusal("No admin credential, or not a valid one (`admin.unauthorized`)")
            });
            if changes {
                responses.entry("403".into()).or_insert_with(|| {
                    refusal("The credential may read but not change (`admin.forbidden`)")
                });
            }
        }
    }
}

/// `GET /admin/api/v1/openapi.json`: public, like any API description (it holds no data).
async fn openapi() -> Response {
    match openapi_document().to_json() {
        Ok(body) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A caller who may change things, and where the change comes from (for the audit log).
pub(super) struct Changer(crate::audit::Actor);

impl axum::extract::FromRequestParts<App> for Changer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &App,
    ) -> Result<Self, Self::Rejection> {
        let candor_admin::AdminChange(principal) =
            candor_admin::AdminChange::from_request_parts(parts, app)
                .await
                .map_err(IntoResponse::into_response)?;
        let peer = parts.extensions.get::<candor_serve::Peer>().cloned();
        let address =
            super::browser::client_address(app, peer.map(axum::Extension), &parts.headers);
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(128).collect());
        Ok(Changer(crate::audit::Actor {
            who: principal.who,
            address: Some(address.to_string()),
            request_id,
        }))
    }
}

impl Changer {
    /// Records the change (docs/admin-api.md, "Audit").
    async fn record(&self, app: &App, action: &str, object: &str, before: &Value, after: &Value) {
        crate::audit::record(app, &self.0, action, object, before, after).await;
    }
}

/// `value`'s public JSON view, for the audit log.
fn view<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A refused admin request: the catalogue's body with its status.
#[derive(Debug)]
struct Refused(OAuthError);

impl Refused {
    fn new(code: Code, why: impl AsRef<str>) -> Self {
        Refused(OAuthError::new(code, why))
    }
}

/// How the server's rules refusing an admin change read to the caller; anything else is the
/// server's fault, logged with its cause and answered without it.
impl From<ServerError> for Refused {
    fn from(error: ServerError) -> Self {
        match error {
            ServerError::InvalidRegistration(why) | ServerError::InvalidUser(why) => {
                Refused::new(Code::AdminInvalidRequest, why)
            }
            ServerError::NotFound(what) => Refused::new(Code::AdminNotFound, format!("no {what}")),
            ServerError::Taken(why) => Refused::new(Code::AdminConflict, why),
            other => {
                tracing::error!(diagnosis = "server.internal", error = %other, "admin request failed");
                Refused::new(
                    Code::ServerInternal,
                    "the change could not be made; see the server's log",
                )
            }
        }
    }
}

impl From<candor_store::StoreError> for Refused {
    fn from(error: candor_store::StoreError) -> Self {
        ServerError::from(error).into()
    }
}

/// Answers of the admin API: a status and a value as JSON, or a refusal.
type Answer<T> = Result<(StatusCode, T), Refused>;

/// `answer` as a response, never cached; refusals linked under `app`'s catalogue.
fn respond<T: Serialize>(app: &App, answer: Answer<T>) -> Response {
    match answer {
        Ok((status, body)) => {
            let mut r = (status, axum::Json(body)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(Refused(error)) => candor_admin::error_response(
            &error,
            Some(&candor_proto::error::docs_base(app.issuer())),
        ),
    }
}

/// A query string the handler could not read.
impl From<axum::extract::rejection::QueryRejection> for Refused {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Refused::new(Code::AdminInvalidRequest, rejection.body_text())
    }
}

/// A page of a list: at most `limit` items after the cursor `after`, sorted by id.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Only items whose id or name contains this, ignoring case.
    search: Option<String>,
    /// At most this many (1 to 500, default 50).
    limit: Option<usize>,
    /// The `next` of the previous page.
    after: Option<String>,
}

/// `items` (sorted by `id`) filtered by `q`: the page and the cursor to the next one.
fn page<T>(
    mut items: Vec<T>,
    q: &ListQuery,
    id: impl Fn(&T) -> &str,
    name: impl Fn(&T) -> &str,
) -> Result<(Vec<T>, Option<String>), Refused> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Refused::new(
            Code::AdminInvalidRequest,
            "limit: expected 1 to 500",
        ));
    }
    items.sort_by(|a, b| id(a).cmp(id(b)));
    let search = q.search.as_deref().map(str::to_lowercase);
    let mut chosen: Vec<T> = items
        .into_iter()
        .filter(|t| q.after.as_deref().is_none_or(|after| id(t) > after))
        .filter(|t| {
            search.as_deref().is_none_or(|s| {
                id(t).to_lowercase().contains(s) || name(t).to_lowercase().contains(s)
            })
        })
        .take(limit + 1)
        .collect();
    let more = chosen.len() > limit;
    chosen.truncate(limit);
    let next = if more {
        chosen.last().map(|t| id(t).to_string())
    } else {
        None
    };
    Ok((chosen, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(search: Option<&str>, limit: Option<usize>, after: Option<&str>) -> ListQuery {
        ListQuery {
            search: search.map(str::to_string),
            limit,
            after: after.map(str::to_string),
        }
    }

    #[test]
    fn pages_follow_the_cursor_and_the_search() {
        let items: Vec<(String, String)> = ["c", "a", "d", "b"]
            .iter()
            .map(|i| (i.to_string(), format!("Name {}", i.to_uppercase())))
            .collect();
        fn id(t: &(String, String)) -> &str {
            &t.0
        }
        fn name(t: &(String, String)) -> &str {
            &t.1
        }
        let (first, next) = page(items.clone(), &q(None, Some(3), None), id, name).unwrap();
        assert_eq!(
            first.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(next.as_deref(), Some("c"));
        let (rest, next) = page(items.clone(), &q(None, Some(3), Some("c")), id, name).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(next, None);
        let (found, _) = page(items.clone(), &q(Some("name b"), None, None), id, name).unwrap();
        assert_eq!(
            found.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        assert!(page(items, &q(None, Some(0), None), id, name).is_err());
    }
}
