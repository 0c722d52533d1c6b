//! `candor client|user|keys|docs`: administration through the same functions the server uses.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use candor_proto::access_token::Format;
use candor_proto::client_auth::AuthMethod;
use candor_proto::grant_type::GrantType;
use candor_proto::jose::SigningAlg;
use candor_proto::secret::Secret;
use candor_server::clients::{self, NewClient};
use candor_server::clock::{Clock, SystemClock};
use candor_server::{keys, users};
use candor_store::Store;
use serde_json::{Value, json};

use crate::args::{ClientCommand, DocsCommand, Global, KeysCommand, UserCommand};
use crate::calls::audit;
use crate::config::{self, Resolved};

/// Opens the server's store. Only a command that registers something (`client create`, `user
/// create`) may create one, and it says so: anything else run where no database is — a typo
/// in `--data`, another directory — would otherwise make an empty one no server knows, and
/// answer from it.
async fn open_store(resolved: &Resolved, may_create: bool) -> Result<Arc<dyn Store>> {
    let fresh = config::sqlite_file(&resolved.database_url).filter(|p| !p.exists());
    if let Some(path) = &fresh {
        if !may_create {
            bail!(
                "no Candor database at {}: start `candor serve` once to create it, or point this command at the server's data (--data DIR, or --config FILE with its [storage] url)",
                path.display()
            );
        }
        config::ensure_dir(&resolved.data_dir)?;
    }
    let store = candor_store::open(&resolved.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the store at {}",
                candor_store::redact_url(&resolved.database_url)
            )
        })?;
    if let Some(path) = fresh {
        eprint!(
            "{}",
            format_args!(
                "note: created a new Candor database at {} — a server sees it only with the same --data (or [storage] url)\n",
                path.display()
            )
        );
    }
    Ok(store)
}

fn print(value: &Value) -> Result<()> {
    crate::output::stdout(&format!("{}\n", serde_json::to_string_pretty(value)?))?;
    Ok(())
}

fn now() -> i64 {
    SystemClock.now()
}

/// The password: from standard input with `--password-stdin` (scripts), else asked twice on
/// the terminal without echo. Never from the command line, where `ps` and history show it.
fn password(from_stdin: bool, username: &str) -> Result<Secret> {
    use std::io::IsTerminal;
    if from_stdin {
        return read_password();
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to ask for the password on: pipe it in and pass --password-stdin (echo \"$PASSWORD\" | candor user ... --password-stdin)"
        );
    }
    let first = rpassword::prompt_password(format!("Password for '{username}': "))
        .context("cannot read the password from the terminal")?;
    if first.is_empty() {
        bail!("no password given");
    }
    let again = rpassword::prompt_password("Again: ")
        .context("cannot read the password from the terminal")?;
    if first != again {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(Secret::new(first))
}

fn read_password() -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!(
            "no password on standard input (pipe it in: echo \"$PASSWORD\" | candor user create ...)"
        );
    }
    Ok(Secret::new(password))
}

/// Through the admin API when `--admin-url` is given: prints its answer.
async fn remotely(global: &Global, resolved: &Resolved) -> Result<Option<crate::remote::Remote>> {
    global
        .admin_url
        .as_deref()
        .map(|url| crate::remote::Remote::new(url, resolved))
        .transpose()
}

