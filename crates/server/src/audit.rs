//! Recording administrative changes (the audit log, `candor_calls::audit`): every change the
//! admin API makes is one event, written beside the call log, and one line on the process's
//! log under the target `candor::audit`. What is recorded is the public view of the object
//! (the admin API's own answer, without a secret): a secret, a password or its hash never
//! reaches it.

use candor_calls::AuditEvent;
use serde_json::Value;

use crate::app::App;

/// Who made a change and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `admin-token`, `client:<client_id>`, `cli`.
    pub who: String,
    pub address: Option<String>,
    pub request_id: Option<String>,
}

/// What an action that changes no public field did, as its event's `changes` show it: that a
/// secret or a password changed is recorded, never what it is.
pub fn effect(action: &str) -> Value {
    match action {
        "client.rotate_secret" => serde_json::json!({"secret": "rotated"}),
        "user.set_password" => serde_json::json!({"password": "replaced", "sessions": "revoked"}),
        "user.unlock" => serde_json::json!({"failed_sign_ins": "forgotten"}),
        "user.revoke_sessions" => serde_json::json!({"sessions": "revoked"}),
        _ => Value::Null,
    }
}

/// Records `action`, one of [`effect`]'s, on `object`.
pub async fn record_effect(app: &App, actor: &Actor, action: &str, object: &str) {
    record(app, actor, action, object, &Value::Null, &effect(action)).await;
}

/// Records that `actor` did `action` to `object`, which was `before` and is now `after`
/// (public JSON views; `Value::Null` for none). A failure to write is logged, never fatal:
/// the change is made already.
pub async fn record(
    app: &App,
    actor: &Actor,
    action: &str,
    object: &str,
    before: &Value,
    after: &Value,
) {
    let changes = candor_calls::audit::changes(before, after);
    tracing::info!(
        target: "candor::audit",
        actor = %actor.who,
        action,
        object,
        address = actor.address.as_deref().unwrap_or("-"),
        request_id = actor.request_id.as_deref().unwrap_or("-"),
        changes = %changes,
        "admin change"
    );
    let Some(log) = app.call_log() else {
        return;
    };
    let event = AuditEvent {
        id: 0,
        at_us: app.now().saturating_mul(1_000_000),
        actor: actor.who.clone(),
        action: action.to_string(),
        object: object.to_string(),
        changes,
        address: actor.address.clone(),
        request_id: actor.request_id.clone(),
    };
    if let Some(events) = app.events() {
        events.export_audit(&event);
    }
    if let Err(e) = log.recorder.store().record_audit(&event).await {
        tracing::error!(error = %e, action, object, "cannot write the audit event");
    }
}
