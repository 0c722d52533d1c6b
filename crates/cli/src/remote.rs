//! `candor client|user|keys --admin-url URL`: the same commands through the admin API
//! (docs/admin-api.md), so that administering a server needs neither a shell on its machine
//! nor its database's credentials. What is printed is what the API answers; a refusal is an
//! error with its status, diagnosis and description.

use anyhow::{Context, Result, bail};
use candor_proto::secret::Secret;
use serde_json::{Value, json};

use crate::args::{ClientCommand, KeysCommand, UserCommand};
use crate::config::Resolved;

/// The admin API of one server.
pub(crate) struct Remote {
    base: url::Url,
    token: String,
    http: reqwest::Client,
}

impl Remote {
    /// The API under `url`, with the token from `CANDOR_ADMIN_TOKEN` or `[admin]`.
    pub(crate) fn new(url: &str, resolved: &Resolved) -> Result<Remote> {
        let base = url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.query().is_none())
            .with_context(|| {
                format!("--admin-url '{url}' is not an http(s) URL (e.g. http://127.0.0.1:9090)")
            })?;
        let token = match std::env::var("CANDOR_ADMIN_TOKEN") {
            Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ => crate::credential::raw_token(resolved)?.context(
                "--admin-url needs the admin token: set CANDOR_ADMIN_TOKEN, or [admin] token_env or token_file",
            )?,
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("cannot make an HTTP client")?;
        Ok(Remote { base, token, http })
    }

    /// `base`/admin/api/v1/`segments…`, each segment percent-encoded as a path segment.
    fn url(&self, segments: &[&str]) -> Result<url::Url> {
        let mut u = self.base.clone();
        u.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("--admin-url cannot take a path"))?
            .pop_if_empty()
            .extend(["admin", "api", "v1"])
            .extend(segments);
        Ok(u)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<Value>,
    ) -> Result<Value> {
        self.call_url(method, self.url(segments)?, body).await
    }

    async fn call_url(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut req = self
            .http
            .request(method, url.clone())
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("cannot reach the admin API at {url}"))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            bail!(
                "the admin API refused: {} {}: {}",
                status.as_u16(),
                value
                    .get("diagnosis")
                    .and_then(Value::as_str)
                    .unwrap_or("-"),
                value
                    .get("error_description")
                    .and_then(Value::as_str)
                    .unwrap_or("(no description)")
            );
        }
        Ok(value)
    }

    async fn get(&self, segments: &[&str]) -> Result<Value> {
        self.call(reqwest::Method::GET, segments, None).await
    }

    async fn post(&self, segments: &[&str], body: Value) -> Result<Value> {
        self.call(reqwest::Method::POST, segments, Some(body)).await
    }

    /// Every item of a paged list (`key` in each page), following `next`.
    async fn all(&self, resource: &str, key: &str) -> Result<Value> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut url = self.url(&[resource])?;
            url.query_pairs_mut().append_pair("limit", "500");
            if let Some(a) = &after {
                url.query_pairs_mut().append_pair("after", a);
            }
            let page = self.call_url(reqwest::Method::GET, url, None).await?;
            items.extend(
                page.get(key)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            match page.get("next").and_then(Value::as_str) {
                Some(n) => after = Some(n.to_string()),
                None => return Ok(Value::Array(items)),
            }
        }
    }
}

/// Sets `key` of the JSON object `body` to `value`.
fn set(body: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(obj) = body.as_object_mut() {
        obj.insert(key.to_string(), value.into());
    }
}

/// `key` of the JSON object `value` (`null` when absent).
fn field(mut value: Value, key: &str) -> Value {
    value.get_mut(key).map(Value::take).unwrap_or(Value::Null)
}