pub(crate) async fn client(global: &Global, cmd: ClientCommand) -> Result<()> {
    let resolved = config::load(global)?;
    if let Some(remote) = remotely(global, &resolved).await? {
        return print(&crate::remote::client(&remote, cmd).await?);
    }
    let store = open_store(&resolved, matches!(cmd, ClientCommand::Create(_))).await?;
    match cmd {
        ClientCommand::Create(a) => {
            if !a.allow_duplicate_name
                && let Some(twin) = clients::named(store.as_ref(), &a.name).await?
            {
                bail!(
                    "a client named '{}' is registered already (client_id '{}'): choose another --name, or pass --allow-duplicate-name",
                    a.name,
                    twin.client_id
                );
            }
            let master =
                crate::master::for_store(&resolved.master_key_file, store.as_ref()).await?;
            let auth_method: AuthMethod = if a.public {
                AuthMethod::None
            } else {
                a.auth_method.parse().map_err(anyhow::Error::msg)?
            };
            let jwks = match &a.jwks {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read --jwks {}", path.display()))?,
                ),
                None => None,
            };
            let scopes = candor_proto::scope::parse(&a.scope)
                .map_err(|e| anyhow::anyhow!("--scope: {}", e.description))?;
            let mut new = NewClient::new(a.name);
            new.client_id = a.client_id;
            new.redirect_uris = a.redirect_uris;
            new.post_logout_redirect_uris = a.post_logout_redirect_uris;
            new.grant_types = a
                .grant_types
                .iter()
                .map(|g| g.parse::<GrantType>())
                .collect::<Result<_, _>>()
                .map_err(anyhow::Error::msg)?;
            new.scopes = scopes;
            new.audiences = a.audiences;
            new.auth_method = auth_method;
            new.access_token_format = a
                .access_token_format
                .parse::<Format>()
                .map_err(anyhow::Error::msg)?;
            new.jwks = jwks;
            new.require_pkce = !a.no_require_pkce;
            new.id_token_signed_response_alg = a
                .id_token_alg
                .map(|s| s.parse::<SigningAlg>())
                .transpose()?;
            let registered = clients::create(store.as_ref(), &master, new, now()).await?;
            let object = format!("client:{}", registered.client.client_id);
            let after = clients::to_json(&registered.client, None);
            audit(&resolved, "client.create", &object, &Value::Null, &after).await;
            print(&clients::to_json(
                &registered.client,
                registered.secret.as_ref(),
            ))
        }
        ClientCommand::List => {
            let all = store.list_clients().await?;
            print(&Value::Array(
                all.iter().map(|c| clients::to_json(c, None)).collect(),
            ))
        }
        ClientCommand::Show { client_id } => match store.get_client(&client_id).await? {
            Some(c) => print(&clients::to_json(&c, None)),
            None => bail!("no client '{client_id}'"),
        },
        ClientCommand::Delete { client_id } => {
            let settings = config::token_settings(&resolved)?;
            let before = store.get_client(&client_id).await?;
            if clients::delete(store.as_ref(), &settings, &client_id, now()).await? {
                let before = before.map_or(Value::Null, |c| clients::to_json(&c, None));
                let object = format!("client:{client_id}");
                audit(&resolved, "client.delete", &object, &before, &Value::Null).await;
                print(&json!({"deleted": client_id, "tokens_revoked": true}))
            } else {
                bail!("no client '{client_id}'")
            }
        }
        ClientCommand::Update(a) => {
            let patch: clients::ClientPatch = serde_json::from_value(a.patch()?)?;
            if let Some(name) = &patch.client_name
                && let Some(twin) = clients::named(store.as_ref(), name.trim()).await?
                && twin.client_id != a.client_id
            {
                bail!(
                    "a client named '{}' is registered already (client_id '{}'): choose another --name",
                    twin.name,
                    twin.client_id
                );
            }
            let master = crate::master::load(&resolved.master_key_file, false)?;
            let change = patch.into_change()?;
            let before = store.get_client(&a.client_id).await?;
            let r = clients::update(store.as_ref(), &master, &a.client_id, change, now()).await?;
            let before = before.map_or(Value::Null, |c| clients::to_json(&c, None));
            let object = format!("client:{}", a.client_id);
            let after = clients::to_json(&r.client, None);
            audit(&resolved, "client.update", &object, &before, &after).await;
            let mut out = clients::to_json(&r.client, r.secret.as_ref());
            if let Some(obj) = out.as_object_mut() {
                obj.insert(
                    "warnings".into(),
                    serde_json::to_value(clients::warnings(&r.client))?,
                );
            }
            print(&out)
        }
        ClientCommand::RotateSecret { client_id, overlap } => {
            let master = crate::master::load(&resolved.master_key_file, false)?;
            let r =
                clients::rotate_secret(store.as_ref(), &master, &client_id, overlap, now()).await?;
            let object = format!("client:{client_id}");
            let after = json!({
                "previous_secret_expires_at": r.client.previous_secret.as_ref().map(|p| p.until),
            });
            audit(
                &resolved,
                "client.rotate_secret",
                &object,
                &Value::Null,
                &after,
            )
            .await;
            print(&clients::to_json(&r.client, r.secret.as_ref()))
        }
        ClientCommand::Disable { client_id } => {
            let settings = config::token_settings(&resolved)?;
            let changed = clients::disable(store.as_ref(), &settings, &client_id, now()).await?;
            switched_client(
                &resolved,
                store.as_ref(),
                &client_id,
                "client.disable",
                changed,
            )
            .await
        }
        ClientCommand::Enable { client_id } => {
            let changed = clients::enable(store.as_ref(), &client_id, now()).await?;
            switched_client(
                &resolved,
                store.as_ref(),
                &client_id,
                "client.enable",
                changed,
            )
            .await
        }
    }
}

/// Prints a client after a disable or an enable, auditing a change that changed something.
async fn switched_client(
    resolved: &Resolved,
    store: &dyn Store,
    client_id: &str,
    action: &str,
    changed: bool,
) -> Result<()> {
    let client = store
        .get_client(client_id)
        .await?
        .with_context(|| format!("no client '{client_id}'"))?;
    if changed {
        let (before, after) = candor_server::manage::switch(client.disabled_at.is_some());
        audit(
            resolved,
            action,
            &format!("client:{client_id}"),
            &before,
            &after,
        )
        .await;
    }
    print(&clients::to_json(&client, None))
}

