//! The console's Clients pages: the list with a registration form, and one client's page —
//! its registration with an edit form, its actions (rotate with an overlap, disable, enable,
//! delete), its latest calls, its failures by diagnosis and its audit trail. Every change goes
//! through [`crate::manage`], as the admin API's do.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde_json::{Value, json};

use super::{CallRow, Change, EventRow, Frame, IdentityRow, field, render, signed_in};
use crate::app::App;
use crate::clients::{ClientPatch, ClientRegistration, ClientView, Warning};
use crate::error::ServerError;
use crate::manage;

struct ClientRow {
    id: String,
    name: String,
    method: &'static str,
    grants: String,
    disabled: bool,
    warnings: usize,
}

#[derive(Template)]
#[template(path = "console_clients.html")]
struct ClientsPage {
    frame: Frame,
    notice: Option<String>,
    clients: Vec<ClientRow>,
    /// The registration form, as typed (shown back after a refusal).
    form: ClientForm,
}

/// A client's registration as the form shows it.
#[derive(Default)]
struct ClientForm {
    client_id: String,
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    scope: String,
    grants: Vec<String>,
    method: String,
    format: String,
    require_pkce: bool,
}

impl ClientForm {
    fn of(c: &ClientView) -> Self {
        ClientForm {
            client_id: c.client_id.clone(),
            name: c.client_name.clone(),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            scope: c.scope.clone(),
            grants: c.grant_types.clone(),
            method: c.token_endpoint_auth_method.clone(),
            format: c.access_token_format.clone(),
            require_pkce: c.require_pkce,
        }
    }

    /// The form as typed.
    fn typed(form: &[(String, String)]) -> Self {
        ClientForm {
            client_id: field(form, "client_id").trim().to_string(),
            name: field(form, "client_name").to_string(),
            redirect_uris: field(form, "redirect_uris").to_string(),
            post_logout_redirect_uris: field(form, "post_logout_redirect_uris").to_string(),
            scope: field(form, "scope").to_string(),
            grants: form
                .iter()
                .filter(|(k, _)| k == "grant_types")
                .map(|(_, v)| v.clone())
                .collect(),
            method: field(form, "token_endpoint_auth_method").to_string(),
            format: field(form, "access_token_format").to_string(),
            require_pkce: field(form, "require_pkce") == "on",
        }
    }

    fn granted(&self, grant: &str) -> bool {
        self.grants.iter().any(|g| g == grant)
    }

    /// The admin API's JSON for this form: the same parser reads it.
    fn json(&self, creating: bool) -> Value {
        let lines = |text: &str| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut v = serde_json::Map::new();
        v.insert("client_name".into(), json!(self.name));
        v.insert("redirect_uris".into(), json!(lines(&self.redirect_uris)));
        v.insert(
            "post_logout_redirect_uris".into(),
            json!(lines(&self.post_logout_redirect_uris)),
        );
        v.insert("grant_types".into(), json!(self.grants));
        v.insert("require_pkce".into(), json!(self.require_pkce));
        // A field left empty is no choice: the server's default applies.
        for (name, value) in [
            ("scope", &self.scope),
            ("token_endpoint_auth_method", &self.method),
            ("access_token_format", &self.format),
            ("client_id", &self.client_id),
        ] {
            if !value.trim().is_empty() && (creating || name != "client_id") {
                v.insert(name.into(), json!(value.trim()));
            }
        }
        Value::Object(v)
    }
}

/// The grant types and authentication methods the forms offer, in the order shown.
const GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
const METHODS: [&str; 5] = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
];
/// The overlaps the rotate form offers: (seconds, label).
const OVERLAPS: [(u64, &str); 4] = [
    (0, "none: the old secret stops at once"),
    (3600, "1 hour"),
    (86_400, "1 day"),
    (604_800, "7 days"),
];

#[derive(Template)]
#[template(path = "console_client.html")]
struct ClientPage {
    frame: Frame,
    docs: String,
    notice: Option<String>,
    secret: Option<String>,
    client: ClientView,
    warnings: Vec<Warning>,
    form: ClientForm,
    calls: Vec<CallRow>,
    calls_refused: Option<String>,
    /// Failures by diagnosis over the last day: (code, count).
    failures: Vec<(String, u64)>,
    /// Its sign-ins, consents and tokens (the identity events), newest first.
    identity: Vec<IdentityRow>,
    events: Vec<EventRow>,
}

/// `GET /admin/clients`.
pub(in crate::http) async fn clients(State(app): State<App>, jar: CookieJar) -> Response {
    match signed_in(&app, &jar).await {
        Ok(frame) => list(&app, frame, None, ClientForm::default(), StatusCode::OK).await,
        Err(page) => page,
    }
}

async fn list(
    app: &App,
    frame: Frame,
    notice: Option<String>,
    form: ClientForm,
    status: StatusCode,
) -> Response {
    let mut all = app.store().list_clients().await.unwrap_or_default();
    all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let clients = all
        .iter()
        .map(|c| ClientRow {
            id: c.client_id.clone(),
            name: c.name.clone(),
            method: c.auth_method.as_str(),
            grants: c
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            disabled: c.disabled_at.is_some(),
            warnings: crate::clients::warnings(c).len(),
        })
        .collect();
    let page = ClientsPage {
        frame,
        notice,
        clients,
        form,
    };
    render(status, page.render())
}