/// `candor client …` through the API.
pub(crate) async fn client(remote: &Remote, cmd: ClientCommand) -> Result<Value> {
    match cmd {
        ClientCommand::Create(a) => {
            let mut body = json!({
                "client_name": a.name,
                "redirect_uris": a.redirect_uris,
                "post_logout_redirect_uris": a.post_logout_redirect_uris,
                "grant_types": a.grant_types,
                "scope": a.scope,
                "audiences": a.audiences,
                "token_endpoint_auth_method": if a.public { "none" } else { a.auth_method.as_str() },
                "access_token_format": a.access_token_format,
                "require_pkce": !a.no_require_pkce,
            });
            if let Some(id) = a.client_id {
                set(&mut body, "client_id", id);
            }
            if let Some(alg) = a.id_token_alg {
                set(&mut body, "id_token_signed_response_alg", alg);
            }
            if let Some(path) = a.jwks {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read --jwks {}", path.display()))?;
                set(
                    &mut body,
                    "jwks",
                    serde_json::from_str::<Value>(&text)
                        .with_context(|| format!("--jwks {} is not JSON", path.display()))?,
                );
            }
            if a.allow_duplicate_name {
                bail!(
                    "--allow-duplicate-name is not available through the admin API, which keeps names unique"
                );
            }
            remote.post(&["clients"], body).await
        }
        ClientCommand::List => remote.all("clients", "clients").await,
        ClientCommand::Show { client_id } => remote.get(&["clients", &client_id]).await,
        ClientCommand::Update(a) => {
            remote
                .call(
                    reqwest::Method::PATCH,
                    &["clients", &a.client_id],
                    Some(a.patch()?),
                )
                .await
        }
        ClientCommand::Delete { client_id } => {
            remote
                .call(reqwest::Method::DELETE, &["clients", &client_id], None)
                .await
        }
        ClientCommand::RotateSecret { client_id, overlap } => {
            remote
                .post(
                    &["clients", &client_id, "secret"],
                    json!({"overlap_seconds": overlap.as_secs()}),
                )
                .await
        }
        ClientCommand::Disable { client_id } => {
            remote
                .post(&["clients", &client_id, "disable"], json!({}))
                .await
        }
        ClientCommand::Enable { client_id } => {
            remote
                .post(&["clients", &client_id, "enable"], json!({}))
                .await
        }
    }
}

/// `candor user …` through the API; `password` is the one asked for (create, set-password).
pub(crate) async fn user(remote: &Remote, cmd: UserCommand, password: Secret) -> Result<Value> {
    match cmd {
        UserCommand::Create(a) => {
            let mut body = json!({"username": a.username, "password": password.expose()});
            if let Some(e) = a.email {
                set(&mut body, "email", e);
            }
            if let Some(n) = a.name {
                set(&mut body, "name", n);
            }
            set(&mut body, "roles", a.roles);
            remote.post(&["users"], body).await
        }
        UserCommand::List => remote.all("users", "users").await,
        UserCommand::Delete { username } => {
            remote
                .call(reqwest::Method::DELETE, &["users", &username], None)
                .await
        }
        UserCommand::Update(a) => {
            remote
                .call(
                    reqwest::Method::PATCH,
                    &["users", &a.username],
                    Some(a.patch()?),
                )
                .await
        }
        UserCommand::Unlock { username } => {
            remote
                .post(&["users", &username, "unlock"], json!({}))
                .await
        }
        UserCommand::RevokeSessions { username } => {
            remote
                .post(&["users", &username, "sessions", "revoke"], json!({}))
                .await
        }
        UserCommand::Disable { username } => {
            remote
                .post(&["users", &username, "disable"], json!({}))
                .await
        }
        UserCommand::Enable { username } => {
            remote
                .post(&["users", &username, "enable"], json!({}))
                .await
        }
        UserCommand::Sessions { username } => Ok(field(
            remote.get(&["users", &username, "sessions"]).await?,
            "sessions",
        )),
        UserCommand::Consents { username } => Ok(field(
            remote.get(&["users", &username, "consents"]).await?,
            "consents",
        )),
        UserCommand::RevokeConsent {
            username,
            client_id,
        } => {
            remote
                .call(
                    reqwest::Method::DELETE,
                    &["users", &username, "consents", &client_id],
                    None,
                )
                .await
        }
        UserCommand::SetPassword { username, .. } => {
            remote
                .post(
                    &["users", &username, "password"],
                    json!({"password": password.expose()}),
                )
                .await
        }
    }
}

/// `candor keys …` through the API.
pub(crate) async fn keys(remote: &Remote, cmd: KeysCommand) -> Result<Value> {
    match cmd {
        KeysCommand::List => Ok(field(remote.get(&["keys"]).await?, "keys")),
        KeysCommand::Rotate {
            alg,
            activate_in,
            immediately,
        } => {
            let delay = humantime::parse_duration(&activate_in).with_context(|| {
                format!("--activate-in '{activate_in}' is not a duration (e.g. 2m)")
            })?;
            let mut body = json!({"immediately": immediately, "activate_in": delay.as_secs()});
            if let Some(a) = alg {
                set(&mut body, "alg", a);
            }
            Ok(field(
                remote.post(&["keys", "rotate"], body).await?,
                "rotations",
            ))
        }
    }
}