/// Prints a user after a disable or an enable, auditing a change that changed something.
async fn switched_user(
    resolved: &Resolved,
    store: &dyn Store,
    username: &str,
    action: &str,
    changed: bool,
) -> Result<()> {
    let user = store
        .get_user_by_username(username)
        .await?
        .with_context(|| format!("no user '{username}'"))?;
    if changed {
        let (before, after) = candor_server::manage::switch(user.disabled_at.is_some());
        audit(
            resolved,
            action,
            &format!("user:{username}"),
            &before,
            &after,
        )
        .await;
    }
    print(&users::to_json(&user))
}

pub(crate) async fn user(global: &Global, cmd: UserCommand) -> Result<()> {
    let resolved = config::load(global)?;
    // Asked before the store is opened: a mistyped password leaves nothing behind.
    let new_password = match &cmd {
        UserCommand::Create(a) => Some(password(a.password_stdin, &a.username)?),
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => Some(password(*password_stdin, username)?),
        _ => None,
    }
    .unwrap_or_else(|| Secret::new(""));
    if let Some(remote) = remotely(global, &resolved).await? {
        return print(&crate::remote::user(&remote, cmd, new_password).await?);
    }
    let store = open_store(&resolved, matches!(cmd, UserCommand::Create(_))).await?;
    match cmd {
        UserCommand::Create(a) => {
            let password = new_password;
            // Checked before anything is stored: a bad role leaves no half-made user.
            let roles = users::roles(&a.roles)?;
            let mut user = users::create(
                store.as_ref(),
                &a.username,
                &password,
                a.email,
                a.name,
                now(),
            )
            .await?;
            if !roles.is_empty() {
                let change = users::UserChange {
                    roles: Some(roles),
                    ..users::UserChange::default()
                };
                user = users::update(store.as_ref(), &user.username, change).await?;
            }
            let object = format!("user:{}", user.username);
            let after = users::to_json(&user);
            audit(&resolved, "user.create", &object, &Value::Null, &after).await;
            print(&users::to_json(&user))
        }
        UserCommand::List => {
            let all = store.list_users().await?;
            print(&Value::Array(all.iter().map(users::to_json).collect()))
        }
        UserCommand::Delete { username } => {
            let settings = config::token_settings(&resolved)?;
            let before = store.get_user_by_username(&username).await?;
            if users::delete(store.as_ref(), &settings, &username, now()).await? {
                let before = before.as_ref().map_or(Value::Null, users::to_json);
                let object = format!("user:{username}");
                audit(&resolved, "user.delete", &object, &before, &Value::Null).await;
                print(&json!({"deleted": username, "sessions_revoked": true}))
            } else {
                bail!("no user '{username}'")
            }
        }
        UserCommand::SetPassword { username, .. } => {
            let password = new_password;
            let settings = config::token_settings(&resolved)?;
            users::set_password(store.as_ref(), &settings, &username, &password, now()).await?;
            let object = format!("user:{username}");
            let after = candor_server::audit::effect("user.set_password");
            audit(
                &resolved,
                "user.set_password",
                &object,
                &Value::Null,
                &after,
            )
            .await;
            print(&json!({"updated": username, "sessions_revoked": true}))
        }
        UserCommand::Update(a) => {
            a.patch()?;
            let before = store.get_user_by_username(&a.username).await?;
            let user = users::update(store.as_ref(), &a.username, a.change()).await?;
            let before = before.as_ref().map_or(Value::Null, users::to_json);
            let object = format!("user:{}", a.username);
            audit(
                &resolved,
                "user.update",
                &object,
                &before,
                &users::to_json(&user),
            )
            .await;
            print(&users::to_json(&user))
        }
        UserCommand::Unlock { username } => {
            users::unlock(store.as_ref(), &username).await?;
            let object = format!("user:{username}");
            let after = candor_server::audit::effect("user.unlock");
            audit(&resolved, "user.unlock", &object, &Value::Null, &after).await;
            print(&json!({"unlocked": username}))
        }
        UserCommand::RevokeSessions { username } => {
            let settings = config::token_settings(&resolved)?;
            let seq = users::revoke_sessions(store.as_ref(), &settings, &username, now()).await?;
            let object = format!("user:{username}");
            let after = candor_server::audit::effect("user.revoke_sessions");
            audit(
                &resolved,
                "user.revoke_sessions",
                &object,
                &Value::Null,
                &after,
            )
            .await;
            print(&json!({"revoked": username, "revocation_seq": seq}))
        }
        UserCommand::Disable { username } => {
            let settings = config::token_settings(&resolved)?;
            let changed = users::disable(store.as_ref(), &settings, &username, now()).await?;
            switched_user(
                &resolved,
                store.as_ref(),
                &username,
                "user.disable",
                changed,
            )
            .await
        }
        UserCommand::Enable { username } => {
            let changed = users::enable(store.as_ref(), &username).await?;
            switched_user(&resolved, store.as_ref(), &username, "user.enable", changed).await
        }
        UserCommand::Sessions { username } => {
            let user = store
                .get_user_by_username(&username)
                .await?
                .with_context(|| format!("no user '{username}'"))?;
            let sessions = store.list_sessions(&user.id, now()).await?;
            let views: Vec<users::SessionView> =
                sessions.iter().map(users::SessionView::of).collect();
            print(&serde_json::to_value(views)?)
        }
        UserCommand::Consents { username } => {
            let user = store
                .get_user_by_username(&username)
                .await?
                .with_context(|| format!("no user '{username}'"))?;
            print(&serde_json::to_value(
                users::consents(store.as_ref(), &user.id).await?,
            )?)
        }
        UserCommand::RevokeConsent {
            username,
            client_id,
        } => {
            let settings = config::token_settings(&resolved)?;
            if !users::revoke_consent(store.as_ref(), &settings, &username, &client_id, now())
                .await?
            {
                bail!("user '{username}' has given no consent to client '{client_id}'");
            }
            let object = format!("user:{username}");
            let before = json!({ "consent": client_id });
            let after = json!({ "consent": null });
            audit(&resolved, "user.revoke_consent", &object, &before, &after).await;
            print(&json!({"username": username, "consent_revoked": client_id}))
        }
    }
}

