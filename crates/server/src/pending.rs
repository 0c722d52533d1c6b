//! An authorization request between the steps of the browser flow.
//!
//! Nothing is stored when an anonymous browser opens `/authorize`: the validated request,
//! the step that may use it next (login, then consent) and, for consent, the session that must
//! be the one to answer, travel sealed (AES-256-GCM under the master key) in the page's form.
//! A sealed value cannot be read or altered by the browser. Only when a step is completed is
//! the request's id recorded (until it expires), so that its form cannot be used twice.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::authorize::AuthRequest;
use crate::error::ServerError;
use candor_proto::secret::random_id;

/// The sealing context: a value sealed for anything else does not open as a pending request.
const CONTEXT: &str = "candor pending authorization request v1";

/// The longest sealed value accepted from a form (the request's own fields are bounded).
const MAX_SEALED_CHARS: usize = 48 * 1024;

/// Which form may carry a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Login,
    Consent,
}

/// A request waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Random; recorded when the step is completed, so the form works once.
    pub id: String,
    pub step: Step,
    /// For consent: the `sid` of the session that logged in (or was found) for this request.
    pub sid: Option<String>,
    pub expires_at: i64,
    pub request: AuthRequest,
}

impl Pending {
    /// A new pending request for `step`, living `pending_request_ttl`.
    pub fn new(app: &App, step: Step, sid: Option<String>, request: AuthRequest) -> Pending {
        Pending {
            id: random_id(),
            step,
            sid,
            expires_at: app.now() + app.settings().pending_request_ttl.as_secs() as i64,
            request,
        }
    }

    /// The sealed form value.
    pub fn seal(&self, app: &App) -> Result<String, ServerError> {
        let json = serde_json::to_vec(self)
            .map_err(|e| ServerError::Encode(format!("a pending request: {e}")))?;
        let sealed = app.master().seal(CONTEXT, &json)?;
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Opens a form value; `None` when it is not one this server sealed (tampered, truncated,
    /// another server's, oversized).
    pub fn open(app: &App, value: &str) -> Option<Pending> {
        if value.is_empty() || value.len() > MAX_SEALED_CHARS {
            return None;
        }
        let sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
        let json = app.master().open(CONTEXT, &sealed).ok()?;
        serde_json::from_slice(&json).ok()
    }
}