/// `POST /admin/clients` (the registration form): the new client's page, its secret shown
/// once; or the list with the form as typed and the refusal.
pub(in crate::http) async fn create_client(
    State(app): State<App>,
    Change { frame, actor, form }: Change,
) -> Response {
    let typed = ClientForm::typed(&form);
    let registered = async {
        let input: ClientRegistration = serde_json::from_value(typed.json(true))
            .map_err(|e| ServerError::InvalidRegistration(e.to_string()))?;
        manage::create_client(&app, &actor, input.into_new()?).await
    }
    .await;
    match registered {
        Ok(r) => {
            let secret = r.secret.map(|s| s.expose().to_string());
            let notice = format!("{} is registered.", r.client.client_id);
            page(&app, frame, &r.client.client_id, Some(notice), secret).await
        }
        Err(e) => {
            let notice = format!("Not registered: {e}");
            list(&app, frame, Some(notice), typed, StatusCode::BAD_REQUEST).await
        }
    }
}

/// `GET /admin/clients/{client_id}`.
pub(in crate::http) async fn client(
    State(app): State<App>,
    Path(client_id): Path<String>,
    jar: CookieJar,
) -> Response {
    match signed_in(&app, &jar).await {
        Ok(frame) => page(&app, frame, &client_id, None, None).await,
        Err(page) => page,
    }
}

async fn page(
    app: &App,
    frame: Frame,
    client_id: &str,
    notice: Option<String>,
    secret: Option<String>,
) -> Response {
    let Ok(Some(client)) = app.store().get_client(client_id).await else {
        let notice = format!("There is no client '{client_id}'.");
        return list(
            app,
            frame,
            Some(notice),
            ClientForm::default(),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    let view = ClientView::of(&client, None);
    let params = vec![("client".to_string(), client_id.to_string())];
    let (calls, calls_refused) = match super::recent_calls(app, &params, 20).await {
        Ok(calls) => (calls, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let page = ClientPage {
        docs: candor_proto::error::docs_base(app.issuer()),
        notice,
        secret,
        warnings: crate::clients::warnings(&client),
        form: ClientForm::of(&view),
        calls,
        calls_refused,
        failures: failures(app, client_id).await,
        identity: super::identity_events(app, Some(client_id), None, 20).await,
        events: super::audit_events(app, Some(&format!("client:{client_id}")), 20).await,
        client: view,
        frame,
    };
    render(StatusCode::OK, page.render())
}

/// The client's refused calls over the last day, counted by diagnosis, most first.
async fn failures(app: &App, client_id: &str) -> Vec<(String, u64)> {
    let Some(log) = app.call_log() else {
        return Vec::new();
    };
    let params: candor_calls::params::Params = vec![
        ("since".into(), "24h".into()),
        ("by".into(), "diagnosis".into()),
        ("client".into(), client_id.into()),
    ];
    let Ok(q) = candor_calls::params::stats_query(&params, app.now()) else {
        return Vec::new();
    };
    let mut rows: Vec<(String, u64)> = match log.stats(&q).await {
        Ok(stats) => stats
            .rows
            .into_iter()
            .filter_map(|r| {
                let code = r.group.get("diagnosis")?.as_str()?.to_string();
                Some((code, r.calls))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// `POST /admin/clients/{client_id}` (`op` — not `action`, which would shadow the form's own
/// `action` in the DOM — = `edit`, `rotate`, `disable`, `enable` or
/// `delete`): the client's page with what was done, or the list after a deletion.
pub(in crate::http) async fn client_change(
    State(app): State<App>,
    Path(client_id): Path<String>,
    Change { frame, actor, form }: Change,
) -> Response {
    let id = client_id.as_str();
    let action = field(&form, "op");
    let done: Result<(String, Option<String>), ServerError> = match action {
        "edit" => {
            let typed = ClientForm::typed(&form);
            async {
                let patch: ClientPatch = serde_json::from_value(typed.json(false))
                    .map_err(|e| ServerError::InvalidRegistration(e.to_string()))?;
                let r = manage::update_client(&app, &actor, id, patch.into_change()?).await?;
                let secret = r.secret.map(|s| s.expose().to_string());
                Ok(("Saved.".to_string(), secret))
            }
            .await
        }
        "rotate" => {
            let overlap = field(&form, "overlap").parse::<u64>().unwrap_or(0);
            let overlap = std::time::Duration::from_secs(overlap);
            manage::rotate_secret(&app, &actor, id, overlap)
                .await
                .map(|r| {
                    let note = match r.client.previous_secret.as_ref() {
                        Some(p) => format!(
                            "A new secret is issued; the old one works until {} UTC.",
                            super::when(p.until)
                        ),
                        None => "A new secret is issued; the old one no longer works.".into(),
                    };
                    (note, r.secret.map(|s| s.expose().to_string()))
                })
        }
        "disable" | "enable" => manage::set_client_disabled(&app, &actor, id, action == "disable")
            .await
            .map(|c| {
                let state = if c.disabled_at.is_some() {
                    "disabled: nothing is issued to it, and what it held is revoked"
                } else {
                    "enabled"
                };
                (format!("{id} is {state}."), None)
            }),
        "delete" if field(&form, "confirm") == id => {
            return match manage::delete_client(&app, &actor, id).await {
                Ok(()) => {
                    let notice = format!("{id} is deleted; every token issued to it is void.");
                    list(
                        &app,
                        frame,
                        Some(notice),
                        ClientForm::default(),
                        StatusCode::OK,
                    )
                    .await
                }
                Err(e) => page(&app, frame, id, Some(format!("Not deleted: {e}")), None).await,
            };
        }
        "delete" => Err(ServerError::InvalidRegistration(format!(
            "type the client_id '{id}' to confirm the deletion"
        ))),
        other => Err(ServerError::InvalidRegistration(format!(
            "unknown action '{other}'"
        ))),
    };
    match done {
        Ok((notice, secret)) => page(&app, frame, id, Some(notice), secret).await,
        Err(e) => page(&app, frame, id, Some(format!("Nothing changed: {e}")), None).await,
    }
}