pub(crate) async fn keys(global: &Global, cmd: KeysCommand) -> Result<()> {
    let resolved = config::load(global)?;
    if let Some(remote) = remotely(global, &resolved).await? {
        return print(&crate::remote::keys(&remote, cmd).await?);
    }
    let store = open_store(&resolved, false).await?;
    match cmd {
        KeysCommand::List => {
            let all = store.list_signing_keys().await?;
            let list: Vec<Value> = all
                .iter()
                .map(|k| {
                    json!({
                        "kid": k.kid,
                        "alg": k.alg.as_str(),
                        "status": keys::status_at(k, now()),
                        "created_at": k.created_at,
                        "activates_at": k.activates_at,
                        "retired_at": k.retired_at,
                        "published_until": k.publish_until,
                        "public_jwk": serde_json::from_str::<Value>(&k.public_jwk).unwrap_or(Value::Null),
                    })
                })
                .collect();
            print(&Value::Array(list))
        }
        KeysCommand::Rotate {
            alg,
            activate_in,
            immediately,
        } => {
            let master = crate::master::load(&resolved.master_key_file, false)?;
            // Retired keys stay published as long as the longest-lived token they can have
            // signed; the issuer does not matter for that.
            let settings = config::settings(&resolved, "http://127.0.0.1")?;
            let publish_for = settings.longest_token_ttl().as_secs() as i64;
            let delay = if immediately {
                0
            } else {
                humantime::parse_duration(&activate_in)
                    .with_context(|| {
                        format!("--activate-in '{activate_in}' is not a duration (e.g. 2m)")
                    })?
                    .as_secs() as i64
            };
            let algs: Vec<SigningAlg> = match alg {
                Some(a) => vec![a.parse()?],
                None => {
                    let mut in_use: Vec<SigningAlg> = store
                        .list_signing_keys()
                        .await?
                        .iter()
                        .filter(|k| k.retired_at.is_none())
                        .map(|k| k.alg)
                        .collect();
                    in_use.sort_by_key(|a| a.as_str());
                    in_use.dedup();
                    if in_use.is_empty() {
                        bail!("no signing keys yet: start `candor serve` once to create them");
                    }
                    in_use
                }
            };
            let mut out = Vec::new();
            for alg in algs {
                let now = now();
                let activates_at = now + delay;
                let r = keys::rotate(store.as_ref(), &master, alg, now, activates_at, publish_for)
                    .await?;
                let after = serde_json::to_value(&r)?;
                let object = format!("key:{}", alg.as_str());
                audit(&resolved, "key.rotate", &object, &Value::Null, &after).await;
                crate::calls::key_rotated(&resolved, &r).await;
                out.push(after);
            }
            print(&Value::Array(out))
        }
    }
}

pub(crate) fn docs(cmd: DocsCommand) -> Result<()> {
    match cmd {
        DocsCommand::Errors { code: None } => {
            crate::output::stdout(&candor_server::docs::catalogue_markdown())?;
            Ok(())
        }
        DocsCommand::Errors { code: Some(code) } => {
            let Some(found) = candor_proto::Code::ALL.iter().find(|c| c.as_str() == code) else {
                bail!("no diagnosis is called '{code}': `candor docs errors` lists them all");
            };
            crate::output::stdout(&candor_server::docs::entry_markdown(found.entry()))?;
            Ok(())
        }
    }
}
